"""Spectrogram autoencoder: waveform -> unbounded latent -> magnitude and phase -> waveform.

The encoder reads the log-power spectrogram ``log(|STFT(w)|^2 + eps)`` (frequency bins
as channels, 1-D convolutions over STFT frames) and compresses time by
``frames_per_latent`` with strided convolutions, so one latent frame covers
``ratio = hop * frames_per_latent`` samples. The decoder mirrors it and predicts, per
STFT frame and bin, the log power and a phase — either directly (an unnormalised 2-D
vector) or as instantaneous frequency (the per-hop phase advance, integrated over frames);
the waveform is the iSTFT of ``sqrt(power) * exp(i * phase)``.

The autoencoder is a frozen "pretransform" for the rest of the pipeline: ``encode``,
``decode``, ``ratio`` and ``latent_dim`` are all the diffusion side needs to know.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .audio import release_memory
from .config import AutoencoderConfig
from .layers import Downsample1d, Upsample1d, res_stack
from .pitch_phase import CarrierStream, carrier_phase
from .spectral import griffin_lim, istft, log_power, log_power_low_bins, stft
from .stream import windows

__all__ = ["SpectrogramAutoencoder", "Reconstruction"]

_LOG_SCALE = 5.0  # log-power values are divided by this before the encoder


def _fit(wave: torch.Tensor, length: int | None) -> torch.Tensor:
    """Crop or zero-pad the last axis of ``wave`` to ``length`` (None: as it is)."""
    if length is None:
        return wave
    return wave[..., :length] if wave.shape[-1] >= length else F.pad(wave, (0, length - wave.shape[-1]))


class Encoder(nn.Module):
    """(B, bins [+ hires_bins], frames) log power -> (B, latent_dim, frames / frames_per_latent)."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        ch = cfg.channels
        self.inp = nn.Conv1d(cfg.n_bins + cfg.hires_bins, ch[0], 3, padding=1)
        layers: list[nn.Module] = []
        for i in range(len(ch) - 1):
            layers += [res_stack(ch[i], cfg.res_blocks), Downsample1d(ch[i], ch[i + 1])]
        layers += [res_stack(ch[-1], cfg.res_blocks), nn.LeakyReLU(0.2), nn.Conv1d(ch[-1], cfg.latent_dim, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, logpow: torch.Tensor) -> torch.Tensor:
        return self.body(self.inp(logpow / _LOG_SCALE))


class Decoder(nn.Module):
    """(B, latent_dim, T) -> (B, k * bins, T * frames_per_latent): log power, then phase
    x and y (``phase="direct"``, k = 3) or the phase-advance deviation (``phase="if"``, k = 2);
    plus the optional heads' logits per frame: "pitch" (B, pitch_bins + 1, frames) and
    "chroma" (B, 12, frames)."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        ch = cfg.channels
        layers: list[nn.Module] = [nn.Conv1d(cfg.latent_dim, ch[-1], 3, padding=1), res_stack(ch[-1], cfg.res_blocks)]
        for i in range(len(ch) - 1, 0, -1):
            layers += [Upsample1d(ch[i], ch[i - 1]), res_stack(ch[i - 1], cfg.res_blocks)]
        k = 3 if cfg.phase == "direct" else 2
        layers += [nn.LeakyReLU(0.2), nn.Conv1d(ch[0], k * cfg.n_bins, 3, padding=1)]
        self.body = nn.Sequential(*layers)
        self.n_bins = cfg.n_bins
        self.pitch = nn.Conv1d(ch[0], cfg.pitch_bins + 1, 3, padding=1) if cfg.pitch_bins > 0 else None
        self.chroma = nn.Conv1d(ch[0], 12, 3, padding=1) if cfg.chroma_head else None

    def forward(self, latent: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.pitch is None and self.chroma is None:
            return self.body(latent), {}
        hidden = self.body[:-1](latent)  # the heads read the same features as the output conv
        heads = {name: head(hidden) for name, head in (("pitch", self.pitch), ("chroma", self.chroma))
                 if head is not None}
        return self.body[-1](hidden), heads


@dataclass
class Reconstruction:
    """What one autoencoder pass produces, for the losses.

    ``logpow``: input log power (B, bins, frames); ``logpow_hat``: the decoder's log-power
    output; ``wave``: input waveform padded to a multiple of ``ratio`` (B, samples);
    ``wave_hat``: the iSTFT reconstruction, same length; ``latent``: (B, latent_dim, frames);
    ``spec``: the input's complex spectrogram; ``phase_hat``: the decoded phase (radians);
    ``advance_hat``: the decoded per-hop phase advance (IF mode only, else None);
    ``pitch_logits``: the pitch head's (B, pitch_bins + 1, frames) logits (else None);
    ``chroma_logits``: the chroma head's (B, 12, frames) logits (else None).
    """

    logpow: torch.Tensor
    logpow_hat: torch.Tensor
    wave: torch.Tensor
    wave_hat: torch.Tensor
    latent: torch.Tensor
    spec: torch.Tensor | None = None
    phase_hat: torch.Tensor | None = None
    advance_hat: torch.Tensor | None = None
    pitch_logits: torch.Tensor | None = None
    chroma_logits: torch.Tensor | None = None


class SpectrogramAutoencoder(nn.Module):
    """Musika-style spectrogram autoencoder trained end to end (paper section 3.1)."""

    def __init__(self, cfg: AutoencoderConfig, with_decoder: bool = True):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        # The mix autoencoder only ever encodes at inference; a shipped generator omits its decoder.
        self.decoder = Decoder(cfg) if with_decoder else None

    @property
    def ratio(self) -> int:
        """Samples per latent frame (time compression)."""
        return self.cfg.ratio

    @property
    def latent_dim(self) -> int:
        """Channels of the latent."""
        return self.cfg.latent_dim

    @property
    def sample_rate(self) -> int:
        """The sample rate (Hz) the autoencoder works at."""
        return self.cfg.sample_rate

    def latent_frames(self, samples: int) -> int:
        """Latent frames for a waveform of ``samples`` samples: ``ceil(samples / ratio)``."""
        return max(1, math.ceil(samples / self.ratio))

    def _pad(self, wave: torch.Tensor) -> torch.Tensor:
        target = self.latent_frames(wave.shape[-1]) * self.ratio
        return F.pad(wave, (0, target - wave.shape[-1]))

    def log_spectrogram(self, wave: torch.Tensor) -> torch.Tensor:
        """Log power spectrogram (B, bins, samples // hop) of a (B, samples) waveform."""
        c = self.cfg
        return log_power(stft(wave, c.n_fft, c.hop), c.eps)

    def _encoder_input(self, wave: torch.Tensor, logpow: torch.Tensor) -> torch.Tensor:
        """The encoder's input: ``logpow`` (B, bins, frames), plus the long-window STFT's low bins."""
        c = self.cfg
        if not c.hires_fft:
            return logpow
        hires = log_power_low_bins(wave, c.hires_fft, c.hop, c.hires_bins, c.eps)
        return torch.cat([logpow, hires], dim=1)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """Waveform (B, samples) -> latent (B, latent_dim, ceil(samples / ratio)).

        The waveform is zero-padded at the end to a whole number of latent frames.
        """
        wave = self._pad(wave)
        return self.encoder(self._encoder_input(wave, self.log_spectrogram(wave)))

    def phase_advance(self, raw: torch.Tensor) -> torch.Tensor:
        """Per-hop phase advance (radians) from the decoder's IF output (B, bins, frames):
        the bin centre's advance ``2 pi k hop / n_fft`` plus a deviation in (-pi, pi)."""
        c = self.cfg
        k = torch.arange(c.n_bins, device=raw.device, dtype=torch.float64)
        centre = (2 * math.pi * c.hop / c.n_fft) * k
        return centre[None, :, None] + math.pi * torch.tanh(raw.double())

    def _decoder_out(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """The decoder's log power (B, bins, frames), raw phase channels and head logits by name."""
        if self.decoder is None:
            raise RuntimeError("this autoencoder was loaded without its decoder (encode-only)")
        out, heads = self.decoder(latent)
        out = out.float()
        n = self.cfg.n_bins
        return out[:, :n], out[:, n:], {k: v.float() for k, v in heads.items()}

    def decode_pitch(self, latent: torch.Tensor) -> torch.Tensor:
        """Pitch-head classes (B, T * frames_per_latent): 0 = silent, c = MIDI note
        ``pitch_low + c - 1``. Needs a pitch head."""
        if self.cfg.pitch_bins <= 0:
            raise RuntimeError("this autoencoder has no pitch head")
        return self._decoder_out(latent)[2]["pitch"].argmax(dim=1)

    def _spectrogram(self, logpow: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """Complex spectrogram from log power and phase, with the optional Griffin-Lim refinement."""
        mag = torch.exp(0.5 * logpow.clamp(max=30.0))
        if self.cfg.phase_iters > 0:
            return griffin_lim(mag, phase, self.cfg.n_fft, self.cfg.hop, self.cfg.phase_iters)
        return torch.polar(mag, phase)

    def _pitch_phase(self, logits: torch.Tensor, tuning: float = 0.0) -> torch.Tensor:
        c = self.cfg
        return carrier_phase(logits.argmax(dim=1), c.pitch_low, c.n_fft, c.hop, c.sample_rate, tuning=tuning)

    def _phase(self, raw: torch.Tensor, phase_start: torch.Tensor | None = None, anchor: int = 0) -> torch.Tensor:
        """Phase in radians (B, bins, frames) from the raw phase channels."""
        n = self.cfg.n_bins
        if self.cfg.phase == "direct":
            return torch.atan2(raw[:, n:], raw[:, :n])
        phase = torch.cumsum(self.phase_advance(raw), dim=-1)
        if phase_start is not None:
            before = phase[..., anchor - 1] if anchor > 0 else torch.zeros_like(phase[..., 0])
            phase = phase + (phase_start.double() - before)[..., None]
        return torch.remainder(phase, 2 * math.pi).float()

    def decode_spectrogram(self, latent: torch.Tensor, phase_start: torch.Tensor | None = None,
                           anchor: int = 0, tuning: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent -> (log power (B, bins, frames), complex spectrogram (B, bins, frames)).

        IF mode only: the integrated phase is shifted so that frame ``anchor - 1`` has phase
        ``phase_start`` (B, bins) — how chunked decoding continues the phase of the previous
        chunk. By default the phase is 0 before frame 0. With ``phase_source="pitch"`` the phase is
        that of a harmonic carrier playing the pitch head's notes (:mod:`.pitch_phase`), tuned
        ``tuning`` semitones off A = 440 Hz (the other phase sources ignore ``tuning``).
        """
        logpow, raw, heads = self._decoder_out(latent)
        if self.cfg.phase_source == "pitch":
            return logpow, self._spectrogram(logpow, self._pitch_phase(heads["pitch"], tuning))
        return logpow, self._spectrogram(logpow, self._phase(raw, phase_start, anchor))

    def decode(self, latent: torch.Tensor, length: int | None = None, tuning: float = 0.0) -> torch.Tensor:
        """Latent (B, latent_dim, T) -> waveform (B, T * ratio), cropped to ``length`` if given;
        ``tuning`` as in :meth:`decode_spectrogram`."""
        _, spec = self.decode_spectrogram(latent, tuning=tuning)
        return istft(spec, self.cfg.n_fft, self.cfg.hop, length=length)

    def forward(self, wave: torch.Tensor) -> Reconstruction:
        """Same as :meth:`reconstruct` (so DistributedDataParallel sees the training pass)."""
        return self.reconstruct(wave)

    def reconstruct(self, wave: torch.Tensor) -> Reconstruction:
        """Full pass for training: encode, decode, iSTFT. ``wave`` is (B, samples)."""
        c = self.cfg
        wave = self._pad(wave)
        spec = stft(wave, c.n_fft, c.hop)
        logpow = log_power(spec, c.eps)
        latent = self.encoder(self._encoder_input(wave, logpow))
        logpow_hat, raw, heads = self._decoder_out(latent)
        phase_hat = self._phase(raw)
        spec_hat = torch.polar(torch.exp(0.5 * logpow_hat.clamp(max=30.0)), phase_hat)
        wave_hat = istft(spec_hat, c.n_fft, c.hop, length=wave.shape[-1])
        advance = self.phase_advance(raw).float() if c.phase == "if" else None
        return Reconstruction(logpow, logpow_hat, wave, wave_hat, latent, spec, phase_hat, advance,
                              heads.get("pitch"), heads.get("chroma"))

    # ------------------------------------------------------------- bounded-memory inference

    def encode_chunked(self, wave: torch.Tensor, chunk_frames: int = 1024, context: int = 16) -> torch.Tensor:
        """Like :meth:`encode`, but in windows of ``chunk_frames`` latent frames.

        Each window sees ``context`` latent frames of audio on both sides, which are cut
        from its output, so memory stays bounded for any length.
        """
        n = wave.shape[-1]
        return self.encode_read(lambda lo, hi: F.pad(wave[:, lo:min(hi, n)], (0, max(0, hi - max(lo, n)))), n,
                                chunk_frames, context)

    def encode_read(self, read, samples: int, chunk_frames: int = 1024, context: int = 16) -> torch.Tensor:
        """:meth:`encode_chunked` of a waveform of ``samples`` samples handed out by ranges:
        ``read(lo, hi)`` -> (B, hi - lo), zeros past its end. Only one window of audio is
        held at a time (the mix is read from a :class:`~.stream.Signal` this way)."""
        total = self.latent_frames(samples)
        if total <= chunk_frames + 2 * context:
            return self.encode(read(0, samples))
        r = self.ratio
        return torch.cat([self.encode(read(w.lo * r, w.hi * r))[:, :, w.keep]
                          for w in windows(total, chunk_frames, context)], dim=-1)

    def decode_chunked(self, latent: torch.Tensor, length: int | None = None, chunk_frames: int = 512,
                       context: int = 16, tuning: float = 0.0) -> torch.Tensor:
        """Like :meth:`decode`, but in windows of ``chunk_frames`` latent frames.

        Each window is decoded with ``context`` latent frames on both sides and only its
        centre is kept, so the result matches a whole-song decode while memory stays bounded.
        """
        total = latent.shape[-1]
        if total <= chunk_frames + 2 * context:
            return self.decode(latent, length, tuning)
        r, fpl, c = self.ratio, self.cfg.frames_per_latent, self.cfg
        if c.phase_source == "pitch":
            return self._decode_chunked_pitch(latent, length, chunk_frames, context, tuning)
        outs = []
        phase_prev = None  # IF mode: phase of the frame before this chunk's first kept frame
        for w in windows(total, chunk_frames, context):
            _, spec = self.decode_spectrogram(latent[:, :, w.lo:w.hi], phase_prev, w.keep.start * fpl)
            if c.phase == "if":
                phase_prev = spec.angle()[..., w.keep.stop * fpl - 1]
            outs.append(istft(spec, c.n_fft, c.hop)[:, w.keep.start * r: w.keep.stop * r])
        return _fit(torch.cat(outs, dim=-1), length)

    def decode_pieces(self, latent: torch.Tensor, length: int | None = None, chunk_frames: int = 512,
                      context: int = 16, tuning: float = 0.0):
        """:meth:`decode_chunked` as an iterator of (B, n) waveform pieces in order, whose
        concatenation is its result. With ``phase_source="pitch"`` and no Griffin-Lim the song is
        never held whole: each piece is yielded as soon as its frames are decoded."""
        c, total = self.cfg, latent.shape[-1]
        if c.phase_source != "pitch" or c.phase_iters > 0 or total <= chunk_frames + 2 * context:
            yield self.decode_chunked(latent, length, chunk_frames, context, tuning)
            return
        pieces = self._pitch_istft_pieces(self._pitch_windows(latent, chunk_frames, context),
                                          total * c.frames_per_latent, tuning)
        left = None if length is None else int(length)
        for w in pieces:
            if left is not None:
                w = w[:, :left]
                left -= w.shape[-1]
            if w.shape[-1]:
                yield w
        if left:
            yield latent.new_zeros(latent.shape[0], left)

    def _pitch_istft_windowed(self, logpow: torch.Tensor, cls: torch.Tensor, tuning: float,
                              chunk: int = 4096) -> torch.Tensor:
        """``istft(polar(mag, carrier_phase(cls)))`` of a whole decoded song, by
        :meth:`_pitch_istft_stream` over the song as one piece."""
        return self._pitch_istft_stream(iter([(logpow, cls)]), cls.shape[-1], tuning, chunk)

    def _pitch_istft_stream(self, pieces, frames: int, tuning: float, chunk: int = 4096) -> torch.Tensor:
        """The waveform of :meth:`_pitch_istft_pieces`, concatenated."""
        return torch.cat(list(self._pitch_istft_pieces(pieces, frames, tuning, chunk)), dim=-1)

    def _pitch_istft_pieces(self, pieces, frames: int, tuning: float, chunk: int = 4096):
        """``istft(polar(mag, carrier_phase(cls)))`` of a song of ``frames`` STFT frames whose
        decoded log power and pitch classes arrive as ``pieces``, an iterator of
        ``(logpow (B, bins, n), cls (B, n))`` in order: ``chunk`` frames are rendered as soon as
        they and their context are known, and the log power before them is dropped, so memory
        is bounded by a piece and a window, not the song; the waveform comes out as an iterator
        of (B, chunk * hop) pieces. Every kept sample sees exactly the
        frames, and the frame values, of the whole-song computation (the carrier's phase comes
        from :class:`~.pitch_phase.CarrierStream`)."""
        c = self.cfg
        ctx = c.n_fft // c.hop + 2  # frames of context: the STFT window and the overlap-add
        track: CarrierStream | None = None
        buf, buf_lo, got, start = None, 0, 0, 0
        for logpow, cls in pieces:
            if track is None:
                track = CarrierStream(cls.shape[0], frames, c.pitch_low, c.hop, c.sample_rate, tuning=tuning,
                                      device=cls.device)
            track.push(cls)
            got += cls.shape[-1]
            if got == frames:
                track.finish()
            buf = logpow if buf is None else torch.cat([buf, logpow], dim=-1)
            while start < frames:
                stop = min(start + chunk, frames)
                lo, hi = max(0, start - ctx), min(frames, stop + ctx)
                if hi > track.known:  # wait for the window's frames (and a leading silence's pitch)
                    break
                spec = torch.polar(torch.exp(0.5 * buf[..., lo - buf_lo:hi - buf_lo].clamp(max=30.0)),
                                   track.phase(lo, hi, c.n_fft))
                w = istft(spec, c.n_fft, c.hop)
                yield w[:, (start - lo) * c.hop:(stop - lo) * c.hop]
                start = stop
            drop = max(0, start - ctx) - buf_lo  # frames no later window reads
            if drop > 0:
                buf, buf_lo = buf[..., drop:].clone(), buf_lo + drop
        if track is None or start < frames:
            raise ValueError(f"pitch decode stream ended at {got} of {frames} frames")

    def _pitch_windows(self, latent: torch.Tensor, chunk_frames: int, context: int):
        """The decoder's (log power (B, bins, n), pitch classes (B, n)) of the song's kept STFT
        frames, window by window, in order."""
        fpl = self.cfg.frames_per_latent
        for w in windows(latent.shape[-1], chunk_frames, context):
            part, _, heads = self._decoder_out(latent[:, :, w.lo:w.hi])
            keep = slice(w.keep.start * fpl, w.keep.stop * fpl)
            yield part[..., keep], heads["pitch"][..., keep].argmax(dim=1)
            del part, heads

    def _decode_chunked_pitch(self, latent: torch.Tensor, length: int | None, chunk_frames: int,
                              context: int, tuning: float = 0.0) -> torch.Tensor:
        """Chunked decode for ``phase_source="pitch"``: log power and notes are decoded in
        windows and one carrier runs over the whole song, so its phase has no seams. Without
        Griffin-Lim each window goes straight into the streamed iSTFT, so the song's log power is
        never held whole (318 MB for 15 minutes)."""
        c = self.cfg
        if c.phase_iters > 0:  # Griffin-Lim refines the whole song at once
            # copies: no view keeps a window
            logpow, cls = (torch.cat(x, dim=-1) for x in zip(*self._pitch_windows(latent, chunk_frames, context)))
            release_memory()
            phase = carrier_phase(cls, c.pitch_low, c.n_fft, c.hop, c.sample_rate, tuning=tuning)
            wave = istft(self._spectrogram(logpow, phase), c.n_fft, c.hop)
        else:
            wave = self._pitch_istft_stream(self._pitch_windows(latent, chunk_frames, context),
                                            latent.shape[-1] * c.frames_per_latent, tuning)
        return _fit(wave, length)
