"""Peak memory of one ``groundbass generate`` call against the mix's length.

    python benchmarks/bench_memory.py --model default --minutes 3,7.5,15 --steps 4

For each length a synthetic 44.1 kHz (``--rate``) stereo mix (16-bit WAV, as a DAW renders it) goes through
``groundbass generate`` in a fresh process; its peak RSS (``RUSAGE_CHILDREN`` of a wrapper) and
wall time are printed, with the growth per minute fitted over the lengths. The issue's target:
a 15-minute mix under 1.5 GB. ``--steps`` only shortens the run: the sampler's memory does not
depend on the step count. The CPU model is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import cpu_description, run_generate  # noqa: E402


def write_mix(path: Path, seconds: float, sr: int = 44100) -> Path:
    """A stereo 16-bit mix of ``seconds``: a bass line, a chord and noise, written in blocks."""
    rng = np.random.default_rng(0)
    block = 30 * sr
    with sf.SoundFile(path, "w", sr, 2, subtype="PCM_16") as f:
        for start in range(0, int(seconds * sr), block):
            n = min(block, int(seconds * sr) - start)
            t = (start + np.arange(n)) / sr
            root = 55.0 * 2 ** ((np.floor(t / 2) % 4) * 5 / 12)
            x = 0.25 * np.sin(2 * np.pi * root * t) + 0.08 * sum(np.sin(2 * np.pi * 220 * r * t) for r in (1, 1.26, 1.5))
            f.write((x[:, None] + 0.03 * rng.standard_normal((n, 2))).astype(np.float32))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--minutes", default="3,7.5,15", help="comma-separated mix lengths in minutes")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rate", type=int, default=44100, help="the mix's sample rate (48000: the resampled path)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in (float(m) for m in a.minutes.split(",")):
            mix = write_mix(Path(tmp) / "mix.wav", 60 * minutes, a.rate)
            rows.append({"minutes": minutes, **run_generate(mix, Path(tmp) / "bass.wav", a.model, a.device,
                                                             ["--steps", str(a.steps)])})
    slope = float(np.polyfit([r["minutes"] for r in rows], [r["peak_rss_mb"] for r in rows], 1)[0]) \
        if len(rows) > 1 else None
    result = {"cpu": cpu_description(), "model": a.model, "steps": a.steps, "rate": a.rate, "rows": rows,
              "mb_per_minute": slope}
    if a.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"CPU: {result['cpu']}; model {a.model}; --steps {a.steps}; mix {a.rate} Hz stereo 16-bit")
    print(f"{'minutes':>8} {'peak RSS MB':>12} {'wall s':>8}")
    for r in rows:
        print(f"{r['minutes']:8.1f} {r['peak_rss_mb']:12.0f} {r['wall_s']:8.1f}")
    if slope is not None:
        print(f"growth: {slope:.0f} MB per minute of mix")
    return 0


if __name__ == "__main__":
    sys.exit(main())
