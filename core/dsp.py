"""numpy + soxr re-implementations of the librosa calls the inference features make.

:mod:`groundbass.core.features` needs four librosa functions, and importing librosa
(scipy.signal, scipy.stats, numba) costs more than a second on a small CPU, which is a large
part of a ``groundbass generate`` run. The diffusion model was trained on librosa's features,
so these follow librosa 0.11 step by step, with the same dtypes at each step (float32 audio,
float64 filter design, complex64 spectra), and agree with it to rounding:

- :func:`cqt_magnitude` == ``np.abs(librosa.cqt(..., res_type="soxr_hq"))`` (filter_scale 1,
  norm 1, sparsity 0.01, Hann window, scale=True, constant padding);
- :func:`onset_strength` == ``librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)``;
- :func:`frame_rms` == ``librosa.feature.rms(y=y, frame_length=..., hop_length=...)``;
- :func:`estimate_tuning` == ``librosa.estimate_tuning(y=y, sr=sr, n_fft=..., resolution=...,
  bins_per_octave=...)``.

The STFTs, resampling (the same soxr calls), mel bank, mel projection (the same BLAS product
as librosa's einsum), RMS, piptrack and tuning histogram give librosa's results bit for bit.
Two steps differ by rounding only: the CQT filters' FFT runs in numpy's complex64 FFT where
librosa uses scipy.fft (an ulp apart; importing scipy.fft costs about 0.2 s), and the CQT
projects the spectra onto each octave's filters with a dense matrix product over the band of
FFT bins that the sparsified filters occupy, where librosa uses a scipy sparse product with
the same non-zeros: the same sums accumulated in another order in float32. The CQT then
agrees to about 1e-6 of each frame's maximum (a few 1e-5 in near-silent frames next to loud
ones, where the long low filters cancel loud audio at their edges), i.e. to float32 rounding
of the signal's scale. tests/test_dsp.py holds librosa as the oracle.
"""

from __future__ import annotations

import functools

import numpy as np
import soxr

__all__ = ["cqt_magnitude", "onset_strength", "frame_rms", "estimate_tuning"]

_HANN_BANDWIDTH = 1.50018310546875  # librosa.filters.WINDOW_BANDWIDTHS["hann"]
_BLOCK_BYTES = 1 << 23  # float64 frame data per FFT block (bounds memory on long inputs)


# ---------------------------------------------------------------------------------------------
# building blocks


@functools.lru_cache(maxsize=64)
def _hann(n: int) -> np.ndarray:
    """``scipy.signal.get_window("hann", n, fftbins=True)``: periodic Hann, float64, computed
    the way scipy does (a symmetric window of n + 1 points, truncated)."""
    if n <= 1:
        return np.ones(n, dtype=np.float64)
    fac = np.linspace(-np.pi, np.pi, n + 1, dtype=np.float64)
    w = np.zeros(n + 1, dtype=np.float64)
    w += 0.5 * np.cos(0 * fac)
    w += 0.5 * np.cos(1 * fac)
    w = w[:-1]
    w.flags.writeable = False
    return w


def _frames(y: np.ndarray, frame_length: int, hop: int) -> np.ndarray:
    """``librosa.util.frame`` along the last axis, transposed: (n_frames, frame_length) view."""
    if y.shape[-1] < frame_length:
        raise ValueError(f"Input is too short (n={y.shape[-1]}) for frame_length={frame_length}")
    n = 1 + (y.shape[-1] - frame_length) // hop
    return np.lib.stride_tricks.as_strided(y, shape=(n, frame_length),
                                           strides=(y.strides[0] * hop, y.strides[0]), writeable=False)


def _stft_frames(y: np.ndarray, n_fft: int, hop: int, window: np.ndarray | None,
                 bins: slice = slice(None)) -> np.ndarray:
    """``librosa.stft(y, n_fft=n_fft, hop_length=hop, window=..., center=True,
    pad_mode="constant")[bins].T``: complex64 (n_frames, n_bins).

    As in librosa, the windowed frames are float64 (a float64 window times float32 samples;
    ``window=None`` is the "ones" window) and the float64 rfft is stored as complex64.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError("mono audio expected")
    yp = np.pad(y, (n_fft // 2, n_fft // 2), mode="constant")
    fr = _frames(yp, n_fft, hop)
    width = len(range(*bins.indices(n_fft // 2 + 1)))
    out = np.empty((fr.shape[0], width), dtype=np.complex64)
    step = max(1, _BLOCK_BYTES // (8 * n_fft))
    for s in range(0, fr.shape[0], step):
        block = fr[s: s + step]
        block = block * window if window is not None else block.astype(np.float64)
        out[s: s + step] = np.fft.rfft(block, axis=-1)[:, bins]
    return out


def _resample(y: np.ndarray, orig_sr: float, target_sr: float) -> np.ndarray:
    """``librosa.resample(y, orig_sr=..., target_sr=..., res_type="soxr_hq", scale=True)``."""
    ratio = float(target_sr) / orig_sr
    n_samples = int(np.ceil(y.shape[-1] * ratio))
    y_hat = soxr.resample(y, orig_sr, target_sr, quality="soxr_hq")
    if y_hat.shape[-1] > n_samples:
        y_hat = y_hat[:n_samples]
    elif y_hat.shape[-1] < n_samples:
        y_hat = np.pad(y_hat, (0, n_samples - y_hat.shape[-1]), mode="constant")
    y_hat = np.array(y_hat)  # writeable, owned
    y_hat /= np.sqrt(ratio)
    return np.asarray(y_hat, dtype=y.dtype)


def _num_two_factors(x: int) -> int:
    if x <= 0:
        return 0
    n = 0
    while x % 2 == 0:
        n += 1
        x //= 2
    return n


# ---------------------------------------------------------------------------------------------
# constant-Q transform


def _relative_bandwidth(freqs: np.ndarray) -> np.ndarray:
    """``librosa.filters._relative_bandwidth``."""
    bpo = np.empty_like(freqs)
    logf = np.log2(freqs)
    bpo[0] = 1 / (logf[1] - logf[0])
    bpo[-1] = 1 / (logf[-1] - logf[-2])
    bpo[1:-1] = 2 / (logf[2:] - logf[:-2])
    return (2.0 ** (2 / bpo) - 1) / (2.0 ** (2 / bpo) + 1)


def _wavelet_lengths(freqs: np.ndarray, sr: float, alpha: np.ndarray) -> tuple[np.ndarray, float]:
    """``librosa.filters.wavelet_lengths`` for a Hann window, filter_scale 1, gamma 0."""
    gamma = 0
    q = float(1) / alpha
    f_cutoff = max(freqs * (1 + 0.5 * _HANN_BANDWIDTH / q) + 0.5 * gamma)
    lengths = q * sr / (freqs + gamma / alpha)
    return lengths, f_cutoff


def _octave_basis(sr: float, freqs: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``__vqt_filter_fft`` (wavelet with norm 1 padded to a power of 2, FFT, sparsify_rows at
    the 0.01 quantile) -> (dense complex64 basis over its non-zero band of FFT bins, first bin
    of that band, n_fft)."""
    lengths, _ = _wavelet_lengths(freqs, sr, alpha)
    tiny = np.finfo(np.complex128).tiny
    filters = []
    for ilen, freq in zip(lengths, freqs):
        sig = np.arange(-ilen // 2, ilen // 2, dtype=float) * 2 * np.pi * freq / sr
        sig = np.cos(sig) + 1j * np.sin(sig)
        sig *= _hann(len(sig))
        length = np.sum(np.abs(sig).astype(float) ** 1, axis=0, keepdims=True) ** (1.0 / 1)
        length[length < tiny] = 1.0
        filters.append(sig / length)
    max_len = int(2.0 ** (np.ceil(np.log2(max(lengths)))))
    basis = np.zeros((len(filters), max_len), dtype=np.complex64)
    for row, filt in zip(basis, filters):
        lpad = int((max_len - filt.shape[0]) // 2)
        row[lpad: lpad + filt.shape[0]] = filt
    n_fft = basis.shape[1]
    basis *= lengths[:, np.newaxis] / float(n_fft)
    fft_basis = np.fft.fft(basis, n=n_fft, axis=1)[:, : (n_fft // 2) + 1]
    # librosa.util.sparsify_rows(quantile=0.01): keep each row's entries whose magnitude is at
    # least the threshold; the rest are exact zeros in librosa's sparse matrix.
    mags = np.abs(fft_basis)
    norms = np.sum(mags, axis=1, keepdims=True)
    mag_sort = np.sort(mags, axis=1)
    cumulative_mag = np.cumsum(mag_sort / norms, axis=1)
    threshold_idx = np.argmin(cumulative_mag < 0.01, axis=1)
    keep = mags >= mag_sort[np.arange(mags.shape[0]), threshold_idx][:, None]
    dense = np.where(keep, fft_basis, np.complex64(0)).astype(np.complex64)
    cols = np.nonzero(keep.any(axis=0))[0]
    lo, hi = (int(cols[0]), int(cols[-1]) + 1) if cols.size else (0, 1)
    return np.ascontiguousarray(dense[:, lo:hi]), lo, n_fft


@functools.lru_cache(maxsize=32)
def _cqt_plan(sr: float, fmin: float, n_bins: int, bins_per_octave: int, hop_length: int, tuning: float):
    """Everything of ``librosa.vqt`` that does not depend on the signal (cached)."""
    n_octaves = int(np.ceil(float(n_bins) / bins_per_octave))
    n_filters = min(bins_per_octave, n_bins)
    fmin = fmin * 2.0 ** (tuning / bins_per_octave)
    # librosa.interval_frequencies(intervals="equal", sort=True)
    ratios = 2.0 ** ((0.0 + np.arange(0, bins_per_octave, dtype=float)) / bins_per_octave)
    all_ratios = np.multiply.outer(2.0 ** np.arange(np.ceil(n_bins / bins_per_octave)), ratios).flatten()[:n_bins]
    freqs = np.sort(all_ratios) * fmin
    if n_bins == 1:
        r = 2 ** (1 / bins_per_octave)
        alpha = np.atleast_1d((r ** 2 - 1) / (r ** 2 + 1))
    else:
        alpha = _relative_bandwidth(freqs)
    _, filter_cutoff = _wavelet_lengths(freqs, sr, alpha)
    nyquist = sr / 2.0
    if filter_cutoff > nyquist:
        raise ValueError(f"Wavelet basis with max frequency={np.max(freqs[-bins_per_octave:])} would exceed "
                         f"the Nyquist frequency={nyquist}. Try reducing the number of frequency bins.")
    # __early_downsample
    count1 = max(0, int(np.ceil(np.log2(nyquist / filter_cutoff)) - 1) - 1)
    count2 = max(0, _num_two_factors(hop_length) - n_octaves + 1)
    early = 2 ** min(count1, count2) if min(count1, count2) > 0 else 1
    hop = hop_length // early
    sr_e = sr / float(early) if early > 1 else sr
    octaves = []
    my_sr, my_hop = sr_e, hop
    for i in range(n_octaves):
        sl = slice(-n_filters, None) if i == 0 else slice(-n_filters * (i + 1), -n_filters * i)
        basis, lo, n_fft = _octave_basis(my_sr, freqs[sl], alpha[sl])
        scale = np.sqrt(sr_e / my_sr)
        basis = (basis * scale).astype(np.complex64)  # librosa: fft_basis[:] *= np.sqrt(sr / my_sr)
        halve = my_hop % 2 == 0
        octaves.append((basis, lo, n_fft, my_hop, halve))
        if halve:
            my_hop //= 2
            my_sr /= 2.0
    lengths, _ = _wavelet_lengths(freqs, sr_e, alpha)
    return early, tuple(octaves), np.sqrt(lengths)[:, None]


def cqt_magnitude(y: np.ndarray, sr: float, hop_length: int, fmin: float, n_bins: int,
                  bins_per_octave: int, tuning: float = 0.0) -> np.ndarray:
    """``np.abs(librosa.cqt(y, sr=sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
    bins_per_octave=bins_per_octave, tuning=tuning, res_type="soxr_hq"))`` for mono float32
    ``y``: float32 (n_bins, 1 + len(y) // hop_length) (fewer frames when the hop is not a
    multiple of 2 ** (octaves - 1), as in librosa)."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.floating):
        raise ValueError("cqt_magnitude needs mono floating-point audio")
    if not np.all(np.isfinite(y)):
        raise ValueError("Audio buffer is not finite everywhere")
    early, octaves, sqrt_lengths = _cqt_plan(float(sr), float(fmin), int(n_bins), int(bins_per_octave),
                                             int(hop_length), float(tuning))
    if early > 1:
        if y.shape[-1] < early:
            raise ValueError(f"Input signal length={len(y)} is too short for {len(octaves)}-octave CQT")
        y = _resample(y, early, 1)
    responses = []
    for basis, lo, n_fft, hop, halve in octaves:
        d = _stft_frames(y, n_fft, hop, None, slice(lo, lo + basis.shape[1]))
        responses.append(np.dot(basis, d.T))  # np.dot: BLAS; complex matmul here is 40x slower
        if halve:
            y = _resample(y, 2, 1)
    max_col = min(r.shape[-1] for r in responses)
    v = np.empty((n_bins, max_col), dtype=np.complex64)
    end = n_bins
    for r in responses:  # librosa's __trim_stack
        n_oct = r.shape[0]
        if end < n_oct:
            v[:end] = r[-end:, :max_col]
        else:
            v[end - n_oct: end] = r[:, :max_col]
        end -= n_oct
    v /= sqrt_lengths
    return np.abs(v)


# ---------------------------------------------------------------------------------------------
# onset strength, RMS


def _hz_to_mel(f: float) -> float:
    f_sp = 200.0 / 3
    mel = (f - 0.0) / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, (1000.0 - 0.0) / f_sp, np.log(6.4) / 27.0
    if f >= min_log_hz:
        mel = min_log_mel + np.log(f / min_log_hz) / logstep
    return mel


@functools.lru_cache(maxsize=8)
def _mel_basis(sr: float, n_fft: int, n_mels: int = 128) -> np.ndarray:
    """``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmax=sr / 2)`` (Slaney mel scale
    and area normalisation), float32 (n_mels, 1 + n_fft // 2)."""
    fmin, fmax = 0.0, 0.5 * sr
    weights = np.zeros((n_mels, int(1 + n_fft // 2)), dtype=np.float32)
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mels = np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2)
    f_sp = 200.0 / 3
    mel_f = 0.0 + f_sp * mels
    min_log_mel, logstep = 1000.0 / f_sp, np.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    mel_f[log_t] = 1000.0 * np.exp(logstep * (mels[log_t] - min_log_mel))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2: n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    weights.flags.writeable = False
    return weights


def onset_strength(y: np.ndarray, sr: float, hop_length: int = 512) -> np.ndarray:
    """``librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop_length)``: spectral flux of the
    dB mel spectrogram (power 2, n_fft 2048, 128 bands, ref 1, amin 1e-10, top_db 80 below the
    whole input's maximum), lag 1, mean over bands, centred: float32 (1 + len(y) // hop,)."""
    n_fft = 2048
    d = _stft_frames(np.asarray(y), n_fft, hop_length, _hann(n_fft))
    s = np.abs(d) ** 2.0  # (frames, bins) float32
    mel = np.dot(_mel_basis(float(sr), n_fft), s.T)  # (128, frames)
    log_spec = 10.0 * np.log10(np.maximum(1e-10, mel))
    log_spec -= 10.0 * np.log10(np.maximum(1e-10, 1.0))
    log_spec = np.maximum(log_spec, log_spec.max() - 80.0)
    lag = 1
    env = np.maximum(0.0, log_spec[:, lag:] - log_spec[:, :-lag])
    env = np.mean(env, axis=0)
    pad_width = lag + n_fft // (2 * hop_length)
    env = np.pad(env, (int(pad_width), 0), mode="constant")
    return env[: log_spec.shape[-1]]


def frame_rms(y: np.ndarray, frame_length: int = 2048, hop_length: int = 512) -> np.ndarray:
    """``librosa.feature.rms(y=y, frame_length=frame_length, hop_length=hop_length)`` (centred,
    zero padding): float32 (1, 1 + len(y) // hop_length)."""
    y = np.pad(np.asarray(y), (int(frame_length // 2), int(frame_length // 2)), mode="constant")
    x = _frames(y, frame_length, hop_length).T  # (frame_length, n_frames), like librosa.util.frame
    power = np.mean(np.square(x, dtype=np.float32), axis=-2, keepdims=True)
    return np.sqrt(power)


# ---------------------------------------------------------------------------------------------
# tuning


def _parabolic_shift(xm: np.ndarray, x0: np.ndarray, xp: np.ndarray) -> np.ndarray:
    """``librosa.core.pitch._parabolic_interpolation`` at bins with float32 magnitudes ``x0``
    and neighbours ``xm`` (below), ``xp`` (above), with the numba stencil's arithmetic (the sum
    and difference of the neighbours in float32, the rest in float64, stored as float32)."""
    a = (xp + xm).astype(np.float64) - 2 * x0.astype(np.float64)
    b = (xp - xm).astype(np.float64) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(b) >= np.abs(a), 0.0, -b / a).astype(np.float32)


def _localmax(x: np.ndarray) -> np.ndarray:
    """``librosa.util.localmax(x, axis=0)``."""
    out = np.zeros(x.shape, dtype=bool)
    out[1:-1] = (x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])
    if x.shape[0] > 1:
        out[-1] = x[-1] > x[-2]
    return out


def _pitch_tuning(frequencies: np.ndarray, resolution: float, bins_per_octave: int) -> float:
    """``librosa.pitch_tuning`` (0.0 for an empty set, without librosa's warning)."""
    frequencies = np.atleast_1d(frequencies)
    frequencies = frequencies[frequencies > 0]
    if not np.any(frequencies):
        return 0.0
    a440 = 440.0 * 2.0 ** (0.0 / bins_per_octave)
    octs = np.log2(frequencies / (float(a440) / 16))
    residual = np.mod(bins_per_octave * octs, 1.0)
    residual[residual >= 0.5] -= 1.0
    bins = np.linspace(-0.5, 0.5, int(np.ceil(1.0 / resolution)) + 1)
    counts, tuning = np.histogram(residual, bins)
    return float(tuning[np.argmax(counts)])


def estimate_tuning(y: np.ndarray, sr: float, n_fft: int = 2048, resolution: float = 0.01,
                    bins_per_octave: int = 12) -> float:
    """``librosa.estimate_tuning(y=y, sr=sr, n_fft=n_fft, resolution=resolution,
    bins_per_octave=bins_per_octave)``: piptrack (Hann STFT with hop n_fft // 4, 150 to 4000 Hz,
    peaks above 0.1 of each frame's maximum), the peaks at least as strong as their median,
    the mode of their deviations from the equal-tempered grid. 0.0 when no peak is found."""
    s = np.abs(_stft_frames(np.asarray(y), n_fft, n_fft // 4, _hann(n_fft))).T  # (bins, frames) float32
    s = np.ascontiguousarray(s)
    fmin = np.maximum(150.0, 0)
    fmax = np.minimum(4000.0, float(sr) / 2)
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    freq_mask = ((fmin <= fft_freqs) & (fft_freqs < fmax))[:, None]
    ref_value = 0.1 * np.max(s, axis=0, keepdims=True)
    rows, cols = np.nonzero(freq_mask & _localmax(s * (s > ref_value)))
    if rows.size == 0:
        return 0.0
    # piptrack's parabolic shift, gradient and skew, at the peaks only (never the first or the
    # last bin: bin 0 is no local maximum and the Nyquist bin is not below fmax).
    x0, xm, xp = s[rows, cols], s[rows - 1, cols], s[rows + 1, cols]
    shift = _parabolic_shift(xm, x0, xp)
    avg = (xp - xm) / 2.0  # np.gradient
    pitches = ((rows + shift) * float(sr) / n_fft).astype(np.float32)
    mags = x0 + 0.5 * avg * shift
    pitch_mask = pitches > 0
    threshold = np.median(mags[pitch_mask]) if pitch_mask.any() else 0.0
    return _pitch_tuning(pitches[(mags >= threshold) & pitch_mask], resolution, bins_per_octave)
