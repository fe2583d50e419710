"""Critics for the autoencoder's adversarial loss (paper section 3.1), and hinge losses.

Both critics read a log spectrogram of a waveform: one the log-power STFT spectrogram
(hop and window of the autoencoder), one a 128-bin log mel spectrogram, which weights the
regions where pitch perception is most precise. Each returns a map of scores over frames.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import AutoencoderConfig, CriticConfig
from .layers import Downsample1d, res_stack
from .spectral import log_power, mel_spectrogram, stft

__all__ = ["SpectrogramCritic", "Critics", "critic_hinge_loss", "generator_adversarial_loss"]


class SpectrogramCritic(nn.Module):
    """Residual conv critic: (B, in_bins, frames) log spectrogram -> (B, 1, frames / 2**(n-1)) scores."""

    def __init__(self, in_bins: int, channels: tuple[int, ...]):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(in_bins, channels[0], 3, padding=1)]
        for i, ch in enumerate(channels):
            layers.append(res_stack(ch, 1))
            if i + 1 < len(channels):
                layers.append(Downsample1d(ch, channels[i + 1]))
        layers += [nn.LeakyReLU(0.2), nn.Conv1d(channels[-1], 1, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return self.body(spec / 5.0)


class Critics(nn.Module):
    """The log-magnitude spectrogram critic and the mel critic, applied to a waveform."""

    def __init__(self, ae_cfg: AutoencoderConfig, cfg: CriticConfig):
        super().__init__()
        self.ae_cfg = ae_cfg
        self.cfg = cfg
        self.spec = SpectrogramCritic(ae_cfg.n_bins, cfg.channels)
        self.mel = SpectrogramCritic(cfg.mel_bins, cfg.channels)

    def forward(self, wave: torch.Tensor) -> list[torch.Tensor]:
        """Scores of the two critics for a (B, samples) waveform: [spec scores, mel scores]."""
        c = self.ae_cfg
        spec = stft(wave, c.n_fft, c.hop)
        return [
            self.spec(log_power(spec, c.eps)),
            self.mel(mel_spectrogram(spec, c.sample_rate, self.cfg.mel_bins, c.eps)),
        ]


def critic_hinge_loss(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """Hinge loss for the critics: ``sum_c mean(relu(1 - C(real))) + mean(relu(1 + C(fake)))``."""
    return sum(F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean() for r, f in zip(real, fake))


def generator_adversarial_loss(fake: list[torch.Tensor]) -> torch.Tensor:
    """Generator side of the hinge game: ``sum_c -mean(C(fake))``."""
    return sum(-f.mean() for f in fake)
