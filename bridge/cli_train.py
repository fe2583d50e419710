"""``groundbass train autoencoder|diffusion`` and ``groundbass export``: thin click layers
over :mod:`groundbass.core.train`.

Multi-GPU / multi-node: run the same command under ``torchrun --nproc_per_node N``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import click
import torch

from groundbass.core.ae_losses import AELossWeights
from groundbass.core.checkpoint import CheckpointError
from groundbass.core.config import SamplingConfig, preset
from groundbass.core.params import SAMPLER_NAMES
from groundbass.core.data.manifest import ManifestError

log = logging.getLogger("groundbass.train")

_USER_ERRORS = (ManifestError, CheckpointError, ValueError, FileNotFoundError)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _common(f):
    f = click.option("--steps", type=int, default=None, help="Total training steps.")(f)
    f = click.option("--batch-size", type=int, default=None, help="Batch size per process.")(f)
    f = click.option("--lr", type=float, default=None, help="Learning rate.")(f)
    f = click.option("--ckpt-every", type=int, default=None, help="Checkpoint every N steps.")(f)
    f = click.option("--valid-every", type=int, default=None, help="Validation loss every N steps.")(f)
    f = click.option("--seed", type=int, default=None, help="Seed of every random draw of the run.")(f)
    f = click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N, mps.")(f)
    f = click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default=None,
                     help="auto = bf16 autocast on CUDA, fp32 elsewhere.")(f)
    f = click.option("--resume/--no-resume", default=False, help="Continue from OUT/state.pt.")(f)
    f = click.option("--preset", "preset_name", type=click.Choice(["small", "paper"]), default="small",
                     show_default=True)(f)
    f = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
                     help="Run folder (checkpoints, TensorBoard logs).")(f)
    f = click.option("--quiet", is_flag=True, help="No progress bar.")(f)
    return f


@click.group("train")
def train() -> None:
    """Train the autoencoders and the diffusion model."""
    logging.getLogger("groundbass").setLevel(logging.INFO)


@train.command("autoencoder")
@click.option("--role", type=click.Choice(["mix", "bass"]), required=True)
@click.option("--data", "manifest", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="manifest.jsonl from `groundbass data index` or `data synth`.")
@click.option("--warmup-steps", type=int, default=None, help="Steps with the adversarial term off.")
@click.option("--mssd", type=float, default=None,
              help="Weight of the paper's multi-scale spectral distance (default 0.002; 0 skips it).")
@click.option("--mssd-log", type=float, default=None,
              help="Weight of the log-power multi-scale spectral distance (not in the paper; default 0).")
@click.option("--phase-loss", type=float, default=None,
              help="Weight of the magnitude-weighted phase / instantaneous-frequency loss (not in the paper).")
@click.option("--phase", type=click.Choice(["direct", "if"]), default=None,
              help="Decoder phase output: direct, or instantaneous frequency (default: the preset's).")
@click.option("--pitch-loss", type=float, default=None,
              help="Weight of the pitch head's cross-entropy on the bass MIDI (default 1; bass presets with a head).")
@click.option("--chroma-loss", type=float, default=None,
              help="Weight of the chroma head's cross-entropy on the chord chart (default 1; mix presets with a head).")
@click.option("--beta1", type=float, default=None,
              help="Adam beta1 (default 0.5, the paper's; 0.9 is smoother without the critics).")
@click.option("--init-from", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Start a new run from this autoencoder's weights (tensors that match by name and shape).")
@_common
def train_autoencoder_cmd(role, manifest, warmup_steps, mssd, mssd_log, phase_loss, phase, pitch_loss, chroma_loss, beta1, init_from, steps, batch_size, lr, ckpt_every, valid_every, seed,
                          device, precision, resume, preset_name, out_dir, quiet):
    """Train a spectrogram autoencoder on the mix or the bass stems of a manifest."""
    from groundbass.core.train.autoencoder_train import AETrainOptions, train_autoencoder
    from groundbass.core.train.common import with_overrides

    cfg = preset(preset_name)
    ae_cfg = cfg.bass_ae if role == "bass" else cfg.mix_ae
    if phase is not None:
        ae_cfg = dataclasses.replace(ae_cfg, phase=phase)
    weights = with_overrides(AELossWeights(), mssd=mssd, mssd_log=mssd_log, phase=phase_loss, pitch=pitch_loss,
                             chroma=chroma_loss)
    opts = with_overrides(AETrainOptions(), role=role, steps=steps, batch_size=batch_size, lr=lr, critic_lr=lr,
                        ckpt_every=ckpt_every, valid_every=valid_every, seed=seed, precision=precision,
                        warmup_steps=warmup_steps, weights=weights,
                        init_from=str(init_from) if init_from else None,
                        betas=(beta1, AETrainOptions.betas[1]) if beta1 is not None else None)
    try:
        result = train_autoencoder(manifest, out_dir, config=ae_cfg, critic_config=cfg.critic, options=opts,
                                   resume=resume, device=device, quiet=quiet)
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    click.echo(f"{out_dir / 'autoencoder.safetensors'}: step {int(result['step'])}, "
               + ", ".join(f"{k} {v:.4g}" for k, v in result.items() if "/" in k))


def _load_autoencoders(mix_ae: Path | None, bass_ae: Path | None, from_model: str | None):
    """(mix_ae, bass_ae) from autoencoder files or from a generator model (e.g. the bundled one)."""
    from groundbass.core.train.autoencoder_train import load_autoencoder
    from groundbass.core.train.export import autoencoders_from_model

    if from_model is not None:
        if mix_ae is not None or bass_ae is not None:
            raise click.UsageError("give either --from-model or --mix-ae/--bass-ae, not both")
        return autoencoders_from_model(from_model)
    if mix_ae is None or bass_ae is None:
        raise click.UsageError("give --mix-ae and --bass-ae (or --from-model)")
    return load_autoencoder(mix_ae, with_decoder=False), load_autoencoder(bass_ae)


@train.command("diffusion")
@click.option("--data", "manifest", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--mix-ae", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--bass-ae", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--from-model", default=None,
              help="Take both autoencoders from this generator model (a bundled name such as 'default' or a path).")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Latent cache folder (default OUT/latents); built once, reused after.")
@click.option("--mixes-per-song", type=int, default=4, show_default=True,
              help="Random stem subsets encoded per song in the cache.")
@click.option("--processing", type=click.Choice(["none", "train"]), default="none", show_default=True,
              help="Random per-stem and mix-bus effects on the cached mixes (the bass stays clean).")
@click.option("--features/--no-features", default=False, show_default=True,
              help="Condition on the mix's chroma / bass chroma / onset / level features beside its latent.")
@click.option("--chord-features/--no-chord-features", default=False, show_default=True,
              help="With --features: also madmom's deep chroma and recognised chord (feature set 2, 51 channels; "
                   "networks trained on recorded music).")
@click.option("--style-cond/--no-style-cond", default=False, show_default=True,
              help="Train the timbre condition (a reference bass of the same timbre from another song).")
@click.option("--init-from", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Start the U-Net from a diffusion run or a generator model (new input channels start at 0).")
@click.option("--warmup-steps", type=int, default=None, help="Linear learning-rate warm-up steps.")
@click.option("--decay-steps", type=click.IntRange(min=0), default=None,
              help="Cosine learning-rate decay over the run's last N steps (to --final-lr-ratio x --lr).")
@click.option("--final-lr-ratio", type=click.FloatRange(0.0, 1.0), default=None,
              help="The learning rate at the end of the decay, as a share of --lr (default 0.1).")
@click.option("--latent-dropout", type=click.FloatRange(0.0, 1.0, max_open=True), default=None,
              help="Share of training examples whose mix latent is zeroed while the features stay (with "
                   "--features; default 0): teaches the features-only estimate that --harmony-cfg uses.")
@click.option("--crop-frames", type=int, default=None, help="Training crop in latent frames.")
@_common
def train_diffusion_cmd(manifest, mix_ae, bass_ae, from_model, cache, mixes_per_song, processing, features,
                        chord_features,
                        style_cond, init_from, warmup_steps, decay_steps, final_lr_ratio, latent_dropout, crop_frames,
                        steps,
                        batch_size, lr,
                        ckpt_every, valid_every, seed, device, precision, resume, preset_name, out_dir, quiet):
    """Train the latent diffusion U-Net on (mix, bass) latents of a manifest."""
    from groundbass.core.features import FEATURE_DIM, FEATURE_DIM_CHORDS
    from groundbass.core.train.common import setup_distributed, with_overrides
    from groundbass.core.train.diffusion_train import DiffusionTrainOptions, train_diffusion
    from groundbass.core.train.latent_cache import build_latent_cache

    if chord_features and not features:
        raise click.UsageError("--chord-features needs --features (feature set 2 extends set 1)")
    if latent_dropout and not features:
        raise click.UsageError("--latent-dropout needs --features (it keeps the features of a mix whose latent "
                               "is dropped)")
    cfg = preset(preset_name)
    n_features = (FEATURE_DIM_CHORDS if chord_features else FEATURE_DIM) if features else 0
    cache = cache or out_dir / "latents"
    try:
        mix, bass = _load_autoencoders(mix_ae, bass_ae, from_model)
        ctx = setup_distributed(device)
        if ctx.is_main and not (cache / "index.jsonl").is_file():
            from tqdm import tqdm

            bar = tqdm(desc="encoding songs", unit="song", disable=quiet)
            build_latent_cache(manifest, mix, bass, cache, mixes_per_song=mixes_per_song, seed=seed or 0,
                               device=str(ctx.device), processing=processing, features=n_features,
                               progress=lambda i, n: (setattr(bar, "total", n), bar.update(1)))
            bar.close()
        ctx.barrier()
        ucfg = dataclasses.replace(cfg.unet, latent_dim=bass.latent_dim, cond_dim=mix.latent_dim,
                                   feature_dim=n_features,
                                   style_dim=2 * bass.latent_dim if style_cond else 0)
        opts = with_overrides(DiffusionTrainOptions(), steps=steps, batch_size=batch_size, lr=lr, ckpt_every=ckpt_every,
                            valid_every=valid_every, seed=seed, precision=precision, crop_frames=crop_frames,
                            warmup_steps=warmup_steps, decay_steps=decay_steps, final_lr_ratio=final_lr_ratio,
                            latent_dropout=latent_dropout)
        result = train_diffusion(cache, out_dir, config=ucfg, options=opts, resume=resume, device=device,
                                 quiet=quiet, init_from=init_from)
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    click.echo(f"{out_dir / 'diffusion.safetensors'}: step {int(result['step'])}, "
               + ", ".join(f"{k} {v:.4g}" for k, v in result.items() if "/" in k))


@click.command("export")
@click.option("--mix-ae", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--bass-ae", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--from-model", default=None,
              help="Take both autoencoders from this generator model (e.g. 'default') instead of --mix-ae/--bass-ae.")
@click.option("--diffusion", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The diffusion run's checkpoint. Without it, --from-model is written again with the "
                   "sampling defaults given here (its weights unchanged; other defaults kept).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--name", default=None,
              help="Model name stored in the config [default: custom, or the --from-model's own without --diffusion].")
@click.option("--dtype", type=click.Choice(["fp16", "fp32"]), default="fp16", show_default=True)
@click.option("--steps", type=int, default=None, help="Default sampling steps stored with the model.")
@click.option("--cfg", "cfg_w", type=float, default=None, help="Default guidance weight.")
@click.option("--phi", type=float, default=None, help="Default std-rescale phi.")
@click.option("--grounding", type=float, default=None, help="Default grounding strength.")
@click.option("--style-cfg", type=float, default=None, help="Default guidance weight of the timbre condition.")
@click.option("--harmony-cfg", type=float, default=None,
              help="Default harmony guidance weight (models trained with --latent-dropout).")
@click.option("--sampler", type=click.Choice(SAMPLER_NAMES), default=None, help="Default sampler stored with the model.")
@click.option("--phase-iters", type=int, default=None,
              help="Griffin-Lim iterations on the decoded phase at inference (default: as trained).")
@click.option("--style-level-data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Training manifest: style references are brought to the median level of its "
                   "training basses (otherwise used at their own level).")
@click.option("--note-basis", "note_basis", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Latent cache of the training run: fit the bass latent's note directions on its training songs "
                   "and store them, so style grounding moves the timbre and fewer of the notes.")
@click.option("--paper-grounding", is_flag=True, default=False,
              help="Without --diffusion: write the model without its note directions "
                   "(grounding exactly as in the paper).")
def export(mix_ae, bass_ae, from_model, diffusion, out, name, dtype, steps, cfg_w, phi, grounding, style_cfg,
           harmony_cfg, sampler, phase_iters, style_level_data, note_basis, paper_grounding):
    """Combine trained parts into one model file for BassGenerator.from_pretrained."""
    from groundbass.core.config import ModelConfig
    from groundbass.core.data.levels import median_bass_level_db
    from groundbass.core.data.manifest import read_manifest
    from groundbass.core.train.common import with_overrides
    from groundbass.core.train.export import export_generator

    if diffusion is None:
        _retune(from_model, out, name, dtype, dict(steps=steps, cfg=cfg_w, phi=phi, grounding=grounding,
                                                   style_cfg=style_cfg, harmony_cfg=harmony_cfg, sampler=sampler),
                other=(mix_ae, bass_ae, phase_iters, style_level_data), note_basis=note_basis,
                paper_grounding=paper_grounding)
        return
    if paper_grounding:
        raise _fail(ValueError("--paper-grounding needs no --diffusion: an export stores a note basis only with "
                               "--note-basis"))
    sampling = with_overrides(SamplingConfig(), steps=steps, cfg=cfg_w, phi=phi, grounding=grounding,
                              style_cfg=style_cfg, harmony_cfg=harmony_cfg, sampler=sampler)
    name = name or "custom"
    try:
        mix, bass = _load_autoencoders(mix_ae, bass_ae, from_model)
        style_db = None
        if style_level_data is not None:
            songs = [s for s in read_manifest(style_level_data) if s.split == "train"]
            style_db = median_bass_level_db(songs, ModelConfig.mix_rms_db)
            click.echo(f"style references at {style_db:.1f} dBFS (median training bass)")
        elif from_model is not None:
            from groundbass.core.checkpoint import load_checkpoint, resolve_model

            style_db = load_checkpoint(resolve_model(from_model), kind="generator").config.get("style_rms_db")
        path = export_generator(mix, bass, diffusion, out, name=name, sampling=sampling,
                                dtype=torch.float16 if dtype == "fp16" else torch.float32, phase_iters=phase_iters,
                                style_rms_db=style_db, note_basis_cache=note_basis)
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    click.echo(f"{path} ({path.stat().st_size / 2**20:.1f} MB)")


def _retune(from_model, out, name, dtype, sampling: dict, other: tuple, note_basis=None,
            paper_grounding: bool = False) -> None:
    """``export`` without ``--diffusion``: the --from-model generator with new stored sampling defaults."""
    from groundbass.core.train.export import retune_generator

    if from_model is None:
        raise _fail(ValueError("export needs --diffusion, or --from-model to write a model again with new defaults"))
    if any(x is not None for x in other):
        raise _fail(ValueError("--mix-ae, --bass-ae, --phase-iters and --style-level-data need --diffusion"))
    try:
        path = retune_generator(from_model, out, name=name, dtype=torch.float16 if dtype == "fp16" else torch.float32,
                                note_basis_cache=note_basis, drop_note_basis=paper_grounding, **sampling)
    except _USER_ERRORS as exc:
        raise _fail(exc) from None
    click.echo(f"{path} ({path.stat().st_size / 2**20:.1f} MB)")
