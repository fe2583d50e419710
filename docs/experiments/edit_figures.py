"""Held-out figures of the editing tasks (issue "Edit a bass"): regenerate a region, and loop.

    python docs/experiments/edit_figures.py --data runs/ood_dev/manifest.jsonl --songs 8 --seconds 12 \\
        --methods replace,repaint,guidance --out docs/eval-v3/edit_figures.json

Per song (a centred excerpt of the mix; a first take with seed s):

- **region**: the middle third regenerated with seed s + 100 (``BassGenerator.edit``), against a
  fresh take with seed s + 100 (the same new material without the edit): chord-tone rate inside
  the region, which must stay within 0.03 of the fresh take's;
- **boundaries**: at both region edges, the spectral flux (L2 change of consecutive log-mel
  frames, :func:`groundbass.core.metrics.logmel_frames`) and the largest sample step within
  10 ms, each divided by its median inside the region — 1 means "no more change at the edge than
  anywhere inside". Beside the edit: a plain cut and paste of the fresh take into the first take
  (hard cut), and the same with the edit's equal-power crossfade;
- **loop**: ``generate(loop=True)``: the same two ratios at the junction end -> start when the
  loop plays twice, against a plain take played twice.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def _flux(audio: np.ndarray, rate: int) -> np.ndarray:
    from groundbass.core.metrics import logmel_frames

    m = logmel_frames(audio, rate)
    return np.linalg.norm(np.diff(m, axis=0), axis=1)  # flux[k] between frames k and k + 1


def edge_ratios(audio: np.ndarray, rate: int, edge: int, inside: tuple[int, int]) -> tuple[float, float]:
    """(flux ratio, sample-step ratio) at sample ``edge`` against the median inside ``inside``."""
    flux = _flux(audio, rate)
    hop = 512 * rate / 22050  # logmel_frames' hop in samples at ``rate``
    k = int(round(edge / hop))
    a, b = int(inside[0] / hop) + 2, int(inside[1] / hop) - 2
    f_edge = float(flux[max(0, k - 2): k + 2].max())
    f_in = float(np.median(flux[a:b]))
    steps = np.abs(np.diff(audio))
    w = int(0.01 * rate)
    s_edge = float(steps[max(0, edge - w): edge + w].max())
    s_in = float(np.median([steps[i: i + 2 * w].max() for i in range(inside[0], inside[1] - 2 * w, w)]))
    return f_edge / max(f_in, 1e-9), s_edge / max(s_in, 1e-9)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--songs", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--model", default="default")
    ap.add_argument("--methods", default="replace,repaint,guidance")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--sampler", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)

    from groundbass.core import BassGenerator
    from groundbass.core.audio import level_gain
    from groundbass.core.data.manifest import read_manifest
    from groundbass.core.data.song_audio import read_song_part
    from groundbass.core.editing import splice
    from groundbass.core.metrics import chord_tone_rate, load_chords

    gen = BassGenerator.from_pretrained(a.model, device="cpu")
    rate = gen.sample_rate
    songs = [s for s in read_manifest(a.data) if s.chords is not None][: a.songs]
    kw = dict(steps=a.steps, sampler=a.sampler, tuning=0.0)
    methods = a.methods.split(",")
    rows = []
    for i, song in enumerate(songs):
        length = min(a.seconds, song.seconds)
        start = max(0.0, (song.seconds - length) / 2)
        mix = read_song_part(song, "mix", rate, start, length)
        mix = mix * level_gain(mix, gen.config.mix_rms_db)
        chart = load_chords(song.chords)
        s0, s1 = length / 3, 2 * length / 3
        e0, e1 = int(s0 * rate), int(s1 * rate)
        take = gen.generate(mix, rate, seed=10 * i, **kw)
        fresh = gen.generate(mix, rate, seed=10 * i + 100, **kw)
        fade = int(0.03 * rate)
        row = {"song": song.song,
               "chord_tone_fresh": chord_tone_rate(fresh[e0:e1], rate, chart, start + s0)}
        cut = take.copy()
        cut[e0:e1] = fresh[e0:e1]
        for name, audio in (("cut", cut), ("cut_crossfade", splice(take, fresh, e0, e1, fade))):
            row[name] = [edge_ratios(audio, rate, e, (e0, e1)) for e in (e0, e1)]
        for method in methods:
            edited = gen.edit(mix, rate, take, task="regenerate", start=s0, end=s1, seed=10 * i + 100,
                              method=method, **kw)
            row[f"chord_tone_{method}"] = chord_tone_rate(edited[e0:e1], rate, chart, start + s0)
            row[method] = [edge_ratios(edited, rate, e, (e0, e1)) for e in (e0, e1)]
        loop = gen.generate(mix, rate, seed=10 * i, loop=True, **kw)
        n = len(mix)
        row["loop"] = edge_ratios(np.concatenate([loop, loop]), rate, n, (n // 4, 3 * n // 4))
        row["plain_loop"] = edge_ratios(np.concatenate([take, take]), rate, n, (n // 4, 3 * n // 4))
        rows.append(row)
        print(f"{i + 1}/{len(songs)} {song.song}", file=sys.stderr)

    def mean_edges(key: str, j: int) -> float:
        return float(np.mean([np.mean([e[j] for e in r[key]]) for r in rows]))

    summary = {"songs": len(rows), "seconds": a.seconds, "model": gen.model_id,
               "steps": a.steps or gen.config.sampling.steps, "sampler": a.sampler or gen.config.sampling.sampler,
               "chord_tone_fresh": float(np.mean([r["chord_tone_fresh"] for r in rows]))}
    for key in ["cut", "cut_crossfade", *methods]:
        summary[f"{key}_edge_flux_ratio"] = mean_edges(key, 0)
        summary[f"{key}_edge_step_ratio"] = mean_edges(key, 1)
    for m in methods:
        summary[f"chord_tone_{m}"] = float(np.mean([r[f"chord_tone_{m}"] for r in rows]))
    for key in ("loop", "plain_loop"):
        summary[f"{key}_seam_flux_ratio"] = float(np.mean([r[key][0] for r in rows]))
        summary[f"{key}_seam_step_ratio"] = float(np.mean([r[key][1] for r in rows]))
    text = json.dumps({"summary": summary, "per_song": rows}, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
