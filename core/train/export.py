"""Export: mix autoencoder + bass autoencoder + diffusion run -> one generator file.

The result is what :meth:`groundbass.core.BassGenerator.from_pretrained` loads: the mix
*encoder* only (the mix decoder is never used at inference), the whole bass autoencoder,
the EMA U-Net weights, the latent statistics and the full :class:`ModelConfig`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from ..autoencoder import SpectrogramAutoencoder
from ..checkpoint import load_checkpoint, resolve_model, save_checkpoint
from ..config import ModelConfig, SamplingConfig, UNetConfig, config_from_dict
from ..params import check_number, check_sampler
from ..pipeline import BassGenerator, LatentStats
from ..unet import UNet1d
from .autoencoder_train import load_autoencoder
from .note_basis import note_basis_from_cache

__all__ = ["export_generator", "autoencoders_from_model", "retune_generator"]


def autoencoders_from_model(name_or_path: str | Path) -> tuple[SpectrogramAutoencoder, SpectrogramAutoencoder]:
    """The mix encoder and the bass autoencoder of a generator model (a bundled name or a path),
    as float32 modules on the CPU: a new U-Net can be trained on the latents of a shipped model."""
    gen = BassGenerator.from_pretrained(name_or_path, device="cpu", precision="fp32")
    return gen.mix_ae, gen.bass_ae


def export_generator(mix_ae: str | Path | SpectrogramAutoencoder, bass_ae: str | Path | SpectrogramAutoencoder,
                     diffusion: str | Path, out: str | Path, *,
                     name: str = "custom", sampling: SamplingConfig | None = None,
                     dtype: torch.dtype | None = torch.float16, model_id: str | None = None,
                     extra: dict | None = None, phase_iters: int | None = None,
                     style_rms_db: float | None = None, note_basis_cache: str | Path | None = None) -> Path:
    """Write a ``generator`` checkpoint to ``out`` (atomically) and return its path.

    ``dtype`` (default fp16) is the storage type of the weights; they load as float32.
    ``phase_iters`` overrides the bass decoder's Griffin-Lim refinement (inference only).
    ``style_rms_db`` (dBFS) is the level style references are brought to (see
    :func:`groundbass.core.data.levels.median_bass_level_db`); None leaves them as given.
    ``mix_ae`` and ``bass_ae`` are autoencoder files or already loaded modules (see
    :func:`autoencoders_from_model`). ``note_basis_cache`` (a latent cache of the run) fits the
    note basis that lets style grounding keep the notes (:mod:`.note_basis`) and stores it.
    Raises :class:`~groundbass.core.checkpoint.CheckpointError` for a wrong or unreadable
    input file and ValueError when the three parts do not fit together.
    """
    mix = mix_ae if isinstance(mix_ae, SpectrogramAutoencoder) else load_autoencoder(mix_ae, with_decoder=False)
    bass = bass_ae if isinstance(bass_ae, SpectrogramAutoencoder) else load_autoencoder(bass_ae)
    if phase_iters is not None:
        bass.cfg = dataclasses.replace(bass.cfg, phase_iters=phase_iters)
    ck = load_checkpoint(diffusion, kind="diffusion")
    ucfg = config_from_dict(UNetConfig, ck.config)
    sampling = sampling or SamplingConfig()
    run = ck.meta["extra"]  # the run's conditioning dropouts, where it recorded them
    sampling = dataclasses.replace(sampling, **{k: float(run[k]) for k in ("cond_dropout", "latent_dropout")
                                                if k in run})
    check_number("harmony_cfg", sampling.harmony_cfg)
    cfg = ModelConfig(name=name, mix_ae=mix.cfg, bass_ae=bass.cfg, unet=ucfg, sampling=sampling,
                      style_rms_db=style_rms_db)
    cfg.check_harmony_cfg(sampling.harmony_cfg)
    unet = UNet1d(ucfg)
    unet.load_state_dict(ck.sub("ema"))
    stats = LatentStats.from_checkpoint(ck)
    info = {"diffusion_step": ck.meta["extra"].get("step"), **(extra or {})}
    if note_basis_cache is not None:
        stats.bass_note_basis, info["note_basis"] = note_basis_from_cache(bass, stats, note_basis_cache)
    gen = BassGenerator(cfg, mix, bass, unet, stats, device="cpu", model_id=model_id or Path(out).stem)
    return gen.save(out, dtype=dtype, extra=info)


_NOTE_BASIS = "stats.bass_note_basis"
_RETUNABLE = ("steps", "cfg", "phi", "grounding", "style_cfg", "harmony_cfg", "sampler")


def retune_generator(model: str | Path, out: str | Path, *, name: str | None = None, model_id: str | None = None,
                     dtype: torch.dtype | None = None, note_basis_cache: str | Path | None = None,
                     drop_note_basis: bool = False, **sampling) -> Path:
    """Write ``model`` (a bundled name or a path) again to ``out`` with other stored sampling
    defaults: the tensors (as stored, or cast to ``dtype``), the statistics and the rest of the
    config stay as they are. ``sampling`` holds the settings to change (steps, cfg, phi, grounding,
    style_cfg, sampler; None keeps the model's value), checked against :mod:`..params`; ``name``
    defaults to the model's own, ``model_id`` to the stem of ``out`` (as :func:`export_generator`
    does), and the source's id is kept as ``retuned_from``. ``note_basis_cache`` fits a new note
    basis on that latent cache (:mod:`.note_basis`); ``drop_note_basis`` writes the model
    without one (its grounding is then exactly the paper's).
    Raises ValueError for an unknown setting or a value outside the parameter ranges."""
    if note_basis_cache is not None and drop_note_basis:
        raise ValueError("a note basis cannot be both fitted and dropped")
    unknown = sorted(set(sampling) - set(_RETUNABLE))
    if unknown:
        raise ValueError(f"unknown sampling setting(s): {', '.join(unknown)}")
    given = {k: check_sampler(v) if k == "sampler" else check_number(k, v) for k, v in sampling.items()
             if v is not None}
    ck = load_checkpoint(resolve_model(model), kind="generator")
    config = {**ck.config, "sampling": {**ck.config["sampling"], **given}, "name": name or ck.config["name"]}
    model_config = config_from_dict(ModelConfig, config)  # still a whole, valid model config
    model_config.check_harmony_cfg(model_config.sampling.harmony_cfg)  # a stored default the U-Net can take
    extra = {k: v for k, v in ck.meta["extra"].items() if k != "model_id"}
    extra.update(model_id=model_id or Path(out).stem, retuned_from=ck.meta["extra"].get("model_id", ck.path.stem))
    tensors = dict(ck.tensors)
    if drop_note_basis:
        tensors.pop(_NOTE_BASIS, None)
        extra.pop("note_basis", None)
    if note_basis_cache is not None:
        gen = BassGenerator.from_pretrained(ck.path, device="cpu", precision="fp32")
        tensors[_NOTE_BASIS], extra["note_basis"] = note_basis_from_cache(gen.bass_ae, gen.stats, note_basis_cache)
    return save_checkpoint(out, tensors, kind="generator", config=config, extra=extra, dtype=dtype)
