"""MMA (Musical MIDI Accompaniment): a curated groove list and a runner.

Each groove below was checked by rendering 8 bars with the Debian ``mma`` package: it
renders without error, has a bass track on a GM bass program (32-39) and at least two
other tracks. Only 4/4 and 3/4 grooves are kept so bar times follow from the tempo map.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .chords import Chord


@dataclass(frozen=True)
class Groove:
    """An MMA groove name, its beats per bar and a sensible tempo range in BPM."""

    name: str
    beats: int
    tempo_min: int
    tempo_max: int


_TABLE = """
50sRock 4 100 150; 60sRock 4 110 150; 8Beat 4 90 130; Ballad 4 60 85; Ballad128 4 60 80;
BasicRock 4 100 140; Bebop 4 150 220; Beguine 4 100 130; BigBand 4 120 180; BlueFolk 4 80 120;
BlueGrass 4 120 180; Blues 4 80 120; Blues128 4 60 80; Bolero 4 90 120; BoneyM 4 110 130;
BubbleRock 4 110 140; BVFunk 4 90 115; BWMarch 4 100 120; Calypso 4 100 130; CountryBlues 4 80 120;
CountrySwing 4 110 160; CubanGuitar 4 100 130; DescendingJazz 4 110 160; Desert 4 90 120;
DSoul 4 85 110; EasySwing 4 100 140; Evansish 4 90 130; FastBlues 4 130 170; FastSwing 4 160 220;
Folk 4 90 130; FolkRock 4 100 130; Foxtrot 4 110 140; GuitarBallad 4 60 85; GypsyJazz 4 150 210;
HillCountry 4 90 120; JazzCombo 4 110 170; JazzRhumba 4 100 130; JazzRock 4 110 140; Jive 4 140 180;
LFusion 4 90 120; LightTango 4 110 130; MellowJazz 4 80 120; Merengue 4 120 160; ModernJazz 4 120 180;
NiteJazz 4 80 120; PianoBallad 4 60 85; PopBallad 4 65 90; PopSpiritual 4 70 100; QuickStep 4 180 210;
R&B-Ballad 4 60 80; R&B 4 90 120; Rhumba 4 100 130; Rock128 4 60 80; RockBallad 4 65 90;
Samba 4 90 120; ShowTune 4 100 140; ShuffleBoggie 4 110 150; Ska 4 130 170; SlowBlues 4 55 80;
SlowBolero 4 70 90; SlowBroadway 4 70 100; SlowCountry 4 70 100; SlowJazz 4 60 90;
SlowSpiritual 4 60 80; SoftRock 4 80 110; Softshoe 4 100 130; Spiritual 4 80 110; Strut 4 90 120;
Swing 4 120 170; Tango 4 110 130; Trance 4 125 140; Twist 4 140 170; WesternSwing 4 130 170;
Zydeco 4 120 160;
BroadwayWaltz 3 120 160; CountryWaltz 3 90 130; FastJazzWaltz 3 180 220; FastWaltz 3 160 200;
JazzWaltz 3 120 160; LatinWaltz 3 120 160; ModernJazzWaltz 3 120 160; RockWaltz 3 90 130; Waltz 3 90 130
"""

GROOVES: tuple[Groove, ...] = tuple(
    Groove(f[0], int(f[1]), int(f[2]), int(f[3]))
    for f in (item.split() for item in _TABLE.replace("\n", " ").split(";"))
    if f
)
GROOVES_BY_NAME = {g.name: g for g in GROOVES}


class MMAError(RuntimeError):
    """MMA failed or is missing; the message names the file."""


def mma_source(groove: Groove, tempo: int, chords: list[Chord], seed: int) -> str:
    """Return the text of an MMA file: one chord per bar, numbered from 1."""
    lines = ["// groundbass synthetic song", f"RndSeed {seed}", f"Tempo {tempo}", f"Groove {groove.name}"]
    lines += [f"{i + 1} {c.name}" for i, c in enumerate(chords)]
    return "\n".join(lines) + "\n"


def run_mma(source: Path, midi_out: Path, timeout: float = 60.0) -> Path:
    """Run ``mma -f midi_out source``; return ``midi_out``. Raises :class:`MMAError` with MMA's message."""
    exe = shutil.which("mma")
    if exe is None:
        raise MMAError("mma not found on PATH (Debian/Ubuntu: apt-get install mma)")
    proc = subprocess.run([exe, "-f", str(midi_out), str(source)], capture_output=True, text=True, timeout=timeout)
    output = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines() if "PLUGIN" not in line)
    errors = [line for line in output.splitlines() if "Error" in line]
    if proc.returncode != 0 or errors or not Path(midi_out).is_file():
        reason = errors[0] if errors else output.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise MMAError(f"{source}: mma failed: {reason if isinstance(reason, str) else reason[0]}")
    return Path(midi_out)
