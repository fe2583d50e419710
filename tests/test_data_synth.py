"""`groundbass data synth` with the real MMA and FluidSynth: 2 short songs, then resume."""

import json

import mido
import numpy as np
import soundfile as sf
from click.testing import CliRunner

from groundbass.bridge.cli import main
from groundbass.core.data.chords import PROGRESSIONS, make_progression, parse_chord
from groundbass.core.data.manifest import read_manifest
from groundbass.core.data.mma import GROOVES
from groundbass.core.data.synth import plan_song

FONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"  # the smallest GM font: fast to load


def test_progressions_cover_keys_and_styles():
    rng = np.random.default_rng(0)
    progs = [make_progression(rng, 12) for _ in range(400)]
    assert {p.tonic for p in progs} == set(range(12)) and {p.mode for p in progs} == {"major", "minor"}
    assert {"blues-12", "ii-V-I", "I-V-vi-IV"} <= set(PROGRESSIONS["major"])
    for p in progs[:50]:
        assert len(p.chords) == 12 and all(parse_chord(c.name) == c for c in p.chords)
    assert parse_chord("F#m7").pitch_classes == [6, 9, 1, 4]


def test_plans_are_deterministic_and_in_range():
    plans = [plan_song(i, 5, 30.0, [FONT]) for i in range(40)]
    assert plans == [plan_song(i, 5, 30.0, [FONT]) for i in range(40)]
    by_name = {g.name: g for g in GROOVES}
    for p in plans:
        g = by_name[p.groove]
        assert g.tempo_min <= p.tempo <= g.tempo_max and 32 <= p.bass_program <= 39
        assert p.bars * g.beats * 60.0 / p.tempo >= 30.0
    assert len({p.bass_program for p in plans}) > 3 and len({p.groove for p in plans}) > 10


def test_synth_two_songs_then_resume(tmp_path):
    out = tmp_path / "synth"
    args = ["data", "synth", str(out), "--songs", "2", "--seconds", "8", "--seed", "11", "--workers", "2",
            "--soundfonts", FONT]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "2 written" in res.output

    songs = read_manifest(out / "manifest.jsonl")
    assert [s.song for s in songs] == ["song00000", "song00001"]
    for s in songs:
        assert s.sample_rate == 22050 and s.samples == 8 * 22050 and s.others
        assert s.group in {g.name for g in GROOVES} and s.split in ("train", "valid", "test")
        lengths = {sf.info(str(p)).frames for p in [*s.bass, *s.others]}
        assert lengths == {s.samples}
        bass, _ = sf.read(str(s.bass[0]))
        assert np.max(np.abs(bass)) > 0.01  # well above -60 dBFS
        chart = json.loads(s.chords.read_text())
        assert chart[0]["start"] == 0.0 and chart[-1]["end"] <= 8.0 + 1e-6
        assert all(c["root"] == c["pitch_classes"][0] for c in chart)
        midi = mido.MidiFile(str(s.bass_midi))
        notes = [m.note for m in midi if m.type == "note_on" and m.velocity > 0]
        programs = {m.program for m in midi if m.type == "program_change"}
        meta = json.loads((s.bass[0].parent.parent / "song.json").read_text())
        assert notes and programs == {meta["bass_program"]} and meta["soundfont"] == "TimGM6mb.sf2"
        assert {"groove", "key", "tempo", "seed"} <= set(meta)

    first_bass = sf.read(str(songs[0].bass[0]))[0]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "0 written, 2 already done" in res.output

    # a half-written song (no song.json yet) is redone, and identically
    (out / "song00000" / "song.json").unlink()
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "1 written, 1 already done" in res.output
    np.testing.assert_array_equal(sf.read(str(songs[0].bass[0]))[0], first_bass)
