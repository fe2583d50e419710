"""``groundbass eval``: the paper's measurements for a whole generator on held-out songs.

For N held-out songs (with chord charts, e.g. from ``groundbass data synth``), an excerpt of
each song's non-bass stems is the mix; the generator makes a bass for it. Measured:

- chord-tone rate of the generated bass, with the true bass (ceiling) and the bass
  generated for a *different* mix (floor: song i is scored with the bass of song i+1), and
  of the bass grounded to a style reference (what grounding costs in harmony), and how many of
  the notes a reference leaves (``notes_kept_grounded``: pitch-class agreement of the bass made
  with the reference against the one made without it, same seed; more sensitive than the
  chord-tone cost, which a reference changing chord tone for chord tone does not see);
- pitch-class agreement of the generated bass with the true bass;
- matching accuracy (paper Fig. 3): compatibility of every (mix, bass) pair = mean mix
  chroma weight at the bass's pitch classes; top-1 accuracy of the diagonal (chance 1/N),
  beside it the same accuracy of the songs' true basses (how well real bass lines single out
  their own mix by this measure: a reference, not a bound — a bass that follows the mix's
  chroma closely can beat the song's own bass line here);
- grounding (paper Table 1): MFCC-statistics embedding distance (cosine and Euclidean)
  between a style reference (the true bass of another song) and basses generated with and
  without grounding (same mix, same seed); the reference is taken at the model's style
  level (``style_rms_db``), as the generator itself levels it;
- onset alignment: median |bass onset - nearest mix onset| in ms;
- baselines beside the pitch figures: the true bass of another song, and a DSP heuristic
  with no model (the argmax of the mix's tuning-corrected CQT chroma smoothed over 0.25 s,
  :func:`~groundbass.core.features.chroma_argmax_pitch_classes`), and an oracle that plays
  the chart's chord roots (``pitch_class_agreement_chord_root``: how far a root-only bass
  with perfect chord recognition would get; no system sees the chart);
- ``processing="heldout"`` runs every mix through per-stem and bus effects that training
  never sees (:mod:`.data.augment`), seeded per song: the out-of-domain condition;
- audio quality offline: Fréchet distance between the log-mel frame statistics of the
  generated and the true basses (``frechet_logmel``; beside it the same distance between the
  true basses of the two halves of the songs, a yardstick of song-to-song spread);
- bass autoencoder reconstruction (pitch-class agreement, MSSD, LSD) on the true basses.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Callable

import numpy as np

from .atomic import write_bytes_atomic
from .audio import level_gain
from .data.augment import process_mix
from .data.manifest import Song
from .data.song_audio import read_song_stems
from .evaluation import evaluate_autoencoder, read_song_part
from .features import chroma_argmax_pitch_classes
from .metrics import (
    chord_root_track,
    chord_tone_rate,
    chord_tone_rate_track,
    chroma_at,
    chroma_frames,
    compatibility,
    cosine_distance,
    frechet_distance,
    logmel_frames,
    load_chords,
    matching_accuracy,
    mfcc_embedding,
    onset_offset_ms,
    pitch_class_agreement,
    pitch_class_track,
    track_agreement,
)
from .pipeline import BassGenerator

log = logging.getLogger(__name__)

__all__ = ["evaluate_generator", "write_report"]


def _mean(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def _effective(gen: BassGenerator, **given: float | None) -> dict:
    """The sampling settings a run used: each given value, or the model's default for None."""
    return {k: getattr(gen.config.sampling, k) if v is None else v for k, v in given.items()}


def evaluate_generator(gen: BassGenerator, songs: list[Song], *, seconds: float = 20.0, steps: int | None = None,
                       cfg: float | None = None, phi: float | None = None, grounding: float | None = None,
                       style_cfg: float | None = None, sampler: str | None = None, harmony_cfg: float | None = None,
                       processing: str = "none",
                       ae_figures: bool = True, style_eval: bool = True,
                       seed: int = 0, progress: Callable[[int, int], None] | None = None) -> dict:
    """Run every measurement on ``songs`` (each needs a chord chart). Returns a JSON-safe dict:
    ``metrics`` (the figures), ``per_song``, ``matching_matrix`` (N x N scores) and
    ``settings``. Sampling settings left None are the model's defaults, grounding and
    style_cfg included. ``processing`` ("none", "train", "heldout") draws effects for each
    mix from the song index (the same for every ``seed``, which changes only the sampling);
    ``ae_figures=False`` skips the autoencoder figures and ``style_eval=False`` the style-reference generations (their figures are then NaN)."""
    songs = [s for s in songs if s.chords is not None]
    if len(songs) < 2:
        raise ValueError("eval needs at least two held-out songs with chord charts")
    n, rate = len(songs), gen.sample_rate
    mixes, trues, gens, starts = [], [], [], []
    kw = dict(steps=steps, cfg=cfg, phi=phi, style_cfg=style_cfg, sampler=sampler, harmony_cfg=harmony_cfg)
    for i, song in enumerate(songs):
        length = min(seconds, song.seconds)
        start = max(0.0, (song.seconds - length) / 2)
        if processing == "none":
            mix = read_song_part(song, "mix", rate, start, length)
        else:
            stems, drums = read_song_stems(song, rate, start, length)
            # the effects depend on the song only, not on ``seed``: two seeds measure the sampling spread
            mix = process_mix(stems, rate, np.random.default_rng([0, i, 0xE7A1]), processing, drums)
        true = read_song_part(song, "bass", rate, start, length)
        n_mix = min(len(mix), len(true))
        mix, true = mix[:n_mix], true[:n_mix]
        g = level_gain(mix, gen.config.mix_rms_db)  # true bass at the level the model would use
        mixes.append(mix * g)
        trues.append(true * g)
        starts.append(start)
        gens.append(gen.generate(mix * g, rate, seed=seed + i, grounding=0.0, **kw))
        if progress:
            progress(i + 1, 2 * n)
    charts = [load_chords(s.chords) for s in songs]
    per_song = []
    for i, song in enumerate(songs):
        other = (i + 1) % n
        times, true_pc = pitch_class_track(trues[i], rate)
        _, other_pc = pitch_class_track(trues[other], rate)
        heur_hop = 512
        heur = chroma_argmax_pitch_classes(mixes[i], rate, hop=heur_hop)
        heur_pc = heur[np.clip(np.round(times * rate / heur_hop).astype(int), 0, len(heur) - 1)]
        per_song.append({
            "song": song.song,
            "group": song.group,
            "chord_tone_rate": chord_tone_rate(gens[i], rate, charts[i], starts[i]),
            "chord_tone_rate_true": chord_tone_rate(trues[i], rate, charts[i], starts[i]),
            "chord_tone_rate_other_mix": chord_tone_rate(gens[other][: len(mixes[i])], rate, charts[i], starts[i]),
            "pitch_class_agreement": pitch_class_agreement(trues[i], gens[i], rate),
            "pitch_class_agreement_other_bass": track_agreement(true_pc, other_pc),
            "pitch_class_agreement_heuristic": track_agreement(true_pc, heur_pc),
            "pitch_class_agreement_chord_root": track_agreement(true_pc, chord_root_track(times, charts[i], starts[i])),
            "chord_tone_rate_heuristic": chord_tone_rate_track(times, heur_pc, charts[i], starts[i]),
            "onset_ms": onset_offset_ms(gens[i], mixes[i], rate),
            "onset_ms_true": onset_offset_ms(trues[i], mixes[i], rate),
        })

    chromas = [chroma_frames(m, rate) for m in mixes]

    def matching_scores(basses: list[np.ndarray]) -> np.ndarray:
        """(mixes x basses) compatibility: mean chroma weight of mix i at bass j's pitch classes."""
        tracks = [pitch_class_track(b, rate) for b in basses]
        return np.array([[compatibility(chroma_at(chromas[i], tracks[j][0]), tracks[j][1]) for j in range(n)]
                         for i in range(n)])

    scores = matching_scores(gens)
    scores_true = matching_scores(trues)  # the reference: the songs' own bass lines

    cos_g, cos_n, euc_g, euc_n = [], [], [], []
    for i, song in enumerate(songs if style_eval else []):
        ref = trues[(i + 2) % n if n > 2 else (i + 1) % n]
        ref = ref * level_gain(ref, gen.config.style_rms_db)  # as the generator hears it
        grounded = gen.generate(mixes[i], rate, style=ref, seed=seed + i, grounding=grounding, **kw)
        e_ref, e_g, e_n = mfcc_embedding(ref, rate), mfcc_embedding(grounded, rate), mfcc_embedding(gens[i], rate)
        per_song[i]["chord_tone_rate_grounded"] = chord_tone_rate(grounded, rate, charts[i], starts[i])
        per_song[i]["pitch_class_agreement_grounded"] = pitch_class_agreement(trues[i], grounded, rate)
        per_song[i]["notes_kept_grounded"] = pitch_class_agreement(gens[i], grounded, rate)
        cos_g.append(cosine_distance(e_ref, e_g))
        cos_n.append(cosine_distance(e_ref, e_n))
        euc_g.append(float(np.linalg.norm(e_ref - e_g) / np.linalg.norm(e_ref)))
        euc_n.append(float(np.linalg.norm(e_ref - e_n) / np.linalg.norm(e_ref)))
        if progress:
            progress(n + i + 1, 2 * n)

    # audio quality without listening: Fréchet distance of log-mel frame statistics, generated
    # basses vs the true basses of the same songs (and, as a yardstick, true basses vs the
    # true basses of the other half of the songs)
    gen_frames = np.concatenate([logmel_frames(b, rate) for b in gens])
    true_frames = [logmel_frames(b, rate) for b in trues]
    fd = frechet_distance(gen_frames, np.concatenate(true_frames))
    half = max(1, n // 2)
    fd_true_halves = frechet_distance(np.concatenate(true_frames[:half]), np.concatenate(true_frames[half:])) \
        if n >= 4 else float("nan")
    ae = evaluate_autoencoder(gen.bass_ae, songs, "bass", seconds=min(seconds, 10.0)) if ae_figures else \
        {"pitch_class_agreement": float("nan"), "mssd": float("nan"), "lsd_db": float("nan")}
    col = lambda k: _mean([p[k] for p in per_song])  # noqa: E731
    metrics = {
        "songs": n,
        "chord_tone_rate": col("chord_tone_rate"),
        "chord_tone_rate_true_bass": col("chord_tone_rate_true"),
        "chord_tone_rate_other_mix": col("chord_tone_rate_other_mix"),
        "chord_tone_rate_grounded": col("chord_tone_rate_grounded") if style_eval else float("nan"),
        "pitch_class_agreement_grounded": col("pitch_class_agreement_grounded") if style_eval else float("nan"),
        "notes_kept_grounded": col("notes_kept_grounded") if style_eval else float("nan"),
        "chord_tone_rate_heuristic": col("chord_tone_rate_heuristic"),
        "pitch_class_agreement": col("pitch_class_agreement"),
        "pitch_class_agreement_other_bass": col("pitch_class_agreement_other_bass"),
        "pitch_class_agreement_heuristic": col("pitch_class_agreement_heuristic"),
        "pitch_class_agreement_chord_root": col("pitch_class_agreement_chord_root"),
        "matching_accuracy": matching_accuracy(scores),
        "matching_accuracy_true_bass": matching_accuracy(scores_true),
        "matching_chance": 1.0 / n,
        "grounding_cosine_grounded": _mean(cos_g),
        "grounding_cosine_not_grounded": _mean(cos_n),
        "grounding_euclidean_grounded": _mean(euc_g),
        "grounding_euclidean_not_grounded": _mean(euc_n),
        "frechet_logmel": fd,
        "frechet_logmel_true_halves": fd_true_halves,
        "onset_offset_ms": col("onset_ms"),
        "onset_offset_ms_true_bass": col("onset_ms_true"),
        "bass_ae_pitch_class_agreement": ae.get("pitch_class_agreement", float("nan")),
        "bass_ae_mssd": ae["mssd"],
        "bass_ae_lsd_db": ae["lsd_db"],
    }
    g, u = metrics["grounding_cosine_grounded"], metrics["grounding_cosine_not_grounded"]
    metrics["grounding_cosine_reduction"] = float(1 - g / u) if u > 0 else float("nan")
    return {"metrics": metrics, "per_song": per_song, "matching_matrix": scores.round(5).tolist(),
            "settings": {"seconds": seconds, **_effective(gen, steps=steps, cfg=cfg, phi=phi, grounding=grounding,
                                                          style_cfg=style_cfg, sampler=sampler,
                                                          harmony_cfg=harmony_cfg),
                         "processing": processing, "seed": seed, "model_id": gen.model_id, "embedding": "MFCC-20 mean+std (librosa)"}}


def write_report(result: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``report.png`` (bars per metric with baselines, and the
    matching matrix) into ``out_dir``; returns both paths."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "metrics.json"
    write_bytes_atomic(json_path, (json.dumps(result, indent=1, default=float) + "\n").encode())

    m = result["metrics"]
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    fig.suptitle(f"groundbass eval — {result['settings']['model_id']} — {m['songs']} held-out songs", fontsize=13)

    def bars(ax, title, labels, values, ylabel, colors=None):
        vals = [0.0 if (v is None or math.isnan(v)) else v for v in values]
        ax.bar(labels, vals, color=colors or ["#3a6ea5", "#8fb339", "#c94c4c"][: len(vals)])
        for x, v in enumerate(values):
            ax.text(x, (0 if math.isnan(v) else v), "n/a" if math.isnan(v) else f"{v:.3g}", ha="center", va="bottom")
        ax.set_title(title)
        ax.set_ylabel(ylabel)

    bars(axes[0, 0], "Chord-tone rate", ["generated", "grounded", "true\nbass", "other mix's\nbass"],
         [m["chord_tone_rate"], m.get("chord_tone_rate_grounded", float("nan")), m["chord_tone_rate_true_bass"],
          m["chord_tone_rate_other_mix"]], "share of voiced frames",
         colors=["#3a6ea5", "#6f9bd1", "#8fb339", "#c94c4c"])
    bars(axes[0, 1], "Pitch classes vs the true bass", ["generated", "chroma\nheuristic", "chord roots\n(oracle)",
                                                       "AE recon"],
         [m["pitch_class_agreement"], m["pitch_class_agreement_heuristic"],
          m.get("pitch_class_agreement_chord_root", float("nan")), m["bass_ae_pitch_class_agreement"]], "agreement",
         colors=["#3a6ea5", "#c9a13a", "#8fb339", "#888888"])
    bars(axes[0, 2], "Matching (Fig. 3)", ["generated", "true bass", "chance"],
         [m["matching_accuracy"], m.get("matching_accuracy_true_bass", float("nan")), m["matching_chance"]],
         "top-1 accuracy")
    bars(axes[1, 0], "Grounding (Table 1): cosine distance", ["grounded", "not grounded"],
         [m["grounding_cosine_grounded"], m["grounding_cosine_not_grounded"]], "distance to style reference")
    bars(axes[1, 1], "Onset alignment", ["generated", "true bass"], [m["onset_offset_ms"], m["onset_offset_ms_true_bass"]],
         "median offset (ms)")
    mat = np.array(result["matching_matrix"])
    soft = np.exp((mat - mat.max(axis=1, keepdims=True)) / max(mat.std(), 1e-6))
    soft /= soft.sum(axis=1, keepdims=True)
    im = axes[1, 2].imshow(soft, cmap="viridis")
    axes[1, 2].set_title("Mix (row) x generated bass (column)")
    axes[1, 2].set_xticks(range(len(mat)))
    axes[1, 2].set_yticks(range(len(mat)))
    axes[1, 2].set_xlabel("bass")
    axes[1, 2].set_ylabel("mix")
    fig.colorbar(im, ax=axes[1, 2], fraction=0.046)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    png_path = out / "report.png"
    write_bytes_atomic(png_path, buf.getvalue())
    return json_path, png_path
