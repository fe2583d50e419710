"""`groundbass eval` and the metrics it is built from."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from groundbass.bridge.cli import main
from groundbass.core import BassGenerator
from groundbass.core.metrics import (
    chord_root_track,
    chord_tone_rate,
    compatibility,
    cosine_distance,
    matching_accuracy,
    pitch_class_agreement,
    pitch_class_track,
)

SR = 22050


def _saw(freqs: list[float], note_s: float = 0.5) -> np.ndarray:
    out = []
    for f in freqs:
        t = np.arange(int(note_s * SR)) / SR
        out.append(0.3 * (2 * ((t * f) % 1.0) - 1) * np.minimum(1, np.arange(len(t)) / 200))
    return np.concatenate(out).astype(np.float32)


def test_pitch_class_track_and_agreement():
    a = _saw([55.0, 82.41, 110.0])  # A1, E2, A2
    _, pc = pitch_class_track(a, SR)
    voiced = pc[pc >= 0]
    assert set(np.unique(voiced)) <= {9, 4}
    assert pitch_class_agreement(a, a, SR) == 1.0
    semitone_up = _saw([58.27, 87.31, 116.54])
    assert pitch_class_agreement(a, semitone_up, SR) < 0.1


def test_chord_tone_rate_known_answer():
    bass = _saw([55.0, 55.0, 61.74, 61.74])  # A for 1 s, then B for 1 s
    chords = [{"start": 0.0, "end": 1.0, "chord": "Am", "pitch_classes": [9, 0, 4]},
              {"start": 1.0, "end": 2.0, "chord": "C", "pitch_classes": [0, 4, 7]}]
    rate = chord_tone_rate(bass, SR, chords)
    assert 0.35 < rate < 0.65  # A fits Am; B does not fit C


def test_chord_root_track_known_answer():
    chords = [{"start": 0.0, "end": 1.0, "chord": "Am", "root": 9, "pitch_classes": [9, 0, 4]},
              {"start": 1.0, "end": 2.0, "chord": "C/E", "pitch_classes": [0, 4, 7]}]  # no root field: first pc
    times = np.array([0.1, 0.9, 1.5, 2.5])
    assert chord_root_track(times, chords).tolist() == [9, 9, 0, -1]  # -1 after the chart ends
    assert chord_root_track(np.array([0.6]), chords, offset_s=0.5).tolist() == [0]  # 1.1 s into the chart


def test_compatibility_and_matching():
    chroma = np.zeros((12, 4))
    chroma[9] = 1.0
    assert compatibility(chroma, np.array([9, 9, -1, 9])) == 1.0
    assert compatibility(chroma, np.array([2, 2, 2, 2])) == 0.0
    assert matching_accuracy(np.eye(3)) == 1.0
    assert matching_accuracy(np.ones((3, 3)) - np.eye(3)) == 0.0
    assert cosine_distance(np.array([1.0, 0]), np.array([0, 2.0])) == pytest.approx(1.0)


def test_eval_command_writes_metrics_and_png(synth_songs, tmp_path):
    model = BassGenerator.from_preset("small", seed=0, device="cpu").save(tmp_path / "m.safetensors")
    out = tmp_path / "report"
    res = CliRunner().invoke(main, ["eval", "--data", str(synth_songs), "--model", str(model), "--out", str(out),
                                    "--split", "all", "--songs", "2", "--seconds", "3", "--steps", "2",
                                    "--device", "cpu"])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    m = metrics["metrics"]
    assert m["songs"] == 2 and m["matching_chance"] == 0.5
    assert 0.0 <= m["chord_tone_rate_true_bass"] <= 1.0
    assert 0.0 <= m["pitch_class_agreement_chord_root"] <= 1.0  # the oracle baseline beside the heuristic
    assert m["matching_accuracy_true_bass"] in (0.0, 0.5, 1.0)  # the true basses' matching, the reference
    assert len(metrics["matching_matrix"]) == 2
    assert all("chord_tone_rate_grounded" in p for p in metrics["per_song"]) and "chord_tone_rate_grounded" in m
    for key in ("notes_kept_grounded", "pitch_class_agreement_grounded"):  # what a reference leaves of the notes
        assert all(0.0 <= p[key] <= 1.0 or math.isnan(p[key]) for p in metrics["per_song"]), key
        assert key in m
    defaults = BassGenerator.from_pretrained(model, device="cpu").config.sampling
    settings = metrics["settings"]  # what was not given is the model's default, grounding included
    assert settings["steps"] == 2 and settings["cfg"] == defaults.cfg and settings["grounding"] == defaults.grounding
    png = (out / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_eval_command_bad_manifest(tmp_path):
    bad = tmp_path / "m.jsonl"
    bad.write_text("nope\n")
    res = CliRunner().invoke(main, ["eval", "--data", str(bad), "--model", "default", "--out", str(tmp_path / "r")])
    assert res.exit_code != 0
    assert "Traceback" not in res.output


def test_chroma_track_is_chroma_frames_sampled_at_the_times():
    from groundbass.core.metrics import chroma_at, chroma_frames, chroma_track

    rate = 22050
    t = np.arange(2 * rate) / rate
    mix = (0.3 * np.sin(2 * np.pi * 261.63 * t)).astype(np.float32)  # a C
    times = np.array([0.1, 0.5, 1.5, 99.0])
    c = chroma_track(mix, rate, times)
    np.testing.assert_array_equal(c, chroma_at(chroma_frames(mix, rate), times))
    np.testing.assert_allclose(c.sum(axis=0), 1.0, rtol=1e-6)
    assert (np.argmax(c[:, :3], axis=0) == 0).all()  # pitch class C
