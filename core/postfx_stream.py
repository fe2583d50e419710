""":func:`~.postfx.apply_postfx` for a bass that arrives in pieces, in bounded memory.

The same chain as the whole-array function, pass by pass over scratch files
(:class:`~.stream.ScratchSignal`, in $TMPDIR) instead of arrays of the song's length:

1. the plugins (:class:`BoardStream`: the very chunks and latency handling of
   :func:`~.postfx.run_board`, so the same samples), measured on the way by
   :class:`LoudnessMeter` (ITU-R BS.1770 as pyloudnorm computes it, block energies included)
   when a loudness target is set;
2. the loudness gain and the true-peak limiter, window by window (:func:`limit_windows`:
   each window is limited with enough context on both sides that its kept centre sees what
   the whole-signal limiter sees), measuring the output's true peak;
3. the limiter's final trim when that peak is still over the ceiling, and the clip.

Only the plugins and the meter run on the pieces as they come; a chain without a limiter or
loudness target needs no scratch file at all. The result equals the whole-array chain to
float rounding (tests/test_postfx_stream.py).
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import pedalboard

from .postfx import (
    _MIN_BLOCK,
    _SAFETY,
    CHUNK_SAMPLES,
    ChainSpec,
    _per_sample_true_peak,
    apply_gain_db,
    board_bounds,
    build_board,
    level_change,
    limiter_gain,
    loudness_target,
    run_board,
)
from .stream import BLOCK, ScratchSignal, ScratchWriter, blocks, windows

__all__ = ["BoardStream", "LoudnessMeter", "limit_windows", "postfx_stream"]

_OVERSAMPLER_REACH = 2048  # frames of context that cover the 4x oversampler's filter in a window


def _frames(x: np.ndarray, channels: int) -> np.ndarray:
    """A piece as float32 (n, channels) (a mono piece is repeated to ``channels``)."""
    x = np.asarray(x, dtype=np.float32)
    x = x.reshape(len(x), -1)
    return np.repeat(x, channels, axis=1) if x.shape[1] != channels else x


class BoardStream:
    """:func:`~.postfx.run_board` of a signal of ``n`` frames and ``channels`` channels that
    arrives in pieces: the board gets the same chunks (:func:`~.postfx.board_bounds`) with
    ``reset=False``, the first ``latency`` output samples are dropped and a flush of silence
    ends it, so the output equals run_board's sample for sample."""

    def __init__(self, board: pedalboard.Pedalboard, rate: int, n: int, channels: int, latency: int = 0,
                 chunk: int = CHUNK_SAMPLES) -> None:
        self.board, self.rate, self.n, self.channels, self.latency = board, rate, n, channels, latency
        self.bounds = board_bounds(max(n, _MIN_BLOCK), chunk)

    def process(self, pieces: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Pieces in ((m,) or (m, channels)) -> processed pieces (m', channels), ``n`` frames in all."""
        if self.n < _MIN_BLOCK:  # a signal shorter than one block: the whole-array function
            x = np.concatenate([_frames(p, self.channels) for p in pieces]) if self.n else \
                np.zeros((0, self.channels), np.float32)
            yield run_board(self.board, x, self.rate, latency_samples=self.latency)
            return
        self.board.reset()
        buf, buf_lo, k = np.zeros((self.channels, 0), np.float32), 0, 0
        skip, left = self.latency, self.n  # output samples still to drop (latency), still to give

        def take(y: np.ndarray) -> np.ndarray:
            nonlocal skip, left
            y, skip = y[:, skip:], max(0, skip - y.shape[1])
            y = y[:, :left]
            left -= y.shape[1]
            return np.ascontiguousarray(y.T)

        for piece in pieces:
            x = _frames(piece, self.channels).T
            buf = np.concatenate([buf, x], axis=1) if buf.shape[1] else np.ascontiguousarray(x)
            while k < len(self.bounds) and self.bounds[k][1] - buf_lo <= buf.shape[1]:
                a, b = self.bounds[k]
                y = self.board.process(np.ascontiguousarray(buf[:, a - buf_lo:b - buf_lo]), self.rate, reset=False)
                buf, buf_lo, k = buf[:, b - buf_lo:], b, k + 1
                if len(y := take(y)):
                    yield y
        if self.latency:  # the flush of run_board: silence through the board for the tail
            y = self.board.process(np.zeros((self.channels, max(self.latency, _MIN_BLOCK)), np.float32), self.rate,
                                   reset=False)
            if len(y := take(y)):
                yield y
        if left > 0:
            yield np.zeros((left, self.channels), np.float32)


class LoudnessMeter:
    """Integrated loudness (ITU-R BS.1770-4, K-weighting, 400 ms blocks with 75 % overlap,
    absolute and relative gates) of a signal of ``n`` frames fed in pieces: the computation of
    ``pyloudnorm.Meter(rate).integrated_loudness`` (its filters run with their state carried
    from piece to piece, each block's energy summed over the same samples), holding only the
    last block's filtered samples and one energy per block."""

    _T_G, _STEP, _GAINS = 0.4, 0.25, (1.0, 1.0, 1.0, 1.41, 1.41)

    def __init__(self, rate: int, n: int, channels: int) -> None:
        import pyloudnorm

        self.rate, self.n, self.channels = rate, n, channels
        self.stages = [(f.b, f.a, f.passband_gain) for f in pyloudnorm.Meter(rate)._filters.values()]
        self.state = [[np.zeros(max(len(a), len(b)) - 1) for _ in range(channels)] for b, a, _ in self.stages]
        T = n / rate
        count = int(np.round((T - self._T_G) / (self._T_G * self._STEP))) + 1 if n >= self._T_G * rate else 0
        self.edges = [(int(self._T_G * (j * self._STEP) * rate), int(self._T_G * (j * self._STEP + 1) * rate))
                      for j in range(count)]
        self.z = np.zeros((channels, count))
        self.buf, self.buf_lo, self.next = np.zeros((0, channels)), 0, 0

    def add(self, piece: np.ndarray) -> None:
        """Measure the next frames ((m, channels) or (m,) for one channel)."""
        from scipy.signal import lfilter  # scipy.signal costs 0.3 s and tens of MB: only when measuring

        x = np.asarray(piece, dtype=np.float64).reshape(-1, self.channels).copy()
        for s, (b, a, gain) in enumerate(self.stages):
            for c in range(self.channels):
                y, self.state[s][c] = lfilter(b, a, x[:, c], zi=self.state[s][c])
                x[:, c] = gain * y
        self.buf = np.concatenate([self.buf, x]) if len(self.buf) else x
        end = self.buf_lo + len(self.buf)
        while self.next < len(self.edges) and self.edges[self.next][1] <= end:
            self._energy(self.next)
            self.next += 1
        keep = self.edges[self.next][0] if self.next < len(self.edges) else end
        if keep > self.buf_lo:
            self.buf, self.buf_lo = self.buf[keep - self.buf_lo:], keep

    def _energy(self, j: int) -> None:
        """Block ``j``'s mean square per channel, over its samples held in the buffer (pyloudnorm's sum)."""
        lo, hi = (max(0, e - self.buf_lo) for e in self.edges[j])
        for c in range(self.channels):
            self.z[c, j] = (1.0 / (self._T_G * self.rate)) * np.sum(np.square(self.buf[lo:hi, c]))

    def result(self) -> float | None:
        """LUFS, or None for audio that is silent or shorter than one 400 ms block (as
        :func:`~.postfx.integrated_loudness`)."""
        if self.n < int(0.4 * self.rate) + 1 or not self.edges:
            return None
        for j in range(self.next, len(self.edges)):  # blocks that reach past the end (none, for a whole signal)
            self._energy(j)
        G, z, chs = self._GAINS, self.z, range(self.channels)
        blocks_ = range(z.shape[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            loud = [-0.691 + 10.0 * np.log10(np.sum([G[i] * z[i, j] for i in chs])) for j in blocks_]
            gated = [j for j, v in enumerate(loud) if v >= -70.0]
            avg = [np.mean([z[i, j] for j in gated]) for i in chs]
            rel = -0.691 + 10.0 * np.log10(np.sum([G[i] * avg[i] for i in chs])) - 10.0
            gated = [j for j, v in enumerate(loud) if (v > rel and v > -70.0)]
            avg = np.nan_to_num(np.array([np.mean([z[i, j] for j in gated]) for i in chs]))
            value = -0.691 + 10.0 * np.log10(np.sum([G[i] * avg[i] for i in chs]))
        return float(value) if np.isfinite(value) else None


def _scaled_windows(signal: ScratchSignal, context: int, scale: float, window: int):
    """``signal * scale`` window by window with ``context`` frames on both sides -> (window
    (n, channels) float32, the kept part's slice in it)."""
    s32 = np.float32(scale)
    for w in windows(signal.length, window, context):
        x = signal.read(w.lo, w.hi).reshape(w.hi - w.lo, -1)
        yield ((x * s32).astype(np.float32) if scale != 1.0 else x), w.keep


def limit_windows(signal: ScratchSignal, rate: int, ceiling: float, gain: float = 1.0,
                  lookahead_ms: float = 20.0, window: int = BLOCK) -> Iterator[np.ndarray]:
    """The gain envelope of :func:`~.postfx.true_peak_limit` (before its final trim) over
    ``signal * gain``, ``window`` frames at a time: each window is computed with a context
    of three look-ahead holds plus the oversampler's reach on both sides, so its kept
    centre sees the samples the whole-signal limiter sees. ``ceiling`` is linear, safety
    margin included. Yields (m, channels) float32 pieces."""
    hold = max(1, int(rate * lookahead_ms / 1000))
    for x, keep in _scaled_windows(signal, 3 * hold + _OVERSAMPLER_REACH, gain, window):
        need = np.minimum(1.0, ceiling / np.maximum(_per_sample_true_peak(x, rate), 1e-12))
        g = limiter_gain(need, hold)
        yield x[keep] if g is None else x[keep] * g[keep, None].astype(np.float32)


def _true_peak_of(signal: ScratchSignal, rate: int, scale: float = 1.0, window: int = BLOCK) -> float:
    """The largest (4x-oversampled) true peak of ``signal * scale``, window by window with
    the oversampler's context."""
    return max((float(_per_sample_true_peak(x, rate)[keep].max())
                for x, keep in _scaled_windows(signal, _OVERSAMPLER_REACH, scale, window)), default=0.0)


def _write(pieces: Iterable[np.ndarray], rate: int, channels: int, meter: LoudnessMeter | None = None) -> ScratchSignal:
    writer = ScratchWriter(rate, rate, channels=channels)
    try:
        for p in pieces:
            p = np.asarray(p, dtype=np.float32).reshape(len(p), channels)
            if meter is not None:
                meter.add(p)
            writer.push(p)
        return writer.finish()
    except BaseException:
        writer.close()
        raise


def postfx_stream(pieces: Iterable[np.ndarray], rate: int, n: int, channels: int, spec: ChainSpec, *,
                  loudness: float | None = None, match_mix_lufs: float | None = None,
                  match_mix: bool = False) -> Iterator[np.ndarray]:
    """:func:`~.postfx.apply_postfx` of a bass of ``n`` frames arriving as ``pieces`` ((m,)
    or (m, channels); a mono piece is repeated to ``channels``): the chain ``spec``, then the
    loudness target (``loudness`` LUFS, or with ``match_mix`` the mix's loudness
    ``match_mix_lufs`` plus :data:`~.postfx.MATCH_MIX_OFFSET_LU`; None: the mix could not be
    measured and the level stays), then the true-peak limiter. Yields float32 (m, channels)
    pieces, ``n`` frames in all (mono (m,) pieces when ``channels`` is 1)."""
    board = build_board(spec, rate)
    out = BoardStream(board, rate, n, channels, spec.latency_samples).process(pieces) if len(board) else \
        (_frames(p, channels) for p in pieces)
    target = loudness_target(loudness, match_mix, match_mix_lufs)
    if target is None and spec.ceiling_db is None:
        for p in out:
            yield p[:, 0] if channels == 1 else p
        return
    meter = LoudnessMeter(rate, n, channels) if target is not None else None
    with _write(out, rate, channels, meter) as first:
        gain_db, ceiling_db = level_change(target, meter.result() if meter is not None else None, spec.ceiling_db)
        if ceiling_db is None:  # a loudness target without a limiter
            for p in blocks(first):
                yield p if gain_db is None else apply_gain_db(p, gain_db)
            return
        ceiling = 10 ** (ceiling_db / 20) * _SAFETY
        gain = 1.0 if gain_db is None else float(10 ** (gain_db / 20))
        with _write(limit_windows(first, rate, ceiling, gain), rate, channels) as limited:
            scale = 1.0
            for _ in range(4):  # the final exact check and trim of true_peak_limit
                tp = _true_peak_of(limited, rate, scale)
                if tp <= ceiling:
                    break
                scale *= ceiling / tp * 0.999
            s32 = np.float32(scale)
            for p in blocks(limited):
                yield np.clip(p * s32 if scale != 1.0 else p, -ceiling, ceiling)
