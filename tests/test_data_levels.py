"""median_bass_level_db: the bass level under a mix at the model's level, on real WAV files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from groundbass.core.data.levels import median_bass_level_db
from groundbass.core.data.manifest import Song


def _song(root: Path, name: str, bass_amp: float, mix_amp: float, sr: int = 22050) -> Song:
    t = np.arange(3 * sr) / sr
    paths = []
    for i, (f, a) in enumerate([(55.0, bass_amp), (440.0, mix_amp)]):
        p = root / name / f"s{i}.wav"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(p), (a * np.sin(2 * np.pi * f * t)).astype(np.float32), sr, subtype="FLOAT")
        paths.append(p)
    return Song(song=name, split="train", sample_rate=sr, samples=len(t), bass=paths[:1], others=paths[1:],
                group=name)


def test_bass_level_follows_the_mix_rule(tmp_path):
    # bass/mix amplitude ratios 0.5, 0.25, 1.0 -> -26.0, -32.0, -20.0 dBFS at a -20 dBFS mix: median -26.
    songs = [_song(tmp_path, "a", 0.1, 0.2), _song(tmp_path, "b", 0.05, 0.2), _song(tmp_path, "c", 0.3, 0.3)]
    assert median_bass_level_db(songs, -20.0) == pytest.approx(-20 + 20 * math.log10(0.5), abs=0.05)
    assert median_bass_level_db(songs[1:2], -14.0) == pytest.approx(-14 + 20 * math.log10(0.25), abs=0.05)


def test_silent_songs_are_skipped_and_all_silent_is_an_error(tmp_path):
    songs = [_song(tmp_path, "quiet_mix", 0.1, 0.0), _song(tmp_path, "ok", 0.1, 0.2)]
    assert median_bass_level_db(songs, -20.0) == pytest.approx(-26.02, abs=0.05)
    with pytest.raises(ValueError, match="sounding"):
        median_bass_level_db(songs[:1], -20.0)
