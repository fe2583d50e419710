"""Helpers for the OSC bridge tests: a random-init `small` model saved to a temporary
checkpoint and a bridge server on 127.0.0.1 (ephemeral port) are fixtures in conftest.py;
here: short test mixes and a reply collector. All traffic stays on 127.0.0.1 and every wait
is bounded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from groundbass.bridge.osc.client import BridgeClient

MIX_RATE = 32000  # Hz; not the model's rate, so resampling back is exercised
MIX_SECONDS = 2.5


def write_mix(path: Path, seconds: float = MIX_SECONDS, rate: int = MIX_RATE, channels: int = 2,
              seed: int = 0) -> Path:
    """A short synthetic stereo 'mix' (a chord of sines plus a little noise) as WAV."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    mono = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (110.0, 220.0, 277.2, 329.6))
    mono = mono + 0.01 * rng.standard_normal(len(t))
    data = np.stack([mono] * channels, axis=1).astype(np.float32)
    sf.write(path, data, rate, subtype="FLOAT")
    return path


def collect(c: BridgeClient, job: Any, until: tuple[str, ...] = ("/groundbass/done", "/groundbass/error",
                                                                 "/groundbass/cancelled"),
            timeout: float = 60.0) -> list[tuple[float, str, list[Any]]]:
    """(time, address, args) of every reply about `job` until one of `until` (bounded)."""
    got: list[tuple[float, str, list[Any]]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = c.receive(deadline - time.monotonic())
        if msg is None:
            break
        addr, args = msg
        if args and args[0] == job:
            got.append((time.monotonic(), addr, args))
            if addr in until:
                return got
    raise AssertionError(f"no {until} for job {job!r} within {timeout} s; got {[(a, r) for _, a, r in got]}")
