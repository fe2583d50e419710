"""Mix features (chroma, bass chroma, onset, level) and the tuning estimate: known answers on
synthetic signals."""

from __future__ import annotations

import numpy as np
import pytest

from groundbass.core.features import FEATURE_DIM, chroma_argmax_pitch_classes, estimate_tuning, mix_features

RATE, RATIO = 22050, 2048


def _tone(freqs, seconds=4.0, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return sum(0.2 * np.sin(2 * np.pi * f * t) for f in freqs).astype(np.float32)


def _hz(midi, cents=0.0):
    return 440.0 * 2 ** ((midi - 69 + cents / 100) / 12)


def test_shape_and_ranges():
    y = _tone([_hz(57), _hz(60), _hz(64)])  # A minor triad
    frames = 40
    f = mix_features(y, RATE, frames, RATIO, tuning=0.0)
    assert f.shape == (FEATURE_DIM, frames) and f.dtype == np.float32
    assert np.all(f[:24] >= 0) and np.all(f[:24] <= 1.0 + 1e-6)
    assert np.all(f[-1] >= 0) and np.all(f[-1] <= 1)


def test_chroma_names_the_sounding_pitch_classes():
    y = _tone([_hz(57), _hz(60), _hz(64)])  # A C E
    f = mix_features(y, RATE, 40, RATIO, tuning=0.0)
    chroma = f[:12, 5:35].mean(axis=1)
    assert set(np.argsort(chroma)[-3:]) == {9, 0, 4}


def test_bass_chroma_sees_only_the_low_register():
    y = _tone([_hz(33), _hz(76)])  # A1 low, E5 high
    f = mix_features(y, RATE, 40, RATIO, tuning=0.0)
    assert int(np.argmax(f[12:24, 5:35].mean(axis=1))) == 9  # A in the bass register
    assert int(np.argmax(f[:12, 5:35].mean(axis=1))) in (9, 4)


def test_tuning_is_estimated_and_corrected():
    detuned = _tone([_hz(57, -30), _hz(60, -30), _hz(64, -30)])
    t = estimate_tuning(detuned, RATE)
    assert t == pytest.approx(-0.30, abs=0.05)
    f = mix_features(detuned, RATE, 40, RATIO)  # tuning estimated inside
    assert set(np.argsort(f[:12, 5:35].mean(axis=1))[-3:]) == {9, 0, 4}
    assert estimate_tuning(np.zeros(RATE, np.float32), RATE) == 0.0


def test_onset_and_level_follow_the_signal():
    y = np.zeros(int(4 * RATE), np.float32)
    y[RATE: RATE + 2000] = 0.5 * np.sin(np.arange(2000) * 0.2)  # one burst at 1 s
    f = mix_features(y, RATE, 43, RATIO, tuning=0.0)
    onset, level = f[24], f[25]
    k = int(RATE / RATIO)  # latent frame of 1 s
    assert int(np.argmax(onset)) in (k - 1, k, k + 1)
    assert level[k] > level[30] + 0.3


def test_silence_gives_zero_chroma():
    f = mix_features(np.zeros(RATE * 2, np.float32), RATE, 21, RATIO, tuning=0.0)
    assert np.all(f[:25] == 0)


def test_chroma_argmax_baseline():
    pcs = chroma_argmax_pitch_classes(_tone([_hz(62)]), RATE)  # a D
    assert np.mean(pcs == 2) > 0.9


def test_frechet_distance_known_answers():
    from groundbass.core.metrics import frechet_distance

    rng = np.random.default_rng(0)
    a = rng.standard_normal((20000, 4))
    b = rng.standard_normal((20000, 4))
    assert frechet_distance(a, b) == pytest.approx(0.0, abs=0.01)
    assert frechet_distance(a, b + 2.0) == pytest.approx(16.0, rel=0.02)  # |mu diff|^2 = 4 dims * 4
    assert frechet_distance(a, 3 * b) == pytest.approx(4 * (3 - 1) ** 2, rel=0.05)  # tr: 4 * (1 + 9 - 6)
