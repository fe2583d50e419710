"""``groundbass eval-autoencoder``: measure an autoencoder on held-out songs (thin layer over
:func:`groundbass.core.evaluation.evaluate_autoencoder`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from groundbass.core.checkpoint import CheckpointError
from groundbass.core.data.manifest import ManifestError


@click.command("eval-autoencoder")
@click.option("--ae", "ae_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="autoencoder.safetensors of a training run.")
@click.option("--data", "manifest", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--role", type=click.Choice(["bass", "mix"]), default="bass", show_default=True)
@click.option("--split", default="test", show_default=True, help="Manifest split to measure on.")
@click.option("--songs", type=int, default=8, show_default=True, help="At most this many songs.")
@click.option("--seconds", type=float, default=10.0, show_default=True, help="Excerpt per song.")
def eval_autoencoder(ae_path, manifest, role, split, songs, seconds):
    """Reconstruction figures (pitch-class agreement, MSSD, LSD) as one JSON line."""
    from groundbass.core.data.manifest import read_manifest
    from groundbass.core.evaluation import evaluate_autoencoder
    from groundbass.core.train.autoencoder_train import load_autoencoder

    try:
        ae = load_autoencoder(ae_path)
        chosen = [s for s in read_manifest(manifest) if s.split == split][:songs]
        if not chosen:
            raise ValueError(f"{manifest}: no songs in split {split!r}")
        result = evaluate_autoencoder(ae, chosen, role, seconds=seconds)
    except (CheckpointError, ManifestError, ValueError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    click.echo(json.dumps({"ae": str(ae_path), "split": split, **result}))


@click.command("eval")
@click.option("--data", "manifest", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Manifest of held-out songs with chord charts (groundbass data synth).")
@click.option("--model", default="default", show_default=True, help="Bundled model name or checkpoint path.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--split", default="test", show_default=True,
              help="Manifest split(s) to use, comma-separated in order (e.g. 'test,valid'); 'all' for every song.")
@click.option("--songs", type=int, default=25, show_default=True, help="Number of songs (paper Fig. 3 uses 25).")
@click.option("--seconds", type=float, default=20.0, show_default=True, help="Excerpt per song.")
@click.option("--steps", type=int, default=None)
@click.option("--cfg", "cfg_w", type=float, default=None)
@click.option("--phi", type=float, default=None)
@click.option("--grounding", type=float, default=None)
@click.option("--style-cfg", type=float, default=None, help="Guidance weight of the timbre condition (v3 models).")
@click.option("--harmony-cfg", type=float, default=None,
              help="Harmony guidance weight (models trained with --latent-dropout).")
@click.option("--processing", type=click.Choice(["none", "train", "heldout"]), default="none", show_default=True,
              help="Effects on every mix: 'heldout' uses effects training never sees (out-of-domain sets).")
@click.option("--sampler", type=click.Choice(["ddim", "dpmpp2m"]), default=None)
@click.option("--style-eval/--no-style-eval", default=True, show_default=True,
              help="Also generate with a style reference (timbre distance, chord-tone rate with a reference).")
@click.option("--ae-figures/--no-ae-figures", default=True, show_default=True,
              help="Also measure the bass autoencoder's reconstructions.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
def eval_model(manifest, model, out_dir, split, songs, seconds, steps, cfg_w, phi, grounding, style_cfg, harmony_cfg,
               processing,
               sampler, style_eval, ae_figures, seed, device):
    """Chord-tone rate, matching, grounding, onsets and reconstruction figures -> metrics.json + report.png."""
    from tqdm import tqdm

    from groundbass.core import BassGenerator
    from groundbass.core.data.manifest import read_manifest
    from groundbass.core.model_eval import evaluate_generator, write_report

    try:
        gen = BassGenerator.from_pretrained(model, device=device)
        everything = read_manifest(manifest)
        names = [n.strip() for n in split.split(",") if n.strip()]
        chosen = everything if split == "all" else [s for n in names for s in everything if s.split == n]
        chosen = chosen[:songs]
        bar = tqdm(desc="eval", unit="pass")
        result = evaluate_generator(gen, chosen, seconds=seconds, steps=steps, cfg=cfg_w, phi=phi,
                                    grounding=grounding, style_cfg=style_cfg, harmony_cfg=harmony_cfg,
                                    processing=processing,
                                    sampler=sampler, style_eval=style_eval, ae_figures=ae_figures, seed=seed,
                                    progress=lambda i, n: (setattr(bar, "total", n), bar.update(1)))
        bar.close()
        json_path, png_path = write_report(result, out_dir)
    except (CheckpointError, ManifestError, ValueError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    for key, value in result["metrics"].items():
        click.echo(f"{key:34s} {value:.4g}" if isinstance(value, float) else f"{key:34s} {value}")
    click.echo(f"-> {json_path}, {png_path}")
