"""Helpers for the generate/batch/render tests: one random-init `small` model saved once per
test process, and synthetic audio files (sine mixes at known rates, lengths and depths)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

STEPS = "2"


@functools.lru_cache(maxsize=1)
def small_model_path() -> Path:
    """Path of a random-init `small` generator checkpoint (written once per process)."""
    from groundbass.core import BassGenerator

    folder = Path(tempfile.mkdtemp(prefix="gb-cli-model-"))
    atexit.register(shutil.rmtree, folder, True)
    return BassGenerator.from_preset("small", seed=0).save(folder / "small.safetensors")


@pytest.fixture(scope="session")
def model_path() -> Path:
    return small_model_path()


@pytest.fixture(scope="session")
def generator(model_path):
    from groundbass.core import BassGenerator

    return BassGenerator.from_pretrained(model_path)


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
