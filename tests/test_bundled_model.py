"""Regression test of the bundled default model on held-out synthetic mixes.

The fixtures (tests/fixtures/regression, made by make_regression_fixture.py) are 8-second mixes
of two songs from grooves never seen in training, in different keys (D flat and F), with their
chord charts. The bundled model must make a bass that plays the chords of the mix it was given:
its chord-tone rate must clear a fixed threshold and beat, by a wide margin, the "floor" — the
same bass scored against the other song's chords. Random weights fail both (checked below).
"""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from groundbass.core.checkpoint import resolve_model
from groundbass.core.metrics import chord_tone_rate
from groundbass.core.pipeline import BassGenerator
from groundbass.core.train.note_basis import notes_moved

FIX = Path(__file__).parent / "fixtures" / "regression"
STEPS = 16  # fewer than the CLI default, to keep the CPU test short
THRESHOLD = 0.6  # chord-tone rate the bundled model must reach on each fixture mix
MARGIN = 0.2  # ...and by how much it must beat the other-mix floor


def _load(label):
    mix, rate = sf.read(FIX / f"mix_{label}.flac", dtype="float32")
    return mix, rate, json.loads((FIX / f"chords_{label}.json").read_text())


def _scores(gen: BassGenerator) -> dict[str, float]:
    (mix_a, rate, chords_a), (mix_b, _, chords_b) = _load("a"), _load("b")
    bass_a = gen.generate(mix_a, rate, steps=STEPS, seed=0)
    bass_b = gen.generate(mix_b, rate, steps=STEPS, seed=0)
    return {
        "a": chord_tone_rate(bass_a, rate, chords_a),
        "b": chord_tone_rate(bass_b, rate, chords_b),
        "floor_a": chord_tone_rate(bass_b, rate, chords_a),
        "floor_b": chord_tone_rate(bass_a, rate, chords_b),
    }


def _passes(s: dict[str, float]) -> bool:
    ok = [np.isfinite(v) for v in s.values()]
    return all(ok) and min(s["a"], s["b"]) >= THRESHOLD and \
        s["a"] - s["floor_a"] >= MARGIN and s["b"] - s["floor_b"] >= MARGIN


@pytest.fixture(scope="module")
def bundled() -> BassGenerator:
    resolve_model("default")  # a clear error here if the model is not shipped
    return BassGenerator.from_pretrained("default", device="cpu")


def test_bundled_model_plays_the_chords_of_the_mix(bundled):
    torch.manual_seed(0)
    s = _scores(bundled)
    assert _passes(s), s


def test_same_check_fails_with_random_weights():
    """The test above can fail: the same model with its U-Net and bass autoencoder re-initialised does not pass."""
    gen = BassGenerator.from_pretrained("default", device="cpu")
    torch.manual_seed(0)
    for module in (gen.denoiser, gen.bass_ae):
        for m in module.modules():
            if hasattr(m, "reset_parameters") and m is not module:
                m.reset_parameters()
    s = _scores(gen)
    assert not _passes(s), s


def test_bundled_model_grounds_the_timbre_off_its_note_basis(bundled):
    """The bundled model carries a note basis (core/train/note_basis.py): orthonormal directions of
    its bass latent that carry the notes. A grounding pull of strength 0.3 towards another line's
    mean changes the decoded notes of a bass line on far fewer frames off the basis than in full."""
    basis = bundled.stats.bass_note_basis
    assert basis is not None and basis.ndim == 2 and 6 <= basis.shape[0] <= 12
    assert basis.shape[1] == bundled.config.bass_ae.latent_dim
    torch.testing.assert_close(basis @ basis.T, torch.eye(basis.shape[0]), atol=2e-3, rtol=0)
    sr = bundled.sample_rate
    t = np.arange(sr * 4) / sr

    def hz(n):
        return 440.0 * 2 ** ((n - 69) / 12)

    line = np.concatenate([0.3 * np.sin(2 * np.pi * hz(n) * t[: sr // 2]) for n in [33, 40, 36, 43] * 2])
    other = np.concatenate([0.3 * np.sign(np.sin(2 * np.pi * hz(n) * t[: sr // 3])) for n in [30, 37, 42, 35] * 3])
    z = bundled.encode_bass(line.astype(np.float32))
    ref = bundled.encode_bass(other.astype(np.float32)).mean(dim=(0, 2))
    plain = notes_moved(bundled.bass_ae, bundled.stats, z, ref, 0.3)
    kept = notes_moved(bundled.bass_ae, bundled.stats, z, ref, 0.3, basis)
    assert kept < 0.75 * plain, (kept, plain)  # v3.6.1: 0.31 of the frames against 0.67
