"""Helpers for the generate/batch/render tests: synthetic audio files (sine mixes at known
rates, lengths and depths). The model fixtures (`model_path`, `generator`) are in conftest.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

STEPS = "2"


def write_mix(path: Path, seconds: float = 1.0, rate: int = 44100, channels: int = 2, subtype: str = "PCM_24",
              frames: int | None = None, fmt: str | None = None) -> Path:
    """A chord of sines (110, 165, 220 Hz) with a little noise; returns the path."""
    n = frames if frames is not None else int(seconds * rate)
    t = np.arange(n) / rate
    rng = np.random.default_rng(n)
    mono = 0.2 * (np.sin(2 * np.pi * 110 * t) + np.sin(2 * np.pi * 165 * t) + np.sin(2 * np.pi * 220 * t)) / 3
    mono = mono + 0.01 * rng.standard_normal(n)
    data = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data.astype(np.float32), rate, subtype=subtype, format=fmt)
    return path
