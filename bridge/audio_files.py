"""Reading and checking audio files, and writing them atomically (temporary name, then rename).

Every problem is raised as :class:`AudioFileError` with a one-line message that names the file.

soundfile encodes a ``str`` path as strict UTF-8, which fails for a file name that is not
UTF-8 (Python holds its undecodable bytes as surrogate escapes): every soundfile call here is
given the path's bytes (``os.fsencode``), so any name the file system holds can be read and
written.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import soundfile as sf

from groundbass.core.atomic import StagedFiles
from groundbass.core.stream import ScratchError, ScratchSignal, ScratchWriter, resample_pieces

from .paths import path_problem

__all__ = ["AUDIO_EXTENSIONS", "AudioFileError", "AudioData", "read_audio", "write_audio_atomic",
           "subtype_for", "bit_depth_of", "sha256_file", "path_problem", "stage_audio", "open_staged", "file_loudness"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".aiff", ".aif", ".ogg", ".mp3")
"""Input formats read (case-insensitive)."""

MIN_SECONDS = 0.5
_SUBTYPES = {("wav", "16"): "PCM_16", ("wav", "24"): "PCM_24", ("wav", "32f"): "FLOAT",
             ("flac", "16"): "PCM_16", ("flac", "24"): "PCM_24"}


class AudioFileError(ValueError):
    """An audio file that cannot be read, checked or written (message names the file)."""


@dataclass
class AudioData:
    """Decoded audio: ``samples`` float32 (frames, channels), ``sample_rate`` in Hz, the file's
    soundfile ``format`` (``WAV``, ``FLAC`` ...) and ``subtype`` (``PCM_24`` ...). A file read
    with ``downmix`` has one channel in ``samples``; ``file_channels`` and ``file_peak`` are the
    file's own channel count and largest absolute sample (None: those of ``samples``). A file
    read with ``stream_rate`` has no ``samples`` (an empty array) but a ``signal``: its mono
    downmix at that rate in a scratch file (close it when done); ``frames`` counts the file's
    frames either way."""

    samples: np.ndarray
    sample_rate: int
    format: str
    subtype: str
    file_channels: int | None = None
    file_peak: float | None = None
    frames: int | None = None
    signal: ScratchSignal | None = None

    def __post_init__(self) -> None:
        if self.file_channels is None:
            self.file_channels = int(self.samples.shape[1])
        if self.file_peak is None:
            self.file_peak = float(np.abs(self.samples).max()) if self.samples.size else 0.0
        if self.frames is None:
            self.frames = int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        """Length in seconds (of the file: also when it was read into a ``signal``)."""
        return self.frames / self.sample_rate

    @property
    def channels(self) -> int:
        """Channel count."""
        return self.samples.shape[1]


def _wav_truncated(path: Path) -> bool:
    """True if a RIFF/WAVE file's data chunk claims more bytes than the file holds."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return False
            size = path.stat().st_size
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                cid, clen = struct.unpack("<4sI", f.read(8))
                if cid == b"data":
                    # 0 and 0xFFFFFFFF mark streamed files whose length was never filled in
                    return clen not in (0, 0xFFFFFFFF) and pos + 8 + clen > size
                pos += 8 + clen + (clen & 1)
            return False
    except OSError:
        return False


def _read_downmixed(f: sf.SoundFile, sink: Callable[[np.ndarray], None] | None = None,
                    block: int = 1 << 18) -> tuple[np.ndarray, int, bool, float]:
    """The mono downmix (frames, 1) of an open file read block by block (the channel mean, as
    :func:`groundbass.core.audio.to_mono`: row by row, so equal to the whole-file mean), the
    frames read, whether every sample was finite, and the file's peak — without a full-length
    multichannel copy. With ``sink`` each downmixed block goes there instead, and the returned
    downmix is empty (nothing of the file's length is held)."""
    parts, frames, finite, top = [], 0, True, 0.0
    while True:
        x = f.read(block, dtype="float32", always_2d=True)
        if x.shape[0] == 0:
            break
        frames += x.shape[0]
        finite = finite and bool(np.isfinite(x).all())
        if finite:
            top = max(top, float(np.abs(x).max()))
        mono = x.mean(axis=1, keepdims=True) if x.shape[1] > 1 else x.copy()
        if sink is None:
            parts.append(mono)
        elif finite:
            sink(mono[:, 0])
    data = np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)
    return data, frames, finite, top


def read_audio(path: str | Path, what: str = "mix", *, min_seconds: float = MIN_SECONDS,
               downmix: bool = False, stream_rate: int | None = None) -> AudioData:
    """Read and check an audio file. Raises :class:`AudioFileError` ("<path>: <problem>") for a
    missing, unreadable, zero-length, unsupported, corrupt or truncated file, NaN/Inf samples,
    a rate outside 8-192 kHz, or audio shorter than ``min_seconds``. ``downmix``: keep only the
    mono downmix, read block by block (a 15-minute stereo file is 320 MB as float32).
    ``stream_rate``: keep the mono downmix, resampled to that rate on the way, in a scratch
    file (``AudioData.signal``), so nothing of the file's length stays in memory."""
    writer: list[ScratchWriter] = []  # made once the file's rate is known, after the checks
    try:
        audio = _read_audio(path, what, min_seconds, downmix or stream_rate is not None, stream_rate, writer)
        if writer:
            audio.signal = writer[0].finish()
        return audio
    except BaseException:
        for w in writer:
            w.close()
        raise


def _read_audio(path: str | Path, what: str, min_seconds: float, downmix: bool, stream_rate: int | None,
                writer: list[ScratchWriter]) -> AudioData:
    path = Path(path)
    label = f"{path}" if what == "mix" else f"{path} ({what})"
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise AudioFileError(f"{label}: no such file") from None
    except OSError as exc:
        problem = path_problem(exc)
        raise AudioFileError(f"{label}: {problem}" if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG)
                             else f"{label}: cannot read ({problem})") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioFileError(f"{label}: is a directory, not an audio file")
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioFileError(f"{label}: unsupported format {path.suffix or '(no extension)'!r} "
                             f"(supported: {', '.join(e[1:] for e in AUDIO_EXTENSIONS)})")
    if st.st_size == 0:  # also a named pipe or a device, which must not be opened (it may block or never end)
        raise AudioFileError(f"{label}: zero-length file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise AudioFileError(f"{label}: cannot read ({path_problem(exc)})") from None
    if _wav_truncated(path):
        raise AudioFileError(f"{label}: truncated WAV file (data chunk runs past the end of the file)")
    try:
        with sf.SoundFile(os.fsencode(path)) as f:
            fmt, subtype, rate, frames, channels = f.format, f.subtype, f.samplerate, f.frames, f.channels
            if stream_rate is not None and 8000 <= rate <= 192000:
                writer.append(ScratchWriter(int(rate), int(stream_rate)))
            if downmix:
                data, n, finite, top = _read_downmixed(f, writer[0].push if writer else None)
            else:
                data = f.read(dtype="float32", always_2d=True)
                n = data.shape[0]
                finite = bool(np.isfinite(data).all())
                top = float(np.abs(data).max()) if finite and data.size else 0.0
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        detail = str(exc).split("\n")[0]
        raise AudioFileError(f"{label}: not a readable audio file, corrupt or truncated ({detail})") from None
    except ScratchError as exc:
        raise AudioFileError(f"{label}: cannot keep its samples ({exc.strerror or exc})") from None
    except OSError as exc:
        raise AudioFileError(f"{label}: cannot read ({path_problem(exc)})") from None
    if frames > 0 and 0 < n < frames and fmt not in ("MP3", "OGG"):
        raise AudioFileError(f"{label}: truncated file ({n} of {frames} frames decoded)")
    if n == 0:
        raise AudioFileError(f"{label}: zero-length audio (no samples)")
    if not finite:
        raise AudioFileError(f"{label}: contains NaN or Inf samples")
    if not 8000 <= rate <= 192000:
        raise AudioFileError(f"{label}: sample rate {rate} Hz is outside 8000-192000 Hz")
    audio = AudioData(data, int(rate), fmt, subtype, file_channels=int(channels), file_peak=top, frames=n)
    if audio.duration_s < min_seconds:
        raise AudioFileError(f"{label}: too short ({audio.duration_s:.2f} s; at least {min_seconds} s needed)")
    return audio


def file_loudness(path: str | Path, rate: int, length: int, block: int = 1 << 18) -> float | None:
    """Integrated loudness (LUFS) of an audio file's own channels at ``rate`` Hz, cropped or
    padded to ``length`` frames — what :func:`groundbass.core.postfx.integrated_loudness` gives
    for the whole file resampled (``soxr`` "HQ") — read block by block; None for a silent or
    too short file. The file was checked by :func:`read_audio` before."""
    from groundbass.core.postfx_stream import LoudnessMeter

    with sf.SoundFile(os.fsencode(path)) as f:
        meter = LoudnessMeter(rate, length, f.channels)
        for y in resample_pieces(f.blocks(block, dtype="float32", always_2d=True), f.samplerate, rate, length,
                                 channels=f.channels):
            meter.add(y)
    return meter.result()


def bit_depth_of(subtype: str) -> str:
    """Our bit-depth name for a soundfile subtype: ``"16"``, ``"24"`` or ``"32f"``
    (8-bit -> 16; 32-bit int, float, double and lossy codecs -> 32f or 24, see the code)."""
    if subtype in ("PCM_16", "PCM_S8", "PCM_U8"):
        return "16"
    if subtype in ("FLOAT", "DOUBLE", "PCM_32"):
        return "32f"
    return "24"


def subtype_for(fmt: str, bit_depth: str) -> str:
    """soundfile subtype for our output ``fmt`` (``wav``/``flac``) and ``bit_depth``
    (``16``/``24``/``32f``). Raises ValueError for a combination that does not exist."""
    key = (fmt, str(bit_depth))
    if key not in _SUBTYPES:
        raise ValueError(f"{fmt} cannot store bit depth {bit_depth!r}"
                         + (" (FLAC has no float; use 16 or 24, or --format wav)" if fmt == "flac" else ""))
    return _SUBTYPES[key]


def _write_pieces(file, pieces: Iterable[np.ndarray], sample_rate: int, fmt: str, subtype: str, channels: int,
                  block: int = 1 << 17) -> None:
    """Write audio that arrives as ``pieces`` ((n,) or (n, channels) float32, in order) in
    blocks of at most ``block`` frames; mono pieces are repeated to ``channels`` as they are
    written."""
    with sf.SoundFile(file, "w", sample_rate, channels, subtype=subtype, format=fmt.upper()) as f:
        for samples in pieces:
            own = 1 if samples.ndim == 1 else samples.shape[1]
            if channels != own and own != 1:
                raise ValueError(f"cannot write {own}-channel samples as {channels} channels")
            for i in range(0, samples.shape[0], block):
                part = samples[i:i + block]
                if channels != own:
                    part = np.repeat(part.reshape(-1, 1), channels, axis=1)
                f.write(part)


def stage_audio(staged: StagedFiles, path: Path, pieces: Iterable[np.ndarray], sample_rate: int, fmt: str,
                subtype: str, channels: int) -> None:
    """Write audio arriving as ``pieces`` to a temporary file for ``path`` in ``staged``
    (renamed into place at its commit). Raises :class:`AudioFileError` naming ``path`` for a
    write that fails (disk full ...); other errors of ``pieces`` propagate as they are."""
    try:
        staged.write(Path(path).name, lambda f: _write_pieces(f, pieces, sample_rate, fmt, subtype, channels))
    except OSError as exc:
        raise AudioFileError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"{path}: cannot write ({str(exc).splitlines()[0]})") from None


def open_staged(folder: Path, folder_check: Callable[[Path], None] | None = None) -> StagedFiles:
    """The output folder opened for staged writes (:class:`~groundbass.core.atomic.StagedFiles`).
    ``folder_check(real_folder)`` (the OSC bridge's allowed roots) is called with the real path
    of the folder *as opened*, and every file is then created relative to that open folder, so a
    folder swapped for a symlink after the check cannot redirect it; it raises to refuse.
    Raises :class:`AudioFileError` naming the folder when it cannot be written or opened."""
    folder = Path(folder)
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise AudioFileError(f"{folder}: cannot write to the output folder")
    try:
        return StagedFiles(folder, folder_check)
    except OSError as exc:
        raise AudioFileError(f"{folder}: cannot open the output folder ({exc.strerror or exc})") from None


def write_audio_atomic(path: Path, samples: np.ndarray, sample_rate: int, fmt: str, subtype: str,
                       folder_check: Callable[[Path], None] | None = None, channels: int | None = None) -> Path:
    """Write audio to a hidden temporary file beside ``path``, fsync it, then rename it to
    ``path`` (so ``path`` is either absent or complete). Raises :class:`AudioFileError` naming
    the file (directory not writable, disk full ...); the temporary file is always removed.
    ``folder_check`` as in :func:`open_staged`. ``channels``: write mono ``samples`` as that many
    identical channels, block by block (no full-length multichannel copy)."""
    path = Path(path)
    with open_staged(path.parent, folder_check) as staged:
        own = 1 if samples.ndim == 1 else samples.shape[1]
        stage_audio(staged, path, [samples], sample_rate, fmt, subtype, own if channels is None else int(channels))
        try:
            staged.commit()
        except OSError as exc:
            raise AudioFileError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
