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
