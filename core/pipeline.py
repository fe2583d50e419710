"""BassGenerator: a mix waveform in, a bass waveform out (any length, rate and channel count).

Data flow: mix (input rate, any channels) -> mono -> resample to the model rate ->
mix autoencoder ``encode`` -> normalise -> DDIM with classifier-free guidance, std
rescaling and style grounding over the U-Net -> de-normalise -> bass autoencoder
``decode`` -> resample back -> exactly the input's length -> the input's channel count.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .audio import check_rate, fit_length, gain_for_level, level_gain, release_memory, resample, to_layout, to_mono
from .autoencoder import SpectrogramAutoencoder
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, resolve_model, save_checkpoint
from .config import ModelConfig, config_from_dict, preset
from .diffusion import SAMPLERS, Denoiser, sample_ddim_resampled
from .editing import (
    REPAINT_JUMP_LENGTH,
    REPAINT_JUMPS,
    blend_denoiser,
    blend_refiner,
    circular_denoiser,
    circular_pad,
    frame_mask,
    loop_seam,
    reconstruction_guidance_denoiser,
    region_frames,
    replacement_denoiser,
    splice,
    transition_ramp,
)
from .features import estimate_tuning, mix_features
from .guidance import grounding_refiner, guided_denoiser
from .params import CROSSFADE_DEFAULT, check_edit_method, check_number, check_sampler
from .stream import ArraySignal, ScaledSignal, Signal, as_signal, resample_pieces, signal_rms
from .unet import UNet1d, style_vector

__all__ = ["BassGenerator", "LatentStats", "ProgressCallback", "resolve_device"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
"""``callback(stage, done, total)``; stage is ``"encode"``, ``"diffusion"`` (per step) or ``"decode"``."""

# Bound on (variations x latent frames) sampled in one batch; larger requests run in groups.
_MAX_BATCH_FRAMES = 40_000


@dataclass
class LatentStats:
    """Per-channel mean and std of the mix and bass latents (dataset statistics), and the
    optional note basis of the normalised bass latent (orthonormal rows (k, bass_dim),
    :mod:`.train.note_basis`): the directions style grounding leaves alone."""

    mix_mean: torch.Tensor
    mix_std: torch.Tensor
    bass_mean: torch.Tensor
    bass_std: torch.Tensor
    bass_note_basis: torch.Tensor | None = None

    @classmethod
    def identity(cls, mix_dim: int, bass_dim: int) -> "LatentStats":
        """Zero means and unit stds (an untrained model)."""
        return cls(torch.zeros(mix_dim), torch.ones(mix_dim), torch.zeros(bass_dim), torch.ones(bass_dim))

    def tensors(self) -> dict[str, torch.Tensor]:
        """The statistics as named tensors for a checkpoint (``stats.*``)."""
        return {f"stats.{k}": v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint) -> "LatentStats":
        """Read ``stats.*`` tensors from a checkpoint."""
        s = ckpt.sub("stats")
        return cls(s["mix_mean"], s["mix_std"], s["bass_mean"], s["bass_std"], s.get("bass_note_basis"))

    def normalise_bass(self, z: torch.Tensor) -> torch.Tensor:
        """A raw bass latent (..., bass_dim, T) -> the normalised latent the U-Net works in."""
        return (z - self.bass_mean[:, None]) / self.bass_std[:, None]

    def denormalise_bass(self, z: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`normalise_bass`: what the bass decoder takes."""
        return z * self.bass_std[:, None] + self.bass_mean[:, None]

    def to(self, device: torch.device) -> "LatentStats":
        """A copy on ``device``."""
        return LatentStats(*(None if v is None else v.to(device) for v in vars(self).values()))


def _float_audio(audio: np.ndarray) -> np.ndarray:
    """An existing bass as float32 in [-1, 1) (integer PCM scaled by its full range)."""
    arr = np.asarray(audio)
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max + 1)
    return arr.astype(np.float32, copy=False)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> cuda if available, else mps if available, else cpu; otherwise as given.

    Raises ValueError if an explicitly requested accelerator is not available.
    """
    name = str(device)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA GPU is available")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' requested but MPS is not available")
    return dev


def _cpu_has_fast_bf16() -> bool:
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool(probe and probe())
    except RuntimeError:
        return False


class BassGenerator:
    """Generate a bass stem for a mix. Load with :meth:`from_pretrained` or :meth:`from_preset`."""

    def __init__(self, config: ModelConfig, mix_ae: SpectrogramAutoencoder, bass_ae: SpectrogramAutoencoder,
                 unet: UNet1d, stats: LatentStats, *, device: str | torch.device = "auto",
                 precision: str = "auto", model_id: str = "untrained") -> None:
        self.config = config
        self.device = resolve_device(device)
        self.model_id = model_id
        self.mix_ae = mix_ae.to(self.device).eval()
        self.bass_ae = bass_ae.to(self.device).eval()
        self.denoiser = Denoiser(unet).to(self.device).eval()
        self.stats = stats.to(self.device)
        self.precision = self._pick_precision(precision)
        log.debug("BassGenerator %s on %s (%s)", model_id, self.device, self.precision)

    # ------------------------------------------------------------------ construction

    def _pick_precision(self, precision: str) -> str:
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be auto, fp32 or bf16, got {precision!r}")
        if precision != "auto":
            return precision
        if self.device.type == "cuda":
            return "bf16"
        if self.device.type == "cpu" and _cpu_has_fast_bf16():
            return "bf16"
        return "fp32"

    @classmethod
    def from_preset(cls, name: str = "small", seed: int = 0, **kwargs) -> "BassGenerator":
        """A randomly initialised generator of preset ``name`` (``"small"`` or ``"paper"``)."""
        cfg = preset(name)
        with torch.random.fork_rng(devices=[]):  # seed the initialisation, leave the caller's RNG alone
            torch.manual_seed(seed)
            mix_ae = SpectrogramAutoencoder(cfg.mix_ae, with_decoder=False)
            bass_ae = SpectrogramAutoencoder(cfg.bass_ae)
            unet = UNet1d(cfg.unet)
        stats = LatentStats.identity(cfg.mix_ae.latent_dim, cfg.bass_ae.latent_dim)
        kwargs.setdefault("model_id", f"{name}-random-seed{seed}")
        return cls(cfg, mix_ae, bass_ae, unet, stats, **kwargs)

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path = "default", **kwargs) -> "BassGenerator":
        """Load a generator checkpoint: a bundled name (``"default"``) or a file path.

        Raises :class:`~groundbass.core.checkpoint.CheckpointError` naming the file on a bad file.
        """
        path = resolve_model(name_or_path)
        ckpt = load_checkpoint(path, kind="generator")
        cfg = config_from_dict(ModelConfig, ckpt.config)
        mix_ae = SpectrogramAutoencoder(cfg.mix_ae, with_decoder=False)
        mix_ae.encoder.load_state_dict(ckpt.sub("mix_encoder"))
        bass_ae = SpectrogramAutoencoder(cfg.bass_ae)
        bass_ae.load_state_dict(ckpt.sub("bass_ae"))
        unet = UNet1d(cfg.unet)
        unet.load_state_dict(ckpt.sub("unet"))
        kwargs.setdefault("model_id", ckpt.meta["extra"].get("model_id", Path(path).stem))
        stats = LatentStats.from_checkpoint(ckpt)
        basis = stats.bass_note_basis
        if basis is not None and (basis.ndim != 2 or basis.shape[1] != cfg.bass_ae.latent_dim):
            raise CheckpointError(f"{path}: its note basis {tuple(basis.shape)} does not fit the bass latent "
                                  f"({cfg.bass_ae.latent_dim} channels)")
        return cls(cfg, mix_ae, bass_ae, unet, stats, **kwargs)

    def save(self, path: str | Path, dtype: torch.dtype | None = None, extra: dict | None = None) -> Path:
        """Write this generator as one ``generator`` checkpoint (mix encoder, bass autoencoder,
        U-Net, latent statistics, config). ``dtype=torch.float16`` halves the file size."""
        tensors = {f"mix_encoder.{k}": v for k, v in self.mix_ae.encoder.state_dict().items()}
        tensors.update({f"bass_ae.{k}": v for k, v in self.bass_ae.state_dict().items()})
        tensors.update({f"unet.{k}": v for k, v in self.denoiser.net.state_dict().items()})
        tensors.update(self.stats.tensors())
        meta = {"model_id": self.model_id, **(extra or {})}
        return save_checkpoint(path, tensors, kind="generator", config=self.config, extra=meta, dtype=dtype)

    # ------------------------------------------------------------------ properties

    @property
    def sample_rate(self) -> int:
        """The model's internal sample rate in Hz."""
        return self.config.sample_rate

    @property
    def latent_rate(self) -> float:
        """Latent frames per second."""
        return self.config.sample_rate / self.config.ratio

    @property
    def harmony_guidance(self) -> bool:
        """Whether the model can take harmony guidance (:attr:`ModelConfig.harmony_guidance`)."""
        return self.config.harmony_guidance

    # ------------------------------------------------------------------ stages

    def _autocast(self):
        if self.precision == "bf16" and self.device.type in ("cuda", "cpu"):
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @torch.inference_mode()
    def encode_mix(self, mono: np.ndarray | Signal, tuning: float = 0.0) -> torch.Tensor:
        """Mono mix at the model rate ((samples,) or a :class:`~.stream.Signal`, read window by
        window) -> the U-Net's condition (1, mix_dim [+ feature_dim], frames):
        the normalised mix latent, followed by the mix's signal-processing features
        (:mod:`.features`, computed at ``tuning`` semitones off A = 440) when the model uses them."""
        sig = as_signal(mono)
        return self._with_features(self._mix_latent(sig), sig, tuning)

    def _mix_latent(self, mix: Signal) -> torch.Tensor:
        """The normalised mix latent (1, mix_dim, frames) of a mono mix at the model rate."""
        z = self.mix_ae.encode_read(lambda lo, hi: torch.from_numpy(mix.read(lo, hi)).to(self.device)[None],
                                    mix.length)
        return (z - self.stats.mix_mean[:, None]) / self.stats.mix_std[:, None]

    def _with_features(self, z: torch.Tensor, mono: np.ndarray | Signal, tuning: float) -> torch.Tensor:
        """The mix latent ``z`` followed by the mix's features, for models that use them."""
        if self.config.unet.feature_dim:
            feats = mix_features(mono, self.sample_rate, z.shape[-1], self.config.ratio, tuning,
                                 feature_dim=self.config.unet.feature_dim)
            z = torch.cat([z, torch.from_numpy(feats).to(self.device, z.dtype)[None]], dim=1)
        return z

    def style_latent(self, style: np.ndarray, sample_rate: int) -> torch.Tensor:
        """The normalised bass latent (1, bass_dim, frames) of a reference bass, after bringing
        it to the model's ``style_rms_db`` (when set), so its loudness does not move the latent:
        a loud sample does not make a loud bass."""
        sr = check_rate(sample_rate, "style")
        mono = resample(to_mono(style, "style"), sr, self.sample_rate)
        return self.encode_bass(mono * level_gain(mono, self.config.style_rms_db))

    def style_mean(self, style: np.ndarray, sample_rate: int) -> torch.Tensor:
        """Time-mean of the levelled reference's normalised bass latent -> (bass_dim,) (grounding)."""
        return self.style_latent(style, sample_rate).mean(dim=(0, 2))

    def style_vector(self, style: np.ndarray, sample_rate: int) -> torch.Tensor:
        """The timbre condition of a reference bass -> (2 * bass_dim,) (:func:`~.unet.style_vector`
        of :meth:`style_latent`). Only models trained with a timbre condition use it."""
        return style_vector(self.style_latent(style, sample_rate)[0])

    def sample_latents(self, cond: torch.Tensor, seeds: list[int], *, steps: int, cfg: float, phi: float,
                       style_mean: torch.Tensor | None = None, grounding: float = 1.0,
                       style_vec: torch.Tensor | None = None, style_cfg: float = 1.0, sampler: str = "ddim",
                       harmony_cfg: float = 0.0, callback: ProgressCallback | None = None,
                       known: torch.Tensor | None = None,
                       keep: torch.Tensor | None = None, method: str = "replace",
                       circular: int = 0, ramp: torch.Tensor | None = None,
                       to_style_mean: torch.Tensor | None = None,
                       to_style_vec: torch.Tensor | None = None) -> torch.Tensor:
        """Sample normalised bass latents for ``cond`` (1, cond channels, T), one per seed.

        ``style_mean`` drives the paper's grounding (strength ``grounding``); ``style_vec``
        is the timbre condition of models trained with one, guided with weight ``style_cfg``;
        ``harmony_cfg`` > 0 adds harmony guidance (models trained with latent dropout,
        :func:`~.guidance.guide_harmony`).
        Editing (:mod:`.editing`): ``known`` (1, bass_dim, T) latent frames are kept where
        ``keep`` (T,) is 1, by ``method`` "replace", "repaint" or "guidance"; ``circular > 0`` pads the
        sequence circularly by that many frames (a loop without a seam). A transition:
        ``ramp`` (T,) goes from 0 (the conditions above) to 1 (``to_style_mean`` /
        ``to_style_vec``, None = no reference), blending the two guided estimates per frame.

        Returns (len(seeds), bass_dim, T). Seed ``s`` always gives the same latent,
        whatever else is in the batch (each noise tensor comes from its own generator).
        """
        method = check_edit_method(method)
        needs_grad = known is not None and method == "guidance"
        with torch.inference_mode(False) if needs_grad else torch.inference_mode(), \
                torch.no_grad() if needs_grad else contextlib.nullcontext():
            if needs_grad:  # tensors made in inference mode cannot take part in a backward pass
                cond, known = cond.clone(), known.clone()
                style_vec = style_vec.clone() if style_vec is not None else None
                style_mean = style_mean.clone() if style_mean is not None else None
            dim, frames = self.config.bass_ae.latent_dim, cond.shape[-1]
            noise = torch.stack([
                torch.randn(dim, frames, generator=torch.Generator().manual_seed(int(s))) for s in seeds
            ]).to(self.device)

            def model(z: torch.Tensor, t: torch.Tensor, c: torch.Tensor, s: torch.Tensor | None = None) -> torch.Tensor:
                with self._autocast():
                    return self.denoiser(z, t, c, s).float()

            c = cond.expand(len(seeds), -1, -1)
            c = circular_pad(c, circular) if circular else c

            def guided(vec: torch.Tensor | None):
                style = vec.to(self.device)[None].expand(len(seeds), -1) if vec is not None else None
                d = guided_denoiser(model, c, cfg, phi, style=style, w_style=style_cfg, w_harmony=harmony_cfg,
                                    latent_channels=self.config.unet.cond_dim)
                return circular_denoiser(d, frames, circular) if circular else d

            def grounded(mean: torch.Tensor | None):
                if mean is None or grounding <= 0:
                    return None
                return grounding_refiner(mean, grounding, self.stats.bass_note_basis)

            denoise, refine = guided(style_vec), grounded(style_mean)
            if ramp is not None:
                r = ramp.to(self.device)
                denoise = blend_denoiser(denoise, guided(to_style_vec), r)
                refine = blend_refiner(refine, grounded(to_style_mean), r)
            if known is not None:
                keep = keep if keep is not None else torch.ones(frames)
                k, m = known.to(self.device), keep.to(self.device)
                denoise = reconstruction_guidance_denoiser(denoise, k, m) if method == "guidance" else \
                    replacement_denoiser(denoise, k, m)
            step_cb = (lambda k, n: callback("diffusion", k, n)) if callback else None
            if known is not None and method == "repaint":  # DDIM with resampling jumps, own noise per seed
                gens = [torch.Generator().manual_seed(int(s) + 104729) for s in seeds]
                return sample_ddim_resampled(denoise, noise, steps, jump_length=REPAINT_JUMP_LENGTH,
                                             jumps=REPAINT_JUMPS, generator=gens, refine=refine, callback=step_cb)
            return SAMPLERS[check_sampler(sampler)](denoise, noise, steps, refine=refine, callback=step_cb)

    def decode_bass(self, latent: torch.Tensor, length: int, tuning: float = 0.0) -> np.ndarray:
        """Normalised bass latent (1, bass_dim, T) -> mono bass at the model rate, (length,) float32,
        its notes ``tuning`` semitones off A = 440 Hz (:meth:`decode_bass_pieces`, joined)."""
        return np.concatenate(list(self.decode_bass_pieces(latent, length, tuning)))

    def decode_bass_pieces(self, latent: torch.Tensor, length: int, tuning: float = 0.0):
        """:meth:`decode_bass` as an iterator of float32 pieces in order, so a long bass is never
        held whole."""
        with torch.inference_mode():  # entered around each step only: a generator must not leak the mode
            z = self.stats.denormalise_bass(latent)
        pieces = self.bass_ae.decode_pieces(z, length=length, tuning=tuning)
        while True:
            with torch.inference_mode():
                piece = next(pieces, None)
                piece = None if piece is None else piece[0].float().cpu().numpy()
            if piece is None:
                return
            yield piece

    # ------------------------------------------------------------------ the public call

    def _settings(self, steps, cfg, phi, grounding, style_cfg, sampler, tuning, variations,
                  harmony_cfg=None) -> dict:
        """The model's defaults filled in and every value checked against :mod:`.params`."""
        d = self.config.sampling
        out = {
            "steps": d.steps if steps is None else int(steps),
            "cfg": d.cfg if cfg is None else float(cfg),
            "phi": d.phi if phi is None else float(phi),
            "grounding": d.grounding if grounding is None else float(grounding),
            "style_cfg": d.style_cfg if style_cfg is None else float(style_cfg),
            "harmony_cfg": d.harmony_cfg if harmony_cfg is None else float(harmony_cfg),
        }
        for name, value in out.items():
            check_number(name, value)  # the ranges of core.params, the same for every front end
        self.config.check_harmony_cfg(out["harmony_cfg"])
        out["sampler"] = check_sampler(d.sampler if sampler is None else sampler)
        if variations < 1:
            raise ValueError(f"variations must be >= 1, got {variations}")
        if tuning is not None and not (np.isfinite(tuning) and -1.0 <= tuning <= 1.0):
            raise ValueError(f"tuning must be within -1..1 semitones, got {tuning}")
        return out

    def _latents(self, mono: np.ndarray | Signal, settings: dict, *, style, style_sample_rate, seed: int,
                 variations: int, tuning: float | None, callback: ProgressCallback | None,
                 known_wave: np.ndarray | None = None, keep_ranges: list[tuple[int, int]] | None = None,
                 method: str = "replace", loop_pad: int = 0, to_style: np.ndarray | None = None,
                 to_style_sample_rate: int | None = None,
                 ramp_frames: tuple[int, int] | None = None) -> tuple[torch.Tensor, float, float]:
        """The core of every call: a mono mix at the model rate (an array or a
        :class:`~.stream.Signal`, read window by window) -> (normalised bass latents
        (variations, bass_dim, T), the gain that brought the mix to the model's level, the
        tuning used). ``known_wave`` (a bass at the model rate, same length) is kept on the
        latent frames ``keep_ranges``; ``loop_pad > 0`` samples circularly; ``ramp_frames =
        (a, b)`` moves the timbre from ``style`` to ``to_style`` over those latent frames (a
        transition)."""
        mix = as_signal(mono)
        gain = gain_for_level(signal_rms(mix), self.config.mix_rms_db)
        if callback:
            callback("encode", 0, 1)
        if tuning is None:
            tuning = estimate_tuning(mix, self.sample_rate)
            log.info("mix tuning %+.0f cents off A = 440 Hz", 100 * tuning)
        cond = self.encode_mix(ScaledSignal(mix, gain), tuning)
        frames = cond.shape[-1]
        known = keep = None
        if known_wave is not None:
            known = self.encode_bass(known_wave * gain)[..., :frames]
            keep = frame_mask(frames, keep_ranges or [])
        g = settings["grounding"]
        style_mu, style_v = self._style_conditions(style, style_sample_rate, settings)
        ramp = to_mu = to_v = None
        if ramp_frames is not None:
            ramp = transition_ramp(frames, *ramp_frames)
            to_mu, to_v = self._style_conditions(to_style, to_style_sample_rate, settings)
        if callback:
            callback("encode", 1, 1)
        release_memory()

        seeds = [seed + i for i in range(variations)]
        group = max(1, _MAX_BATCH_FRAMES // max(1, frames + 2 * loop_pad))
        latents = []
        for i in range(0, variations, group):
            latents.append(self.sample_latents(
                cond, seeds[i:i + group], steps=settings["steps"], cfg=settings["cfg"], phi=settings["phi"],
                style_mean=style_mu, grounding=g, style_vec=style_v, style_cfg=settings["style_cfg"],
                sampler=settings["sampler"], harmony_cfg=settings["harmony_cfg"], callback=callback, known=known,
                keep=keep, method=method,
                circular=loop_pad, ramp=ramp, to_style_mean=to_mu, to_style_vec=to_v))
        latent = torch.cat(latents)
        release_memory()
        return latent, gain, tuning

    def _basses(self, mono: np.ndarray, settings: dict, *, loop_pad: int = 0, callback: ProgressCallback | None,
                **kw) -> tuple[list[np.ndarray], float]:
        """:meth:`_latents` decoded whole: (mono basses at the model rate, levelled back to the
        mix's level; the gain used). ``loop_pad > 0`` decodes ``loop_pad`` latent frames of
        wrap-around each side and joins the loop's seam."""
        latent, gain, tuning = self._latents(mono, settings, loop_pad=loop_pad, callback=callback, **kw)
        frames, variations = latent.shape[-1], latent.shape[0]
        outs = []
        r = self.config.ratio
        for i in range(variations):
            if loop_pad:
                wave = self.decode_bass(circular_pad(latent[i:i + 1], loop_pad), (frames + 2 * loop_pad) * r, tuning)
                centre = wave[loop_pad * r: loop_pad * r + len(mono)]
                after = wave[loop_pad * r + len(mono):]
                outs.append(loop_seam(centre, after, int(0.05 * self.sample_rate)) / gain)
            else:
                outs.append(self.decode_bass(latent[i:i + 1], len(mono), tuning) / gain)
            release_memory()
            if callback:
                callback("decode", i + 1, variations)
        return outs, gain

    def _style_conditions(self, style: np.ndarray | None, sample_rate: int | None,
                          settings: dict) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(grounding target, timbre condition) of a reference bass, each None where the
        settings or the model do not use it; the reference is encoded once for both."""
        g = settings["grounding"]
        wants_vec = bool(self.config.unet.style_dim) and settings["style_cfg"] != 0
        if style is None or not (g > 0 or wants_vec):
            return None, None
        z_style = self.style_latent(style, sample_rate)
        return (z_style.mean(dim=(0, 2)) if g > 0 else None), (style_vector(z_style[0]) if wants_vec else None)

    @torch.inference_mode()
    def encode_bass(self, mono: np.ndarray) -> torch.Tensor:
        """Mono bass at the model rate (samples,) -> normalised bass latent (1, bass_dim, frames)."""
        wave = torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32)).to(self.device)[None]
        z = self.bass_ae.encode_chunked(wave)
        return self.stats.normalise_bass(z)

    def generate(self, mix: np.ndarray, sample_rate: int, *, style: np.ndarray | None = None,
                 style_sample_rate: int | None = None, steps: int | None = None, cfg: float | None = None,
                 phi: float | None = None, grounding: float | None = None, seed: int | None = None,
                 variations: int = 1, callback: ProgressCallback | None = None, style_cfg: float | None = None,
                 tuning: float | None = None, sampler: str | None = None, harmony_cfg: float | None = None,
                 loop: bool = False) -> np.ndarray | list[np.ndarray]:
        """Generate a bass stem for ``mix``.

        ``mix`` is ``(samples,)`` or ``(samples, channels)`` at ``sample_rate`` Hz (8-192 kHz).
        ``style`` is an optional reference bass (same layouts, at ``style_sample_rate``,
        default ``sample_rate``): models trained with a timbre condition take on its timbre
        (guidance weight ``style_cfg``, 0 ignores it); the paper's grounding towards its
        latent mean has strength ``grounding`` in [0, 1].
        ``sampler`` is "ddim" or "dpmpp2m" (DPM-Solver++ 2M). ``harmony_cfg`` > 0 pushes the bass
        further towards the mix's chroma features (models trained with latent dropout; 0 = off).
        ``steps``, ``sampler``, ``cfg``, ``phi``, ``grounding``, ``style_cfg`` and ``harmony_cfg``
        default to the model's tuned values.
        ``tuning`` is the mix's tuning in semitones off A = 440 Hz (None: estimated from the
        mix); the bass is played in that tuning and the harmony features follow it.
        ``loop=True`` makes the bass a seamless loop of the whole input: its end runs into its
        start (the mix is treated as circular; see :mod:`.editing`).
        Variation ``i`` uses seed ``seed + i``; ``seed=None`` draws one (logged).

        Returns float32 audio in the mix's layout, rate, channel count and exact length:
        one array if ``variations == 1``, else a list of ``variations`` arrays.
        """
        sr = check_rate(sample_rate, "mix")
        settings = self._settings(steps, cfg, phi, grounding, style_cfg, sampler, tuning, variations, harmony_cfg)
        if seed is None:
            seed = secrets.randbelow(2**31 - variations)
            log.info("seed %d", seed)
        arr = np.asarray(mix)
        channels = arr.shape[1] if arr.ndim == 2 else None
        length = arr.shape[0]
        mono = resample(to_mono(arr, "mix"), sr, self.sample_rate)
        if loop:
            return self._loop(mono, sr, length, channels, settings, style=style,
                              style_sample_rate=style_sample_rate or sr, seed=seed, variations=variations,
                              tuning=tuning, callback=callback)
        del arr
        stream = self.generate_stream(ArraySignal(mono), sample_rate=sr, length=length, style=style,
                                      style_sample_rate=style_sample_rate or sr, seed=seed, variations=variations,
                                      callback=callback, tuning=tuning, _settings=settings)
        outs = [to_layout(np.concatenate(list(pieces)), channels) for pieces in stream]
        return outs[0] if variations == 1 else outs

    def generate_stream(self, mix: Signal, *, sample_rate: int, length: int, style: np.ndarray | None = None,
                        style_sample_rate: int | None = None, steps: int | None = None, cfg: float | None = None,
                        phi: float | None = None, grounding: float | None = None, seed: int | None = None,
                        variations: int = 1, callback: ProgressCallback | None = None,
                        style_cfg: float | None = None, tuning: float | None = None, sampler: str | None = None,
                        harmony_cfg: float | None = None, _settings: dict | None = None):
        """:meth:`generate` in bounded memory: ``mix`` is a mono :class:`~.stream.Signal` at the
        model rate (:attr:`sample_rate`), read window by window; the output is at
        ``sample_rate`` Hz, exactly ``length`` samples, mono.

        Returns an iterator over the variations; each is an iterator of float32 pieces in order
        (consume one before asking for the next). Sampling runs when the first variation is
        asked for. With the same seed and settings the pieces' concatenation equals
        :meth:`generate`'s result sample for sample. Other arguments as in :meth:`generate`.
        """
        sr = check_rate(sample_rate, "output")
        settings = _settings or self._settings(steps, cfg, phi, grounding, style_cfg, sampler, tuning, variations,
                                               harmony_cfg)
        if seed is None:
            seed = secrets.randbelow(2**31 - variations)
            log.info("seed %d", seed)
        latent, gain, tuning = self._latents(mix, settings, style=style, style_sample_rate=style_sample_rate or sr,
                                             seed=seed, variations=variations, tuning=tuning, callback=callback)
        def decoded(i: int):
            pieces = (p / gain for p in self.decode_bass_pieces(latent[i:i + 1], mix.length, tuning))
            yield from resample_pieces(pieces, self.sample_rate, sr, length)
            release_memory()
            if callback:  # reported when the variation's last piece has been taken
                callback("decode", i + 1, variations)

        for i in range(variations):
            yield decoded(i)

    def _loop(self, mono: np.ndarray, sr: int, length: int, channels: int | None, settings: dict, **kw):
        """A loop is sampled at a whole number of latent frames: the mix is stretched (by less
        than half a frame) to ``T * ratio`` samples, the bass is made circularly there and
        stretched back to exactly ``length`` samples — so its end runs into its start."""
        r = self.config.ratio
        frames = max(1, int(round(len(mono) / r)))
        stretched = resample(mono, len(mono), frames * r) if len(mono) != frames * r else mono
        stretched = fit_length(stretched, frames * r)
        pad = min(frames, 16)
        basses, _ = self._basses(stretched, settings, loop_pad=pad, **kw)
        outs = []
        for b in basses:
            back = resample(b, frames * r, len(mono)) if len(mono) != frames * r else b
            back = resample(fit_length(back, len(mono)), self.sample_rate, sr)
            outs.append(to_layout(fit_length(back, length), channels))
        return outs[0] if len(outs) == 1 else outs

    def edit(self, mix: np.ndarray, sample_rate: int, bass: np.ndarray, bass_sample_rate: int | None = None, *,
             task: str = "regenerate", start: float | None = None, end: float | None = None,
             crossfade: float = CROSSFADE_DEFAULT, method: str = "replace", style: np.ndarray | None = None,
             style_sample_rate: int | None = None, steps: int | None = None, cfg: float | None = None,
             phi: float | None = None, grounding: float | None = None, style_cfg: float | None = None,
             sampler: str | None = None, seed: int | None = None, tuning: float | None = None,
             harmony_cfg: float | None = None, callback: ProgressCallback | None = None) -> np.ndarray:
        """Edit an existing ``bass`` of ``mix`` (the guidance-gradients paper's tasks):

        - ``task="regenerate"``: a new bass between ``start`` and ``end`` (seconds); outside
          that range the result equals ``bass`` sample for sample, and equal-power crossfades
          of ``crossfade`` seconds inside the range join the two at each edge;
        - ``task="continue"``: ``bass`` shorter than the mix is kept, and the rest of the mix
          gets a bass that continues it (a ``crossfade`` at the end of the kept part joins them).

        The existing bass's latent frames outside the region are kept during sampling
        (``method`` "replace", "repaint" or "guidance", see :mod:`.editing`), so the new part fits both
        edges. Returns float32 audio in ``bass``'s layout and rate (``bass_sample_rate``,
        default the mix's), ``bass``'s length for "regenerate" and the mix's for "continue".
        """
        sr = check_rate(sample_rate, "mix")
        bsr = check_rate(bass_sample_rate or sr, "bass")
        settings = self._settings(steps, cfg, phi, grounding, style_cfg, sampler, tuning, 1, harmony_cfg)
        if task not in ("regenerate", "continue"):
            raise ValueError(f"task must be 'regenerate' or 'continue', got {task!r}")
        crossfade = check_number("crossfade", crossfade)
        method = check_edit_method(method)
        if seed is None:
            seed = secrets.randbelow(2**31 - 1)
            log.info("seed %d", seed)
        old = _float_audio(bass)
        to_mono(old, "bass")  # shape and finiteness checks, with a clear message
        bass_channels = old.shape[1] if old.ndim == 2 else None
        mix_mono = resample(to_mono(np.asarray(mix), "mix"), sr, self.sample_rate)
        mix_s = len(mix_mono) / self.sample_rate
        old_mono = resample(to_mono(old, "bass"), bsr, self.sample_rate)
        rate = self.latent_rate
        frames = self.mix_ae.latent_frames(len(mix_mono))
        if task == "regenerate":
            if start is None or end is None or not (np.isfinite(start) and np.isfinite(end)) or not 0 <= start < end:
                raise ValueError(f"regenerate needs 0 <= start < end (seconds), got {start}..{end}")
            end = min(end, old.shape[0] / bsr, mix_s)
            if start >= end:
                raise ValueError(f"the region starts after the end of the bass or mix ({start:.2f} s)")
            a, b = region_frames(start, end, rate, frames)
            keep_ranges = [(0, a), (b, frames)]
            out_len = old.shape[0]
        else:
            old_s = old.shape[0] / bsr
            if old_s >= mix_s - 0.05:
                raise ValueError(f"continue needs a bass shorter than the mix ({old_s:.2f} s >= {mix_s:.2f} s)")
            start, end = old_s, mix_s
            a, _ = region_frames(old_s - crossfade, old_s, rate, frames)
            keep_ranges = [(0, a)]
            out_len = int(round(mix_s * bsr))
        known_wave = fit_length(old_mono, len(mix_mono))
        basses, _ = self._basses(mix_mono, settings, style=style, style_sample_rate=style_sample_rate or sr,
                                 seed=seed, variations=1, tuning=tuning, callback=callback, known_wave=known_wave,
                                 keep_ranges=keep_ranges, method=method)
        new = fit_length(resample(basses[0], self.sample_rate, bsr), out_len)
        new = to_layout(new, bass_channels)
        base = fit_length(old, out_len)
        fade = int(round(crossfade * bsr))
        s0 = int(round(start * bsr))
        if task == "continue":
            s0 = max(0, s0 - fade)  # the crossfade sits at the end of the kept part
        return splice(base, new.astype(np.float32), s0, int(round(end * bsr)) if task == "regenerate" else out_len,
                      fade)

    def transition(self, mix: np.ndarray, sample_rate: int, *, start: float, end: float,
                   to_style: np.ndarray | None = None, to_style_sample_rate: int | None = None,
                   bass: np.ndarray | None = None, bass_sample_rate: int | None = None,
                   style: np.ndarray | None = None, style_sample_rate: int | None = None,
                   crossfade: float = CROSSFADE_DEFAULT, method: str = "replace", steps: int | None = None,
                   cfg: float | None = None, phi: float | None = None, grounding: float | None = None,
                   style_cfg: float | None = None, sampler: str | None = None, seed: int | None = None,
                   tuning: float | None = None, harmony_cfg: float | None = None,
                   callback: ProgressCallback | None = None) -> np.ndarray:
        """A bass that moves, over ``start..end`` (seconds), from one sound to another:

        - from ``bass`` (an existing bass: kept sample for sample up to ``start``, joined to the
          new part by a ``crossfade`` inside the span; its timbre is the starting point unless
          ``style`` is given), or from the timbre of ``style`` (None: no reference);
        - to the timbre of ``to_style`` (None: the model's own choice, no reference).

        The timbre condition (and grounding, when on) ramps linearly over the span's latent
        frames: the two guided estimates are blended frame by frame (:func:`.editing.blend_denoiser`).
        Returns the mix's length, in ``bass``'s layout and rate when given, else the mix's.
        """
        sr = check_rate(sample_rate, "mix")
        settings = self._settings(steps, cfg, phi, grounding, style_cfg, sampler, tuning, 1, harmony_cfg)
        crossfade = check_number("crossfade", crossfade)
        method = check_edit_method(method)
        if bass is None and to_style is None and style is None:
            raise ValueError("a transition needs an existing bass or a reference to go from or to")
        if seed is None:
            seed = secrets.randbelow(2**31 - 1)
            log.info("seed %d", seed)
        arr = np.asarray(mix)
        mix_mono = resample(to_mono(arr, "mix"), sr, self.sample_rate)
        mix_s = len(mix_mono) / self.sample_rate
        if not (np.isfinite(start) and np.isfinite(end)) or not 0 <= start < end:
            raise ValueError(f"a transition needs 0 <= start < end (seconds), got {start}..{end}")
        if start >= mix_s:
            raise ValueError(f"the span starts after the end of the mix ({start:.2f} s >= {mix_s:.2f} s)")
        end = min(end, mix_s)
        frames = self.mix_ae.latent_frames(len(mix_mono))
        a, b = region_frames(start, end, self.latent_rate, frames, margin=0)
        kw = dict(seed=seed, variations=1, tuning=tuning, callback=callback, to_style=to_style,
                  to_style_sample_rate=to_style_sample_rate or sr, ramp_frames=(a, b))
        if bass is None:
            out = self._basses(mix_mono, settings, style=style, style_sample_rate=style_sample_rate or sr, **kw)[0][0]
            return to_layout(fit_length(resample(out, self.sample_rate, sr), arr.shape[0]),
                             arr.shape[1] if arr.ndim == 2 else None)
        bsr = check_rate(bass_sample_rate or sr, "bass")
        old = _float_audio(bass)
        old_mono = resample(to_mono(old, "bass"), bsr, self.sample_rate)
        if old.shape[0] / bsr < start:
            raise ValueError(f"the bass ({old.shape[0] / bsr:.2f} s) ends before the span starts ({start:.2f} s)")
        head = old_mono[: max(int(round(start * self.sample_rate)), self.sample_rate)]  # >= 1 s of reference
        a_keep, _ = region_frames(start - crossfade, start, self.latent_rate, frames)
        basses, _ = self._basses(mix_mono, settings, style=style if style is not None else head,
                                 style_sample_rate=(style_sample_rate or sr) if style is not None else self.sample_rate,
                                 known_wave=fit_length(old_mono, len(mix_mono)), keep_ranges=[(0, a_keep)],
                                 method=method, **kw)
        out_len = int(round(mix_s * bsr))
        new = to_layout(fit_length(resample(basses[0], self.sample_rate, bsr), out_len),
                        old.shape[1] if old.ndim == 2 else None)
        fade = int(round(crossfade * bsr))
        s0 = max(0, int(round(start * bsr)) - fade)
        return splice(fit_length(old, out_len), new.astype(np.float32), s0, out_len, fade)
