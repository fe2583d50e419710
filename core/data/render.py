"""Render a MIDI file to audio with the FluidSynth command-line program."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

# The three General-MIDI soundfonts of the Debian packages fluid-soundfont-gm,
# timgm6mb-soundfont and musescore-general-soundfont-small.
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
)


class RenderError(RuntimeError):
    """FluidSynth failed or is missing; the message names the file."""


def default_soundfonts() -> list[Path]:
    """Return the installed soundfonts among :data:`SOUNDFONTS` (may be empty)."""
    return [Path(p) for p in SOUNDFONTS if Path(p).is_file()]


def render_midi(
    midi_path: Path,
    soundfont: Path,
    wav_out: Path,
    sample_rate: int = 22050,
    gain: float = 0.5,
    reverb: bool = True,
    timeout: float = 300.0,
) -> np.ndarray:
    """Render ``midi_path`` with ``soundfont`` to ``wav_out`` (32-bit float WAV, stereo).

    Returns the audio as a float32 array of shape (samples, 2) at ``sample_rate`` Hz. The
    length is FluidSynth's (the MIDI length plus release tails). Chorus is off; reverb
    is on unless ``reverb`` is False. Samples are loaded on demand (fast for .sf3).
    """
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RenderError("fluidsynth not found on PATH (Debian/Ubuntu: apt-get install fluidsynth)")
    cmd = [exe, "-q", "-n", "-i", "-o", "synth.dynamic-sample-loading=1",
           "-F", str(wav_out), "-T", "wav", "-O", "float", "-r", str(int(sample_rate)),
           "-g", f"{gain:g}", "-C", "0", "-R", "1" if reverb else "0", str(soundfont), str(midi_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or not Path(wav_out).is_file():
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise RenderError(f"{midi_path}: fluidsynth failed: {msg[-1] if msg else f'exit status {proc.returncode}'}")
    audio, sr = sf.read(str(wav_out), dtype="float32", always_2d=True)
    if sr != sample_rate:
        raise RenderError(f"{wav_out}: fluidsynth wrote {sr} Hz, expected {sample_rate} Hz")
    return audio


def fit_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """Return ``audio`` (samples first) cut or zero-padded to exactly ``samples`` samples."""
    if audio.shape[0] >= samples:
        return audio[:samples]
    pad = np.zeros((samples - audio.shape[0], *audio.shape[1:]), dtype=audio.dtype)
    return np.concatenate([audio, pad], axis=0)
