"""Random per-stem and bus effects: reproducible, length-preserving, and the two recipes
(train, heldout) use disjoint effect types."""

from __future__ import annotations

import numpy as np
import pytest

from groundbass.core.data.augment import bus_chain, process_mix, stem_chain

RATE = 22050


def _stems(n=3, seconds=2.0):
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    return [(0.2 * np.sin(2 * np.pi * (110 * (i + 1)) * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
            for i in range(n)]


@pytest.mark.parametrize("recipe", ["none", "train", "heldout"])
def test_same_seed_same_mix_and_length_kept(recipe):
    stems = _stems()
    a = process_mix(stems, RATE, np.random.default_rng(3), recipe, [False, True, False])
    b = process_mix(stems, RATE, np.random.default_rng(3), recipe, [False, True, False])
    assert a.shape == stems[0].shape and a.dtype == np.float32
    assert np.array_equal(a, b) and np.isfinite(a).all()


def test_none_is_the_plain_sum():
    stems = _stems()
    np.testing.assert_allclose(process_mix(stems, RATE, np.random.default_rng(0), "none"), sum(stems), atol=1e-6)


def test_recipes_use_disjoint_effects():
    def kinds(recipe):
        names = set()
        for seed in range(200):
            rng = np.random.default_rng(seed)
            names |= {type(p).__name__ for p in stem_chain(rng, recipe)}
            names |= {type(p).__name__ for p in bus_chain(rng, recipe, RATE)}
        return names - {"Gain"}

    train, held = kinds("train"), kinds("heldout")
    assert train and held and not (train & held)


def test_unknown_recipe():
    with pytest.raises(ValueError, match="unknown processing recipe"):
        stem_chain(np.random.default_rng(0), "loud")
