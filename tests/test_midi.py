"""MIDI export: a synthesised sawtooth bass line with known notes is recovered."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from groundbass.core import midi

SR = 22050
PITCHES = [28, 31, 33, 35, 36, 40, 43, 45, 38, 33, 28, 47, 52, 40, 36, 29, 31, 34, 41, 45]


def _saw(freq, n):
    t = np.arange(n) / SR
    return sum(np.sin(2 * np.pi * k * freq * t) / k for k in range(1, int(5000 / freq) + 1))


def _bass_line(seed=0):
    """Band-limited sawtooth notes (E1..E3) with plucked envelopes, varied lengths and gaps.
    Returns (audio, [(onset_s, pitch)])."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(SR * 12))
    notes, t = [], 0.25
    for p in PITCHES:
        dur, gap = rng.choice([0.2, 0.25, 0.375, 0.5]), rng.choice([0.02, 0.05, 0.12])
        n = int(dur * SR)
        k = np.arange(n)
        env = np.minimum(1, k / (0.004 * SR)) * np.exp(-k / SR * 2.0) * np.minimum(1, (n - k) / (0.01 * SR))
        a = int(t * SR)
        y[a:a + n] += 0.3 * rng.uniform(0.5, 1.0) * _saw(440 * 2 ** ((p - 69) / 12), n) * env
        notes.append((t, p))
        t += dur + gap
    return y[:int((t + 0.3) * SR)].astype(np.float32), notes


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory):
    audio, truth = _bass_line()
    path = tmp_path_factory.mktemp("midi") / "line.mid"
    return midi.audio_to_midi(audio, SR, path, tempo=100.0), truth


def test_pitches_and_onsets_recovered(transcribed):
    result, truth = transcribed
    assert len(result.notes) == len(truth)
    exact = on_time = 0
    for onset, pitch in truth:
        nearest = min(result.notes, key=lambda n: abs(n.start - onset))
        exact += nearest.pitch == pitch
        on_time += abs(nearest.start - onset) <= 0.030
    assert exact / len(truth) >= 0.95
    assert on_time == len(truth)  # every note starts within 30 ms of the audio note


def test_written_file_loads_with_tempo_program_and_timing(transcribed):
    result, truth = transcribed
    mf = mido.MidiFile(result.path)
    msgs = list(mf.tracks[0])
    tempo = [m.tempo for m in msgs if m.type == "set_tempo"][0]
    assert mido.tempo2bpm(tempo) == pytest.approx(100.0, abs=1e-6)
    assert [m.program for m in msgs if m.type == "program_change"] == [midi.BASS_PROGRAM]
    ons, now = [], 0
    for m in msgs:
        now += m.time
        if m.type == "note_on" and m.velocity > 0:
            ons.append((mido.tick2second(now, mf.ticks_per_beat, tempo), m.note, m.velocity))
    assert len(ons) == len(truth)
    for (t, note, vel), (onset, pitch) in zip(ons, truth):
        assert abs(t - onset) <= 0.030 and 1 <= vel <= 127


def test_quantize_snaps_to_grid(tmp_path):
    notes = [midi.Note(0.26, 0.49, 40, 100), midi.Note(0.51, 0.7, 43, 90)]
    path = midi.notes_to_midi(notes, tmp_path / "q.mid", 120.0, quantize="1/16")
    mf = mido.MidiFile(path)
    grid = mf.ticks_per_beat // 4
    now, starts = 0, []
    for m in mf.tracks[0]:
        now += m.time
        if m.type in ("note_on", "note_off"):
            assert now % grid == 0
        if m.type == "note_on":
            starts.append(now)
    assert starts == [2 * grid, 4 * grid]  # 0.26 s -> 0.25 s, 0.51 s -> 0.5 s at 120 BPM
    with pytest.raises(ValueError, match="quantize"):
        midi.parse_grid("1/7")


def test_tempo_estimated_when_not_given():
    beat = 60 / 110
    y = np.zeros(int(SR * 8), np.float32)
    for i in range(int(8 / beat)):
        a = int(i * beat * SR)
        y[a:a + 400] += np.hanning(800)[400:].astype(np.float32) * np.sin(np.arange(400) * 0.3).astype(np.float32)
    assert midi.estimate_tempo(y, SR) == pytest.approx(110, rel=0.05)


def test_time_signature_in_the_midi_file_and_in_bar_positions(tmp_path):
    import mido

    from groundbass.bridge.render import parse_region
    from groundbass.core.midi import Note, notes_to_midi, parse_time_signature

    assert parse_time_signature("6/8") == (6, 8) and parse_time_signature(" 3 / 4 ") == (3, 4)
    for bad in ("4", "0/4", "33/4", "4/3", "x/y"):
        with pytest.raises(ValueError, match="time signature"):
            parse_time_signature(bad)
    path = notes_to_midi([Note(0.0, 0.5, 40, 90)], tmp_path / "b.mid", 120.0, time_signature=(6, 8))
    meta = [m for m in mido.MidiFile(str(path)).tracks[0] if m.type == "time_signature"]
    assert (meta[0].numerator, meta[0].denominator) == (6, 8)
    # 120 BPM (quarter notes): a 3/4 bar is 1.5 s; a 6/8 bar (six eighths) is 1.5 s, its beat 0.25 s
    assert parse_region("2:3", 120.0, "3/4") == (1.5, 3.0)
    assert parse_region("1.2:2", 120.0, "6/8") == (0.25, 1.5)
    assert parse_region("2:3", 120.0) == (2.0, 4.0)  # 4/4 by default
