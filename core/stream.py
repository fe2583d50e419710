"""Long signals in bounded memory: a mono signal read by ranges, the one window plan of every
windowed pass, and resampling of a signal that arrives in pieces.

A :class:`Signal` is a mono float32 signal of ``length`` samples that hands out any range
``read(lo, hi)``, with zeros outside ``0..length`` (the zero padding every windowed pass
wants at the ends). :class:`ArraySignal` wraps an array; :class:`ScratchSignal` keeps the
samples in an unnamed scratch file (removed by the system when it is closed, also after a
crash), so a 15-minute mix costs page cache, not process memory. The encoder, the features
and the tuning estimate read the mix through this interface and never hold it whole.

:func:`windows` is the plan of every chunked pass (encoder, decoder, features): chunks of
``chunk`` frames, each computed with ``context`` frames on both sides and cut back to its
centre. :func:`resample_pieces` resamples a stream of pieces with ``soxr.ResampleStream``,
which gives the same samples as ``soxr.resample`` of the whole signal (checked in the tests),
so a streamed result equals the whole-array one bit for bit.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Iterable, Iterator, Protocol

import numpy as np
import soxr

__all__ = ["Signal", "ArraySignal", "as_signal", "ScaledSignal", "ScratchSignal", "ScratchWriter", "ScratchError",
           "Window",
           "windows", "signal_rms", "resample_pieces", "blocks", "BLOCK"]

BLOCK = 1 << 18
"""Samples per block of a sequential pass over a signal (1 MB of float32)."""


class Signal(Protocol):
    """A mono float32 signal read by ranges."""

    length: int

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Samples ``lo..hi`` as float32 ``(hi - lo,)``; zeros outside ``0..length``."""
        ...


def _padded(read, length: int, lo: int, hi: int, channels: int = 1) -> np.ndarray:
    """``read(a, b)`` over the part of ``lo..hi`` inside ``0..length``, zeros around it:
    (hi - lo,) float32, or (hi - lo, channels) for ``channels`` > 1."""
    a, b = max(lo, 0), min(hi, length)
    if a == lo and b == hi and a < b:
        return read(a, b)
    out = np.zeros((max(0, hi - lo),) + ((channels,) if channels > 1 else ()), np.float32)
    if a < b:
        out[a - lo:b - lo] = read(a, b)
    return out


def _resampler(rate_in: int, rate_out: int, channels: int = 1):
    """A ``soxr.ResampleStream`` from ``rate_in`` to ``rate_out`` ("HQ", float32), None for equal rates."""
    if rate_in == rate_out:
        return None
    return soxr.ResampleStream(rate_in, rate_out, channels, dtype="float32", quality="HQ")


class ArraySignal:
    """A :class:`Signal` over a mono array (held by reference when it is contiguous float32)."""

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = np.ascontiguousarray(samples, dtype=np.float32)
        if self.samples.ndim != 1:
            raise ValueError(f"a signal is mono (samples,), got shape {self.samples.shape}")
        self.length = int(self.samples.shape[0])

    def read(self, lo: int, hi: int) -> np.ndarray:
        return _padded(lambda a, b: self.samples[a:b], self.length, lo, hi)


def as_signal(mono) -> Signal:
    """``mono`` itself if it is a :class:`Signal`, else an :class:`ArraySignal` over it."""
    return mono if hasattr(mono, "read") and hasattr(mono, "length") else ArraySignal(mono)


class ScaledSignal:
    """``signal`` times ``gain`` (float32, as ``samples * gain`` of the whole array)."""

    def __init__(self, signal: Signal, gain: float) -> None:
        self.signal, self.gain, self.length = signal, gain, signal.length

    def read(self, lo: int, hi: int) -> np.ndarray:
        return self.signal.read(lo, hi) * self.gain


class ScratchSignal:
    """A :class:`Signal` whose samples live in an unnamed scratch file (see
    :class:`ScratchWriter`); close it (or use it as a context manager) to drop the file.
    With ``channels`` > 1 the frames are interleaved and :meth:`read` gives (n, channels)."""

    def __init__(self, file, length: int, channels: int = 1) -> None:
        self._file, self.length, self.channels = file, int(length), int(channels)

    def read(self, lo: int, hi: int) -> np.ndarray:
        ch = self.channels

        def pread(a: int, b: int) -> np.ndarray:
            size = 4 * ch * (b - a)
            data = os.pread(self._file.fileno(), size, 4 * ch * a)
            if len(data) != size:
                raise ScratchError(f"scratch file: read {len(data)} of {size} bytes")
            x = np.frombuffer(data, dtype=np.float32).copy()
            return x if ch == 1 else x.reshape(-1, ch)

        return _padded(pread, self.length, lo, hi, ch)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "ScratchSignal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ScratchError(OSError):
    """A scratch file that cannot be made, written or read (full disk, no $TMPDIR ...); the
    message names the folder."""


def _scratch_error(exc: OSError, folder: str | None) -> ScratchError:
    where = folder or tempfile.gettempdir()
    return ScratchError(exc.errno, f"scratch file in {where}: {exc.strerror or exc}")


class ScratchWriter:
    """Build a :class:`ScratchSignal` from pieces pushed in order, resampled on the way from
    ``rate_in`` to ``rate_out`` Hz (the same samples as ``soxr.resample`` of the whole, "HQ").
    The scratch file is made in ``folder`` (default: the system's temporary folder, $TMPDIR).
    ``channels`` > 1: pieces are (n, channels)."""

    def __init__(self, rate_in: int, rate_out: int, folder: str | None = None, channels: int = 1) -> None:
        self.folder = folder
        try:
            self._file = tempfile.TemporaryFile(dir=folder)
        except OSError as exc:
            raise _scratch_error(exc, folder) from None
        self.channels = int(channels)
        self._stream = _resampler(rate_in, rate_out, self.channels)
        self.length = 0

    def _write(self, x: np.ndarray) -> None:
        if x.size:
            try:
                self._file.write(np.ascontiguousarray(x, dtype=np.float32).tobytes())
            except OSError as exc:
                raise _scratch_error(exc, self.folder) from None
            self.length += int(x.shape[0])

    def push(self, x: np.ndarray) -> None:
        """Append float32 samples at the input rate ((n,), or (n, channels))."""
        x = np.asarray(x, dtype=np.float32)
        x = x.reshape(-1) if self.channels == 1 else x.reshape(-1, self.channels)
        self._write(x if self._stream is None else self._stream.resample_chunk(x, last=False))

    def finish(self) -> ScratchSignal:
        """Flush the resampler and hand over the signal (which owns the file from then on)."""
        if self._stream is not None:
            shape = (0,) if self.channels == 1 else (0, self.channels)
            self._write(self._stream.resample_chunk(np.zeros(shape, np.float32), last=True))
        try:
            self._file.flush()
        except OSError as exc:
            raise _scratch_error(exc, self.folder) from None
        return ScratchSignal(self._file, self.length, self.channels)

    def close(self) -> None:
        """Drop the scratch file (after an error; :meth:`finish` hands it over instead)."""
        self._file.close()


def blocks(signal: Signal, block: int = BLOCK) -> Iterator[np.ndarray]:
    """A signal's samples in order, ``block`` frames at a time."""
    for lo in range(0, signal.length, block):
        yield signal.read(lo, min(lo + block, signal.length))


def signal_rms(signal: Signal, block: int = BLOCK) -> float:
    """Root mean square of a signal (float64 sums, block by block); 0.0 when empty."""
    if signal.length == 0:
        return 0.0
    total = 0.0
    for x in blocks(signal, block):
        total += float(np.dot(x.astype(np.float64), x.astype(np.float64)))
    return float(np.sqrt(total / signal.length))


@dataclass(frozen=True)
class Window:
    """One chunk of a windowed pass: frames ``start..stop`` are kept, ``lo..hi`` (with the
    context) are computed; ``keep`` is the kept part's slice in the computed window."""

    start: int
    stop: int
    lo: int
    hi: int

    @property
    def keep(self) -> slice:
        return slice(self.start - self.lo, self.stop - self.lo)


def windows(total: int, chunk: int, context: int) -> Iterator[Window]:
    """Chunks of ``chunk`` frames over ``0..total``, each with up to ``context`` frames of
    context on both sides (clipped at the ends)."""
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1 frame, got {chunk}")
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        yield Window(start, stop, max(0, start - context), min(total, stop + context))


def resample_pieces(pieces: Iterable[np.ndarray], rate_in: int, rate_out: int, length: int,
                    block: int = BLOCK, channels: int = 1) -> Iterator[np.ndarray]:
    """Float32 pieces at ``rate_in`` ((n,), or (n, channels)) -> pieces at ``rate_out``
    totalling exactly ``length`` frames (cropped, or zero-padded at the end), each at most
    about ``block`` frames. The samples equal ``fit_length(soxr.resample(concatenation), length)``."""
    stream = _resampler(rate_in, rate_out, channels)
    shape = (-1,) if channels == 1 else (-1, channels)
    left = length

    def emit(y: np.ndarray) -> Iterator[np.ndarray]:
        nonlocal left
        y = np.asarray(y, dtype=np.float32)[:left]
        left -= len(y)
        for i in range(0, len(y), block):
            yield y[i:i + block]

    for x in pieces:
        x = np.asarray(x, dtype=np.float32).reshape(shape)
        yield from emit(x if stream is None else stream.resample_chunk(x, last=False))
    if stream is not None:
        yield from emit(stream.resample_chunk(np.zeros((0,) + shape[1:], np.float32), last=True))
    while left > 0:
        n = min(left, block)
        left -= n
        yield np.zeros((n,) + shape[1:], np.float32)
