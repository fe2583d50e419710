"""Phase for a decoded bass spectrogram from its decoded notes (the pitch head).

A magnitude spectrogram alone does not pin down the pitch of a low note (the bins are
wider than the gaps between bass notes); its phase does. When the bass autoencoder has a
pitch head, the decoder names the sounding semitone of every STFT frame, and the phase of
each bin is taken from a harmonic carrier that plays exactly those notes: a band-limited
pulse train whose fundamental follows the notes, continuous across note changes. In frames
the head calls silent the last note is held (its release rings on after the MIDI note-off
the head was trained on); the decoded magnitude decides what is heard.
"""

from __future__ import annotations

import math

import torch

from .spectral import stft

__all__ = ["frame_f0", "held_f0", "frame_start_phase", "harmonic_carrier", "carrier_phase", "CarrierStream",
           "CarrierTrack"]


def frame_f0(classes: torch.Tensor, pitch_low: int, tuning: float = 0.0) -> torch.Tensor:
    """Fundamental in Hz per frame from pitch-head classes (..., frames): class 0 is silent
    (returns 0 Hz there), class c >= 1 is MIDI note ``pitch_low + c - 1``, played ``tuning``
    semitones off A = 440 Hz (e.g. -0.32 for a mix tuned to A = 432 Hz)."""
    midi = (pitch_low + classes - 1).double() + float(tuning)
    f0 = 440.0 * torch.pow(2.0, (midi - 69.0) / 12.0)
    return torch.where(classes > 0, f0, torch.zeros_like(f0))


def held_f0(f0: torch.Tensor) -> torch.Tensor:
    """``f0`` (batch, frames) in Hz with every silent (0 Hz) frame holding the last voiced pitch
    (the first voiced one before it; 55 Hz for a wholly silent row), float64 — the pitch the
    carrier plays, so its phase never jumps."""
    voiced = f0 > 0
    frames = f0.shape[-1]
    idx = torch.arange(frames, device=f0.device).expand_as(f0)
    last = torch.cummax(torch.where(voiced, idx, torch.full_like(idx, -1)), dim=-1).values
    first = torch.where(voiced, idx, torch.full_like(idx, frames)).min(dim=-1, keepdim=True).values
    pos = torch.where(last >= 0, last, first.clamp(max=frames - 1))
    held = torch.gather(f0.double(), -1, pos)
    return torch.where(held > 0, held, torch.full_like(held, 55.0))


def frame_start_phase(held: torch.Tensor, hop: int, sample_rate: int) -> torch.Tensor:
    """The carrier's running phase (float64, batch x frames) at the start of every frame of
    the frame pitches ``held``: the one number per frame from which :func:`_pulse` renders any
    frame range exactly as it renders the whole song."""
    step = 2 * math.pi * held * hop / sample_rate
    return torch.cumsum(step, dim=-1) - step


def _pulse(held: torch.Tensor, start: torch.Tensor, hop: int, sample_rate: int, max_freq: float) -> torch.Tensor:
    """The band-limited pulse train for frame pitches ``held`` (batch, n) float64 whose frames
    start at running phases ``start`` (batch, n) -> (batch, n * hop) float64. Each sample's
    phase is its frame's start phase plus a ramp inside the frame, so a slice of frames
    renders bit for bit the same samples as the whole song."""
    inc = 2 * math.pi * held / sample_rate  # phase advance per sample
    ramp = torch.arange(1, hop + 1, dtype=torch.float64, device=held.device)
    phi = (start[..., None] + inc[..., None] * ramp).flatten(-2)
    f = held.repeat_interleave(hop, dim=-1)
    n_harm = torch.floor(max_freq / f).clamp(min=1.0)
    half = torch.sin(phi / 2)
    tiny = half.abs() < 1e-9
    dirichlet = torch.sin((n_harm + 0.5) * phi) / torch.where(tiny, torch.ones_like(half), half)
    pulse = torch.where(tiny, 2 * n_harm + 1, dirichlet) - 1.0  # = 2 * sum_{h=1..H} cos(h * phi)
    return pulse / (2 * n_harm)


def harmonic_carrier(f0: torch.Tensor, hop: int, sample_rate: int, seed: int = 0,
                     max_freq: float | None = None, hold: bool = False) -> torch.Tensor:
    """Band-limited pulse train following ``f0`` (batch, frames) in Hz, one value per STFT frame.

    Returns (batch, frames * hop) samples: the sum of every harmonic below ``max_freq``
    (default 0.45 * sample_rate) with equal amplitude, normalised to a peak of about 1, and
    low-level white noise (from ``seed``) where ``f0`` is 0 — or, with ``hold``, the last
    note held through the silence (a note's release rings on after its MIDI note-off, which
    is where the pitch head says "silent"). The running phase is integrated in float64, so
    it stays continuous through note changes.
    """
    max_freq = 0.45 * sample_rate if max_freq is None else max_freq
    held = held_f0(f0)
    pulse = _pulse(held, frame_start_phase(held, hop, sample_rate), hop, sample_rate, max_freq)
    if hold:
        return pulse.float()
    gen = torch.Generator().manual_seed(seed)
    noise = (1e-2 * torch.randn(pulse.shape, generator=gen, dtype=torch.float64)).to(pulse.device)
    v = (f0 > 0).repeat_interleave(hop, dim=-1)
    return torch.where(v, pulse, noise).float()


class CarrierStream:
    """The held carrier of a song whose pitch classes arrive piece by piece (a chunked decode):
    only the frame pitches and the running phase at every frame start are kept (two float64
    numbers per frame), and :meth:`phase` gives the STFT phase of any frame range whose pitches
    are known (:attr:`known`) exactly as :func:`carrier_phase` of the whole song would (given a
    little context around the range).

    A frame's held pitch depends only on the frames before it, except in a leading silence,
    which holds the song's *first* voiced pitch: those frames stay pending until a voiced one
    arrives in every row (or :meth:`finish`; a wholly silent row holds 55 Hz)."""

    def __init__(self, batch: int, frames: int, pitch_low: int, hop: int, sample_rate: int,
                 tuning: float = 0.0, max_freq: float | None = None, device: torch.device | str = "cpu") -> None:
        self.hop, self.sample_rate, self.frames = hop, sample_rate, frames
        self.pitch_low, self.tuning = pitch_low, tuning
        self.max_freq = 0.45 * sample_rate if max_freq is None else max_freq
        self.held = torch.empty(batch, frames, dtype=torch.float64, device=device)
        self.start_phase = torch.empty_like(self.held)
        self.known = 0  # frames [0, known) have their held pitch and start phase
        self._received = 0
        self._pending: list[torch.Tensor] = []  # f0 of a leading silence, until a voiced frame
        self._run: torch.Tensor | None = None  # running phase after frame known - 1

    def push(self, classes: torch.Tensor) -> None:
        """The pitch classes (batch, n) of the next ``n`` frames."""
        n = classes.shape[-1]
        if self._received + n > self.frames:
            raise ValueError(f"carrier stream of {self.frames} frames got {self._received + n}")
        self._received += n
        f0 = frame_f0(classes, self.pitch_low, self.tuning)
        if self.known == 0:
            self._pending.append(f0)
            if bool((torch.cat(self._pending, -1) > 0).any(-1).all()) or self._received == self.frames:
                self._settle()
            return
        last = self.held[:, self.known - 1:self.known]  # voiced: the forward fill carries it
        self._append(held_f0(torch.cat([last, f0.double()], dim=-1))[:, 1:])

    def finish(self) -> None:
        """Every frame pushed: settle a song that was silent to the end."""
        if self._received != self.frames:
            raise ValueError(f"carrier stream of {self.frames} frames got only {self._received}")
        if self._pending:
            self._settle()

    def _settle(self) -> None:
        f0, self._pending = torch.cat(self._pending, -1), []
        self._append(held_f0(f0))

    def _append(self, held: torch.Tensor) -> None:
        step = 2 * math.pi * held * self.hop / self.sample_rate
        if self._run is None:  # as frame_start_phase: one sequential sum over the song
            total = torch.cumsum(step, dim=-1)
        else:
            total = torch.cumsum(torch.cat([self._run, step], dim=-1), dim=-1)[:, 1:]
        a, b = self.known, self.known + held.shape[-1]
        self.held[:, a:b] = held
        self.start_phase[:, a:b] = total - step
        self._run = total[:, -1:]
        self.known = b

    def phase(self, lo: int, hi: int, n_fft: int) -> torch.Tensor:
        """STFT phase (batch, n_fft // 2 + 1, hi - lo) of the carrier's frames ``[lo, hi)``: bit
        for bit :func:`carrier_phase`'s for the frames whose STFT window lies inside the range
        (all but ``(n_fft - hop) / 2 / hop`` frames at each end that is not the song's end)."""
        if hi > self.known:
            raise ValueError(f"carrier frames up to {hi} asked, {self.known} known")
        pulse = _pulse(self.held[:, lo:hi], self.start_phase[:, lo:hi], self.hop, self.sample_rate, self.max_freq)
        return torch.angle(stft(pulse.float(), n_fft, self.hop))


class CarrierTrack(CarrierStream):
    """:class:`CarrierStream` of a whole song's pitch classes (batch, frames), given at once."""

    def __init__(self, classes: torch.Tensor, pitch_low: int, hop: int, sample_rate: int, tuning: float = 0.0,
                 max_freq: float | None = None) -> None:
        super().__init__(classes.shape[0], classes.shape[-1], pitch_low, hop, sample_rate, tuning, max_freq,
                         device=classes.device)
        self.push(classes)
        self.finish()


def carrier_phase(classes: torch.Tensor, pitch_low: int, n_fft: int, hop: int, sample_rate: int,
                  seed: int = 0, hold: bool = True, tuning: float = 0.0) -> torch.Tensor:
    """Phase in radians (batch, n_fft // 2 + 1, frames) of the STFT of the harmonic carrier
    playing the pitch-head ``classes`` (batch, frames), in the framing of :func:`stft`. By
    default each note is held through the following "silent" frames (its release), where the
    decoded magnitude decides what is heard. ``tuning`` (semitones) moves every note off A = 440."""
    carrier = harmonic_carrier(frame_f0(classes, pitch_low, tuning), hop, sample_rate, seed, hold=hold)
    return torch.angle(stft(carrier.to(classes.device), n_fft, hop))[..., : classes.shape[-1]]
