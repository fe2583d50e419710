"""Manifest round trip, relative paths, and one-line errors naming the file and line."""

import json
from pathlib import Path

import pytest

from groundbass.core.data.manifest import ManifestError, Song, read_manifest, write_manifest


def _song(root: Path, name: str, split: str = "train") -> Song:
    return Song(song=name, split=split, sample_rate=22050, samples=44100,
                bass=[root / name / "bass.wav"], others=[root / name / "drums.wav", root / name / "keys.wav"],
                group="Swing", mixture=None, chords=root / name / "chords.json", bass_midi=None)


def test_round_trip_keeps_every_field_and_stores_relative_paths(tmp_path):
    songs = [_song(tmp_path, "a"), _song(tmp_path, "b", "test")]
    path = write_manifest(tmp_path / "manifest.jsonl", songs)
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["bass"] == ["a/bass.wav"] and first["mixture"] is None and first["bass_midi"] is None
    back = read_manifest(path)
    for s, b in zip(songs, back):
        assert b.song == s.song and b.split == s.split and b.group == s.group
        assert b.sample_rate == 22050 and b.samples == 44100 and b.seconds == pytest.approx(2.0)
        assert [p.resolve() for p in b.bass] == [p.resolve() for p in s.bass]
        assert [p.resolve() for p in b.others] == [p.resolve() for p in s.others]
        assert b.chords.resolve() == s.chords.resolve()
    assert not list(tmp_path.glob("*.tmp"))


def test_absolute_paths_are_accepted(tmp_path):
    line = {"song": "x", "split": "valid", "sample_rate": 44100, "samples": 10, "bass": ["/data/x/bass.wav"],
            "others": ["rel/drums.wav"], "mixture": None, "group": "g", "chords": None, "bass_midi": None}
    (tmp_path / "m.jsonl").write_text(json.dumps(line) + "\n\n")
    (song,) = read_manifest(tmp_path / "m.jsonl")
    assert song.bass == [Path("/data/x/bass.wav")]
    assert song.others == [tmp_path.resolve() / "rel" / "drums.wav"]


@pytest.mark.parametrize("bad, words", [
    ("{not json", "bad JSON"),
    ('{"song": "x", "split": "train"}', "missing field"),
    ('{"song": "x", "split": "holdout", "sample_rate": 1, "samples": 1, "bass": ["b"], "others": [], '
     '"group": "g"}', "split must be"),
])
def test_bad_line_error_names_file_and_line(tmp_path, bad, words):
    good = json.dumps({"song": "ok", "split": "train", "sample_rate": 22050, "samples": 5, "bass": ["b.wav"],
                       "others": ["d.wav"], "group": "g"})
    path = tmp_path / "m.jsonl"
    path.write_text(good + "\n" + bad + "\n")
    with pytest.raises(ManifestError) as err:
        read_manifest(path)
    msg = str(err.value)
    assert f"{path}:2:" in msg and words in msg and "\n" not in msg
    assert isinstance(err.value, ValueError)


def test_missing_manifest_is_a_manifest_error(tmp_path):
    with pytest.raises(ManifestError, match="cannot read"):
        read_manifest(tmp_path / "nope.jsonl")
