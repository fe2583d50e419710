"""groundbass.core.dsp against librosa, its oracle: the model was trained on librosa's features,
so the numpy + soxr re-implementations must reproduce them.

Achieved (librosa 0.11, numpy 2.4): the CQT within about 5e-6 of each frame's maximum in
sounding frames and 5e-5 in the near-silent frames of a silent stretch (the filters are
librosa's to an ulp, the projection sums in another order, see groundbass.core.dsp), the onset
envelope, the RMS and the tuning estimate bit for bit. Short signals; the file runs in seconds.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

librosa = pytest.importorskip("librosa")

from groundbass.core import dsp, features  # noqa: E402

FMIN_C1 = 32.70319566257483

pytestmark = pytest.mark.filterwarnings("ignore:n_fft=.* is too large:UserWarning")  # librosa, short input


def _chord(seconds: float, rate: int, seed: int = 0, cents: float = 0.0) -> np.ndarray:
    """A chord of sines (one of them off the A = 440 grid by ``cents``), a gated bass note and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    y = sum(0.2 * np.sin(2 * np.pi * f * 2 ** (cents / 1200) * t + k)
            for k, f in enumerate([220.0, 277.18, 329.63, 659.26]))
    y = y + 0.3 * np.sin(2 * np.pi * 55.0 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    return (0.5 * y + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def _signals(rate: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    gap = _chord(4.0, rate, seed=1)
    gap[int(1.2 * rate): int(2.9 * rate)] = 0.0  # a silent stretch inside
    t = np.arange(int(3.0 * rate)) / rate
    bass = (0.4 * np.sin(2 * np.pi * 41.2 * t) * np.exp(-t) + 0.1 * np.sin(2 * np.pi * 82.4 * t)).astype(np.float32)
    return {
        "chord": _chord(3.0, rate)[: int(3.0 * rate) - 77],  # not a multiple of the hop
        "gap": gap,
        "bass": bass,
        "noise": (0.1 * rng.standard_normal(int(2.5 * rate) + 333)).astype(np.float32),
        "short": _chord(0.2, rate, seed=2)[: 2048 + 37],  # just above one latent frame
    }


CASES = [(name, rate) for rate in (22050, 44100) for name in _signals(rate)]


@pytest.fixture(scope="module")
def signals():
    return {rate: _signals(rate) for rate in (22050, 44100)}


def _librosa_cqt(y, sr, hop, n_bins, tuning):
    return np.abs(librosa.cqt(y, sr=sr, hop_length=hop, fmin=FMIN_C1, tuning=tuning, n_bins=n_bins,
                              bins_per_octave=36, res_type="soxr_hq"))


@pytest.mark.parametrize("name,rate", CASES)
@pytest.mark.parametrize("tuning", [0.0, 0.3, -0.3])
def test_cqt_magnitude_matches_librosa(signals, name, rate, tuning):
    y = signals[rate][name]
    hop = 512 if rate == 22050 else 1024
    ref = _librosa_cqt(y, rate, hop, 252, tuning)
    got = dsp.cqt_magnitude(y, rate, hop, FMIN_C1, 252, 36, tuning)
    assert got.shape == ref.shape and got.dtype == np.float32
    # Relative to each frame's maximum (frames of exact silence, all zeros in both, count as 0):
    # about 1e-6 in sounding frames; up to ~3e-5 in the quiet frames (-50 dB) of the silent
    # stretch, whose low bins' long filters sum loud audio at their edges to a small value, so
    # float32 rounding of that cancellation (in librosa's order of summation or ours) shows.
    # Relative to the whole signal's maximum the difference stays at float32 rounding.
    peak = ref.max(axis=0, keepdims=True)
    err = np.abs(got - ref) / np.where(peak > 0, peak, 1.0)
    assert err.max() < 1e-4, err.max()
    assert np.abs(got - ref).max() < 2e-6 * ref.max()


@pytest.mark.parametrize("rate,hop,n_bins", [(16000, 400, 216), (22050, 256, 216), (22050, 512, 36)])
def test_cqt_magnitude_other_layouts(rate, hop, n_bins):
    """A hop with few factors of 2 (the octaves stop halving), an early downsampling, one octave."""
    y = _chord(2.0, rate, seed=3)[:-5]
    ref = _librosa_cqt(y, rate, hop, n_bins, 0.1)
    got = dsp.cqt_magnitude(y, rate, hop, FMIN_C1, n_bins, 36, 0.1)
    assert got.shape == ref.shape
    assert (np.abs(got - ref) / ref.max(axis=0, keepdims=True)).max() < 1e-5


def test_cqt_magnitude_rejects_bins_above_nyquist():
    with pytest.raises(ValueError, match="Nyquist"):
        dsp.cqt_magnitude(np.zeros(8000, np.float32), 8000, 512, FMIN_C1, 252, 36)


@pytest.mark.parametrize("name,rate", CASES)
def test_onset_strength_and_rms_match_librosa(signals, name, rate):
    y = signals[rate][name]
    for hop in (512, 256):
        ref = librosa.onset.onset_strength(y=y, sr=rate, hop_length=hop)
        got = dsp.onset_strength(y, rate, hop)
        assert got.shape == ref.shape and got.dtype == ref.dtype
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6)
        ref = librosa.feature.rms(y=y, frame_length=2 * hop, hop_length=hop)
        got = dsp.frame_rms(y, 2 * hop, hop)
        assert got.shape == ref.shape and got.dtype == ref.dtype
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6)


TUNING_CASES = [(name, rate, 0.0) for name, rate in CASES] + [
    ("detuned", rate, cents) for rate in (22050, 44100) for cents in (30.0, -30.0)]


@pytest.mark.parametrize("name,rate,cents", TUNING_CASES)
def test_estimate_tuning_matches_librosa(signals, name, rate, cents):
    y = signals[rate][name] if name != "detuned" else _chord(2.0, rate, seed=4, cents=cents)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns on an empty frequency set
        ref = float(librosa.estimate_tuning(y=y, sr=rate, n_fft=4096, resolution=0.01, bins_per_octave=12))
    got = dsp.estimate_tuning(y, rate, n_fft=4096, resolution=0.01, bins_per_octave=12)
    assert isinstance(got, float)
    assert abs(got - ref) < 0.005, (got, ref)
    if cents:  # and it finds the detuning (to librosa's resolution and bias)
        assert abs(got - cents / 100) <= 0.04


def test_estimate_tuning_of_silence_is_zero():
    assert dsp.estimate_tuning(np.zeros(8192, np.float32), 22050, n_fft=4096) == 0.0


class _LibrosaDsp:
    """The librosa calls core/features.py made before groundbass.core.dsp."""

    @staticmethod
    def cqt_magnitude(y, sr, hop_length, fmin, n_bins, bins_per_octave, tuning):
        return np.abs(librosa.cqt(y, sr=sr, hop_length=hop_length, fmin=fmin, tuning=tuning, n_bins=n_bins,
                                  bins_per_octave=bins_per_octave, res_type="soxr_hq"))

    @staticmethod
    def onset_strength(y, sr, hop_length):
        return librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop_length)

    @staticmethod
    def frame_rms(y, frame_length, hop_length):
        return librosa.feature.rms(y=y, frame_length=frame_length, hop_length=hop_length)

    @staticmethod
    def estimate_tuning(y, sr, n_fft, resolution, bins_per_octave):
        return librosa.estimate_tuning(y=y, sr=sr, n_fft=n_fft, resolution=resolution,
                                       bins_per_octave=bins_per_octave)


@pytest.mark.parametrize("name,frames", [("chord", 30), ("gap", 40), ("noise", 25), ("short", 1)])
def test_mix_features_match_the_librosa_path(signals, monkeypatch, name, frames):
    y = signals[22050][name]
    new = features.mix_features(y, 22050, frames, 2048)
    new_tuning = features.estimate_tuning(y, 22050)
    with monkeypatch.context() as m:
        m.setattr(features, "dsp", _LibrosaDsp)
        old = features.mix_features(y, 22050, frames, 2048)
        old_tuning = features.estimate_tuning(y, 22050)
    assert new.shape == old.shape == (features.FEATURE_DIM, frames)
    assert np.abs(new - old).max(axis=1).max() < 1e-3
    assert abs(new_tuning - old_tuning) < 0.005


def test_mix_features_do_not_import_librosa():
    code = ("import sys, numpy as np\n"
            "from groundbass.core.features import mix_features\n"
            "y = (0.1 * np.sin(np.arange(3 * 22050) * 0.05)).astype(np.float32)\n"
            "f = mix_features(y, 22050, 32, 2048)\n"
            "assert f.shape == (26, 32)\n"
            "print([m for m in ('librosa', 'numba', 'scipy') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
