"""Per-stem and mix-bus processing drawn at random, so a training mix sounds produced.

Two disjoint recipes (pedalboard effects):

- ``"train"`` — per stem: gain, a peaking EQ, compression, saturation; on the bus: shelving
  EQ, reverb, bus compression, saturation, limiting and an MP3 round trip. The latent
  cache applies it to training mixes.
- ``"heldout"`` — effects training never sees, for the out-of-domain dev and test sets:
  per stem chorus, phaser, delay and a ladder filter; on the bus a high-pass, hard
  clipping and bit reduction.

The bass target is never processed: it stays the clean stem. Every draw comes from the
``rng`` passed in, so a song's processing is reproducible from its seed.
"""

from __future__ import annotations

import numpy as np
import pedalboard as pb

__all__ = ["RECIPES", "stem_chain", "bus_chain", "process_mix"]

RECIPES = ("none", "train", "heldout")


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def stem_chain(rng: np.random.Generator, recipe: str, drums: bool = False) -> pb.Pedalboard:
    """Random processing of one non-bass stem under ``recipe`` ("none" is empty)."""
    fx: list = []
    if recipe == "none":
        return pb.Pedalboard(fx)
    fx.append(pb.Gain(gain_db=float(rng.uniform(-6.0, 6.0))))
    if recipe == "train":
        if rng.random() < 0.5:
            fx.append(pb.PeakFilter(cutoff_frequency_hz=_log_uniform(rng, 150, 6000),
                                    gain_db=float(rng.uniform(-6, 6)), q=float(rng.uniform(0.7, 2.0))))
        if rng.random() < 0.3:
            fx.append(pb.Compressor(threshold_db=float(rng.uniform(-30, -10)), ratio=float(rng.uniform(2, 6))))
        if not drums and rng.random() < 0.2:
            fx.append(pb.Distortion(drive_db=float(rng.uniform(3, 15))))
    elif recipe == "heldout":
        if not drums and rng.random() < 0.4:
            fx.append(pb.Chorus(rate_hz=float(rng.uniform(0.3, 2.0)), depth=float(rng.uniform(0.1, 0.4)),
                                mix=float(rng.uniform(0.2, 0.5))))
        if not drums and rng.random() < 0.3:
            fx.append(pb.Phaser(rate_hz=float(rng.uniform(0.2, 1.5)), mix=float(rng.uniform(0.2, 0.5))))
        if rng.random() < 0.3:
            fx.append(pb.Delay(delay_seconds=float(rng.uniform(0.1, 0.4)), feedback=float(rng.uniform(0.1, 0.4)),
                               mix=float(rng.uniform(0.1, 0.3))))
        if not drums and rng.random() < 0.3:
            fx.append(pb.LadderFilter(mode=pb.LadderFilter.Mode.LPF12, cutoff_hz=_log_uniform(rng, 800, 6000),
                                      resonance=float(rng.uniform(0.0, 0.5))))
    else:
        raise ValueError(f"unknown processing recipe {recipe!r} (choose from {', '.join(RECIPES)})")
    return pb.Pedalboard(fx)


def bus_chain(rng: np.random.Generator, recipe: str, sample_rate: int) -> pb.Pedalboard:
    """Random mix-bus processing under ``recipe`` ("none" is empty)."""
    fx: list = []
    if recipe == "train":
        if rng.random() < 0.5:
            fx.append(pb.LowShelfFilter(cutoff_frequency_hz=_log_uniform(rng, 80, 250), gain_db=float(rng.uniform(-4, 4))))
            fx.append(pb.HighShelfFilter(cutoff_frequency_hz=_log_uniform(rng, 3000, 8000),
                                         gain_db=float(rng.uniform(-5, 5))))
        if rng.random() < 0.5:
            wet = float(rng.uniform(0.05, 0.25))
            fx.append(pb.Reverb(room_size=float(rng.uniform(0.1, 0.6)), wet_level=wet, dry_level=1.0 - wet))
        if rng.random() < 0.6:
            fx.append(pb.Compressor(threshold_db=float(rng.uniform(-24, -8)), ratio=float(rng.uniform(1.5, 4)),
                                    attack_ms=float(rng.uniform(5, 30)), release_ms=float(rng.uniform(50, 200))))
        if rng.random() < 0.3:
            fx.append(pb.Distortion(drive_db=float(rng.uniform(1, 8))))
        if rng.random() < 0.6:
            fx.append(pb.Limiter(threshold_db=float(rng.uniform(-6, -1))))
        if rng.random() < 0.3 and sample_rate in (16000, 22050, 24000, 32000, 44100, 48000):
            fx.append(pb.MP3Compressor(vbr_quality=float(rng.uniform(2, 7))))
    elif recipe == "heldout":
        if rng.random() < 0.5:
            fx.append(pb.HighpassFilter(cutoff_frequency_hz=float(rng.uniform(40, 100))))
        if rng.random() < 0.4:
            fx.append(pb.Clipping(threshold_db=float(rng.uniform(-12, -3))))
        if rng.random() < 0.3:
            fx.append(pb.Bitcrush(bit_depth=float(rng.uniform(10, 14))))
    elif recipe != "none":
        raise ValueError(f"unknown processing recipe {recipe!r} (choose from {', '.join(RECIPES)})")
    return pb.Pedalboard(fx)


def process_mix(stems: list[np.ndarray], sample_rate: int, rng: np.random.Generator, recipe: str,
                drums: list[bool] | None = None) -> np.ndarray:
    """Sum mono ``stems`` (same length) into a mix, each through its own :func:`stem_chain` and
    the sum through a :func:`bus_chain`. Returns float32 (samples,), the stems' length."""
    if not stems:
        raise ValueError("process_mix needs at least one stem")
    n = min(len(s) for s in stems)
    drums = drums or [False] * len(stems)
    out = np.zeros(n, dtype=np.float32)
    for stem, is_drums in zip(stems, drums):
        chain = stem_chain(rng, recipe, drums=is_drums)
        x = stem[:n].astype(np.float32)
        out += chain(x[None], sample_rate)[0, :n] if len(chain) else x
    bus = bus_chain(rng, recipe, sample_rate)
    if len(bus):
        y = bus(out[None], sample_rate)[0]
        out = np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.float32)  # MP3 may shift the length
    return out
