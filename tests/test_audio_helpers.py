"""core.audio helpers used on long files: block-wise peak, memory release."""

from __future__ import annotations

import numpy as np

from groundbass.core.audio import peak, release_memory


def test_peak_in_blocks_equals_the_whole_array_peak():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100_003, 2)).astype(np.float32)
    x[77_777, 1] = -9.5  # the peak sits in the last, partial block of 4096
    assert peak(x, block=4096) == 9.5 == float(np.max(np.abs(x)))
    assert peak(np.zeros((0, 2), np.float32)) == 0.0
    assert peak(np.array([0.25, -0.5], np.float32), block=1) == 0.5


def test_release_memory_keeps_live_arrays_intact():
    live = np.arange(1_000_000, dtype=np.float64)
    for _ in range(3):
        junk = np.ones(4_000_000)
        del junk
        release_memory()  # hands freed pages back; must not touch anything still referenced
    assert float(live.sum()) == 999_999 * 1_000_000 / 2
