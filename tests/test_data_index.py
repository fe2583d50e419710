"""Indexers on tiny generated trees: good stems indexed, corrupt/silent/mismatched ones reported."""

import json
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml
from click.testing import CliRunner

from groundbass.bridge.cli import main
from groundbass.core.data.index import index_moisesdb, index_musdb, index_slakh, index_stems
from groundbass.core.data.manifest import read_manifest

SR = 8000


def tone(path: Path, freq: float = 110.0, seconds: float = 2.0, amp: float = 0.3, channels: int = 1) -> Path:
    """Write a sine of ``freq`` Hz (``amp`` peak; 0 gives digital silence) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SR)) / SR
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    sf.write(str(path), np.repeat(x[:, None], channels, axis=1), SR)
    return path


def corrupt(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(range(256)))
    return path


def reasons(result) -> dict[str, str]:
    return {p.path.name: p.reason for p in result.problems}


def test_musdb(tmp_path):
    good = tmp_path / "train" / "Alpha - One"
    for i, name in enumerate(["mixture", "bass", "drums", "other", "vocals"]):
        tone(good / f"{name}.wav", 100 + 50 * i, channels=2)
    bad = tmp_path / "test" / "Beta - Two"
    for name in ["mixture", "bass", "drums"]:
        tone(bad / f"{name}.wav", channels=2)
    corrupt(bad / "vocals.wav")
    tone(bad / "other.wav", amp=1e-4, channels=2)  # -80 dBFS: silent
    nobass = tmp_path / "test" / "Gamma - Three"
    tone(nobass / "drums.wav")
    tone(nobass / "bass.wav", amp=0.0)

    result = index_musdb(tmp_path)
    songs = {s.song: s for s in result.songs}
    assert set(songs) == {"Alpha - One", "Beta - Two"}
    a, b = songs["Alpha - One"], songs["Beta - Two"]
    assert a.group == "Alpha" and a.split in ("train", "valid") and b.split == "test"
    assert [p.name for p in a.bass] == ["bass.wav"]
    assert sorted(p.name for p in a.others) == ["drums.wav", "other.wav", "vocals.wav"]
    assert a.mixture.name == "mixture.wav" and a.sample_rate == SR and a.samples == 2 * SR
    assert [p.name for p in b.others] == ["drums.wav"]
    why = reasons(result)
    assert "unreadable" in why["vocals.wav"] and "silent" in why["other.wav"]
    assert "silent" in why["bass.wav"] and "no usable bass" in why["Gamma - Three"]


def test_slakh(tmp_path):
    meta = {"UUID": "x", "stems": {"S00": {"inst_class": "Bass", "program_num": 33},
                                  "S01": {"inst_class": "Drums"}, "S02": {"inst_class": "Piano"},
                                  "S03": {"inst_class": "Guitar"}}}
    for track in ("Track00001", "Track00002"):
        (tmp_path / "train" / track).mkdir(parents=True)
        (tmp_path / "train" / track / "metadata.yaml").write_text(yaml.safe_dump(meta))
        tone(tmp_path / "train" / track / "stems" / "S00.flac", 55)
        tone(tmp_path / "train" / track / "stems" / "S01.flac", 300)
        tone(tmp_path / "train" / track / "mix.flac", 300)
    tone(tmp_path / "train" / "Track00001" / "stems" / "S02.flac", 440)
    corrupt(tmp_path / "train" / "Track00002" / "stems" / "S02.flac")
    tone(tmp_path / "train" / "Track00002" / "stems" / "S03.flac", 440, seconds=1.0)  # wrong length
    (tmp_path / "test" / "Track00003").mkdir(parents=True)
    (tmp_path / "test" / "Track00003" / "metadata.yaml").write_text("stems: [unclosed")

    result = index_slakh(tmp_path)
    songs = {s.song: s for s in result.songs}
    assert set(songs) == {"Track00001", "Track00002"}
    assert all(s.split == "train" for s in songs.values())
    assert [p.name for p in songs["Track00001"].bass] == ["S00.flac"]
    assert sorted(p.name for p in songs["Track00001"].others) == ["S01.flac", "S02.flac"]
    assert [p.name for p in songs["Track00002"].others] == ["S01.flac"]
    assert songs["Track00001"].mixture.name == "mix.flac"
    why = reasons(result)
    assert "unreadable" in why["S02.flac"] and "length" in why["S03.flac"]
    assert "bad metadata" in why["metadata.yaml"]


def test_moisesdb(tmp_path):
    song = tmp_path / "moisesdb_v0.1" / "0a1b"
    (song).mkdir(parents=True)
    (song / "data.json").write_text(json.dumps({"artist": "Some Band", "song": "Tune", "genre": "rock"}))
    tone(song / "bass" / "b1.wav", 55)
    tone(song / "bass" / "b2.wav", 82)
    tone(song / "drums" / "d.wav", 300)
    tone(song / "vocals" / "v.wav", amp=0.0)
    corrupt(song / "guitar" / "g.wav")
    other = tmp_path / "moisesdb_v0.1" / "ff00"
    tone(other / "drums" / "d.wav")  # no bass folder

    result = index_moisesdb(tmp_path)
    (s,) = result.songs
    assert s.song == "0a1b" and s.group == "Some Band"
    assert [p.name for p in s.bass] == ["b1.wav", "b2.wav"] and [p.name for p in s.others] == ["d.wav"]
    why = reasons(result)
    assert "silent" in why["v.wav"] and "unreadable" in why["g.wav"] and "no usable bass" in why["ff00"]


def test_stems_with_pattern_and_cli(tmp_path):
    data = tmp_path / "data"
    tone(data / "song1" / "El_Bajo.wav", 55)
    tone(data / "song1" / "drums.wav", 300)
    tone(data / "song1" / "mix.wav", 300)
    corrupt(data / "song1" / "keys.wav")
    tone(data / "song2" / "stems" / "bajo.flac", 60)
    tone(data / "song2" / "stems" / "pads.flac", amp=0.0)  # only stem besides bass is silent

    result = index_stems(data, bass_pattern="*bajo*")
    (s,) = result.songs
    assert [p.name for p in s.bass] == ["El_Bajo.wav"] and [p.name for p in s.others] == ["drums.wav"]
    assert s.mixture.name == "mix.wav"

    out = tmp_path / "m.jsonl"
    res = CliRunner().invoke(main, ["data", "index", str(data), "--format", "stems", "--out", str(out),
                                    "--bass-pattern", "*bajo*"])
    assert res.exit_code == 0, res.output
    assert "indexed 1 songs" in res.output
    assert "keys.wav" in res.output and "pads.flac" in res.output and "no usable non-bass" in res.output
    (song,) = read_manifest(out)
    assert song.bass[0].resolve() == (data / "song1" / "El_Bajo.wav").resolve()

    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(main, ["data", "index", str(empty), "--format", "musdb", "--out", str(out)])
    assert res.exit_code == 1 and "no usable song" in res.output
