"""Typed configuration dataclasses and the named presets ("paper", "small").

Every model is built from one of these dataclasses, and the dataclass is serialised
into the checkpoint's metadata (see :mod:`groundbass.core.checkpoint`), so a weights
file rebuilds its model with no other input.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AutoencoderConfig",
    "CriticConfig",
    "UNetConfig",
    "SamplingConfig",
    "ModelConfig",
    "PRESETS",
    "preset",
    "config_to_dict",
    "config_from_dict",
]


@dataclass(frozen=True)
class AutoencoderConfig:
    """Spectrogram autoencoder (Musika-style, one encoder + one decoder).

    The time compression ratio is ``hop * frames_per_latent`` samples per latent frame.
    """

    sample_rate: int = 44100
    n_fft: int = 1024  # window length in samples (paper: 4 * hop)
    hop: int = 256  # STFT hop in samples
    frames_per_latent: int = 16  # STFT frames per latent frame (must be a power of two)
    latent_dim: int = 64
    channels: tuple[int, ...] = (384, 448, 512, 640, 768)  # widths: input level + one per /2 stage
    res_blocks: int = 2  # residual blocks per level
    eps: float = 1e-5  # log(|X|^2 + eps)
    # How the decoder expresses phase: "direct" (a 2-D vector per bin and frame, the paper's)
    # or "if" (instantaneous frequency: the per-hop phase advance relative to the bin centre,
    # integrated over frames). Measured on synthetic bass, 300 steps: direct 0.08 pitch-class
    # agreement, IF 0.00 (it saturates early), so presets use "direct"; IF stays an option.
    phase: str = "direct"
    # Inference-time phase refinement: this many fast Griffin-Lim iterations (momentum 0.99)
    # starting from the decoded phase. 0 = the decoder's phase as it is (the paper). Not a
    # training setting: a run may be resumed or exported with another value.
    phase_iters: int = 0
    # Pitch head (bass autoencoders): the decoder also classifies each STFT frame as silent or
    # one of ``pitch_bins`` semitones from MIDI note ``pitch_low`` (trained with a cross-entropy
    # on the song's bass MIDI), which forces the latent to carry pitch. 0 = no head (the paper).
    pitch_bins: int = 0
    pitch_low: int = 24  # MIDI note of class 1 (C1, 32.7 Hz)
    # Chroma head (mix autoencoders): the decoder also names, per STFT frame, the 12 pitch
    # classes of the sounding chord (binary cross-entropy on the song's chord chart), which
    # forces the mix latent — the diffusion model's condition — to carry the harmony plainly.
    chroma_head: bool = False
    # A second, long-window STFT for the encoder only: the log power of a ``hires_fft``-point
    # STFT (same hop) below ``hires_max_hz`` joins the encoder's input. At 22.05 kHz an n_fft of
    # 1024 has 21.5 Hz bins, wider than the gaps between low bass notes; 4096 points resolve
    # them (a per-frame note classifier reached 0.9 accuracy in 150 steps with it, 0.48 after
    # 300 without). 0 = off (the paper).
    hires_fft: int = 0
    hires_max_hz: float = 1000.0
    # Where the decoded phase comes from at inference: "decoder" (the phase output) or "pitch"
    # (the phase of a harmonic carrier that follows the pitch head's notes; needs pitch_bins > 0).
    # Not a training setting, like phase_iters.
    phase_source: str = "decoder"

    @property
    def ratio(self) -> int:
        """Samples per latent frame."""
        return self.hop * self.frames_per_latent

    @property
    def n_bins(self) -> int:
        """Number of STFT frequency bins."""
        return self.n_fft // 2 + 1

    @property
    def hires_bins(self) -> int:
        """Bins of the long-window STFT that the encoder reads (0 when off)."""
        if not self.hires_fft:
            return 0
        return min(self.hires_fft // 2 + 1, int(self.hires_max_hz * self.hires_fft / self.sample_rate) + 1)

    def __post_init__(self) -> None:
        fpl = self.frames_per_latent
        if fpl < 1 or fpl & (fpl - 1):
            raise ValueError(f"frames_per_latent must be a power of two, got {fpl}")
        n_stages = fpl.bit_length() - 1
        if len(self.channels) != n_stages + 1:
            raise ValueError(
                f"channels needs {n_stages + 1} entries for frames_per_latent={fpl}, "
                f"got {len(self.channels)}"
            )
        if self.n_fft < self.hop:
            raise ValueError("n_fft must be at least hop")
        if self.phase not in ("direct", "if"):
            raise ValueError(f"phase must be 'direct' or 'if', got {self.phase!r}")
        if self.phase_source not in ("decoder", "pitch"):
            raise ValueError(f"phase_source must be 'decoder' or 'pitch', got {self.phase_source!r}")
        if self.phase_source == "pitch" and self.pitch_bins <= 0:
            raise ValueError("phase_source='pitch' needs a pitch head (pitch_bins > 0)")


@dataclass(frozen=True)
class CriticConfig:
    """Hinge critics on the log-magnitude and the mel spectrogram of the reconstruction."""

    channels: tuple[int, ...] = (256, 384, 512)
    mel_bins: int = 128


@dataclass(frozen=True)
class UNetConfig:
    """1-D U-Net over latent frames with DPB self-attention at the lower resolutions."""

    latent_dim: int = 32  # bass latent channels (noisy input and output)
    cond_dim: int = 64  # mix latent channels (concatenated with the noisy input)
    channels: tuple[int, ...] = (256, 320, 448, 512)  # one width per level; level i is /2**i
    res_blocks: int = 2
    attn_levels: tuple[int, ...] = (2, 3)  # levels with self-attention
    heads: int = 8
    time_dim: int = 128  # sinusoidal timestep embedding width
    dpb_hidden: int = 64  # hidden width of the dynamic-positional-bias MLP
    train_frames: int = 256  # crop length used in training (latent frames)
    # Signal-processing features of the mix (core/features.py: chroma, bass-register chroma,
    # onset strength, level) concatenated with the mix latent as condition. 0 = latent only.
    feature_dim: int = 0
    # Timbre condition (Diff-A-Riff style): the time-mean and time-std of a reference bass's
    # normalised latent (2 * latent_dim values) through a small MLP, added to the time
    # embedding; an all-zero vector means "no reference". 0 = off.
    style_dim: int = 0

    @property
    def downsample(self) -> int:
        """Total time downsampling factor of the U-Net (input lengths are padded to it)."""
        return 2 ** (len(self.channels) - 1)


@dataclass(frozen=True)
class SamplingConfig:
    """Default sampling parameters stored with a model (tuned per model)."""

    steps: int = 64
    sampler: str = "ddim"  # a name of diffusion.SAMPLERS
    cfg: float = 2.0  # guidance weight w; 1.0 = conditional only
    phi: float = 0.7  # std-rescale mix, 0 = off
    grounding: float = 1.0  # style grounding strength g (1.0 = the paper's)
    cond_dropout: float = 0.15  # training-time conditioning dropout (classifier-free guidance)
    style_cfg: float = 1.0  # guidance weight of the timbre condition (models with UNetConfig.style_dim)
    style_dropout: float = 0.3  # training-time dropout of the timbre condition
    harmony_cfg: float = 0.0  # harmony guidance weight (guidance.guide_harmony; 0 = off)
    latent_dropout: float = 0.0  # training-time mix-latent dropout; > 0 makes harmony guidance available


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a full generator."""

    name: str = "custom"
    mix_ae: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    bass_ae: AutoencoderConfig = field(default_factory=lambda: AutoencoderConfig(latent_dim=32))
    critic: CriticConfig = field(default_factory=CriticConfig)
    unet: UNetConfig = field(default_factory=UNetConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    # The mix is brought to this RMS level (dBFS) before encoding, and the bass scaled back
    # by the same factor, as in training (the latent cache normalises songs the same way).
    mix_rms_db: float | None = -20.0
    # A style reference is brought to this RMS level (dBFS) before its latent mean is taken,
    # so grounding transfers timbre and not the reference's loudness: the median level of a
    # training bass when its mix is at ``mix_rms_db``. None leaves the reference as given.
    style_rms_db: float | None = None

    def __post_init__(self) -> None:
        if self.mix_ae.ratio != self.bass_ae.ratio or self.mix_ae.sample_rate != self.bass_ae.sample_rate:
            raise ValueError("mix and bass autoencoders must share sample rate and ratio")
        if self.unet.latent_dim != self.bass_ae.latent_dim or self.unet.cond_dim != self.mix_ae.latent_dim:
            raise ValueError("U-Net latent/cond dims must match the bass/mix autoencoders")
        if self.unet.style_dim not in (0, 2 * self.bass_ae.latent_dim):
            raise ValueError("U-Net style_dim must be 0 or twice the bass latent dim (mean and std)")

    @property
    def sample_rate(self) -> int:
        """The model's internal sample rate in Hz."""
        return self.mix_ae.sample_rate

    @property
    def harmony_guidance(self) -> bool:
        """Whether the model can take harmony guidance (``harmony_cfg`` > 0): it conditions on
        features and was trained with latent dropout, so it knows the features-only estimate."""
        return bool(self.unet.feature_dim) and self.sampling.latent_dropout > 0

    def check_harmony_cfg(self, value: float) -> None:
        """ValueError (one line) if ``value`` > 0 and the model cannot take harmony guidance."""
        if value and not self.harmony_guidance:
            raise ValueError(f"harmony_cfg {value:g} refused: harmony_cfg needs a model trained with latent dropout "
                             f"(groundbass train diffusion --features --latent-dropout); the model {self.name} was "
                             "not and cannot take harmony guidance (use harmony_cfg 0)")

    @property
    def ratio(self) -> int:
        """Samples (at the model rate) per latent frame."""
        return self.mix_ae.ratio


def _paper() -> ModelConfig:
    ae = dict(sample_rate=44100, n_fft=1024, hop=256, frames_per_latent=16,
              channels=(384, 448, 512, 640, 768), res_blocks=2)  # ~37M parameters
    return ModelConfig(
        name="paper",
        mix_ae=AutoencoderConfig(latent_dim=64, **ae),
        bass_ae=AutoencoderConfig(latent_dim=32, **ae),
        critic=CriticConfig(channels=(256, 384, 512), mel_bins=128),
        unet=UNetConfig(latent_dim=32, cond_dim=64, channels=(256, 320, 448, 512), res_blocks=2,  # ~40M
                        attn_levels=(2, 3), heads=8, time_dim=128, train_frames=256),
        sampling=SamplingConfig(steps=64, cfg=2.0, phi=0.7, grounding=1.0),
    )


def _small() -> ModelConfig:
    # 22.05 kHz inside, hop 128, 16 frames per latent: ratio 2048 -> 10.77 latent frames/s,
    # the same latent rate as the paper's 44.1 kHz / 4096.
    # n_fft 1024 (8x overlap, 21.5 Hz bins): the true bass magnitude + 64 Griffin-Lim
    # iterations keeps pitch classes at 0.97 here, against 0.72 with n_fft 512. Griffin-Lim
    # on a young autoencoder's output made things worse (docs/training-recipe.md): off.
    ae = dict(sample_rate=22050, n_fft=1024, hop=128, frames_per_latent=16,
              channels=(192, 192, 224, 256, 256), res_blocks=1)
    return ModelConfig(
        name="small",
        mix_ae=AutoencoderConfig(latent_dim=64, chroma_head=True, hires_fft=4096, **ae),
        bass_ae=AutoencoderConfig(latent_dim=32, pitch_bins=48, phase_source="pitch", hires_fft=4096, **ae),
        critic=CriticConfig(channels=(96, 128, 192), mel_bins=128),
        unet=UNetConfig(latent_dim=32, cond_dim=64, channels=(128, 192, 224), res_blocks=2,
                        attn_levels=(2,), heads=4, time_dim=64, train_frames=128),
        sampling=SamplingConfig(steps=64, cfg=2.0, phi=0.7, grounding=1.0),
    )


PRESETS = {"paper": _paper, "small": _small}


def preset(name: str) -> ModelConfig:
    """Return the named preset config ("paper" or "small")."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise ValueError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})") from None


# --------------------------------------------------------------------------- serialisation

_NESTED = {
    "mix_ae": AutoencoderConfig,
    "bass_ae": AutoencoderConfig,
    "critic": CriticConfig,
    "unet": UNetConfig,
    "sampling": SamplingConfig,
}


def config_to_dict(cfg: Any) -> dict:
    """Return a JSON-safe dict of a config dataclass (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def _build(cls: type, data: dict) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    kwargs = {}
    for key, value in data.items():
        if key in _NESTED and cls is ModelConfig:
            value = _build(_NESTED[key], value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def config_from_dict(cls: type, data: dict) -> Any:
    """Rebuild a config dataclass of type ``cls`` from :func:`config_to_dict` output."""
    return _build(cls, data)
