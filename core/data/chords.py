"""Chord symbols and generated chord progressions (major/minor keys, pop, blues, ii-V-I)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Spellings MMA accepts; flats except F#.
NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# Chord quality suffix (as written in MMA) -> intervals above the root in semitones.
QUALITIES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7),
    "m": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10),
    "dim": (0, 3, 6),
    "sus4": (0, 5, 7),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
}


@dataclass(frozen=True)
class Chord:
    """A chord: root pitch class (0 = C .. 11 = B) and an MMA quality suffix."""

    root: int
    quality: str

    @property
    def name(self) -> str:
        """Return the chord symbol, e.g. "Am7"."""
        return NOTE_NAMES[self.root % 12] + self.quality

    @property
    def pitch_classes(self) -> list[int]:
        """Return the chord's pitch classes (0..11), root first."""
        return [(self.root + i) % 12 for i in QUALITIES[self.quality]]


# Progressions as (semitones above the tonic, quality[, quality when sevenths are used]) per bar.
_MAJOR = {
    "I-V-vi-IV": [(0, "", "maj7"), (7, "", "7"), (9, "m", "m7"), (5, "", "maj7")],
    "I-vi-IV-V": [(0, "", "maj7"), (9, "m", "m7"), (5, "", "maj7"), (7, "", "7")],
    "vi-IV-I-V": [(9, "m", "m7"), (5, "", "maj7"), (0, "", "maj7"), (7, "", "7")],
    "I-IV-V-IV": [(0, "", "6"), (5, "", "6"), (7, "", "7"), (5, "", "6")],
    "I-vi-ii-V": [(0, "", "maj7"), (9, "m", "m7"), (2, "m", "m7"), (7, "", "7")],
    "ii-V-I": [(2, "m7", "m7"), (7, "7", "7"), (0, "maj7", "maj7"), (0, "maj7", "6")],
    "I-IV-I-V": [(0, "", ""), (5, "", ""), (0, "", ""), (7, "", "7")],
    "I-iii-IV-V": [(0, "", "maj7"), (4, "m", "m7"), (5, "", "maj7"), (7, "sus4", "7")],
    "blues-12": [(0, "7", "7"), (5, "7", "7"), (0, "7", "7"), (0, "7", "7"), (5, "7", "7"), (5, "7", "7"),
                 (0, "7", "7"), (0, "7", "7"), (7, "7", "7"), (5, "7", "7"), (0, "7", "7"), (7, "7", "7")],
}
_MINOR = {
    "i-VI-III-VII": [(0, "m", "m7"), (8, "", "maj7"), (3, "", "maj7"), (10, "", "7")],
    "i-iv-v-i": [(0, "m", "m7"), (5, "m", "m7"), (7, "m", "m7"), (0, "m", "m6")],
    "i-VII-VI-VII": [(0, "m", "m7"), (10, "", ""), (8, "", "maj7"), (10, "", "7")],
    "i-iv-VII-III": [(0, "m", "m7"), (5, "m", "m7"), (10, "", "7"), (3, "", "maj7")],
    "ii-V-i": [(2, "m7b5", "m7b5"), (7, "7", "7"), (0, "m", "m7"), (0, "m6", "m6")],
    "i-iv-V-i": [(0, "m", "m7"), (5, "m", "m7"), (7, "", "7"), (0, "m", "m")],
    "i-VI-iv-V": [(0, "m", "m"), (8, "", "maj7"), (5, "m", "m7"), (7, "", "7")],
    "blues-minor-12": [(0, "m7", "m7"), (5, "m7", "m7"), (0, "m7", "m7"), (0, "m7", "m7"), (5, "m7", "m7"),
                       (5, "m7", "m7"), (0, "m7", "m7"), (0, "m7", "m7"), (8, "7", "7"), (7, "7", "7"),
                       (0, "m7", "m7"), (7, "7", "7")],
}
PROGRESSIONS = {"major": _MAJOR, "minor": _MINOR}

# Recipe v3 adds modal, borrowed-chord and minor-key templates of produced pop, rock and
# soul (kept apart so the v2 recipe draws exactly what it drew before).
_MAJOR_V3 = {
    **_MAJOR,
    "I-bVII-IV-I": [(0, "", ""), (10, "", ""), (5, "", ""), (0, "", "")],  # mixolydian rock
    "I-iv-I-V": [(0, "", "maj7"), (5, "m", "m6"), (0, "", "maj7"), (7, "", "7")],  # borrowed minor iv
    "I-bVI-bVII-I": [(0, "", ""), (8, "", "maj7"), (10, "", ""), (0, "", "")],  # aeolian borrowing
    "IV-V-iii-vi": [(5, "", "maj7"), (7, "", "7"), (4, "m", "m7"), (9, "m", "m7")],
    "I-V-IV-IV": [(0, "", ""), (7, "", ""), (5, "", ""), (5, "", "6")],
}
_MINOR_V3 = {
    **_MINOR,
    "i-IV-dorian": [(0, "m", "m7"), (5, "", "7"), (0, "m", "m7"), (5, "", "7")],
    "i-bII-phrygian": [(0, "m", "m"), (1, "", "maj7"), (0, "m", "m7"), (1, "", "maj7")],
    "i-VII-VI-V": [(0, "m", "m"), (10, "", ""), (8, "", ""), (7, "", "7")],  # Andalusian cadence
    "i-v-iv-i": [(0, "m", "m7"), (7, "m", "m7"), (5, "m", "m7"), (0, "m", "m7")],
    "i-III-VII-VI": [(0, "m", "m7"), (3, "", "maj7"), (10, "", ""), (8, "", "maj7")],
}
PROGRESSIONS_V3 = {"major": _MAJOR_V3, "minor": _MINOR_V3}
# Where a v3 song may modulate (semitones up) halfway through, and how often it does.
KEY_CHANGES = (2, 5, 7, -3, 1)
KEY_CHANGE_SHARE = 0.25


@dataclass(frozen=True)
class Progression:
    """A generated progression: key (tonic pitch class, mode), template name, one chord per bar."""

    tonic: int
    mode: str
    template: str
    chords: tuple[Chord, ...]

    @property
    def key(self) -> str:
        """Return the key's name, e.g. "Eb minor"."""
        return f"{NOTE_NAMES[self.tonic]} {self.mode}"


def make_progression(rng: np.random.Generator, bars: int, sevenths: bool | None = None,
                     extended: bool = False) -> Progression:
    """Draw a key (any of 12 tonics, major or minor) and a template, repeated to ``bars`` bars.

    ``sevenths`` picks the seventh-chord voicing of the template (None: a coin flip).
    ``extended`` (recipe v3) draws from the larger template set and, in a share
    :data:`KEY_CHANGE_SHARE` of songs of 8 bars or more, modulates for the second half
    (the template name then ends in ``+modN``).
    """
    table = PROGRESSIONS_V3 if extended else PROGRESSIONS
    tonic = int(rng.integers(12))
    mode = "major" if rng.random() < 0.6 else "minor"
    names = sorted(table[mode])
    template = names[int(rng.integers(len(names)))]
    if sevenths is None:
        sevenths = bool(rng.random() < 0.5)
    steps = table[mode][template]
    shift, change_at = 0, bars
    if extended and bars >= 8 and rng.random() < KEY_CHANGE_SHARE:
        shift = KEY_CHANGES[int(rng.integers(len(KEY_CHANGES)))]
        change_at = bars // 2
        template = f"{template}+mod{shift}"
    chords = tuple(
        Chord((tonic + steps[i % len(steps)][0] + (shift if i >= change_at else 0)) % 12,
              steps[i % len(steps)][2 if sevenths else 1])
        for i in range(bars)
    )
    return Progression(tonic, mode, template, chords)


def parse_chord(name: str) -> Chord:
    """Return the :class:`Chord` for a symbol written by :attr:`Chord.name` (e.g. "F#m7").

    Raises ``ValueError`` naming the symbol when the root or quality is unknown.
    """
    root_name = name[:2] if len(name) > 1 and name[1] in "b#" else name[:1]
    quality = name[len(root_name):]
    if root_name not in NOTE_NAMES or quality not in QUALITIES:
        raise ValueError(f"unknown chord symbol {name!r}")
    return Chord(NOTE_NAMES.index(root_name), quality)
