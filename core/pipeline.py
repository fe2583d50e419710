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

from .audio import check_rate, fit_length, level_gain, resample, to_layout, to_mono
from .autoencoder import SpectrogramAutoencoder
from .checkpoint import Checkpoint, load_checkpoint, resolve_model, save_checkpoint
from .config import ModelConfig, config_from_dict, preset
from .diffusion import Denoiser, sample_ddim
from .guidance import grounding_refiner, guided_denoiser
from .unet import UNet1d

__all__ = ["BassGenerator", "LatentStats", "ProgressCallback", "resolve_device"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
"""``callback(stage, done, total)``; stage is ``"encode"``, ``"diffusion"`` (per step) or ``"decode"``."""

# Bound on (variations x latent frames) sampled in one batch; larger requests run in groups.
_MAX_BATCH_FRAMES = 40_000


@dataclass
class LatentStats:
    """Per-channel mean and std of the mix and bass latents (dataset statistics)."""

    mix_mean: torch.Tensor
    mix_std: torch.Tensor
    bass_mean: torch.Tensor
    bass_std: torch.Tensor

    @classmethod
    def identity(cls, mix_dim: int, bass_dim: int) -> "LatentStats":
        """Zero means and unit stds (an untrained model)."""
        return cls(torch.zeros(mix_dim), torch.ones(mix_dim), torch.zeros(bass_dim), torch.ones(bass_dim))

    def tensors(self) -> dict[str, torch.Tensor]:
        """The statistics as named tensors for a checkpoint (``stats.*``)."""
        return {f"stats.{k}": v for k, v in vars(self).items()}

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint) -> "LatentStats":
        """Read ``stats.*`` tensors from a checkpoint."""
        s = ckpt.sub("stats")
        return cls(s["mix_mean"], s["mix_std"], s["bass_mean"], s["bass_std"])

    def to(self, device: torch.device) -> "LatentStats":
        """A copy on ``device``."""
        return LatentStats(*(v.to(device) for v in vars(self).values()))


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
        return cls(cfg, mix_ae, bass_ae, unet, LatentStats.from_checkpoint(ckpt), **kwargs)

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

    # ------------------------------------------------------------------ stages

    def _autocast(self):
        if self.precision == "bf16" and self.device.type in ("cuda", "cpu"):
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @torch.inference_mode()
    def encode_mix(self, mono: np.ndarray) -> torch.Tensor:
        """Mono mix at the model rate (samples,) -> normalised mix latent (1, mix_dim, frames)."""
        wave = torch.from_numpy(np.ascontiguousarray(mono)).to(self.device)[None]
        z = self.mix_ae.encode_chunked(wave)
        return (z - self.stats.mix_mean[:, None]) / self.stats.mix_std[:, None]

    @torch.inference_mode()
    def style_mean(self, style: np.ndarray, sample_rate: int) -> torch.Tensor:
        """Time-mean of the normalised bass latent of a reference bass -> (bass_dim,).

        The reference is first brought to the model's ``style_rms_db`` (when set), so its
        loudness does not move the mean: a loud sample does not make a loud bass.
        """
        sr = check_rate(sample_rate, "style")
        mono = resample(to_mono(style, "style"), sr, self.sample_rate)
        mono = mono * level_gain(mono, self.config.style_rms_db)
        wave = torch.from_numpy(np.ascontiguousarray(mono)).to(self.device)[None]
        z = self.bass_ae.encode_chunked(wave)
        z = (z - self.stats.bass_mean[:, None]) / self.stats.bass_std[:, None]
        return z.mean(dim=(0, 2))

    @torch.inference_mode()
    def sample_latents(self, cond: torch.Tensor, seeds: list[int], *, steps: int, cfg: float, phi: float,
                       style_mean: torch.Tensor | None = None, grounding: float = 1.0,
                       callback: ProgressCallback | None = None) -> torch.Tensor:
        """DDIM-sample normalised bass latents for ``cond`` (1, mix_dim, T), one per seed.

        Returns (len(seeds), bass_dim, T). Seed ``s`` always gives the same latent,
        whatever else is in the batch (each noise tensor comes from its own generator).
        """
        dim, frames = self.config.bass_ae.latent_dim, cond.shape[-1]
        noise = torch.stack([
            torch.randn(dim, frames, generator=torch.Generator().manual_seed(int(s))) for s in seeds
        ]).to(self.device)

        def model(z: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            with self._autocast():
                return self.denoiser(z, t, c).float()

        denoise = guided_denoiser(model, cond.expand(len(seeds), -1, -1), cfg, phi)
        refine = grounding_refiner(style_mean, grounding) if style_mean is not None and grounding > 0 else None
        step_cb = (lambda k, n: callback("diffusion", k, n)) if callback else None
        return sample_ddim(denoise, noise, steps, refine=refine, callback=step_cb)

    @torch.inference_mode()
    def decode_bass(self, latent: torch.Tensor, length: int) -> np.ndarray:
        """Normalised bass latent (1, bass_dim, T) -> mono bass at the model rate, (length,) float32."""
        z = latent * self.stats.bass_std[:, None] + self.stats.bass_mean[:, None]
        return self.bass_ae.decode_chunked(z, length=length)[0].float().cpu().numpy()

    # ------------------------------------------------------------------ the public call

    def generate(self, mix: np.ndarray, sample_rate: int, *, style: np.ndarray | None = None,
                 style_sample_rate: int | None = None, steps: int | None = None, cfg: float | None = None,
                 phi: float | None = None, grounding: float | None = None, seed: int | None = None,
                 variations: int = 1, callback: ProgressCallback | None = None) -> np.ndarray | list[np.ndarray]:
        """Generate a bass stem for ``mix``.

        ``mix`` is ``(samples,)`` or ``(samples, channels)`` at ``sample_rate`` Hz (8-192 kHz).
        ``style`` is an optional reference bass (same layouts, at ``style_sample_rate``,
        default ``sample_rate``) for style grounding with strength ``grounding`` in [0, 1].
        ``steps``, ``cfg``, ``phi`` and ``grounding`` default to the model's tuned values.
        Variation ``i`` uses seed ``seed + i``; ``seed=None`` draws one (logged).

        Returns float32 audio in the mix's layout, rate, channel count and exact length:
        one array if ``variations == 1``, else a list of ``variations`` arrays.
        """
        sr = check_rate(sample_rate, "mix")
        d = self.config.sampling
        steps = d.steps if steps is None else int(steps)
        cfg = d.cfg if cfg is None else float(cfg)
        phi = d.phi if phi is None else float(phi)
        grounding = d.grounding if grounding is None else float(grounding)
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if not 0.0 <= phi <= 1.0 or not 0.0 <= grounding <= 1.0:
            raise ValueError("phi and grounding must be within [0, 1]")
        if variations < 1:
            raise ValueError(f"variations must be >= 1, got {variations}")
        if seed is None:
            seed = secrets.randbelow(2**31 - variations)
            log.info("seed %d", seed)

        arr = np.asarray(mix)
        channels = arr.shape[1] if arr.ndim == 2 else None
        length = arr.shape[0]
        mono = resample(to_mono(arr, "mix"), sr, self.sample_rate)
        gain = level_gain(mono, self.config.mix_rms_db)
        if callback:
            callback("encode", 0, 1)
        cond = self.encode_mix(mono * gain)
        style_mu = None
        if style is not None and grounding > 0:
            style_mu = self.style_mean(style, style_sample_rate or sr)
        if callback:
            callback("encode", 1, 1)

        seeds = [seed + i for i in range(variations)]
        group = max(1, _MAX_BATCH_FRAMES // max(1, cond.shape[-1]))
        latents = []
        for g in range(0, variations, group):
            latents.append(self.sample_latents(cond, seeds[g:g + group], steps=steps, cfg=cfg, phi=phi,
                                               style_mean=style_mu, grounding=grounding, callback=callback))
        latent = torch.cat(latents)

        outs = []
        for i in range(variations):
            bass = self.decode_bass(latent[i:i + 1], len(mono)) / gain
            bass = fit_length(resample(bass, self.sample_rate, sr), length)
            outs.append(to_layout(bass, channels))
            if callback:
                callback("decode", i + 1, variations)
        return outs[0] if variations == 1 else outs
