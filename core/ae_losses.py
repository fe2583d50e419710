"""Autoencoder objectives (paper section 3.1), as functions a training loop calls.

Generator: ``L = L_adv + 25 * L_rec + 0.002 * L_mssd`` with
``L_rec = |D(E(s))_mag - s|_1`` on the log-power spectrogram,
``L_mssd`` the multi-scale spectral distance of the waveforms, and ``L_adv`` the
generator hinge term of both critics on the reconstructed waveform.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .autoencoder import Reconstruction, SpectrogramAutoencoder
from .critics import Critics, critic_hinge_loss, generator_adversarial_loss
from .spectral import MSSD_HOPS, multiscale_log_spectral_distance, multiscale_spectral_distance

__all__ = ["AELossWeights", "autoencoder_generator_loss", "autoencoder_critic_loss", "chroma_loss", "phase_loss", "pitch_loss"]


@dataclass(frozen=True)
class AELossWeights:
    """Loss weights; the defaults are the paper's (lambda_rec = 25, lambda_mssd = 0.002)."""

    adv: float = 1.0
    rec: float = 25.0
    mssd: float = 0.002
    mssd_hops: tuple[int, ...] = MSSD_HOPS
    mssd_log: float = 0.0  # weight of the log-power multi-scale distance (an addition; 0 = the paper)
    phase: float = 0.0  # weight of the magnitude-weighted phase loss (an addition; 0 = the paper)
    chroma: float = 1.0  # weight of the chroma head's binary cross-entropy (an addition; with a head and chords)
    pitch: float = 1.0  # weight of the pitch head's cross-entropy (an addition; only with a head and MIDI targets)


def phase_loss(rec: Reconstruction) -> torch.Tensor:
    """Magnitude-weighted phase error ``sum w (1 - cos(err)) / sum w``, a scalar in [0, 2].

    IF decoders are compared on the per-hop phase advance (instantaneous frequency),
    direct decoders on the phase itself; ``w`` is the input's magnitude, so the loss
    follows the partials that carry pitch and ignores the phase of silence.
    """
    true_phase = torch.angle(rec.spec)
    mag = rec.spec.abs()
    if rec.advance_hat is not None:
        err = rec.advance_hat[..., 1:] - (true_phase[..., 1:] - true_phase[..., :-1])
        w = mag[..., 1:]
    else:
        err = rec.phase_hat - true_phase
        w = mag
    return (w * (1.0 - torch.cos(err))).sum() / w.sum().clamp_min(1e-8)


def pitch_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of pitch-head ``logits`` (B, classes, frames) against ``target`` (B, frames')
    classes; the shorter of the two frame axes is used, the rest of the logits (padding) is
    ignored, and target -1 (unknown) frames are ignored. Returns a scalar (nats)."""
    n = min(logits.shape[-1], target.shape[-1])
    target = target[:, :n].to(logits.device)
    if not (target >= 0).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits[..., :n], target, ignore_index=-1)


def chroma_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of chroma-head ``logits`` (B, 12, frames) against ``target``
    (B, frames', 12) in {0, 1}; frames whose target row is -1 (no chord known) and frames past
    the shorter axis are ignored. Returns a scalar (nats per pitch class)."""
    n = min(logits.shape[-1], target.shape[1])
    target = target[:, :n].to(logits.device).transpose(1, 2)  # (B, 12, n)
    known = (target[:, :1] >= 0).expand_as(target)
    if not known.any():
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[..., :n][known], target[known].float())


def autoencoder_generator_loss(
    ae: SpectrogramAutoencoder,
    critics: Critics | None,
    wave: torch.Tensor,
    weights: AELossWeights = AELossWeights(),
    pitch: torch.Tensor | None = None,
    chroma: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float], Reconstruction]:
    """Generator loss for a batch of waveforms (B, samples).

    Returns ``(loss, parts, reconstruction)``: the scalar loss to back-propagate, the
    float value of each term (``rec``; ``mssd``, ``mssd_log``, ``phase``, ``pitch``, ``chroma``, ``adv`` when
    weighted; ``total``), and the
    reconstruction (whose ``wave_hat`` the critic step reuses, detached). With
    ``critics=None`` (or ``weights.adv == 0``) the adversarial term is left out (warm-up).
    ``pitch``: (B, frames) note classes per STFT frame (-1 = unknown), for the pitch head's
    cross-entropy (``pitch`` part) when ``weights.pitch > 0`` and the model has a head;
    ``chroma``: (B, frames, 12) chord pitch classes (rows of -1 = unknown) for the chroma head.
    """
    rec = ae(wave)  # forward == reconstruct; calling the module keeps DDP hooks working
    l_rec = (rec.logpow_hat - rec.logpow).abs().mean()
    loss = weights.rec * l_rec
    parts = {"rec": l_rec.item()}
    if weights.mssd > 0:  # 0: skipped (it is the costliest term on a CPU)
        l_mssd = multiscale_spectral_distance(rec.wave, rec.wave_hat, weights.mssd_hops)
        loss = loss + weights.mssd * l_mssd
        parts["mssd"] = l_mssd.item()
    if weights.mssd_log > 0:
        l_log = multiscale_log_spectral_distance(rec.wave, rec.wave_hat, weights.mssd_hops)
        loss = loss + weights.mssd_log * l_log
        parts["mssd_log"] = l_log.item()
    if weights.phase > 0:
        l_phase = phase_loss(rec)
        loss = loss + weights.phase * l_phase
        parts["phase"] = l_phase.item()
    if weights.pitch > 0 and pitch is not None and rec.pitch_logits is not None:
        l_pitch = pitch_loss(rec.pitch_logits, pitch)
        loss = loss + weights.pitch * l_pitch
        parts["pitch"] = l_pitch.item()
    if weights.chroma > 0 and chroma is not None and rec.chroma_logits is not None:
        l_chroma = chroma_loss(rec.chroma_logits, chroma)
        loss = loss + weights.chroma * l_chroma
        parts["chroma"] = l_chroma.item()
    if critics is not None and weights.adv > 0:
        l_adv = generator_adversarial_loss(critics(rec.wave_hat))
        loss = loss + weights.adv * l_adv
        parts["adv"] = l_adv.item()
    parts["total"] = loss.item()
    return loss, parts, rec


def autoencoder_critic_loss(critics: Critics, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Hinge loss of both critics on real waveforms and (detached) reconstructions, (B, samples) each.

    Real and fake go through the critics in one batched call (one forward per backward,
    as DistributedDataParallel requires). Returns ``(loss, {"critic": value})``.
    """
    scores = critics(torch.cat([real, fake.detach()]))
    n = real.shape[0]
    loss = critic_hinge_loss([s[:n] for s in scores], [s[n:] for s in scores])
    return loss, {"critic": loss.item()}
