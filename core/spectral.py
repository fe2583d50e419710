"""Spectral utilities: STFT / iSTFT, log power, mel filterbank, multi-scale spectral distance.

Shapes: waveforms are ``(batch, samples)`` float tensors; complex spectrograms are
``(batch, bins, frames)`` with ``bins = n_fft // 2 + 1``.

The model STFT (:func:`stft` / :func:`istft`) is framed so that a waveform of ``L``
samples (``L`` a multiple of ``hop``) gives exactly ``L // hop`` frames, and the
inverse gives ``L`` samples back: frame ``k`` is centred on sample ``k * hop + hop / 2``.
"""

from __future__ import annotations

import math

import functools

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "stft",
    "istft",
    "log_power",
    "mel_filterbank",
    "mel_spectrogram",
    "multiscale_spectral_distance",
    "MSSD_HOPS",
    "multiscale_log_spectral_distance",
    "griffin_lim",
]

# Hops of the paper's multi-scale spectral distance: 2^5..2^9, 2^11, 2^12 (window = 4 * hop).
MSSD_HOPS: tuple[int, ...] = (32, 64, 128, 256, 512, 2048, 4096)


def _window(n_fft: int, ref: torch.Tensor) -> torch.Tensor:
    # Made fresh each call (cheap): a cached tensor created under inference_mode could not
    # be used later in autograd.
    dtype = ref.dtype if ref.is_floating_point() else torch.float32
    if dtype in (torch.float16, torch.bfloat16):
        dtype = torch.float32
    return torch.hann_window(n_fft, periodic=True, device=ref.device, dtype=dtype)


def _pads(n_fft: int, hop: int) -> tuple[int, int]:
    total = n_fft - hop
    return total // 2, total - total // 2


def stft(wave: torch.Tensor, n_fft: int = 1024, hop: int = 256) -> torch.Tensor:
    """Complex STFT of ``wave`` (batch, samples) -> (batch, n_fft//2+1, samples//hop).

    Hann window of ``n_fft`` samples; reflect padding of ``(n_fft - hop) / 2`` on each
    side, so the frame count is exactly ``samples // hop``.
    """
    left, right = _pads(n_fft, hop)
    mode = "reflect" if wave.shape[-1] > max(left, right) else "constant"
    padded = F.pad(wave.unsqueeze(1), (left, right), mode=mode).squeeze(1)
    return torch.stft(padded, n_fft, hop_length=hop, window=_window(n_fft, wave),
                      center=False, return_complex=True)


def istft(spec: torch.Tensor, n_fft: int = 1024, hop: int = 256, length: int | None = None) -> torch.Tensor:
    """Inverse of :func:`stft`: (batch, bins, frames) complex -> (batch, frames*hop) samples.

    Weighted overlap-add with the squared-window normalisation, so ``istft(stft(x)) == x``
    up to float rounding. ``length`` crops (or zero-pads) the result to that many samples.
    """
    batch, _, frames = spec.shape
    window = _window(n_fft, spec.real)
    frames_td = torch.fft.irfft(spec, n=n_fft, dim=1) * window[None, :, None]  # (B, n_fft, T)
    total = (frames - 1) * hop + n_fft
    out = _overlap_add(frames_td, hop, total)
    norm = _overlap_add((window**2)[None, :, None].expand(1, n_fft, frames), hop, total)[0]
    out = out / norm.clamp_min(1e-8)
    left, _ = _pads(n_fft, hop)
    out = out[:, left : left + frames * hop]
    if length is not None:
        out = out[:, :length] if out.shape[-1] >= length else F.pad(out, (0, length - out.shape[-1]))
    return out


def _overlap_add(frames_td: torch.Tensor, hop: int, total: int) -> torch.Tensor:
    """Overlap-add of (B, n_fft, T) frames at ``hop`` -> (B, total). When ``hop`` divides
    ``n_fft`` (every config here) it is ``n_fft / hop`` shifted additions of (B, T, hop) blocks,
    several times faster on the CPU than ``F.fold`` (col2im); otherwise ``F.fold``."""
    batch, n_fft, frames = frames_td.shape
    if n_fft % hop:
        return F.fold(frames_td, output_size=(1, total), kernel_size=(1, n_fft), stride=(1, hop)).reshape(batch, total)
    blocks = frames_td.reshape(batch, n_fft // hop, hop, frames).permute(0, 1, 3, 2)  # (B, R, T, hop)
    acc = frames_td.new_zeros(batch, frames + n_fft // hop - 1, hop)
    for r in range(n_fft // hop):
        acc[:, r:r + frames] += blocks[:, r]
    return acc.reshape(batch, total)


def log_power_low_bins(wave: torch.Tensor, n_fft: int, hop: int, bins: int, eps: float = 1e-5) -> torch.Tensor:
    """``log_power(stft(wave, n_fft, hop), eps)[:, :bins]`` without the full long-window STFT.

    When ``hop`` divides ``n_fft`` (the encoder's 4096-point window at hop 256: 16 hops per
    window) every frame is the sum of ``n_fft / hop`` consecutive hop-long blocks, so each
    block's DFT at the kept bins is computed once (one matrix product) and shared by the
    ``n_fft / hop`` frames that contain it: ``X_m[k] = sum_j Y_{m+j}[k] e^{-2 pi i k j hop / n_fft}``.
    The periodic Hann window is applied in frequency, ``0.5 X[k] - 0.25 (X[k-1] + X[k+1])``.
    In float64, so the result agrees with the FFT's to its float32 rounding; about 10x
    faster than the FFT of all ``n_fft / 2 + 1`` bins when ``bins`` is a tenth of them, and
    the memory is the kept bins' only. Otherwise the STFT is taken 2,048 frames at a time."""
    left, right = _pads(n_fft, hop)
    mode = "reflect" if wave.shape[-1] > max(left, right) else "constant"
    padded = F.pad(wave.unsqueeze(1), (left, right), mode=mode).squeeze(1)
    batch, frames = wave.shape[0], wave.shape[-1] // hop
    if frames == 0:
        return wave.new_zeros(batch, bins, 0)
    if n_fft % hop or bins + 1 > n_fft // 2:
        out = wave.new_empty(batch, bins, frames)
        window = _window(n_fft, wave)
        for f0 in range(0, frames, 2048):
            f1 = min(frames, f0 + 2048)
            seg = padded[:, f0 * hop:(f1 - 1) * hop + n_fft]
            spec = torch.stft(seg, n_fft, hop_length=hop, window=window, center=False, return_complex=True)
            out[:, :, f0:f1] = log_power(spec[:, :bins], eps)
        return out
    per = n_fft // hop
    k = torch.arange(-1, bins + 1, dtype=torch.float64, device=wave.device)  # one bin each side for Hann
    n = torch.arange(hop, dtype=torch.float64, device=wave.device)
    angle = (2 * math.pi / n_fft) * n[:, None] * k[None, :]
    cos, sin = torch.cos(angle), torch.sin(angle)
    twiddles = torch.exp(torch.complex(torch.zeros(per, len(k), dtype=torch.float64, device=wave.device),
                                       (-2 * math.pi * hop / n_fft) * torch.arange(per, dtype=torch.float64, device=wave.device)[:, None] * k))
    out = wave.new_empty(batch, bins, frames)
    for f0 in range(0, frames, _FRAME_BLOCK):  # blocks of frames small enough to stay in cache
        f1 = min(frames, f0 + _FRAME_BLOCK)
        m = f1 - f0
        blocks = padded[:, f0 * hop:(f1 + per - 1) * hop].reshape(batch, m + per - 1, hop).double()
        y = torch.complex(blocks @ cos, -(blocks @ sin))  # each block's DFT at the kept bins
        x = y[:, :m] * twiddles[0]
        for j in range(1, per):
            x += y[:, j:j + m] * twiddles[j]
        windowed = 0.5 * x[..., 1:-1] - 0.25 * (x[..., :-2] + x[..., 2:])
        power = windowed.real.square() + windowed.imag.square()
        out[:, :, f0:f1] = torch.log(power + eps).transpose(1, 2)
    return out


_FRAME_BLOCK = 512


def log_power(spec: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``log(|spec|^2 + eps)`` (natural log of power), same shape as ``spec``."""
    return torch.log(spec.real.square() + spec.imag.square() + eps)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + f / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


@functools.lru_cache(maxsize=16)
def _mel_fb_np(n_bins: int, sample_rate: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    freqs = np.linspace(0.0, sample_rate / 2.0, n_bins)
    mel_pts = np.linspace(_hz_to_mel(np.array(fmin)), _hz_to_mel(np.array(fmax)), n_mels + 2)
    hz = _mel_to_hz(mel_pts)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    down = (upper - freqs[None, :]) / np.maximum(upper - centre, 1e-9)
    fb = np.clip(np.minimum(up, down), 0.0, None)
    fb *= (2.0 / np.maximum(upper - lower, 1e-9))  # Slaney area normalisation
    return fb.astype(np.float32)


def mel_filterbank(n_bins: int, sample_rate: int, n_mels: int = 128, fmin: float = 0.0,
                   fmax: float | None = None) -> torch.Tensor:
    """Triangular mel filterbank (HTK mel scale, Slaney area norm) -> (n_mels, n_bins)."""
    fmax = sample_rate / 2.0 if fmax is None else fmax
    return torch.from_numpy(_mel_fb_np(n_bins, sample_rate, n_mels, float(fmin), float(fmax)).copy())


def mel_spectrogram(spec: torch.Tensor, sample_rate: int, n_mels: int = 128, eps: float = 1e-5) -> torch.Tensor:
    """Log mel power spectrogram of a complex spectrogram -> (batch, n_mels, frames)."""
    fb = mel_filterbank(spec.shape[1], sample_rate, n_mels).to(spec.real.device, spec.real.dtype)
    power = spec.real.square() + spec.imag.square()
    return torch.log(torch.einsum("mf,bft->bmt", fb, power) + eps)


def multiscale_spectral_distance(x: torch.Tensor, y: torch.Tensor,
                                 hops: tuple[int, ...] = MSSD_HOPS) -> torch.Tensor:
    """Multi-scale spectral distance, as printed in the paper.

    ``sum_h mean |STFT_h(x)^2 - STFT_h(y)^2|`` over hops ``h`` with window ``4 h``
    (Hann, centred frames). ``x`` and ``y`` are (batch, samples); returns a scalar tensor.
    """
    total = x.new_zeros(())
    for hop in hops:
        n_fft = 4 * hop
        kw = dict(n_fft=n_fft, hop_length=hop, window=_window(n_fft, x), center=True,
                  pad_mode="constant", return_complex=True)
        px = torch.stft(x, **kw).abs().square()
        py = torch.stft(y, **kw).abs().square()
        total = total + (px - py).abs().mean()
    return total


def multiscale_log_spectral_distance(x: torch.Tensor, y: torch.Tensor, hops: tuple[int, ...] = MSSD_HOPS,
                                     eps: float = 1e-5) -> torch.Tensor:
    """Level-independent companion of :func:`multiscale_spectral_distance` (not in the paper).

    ``sum_h mean |log(STFT_h(x)^2 + eps) - log(STFT_h(y)^2 + eps)|`` with window ``4 h``.
    The printed MSSD compares raw powers, so quiet material (a bass stem at -30 dBFS)
    barely moves it; the log version weighs every level and the long windows resolve
    bass harmonics to ~1 Hz. Returns a scalar tensor.
    """
    total = x.new_zeros(())
    for hop in hops:
        n_fft = 4 * hop
        kw = dict(n_fft=n_fft, hop_length=hop, window=_window(n_fft, x), center=True,
                  pad_mode="constant", return_complex=True)
        lx = torch.log(torch.stft(x, **kw).abs().square() + eps)
        ly = torch.log(torch.stft(y, **kw).abs().square() + eps)
        total = total + (lx - ly).abs().mean()
    return total


def griffin_lim(mag: torch.Tensor, phase: torch.Tensor, n_fft: int, hop: int, iters: int,
                momentum: float = 0.99) -> torch.Tensor:
    """Fast Griffin-Lim (Perraudin et al. 2013): refine ``phase`` for magnitude ``mag``.

    ``mag`` and ``phase`` are (batch, bins, frames) in the framing of :func:`stft`; returns
    the complex spectrogram ``mag * exp(i * refined phase)`` after ``iters`` projections
    (iSTFT then STFT) with ``momentum``.
    """
    spec = torch.polar(mag, phase)
    prev = spec
    frames = mag.shape[-1]
    for _ in range(iters):
        proj = stft(istft(spec, n_fft, hop), n_fft, hop)[..., :frames]
        accel = proj + momentum * (proj - prev)
        prev = proj
        spec = torch.polar(mag, torch.angle(accel))
    return spec
