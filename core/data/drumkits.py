"""Real recorded drum kits: Hydrogen ``drumkit.xml`` kits (Debian: ``hydrogen-drumkits``)
played from a General-MIDI drum track.

A kit is a folder with a ``drumkit.xml`` (with or without the Hydrogen XML namespace)
listing instruments; each instrument has velocity layers (``<layer>``: ``min``/``max``
velocity 0..1, ``gain``, ``pitch`` in semitones and a sample ``filename``), or in the old
format one ``<filename>`` of its own. :func:`gm_map` maps GM drum notes to instruments by
keywords in their names (kick, snare, hat/hh, crash, ride, tom...); :func:`render_drums`
sums velocity-layered samples (resampled with soxr) at the notes' onsets. Hi-hats choke
each other (a closed or pedal hat stops a ringing open hat), and so do the instruments of
one Hydrogen ``muteGroup``.
"""

from __future__ import annotations

import functools
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import mido
import numpy as np
import soundfile as sf

from ..audio import level_gain, resample
from .midi_tracks import DRUM_CHANNEL, tick_to_seconds

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_ROOT", "Layer", "Instrument", "DrumKit", "load_kit", "find_kits", "usable_kits",
           "holdout_kits", "role_of", "gm_map", "drum_hits", "render_drums"]

DEFAULT_ROOT = Path("/usr/share/hydrogen/data/drumkits")
CHOKE_FADE_S = 0.005
TRIM_BELOW = 10 ** (-45 / 20)  # leading sample audio below this share of the peak is cut


@dataclass(frozen=True)
class Layer:
    """One sample of an instrument, played for velocities ``lo``..``hi`` (0..1)."""

    file: Path
    lo: float
    hi: float
    gain: float
    pitch: float  # semitones


@dataclass(frozen=True)
class Instrument:
    """A kit instrument: ``gain`` is Hydrogen's volume x gain; ``mute_group`` -1 for none."""

    id: int
    name: str
    gain: float
    mute_group: int
    layers: tuple[Layer, ...]


@dataclass(frozen=True)
class DrumKit:
    """A parsed kit; ``name`` is its folder's name (the name ``--holdout-kits`` uses)."""

    name: str
    path: Path
    instruments: tuple[Instrument, ...]


def _strip_namespace(root: ET.Element) -> ET.Element:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def _number(el: ET.Element, tag: str, default: float) -> float:
    text = el.findtext(tag)
    try:
        return float(text) if text is not None and text.strip() else default
    except ValueError:
        return default


def _layer_of(el: ET.Element, folder: Path, old_format: bool) -> Layer | None:
    name = (el.findtext("filename") or "").strip()
    if not name:
        return None
    if not (folder / name).is_file():
        log.debug("%s: sample %s missing, layer left out", folder, name)
        return None
    if old_format:  # the instrument itself names its one sample
        return Layer(folder / name, 0.0, 1.0, 1.0, 0.0)
    return Layer(folder / name, _number(el, "min", 0.0), _number(el, "max", 1.0), _number(el, "gain", 1.0),
                 _number(el, "pitch", 0.0))


def _instrument(el: ET.Element, folder: Path, index: int) -> Instrument:
    old_format = el.find(".//layer") is None
    layers = (_layer_of(la, folder, old_format) for la in ([el] if old_format else el.iter("layer")))
    gain = _number(el, "volume", 1.0) * _number(el, "gain", 1.0)
    return Instrument(int(_number(el, "id", index)), (el.findtext("name") or "").strip(), gain,
                      int(_number(el, "muteGroup", -1)), tuple(la for la in layers if la is not None))


def load_kit(path: str | Path) -> DrumKit:
    """Parse the kit in folder ``path`` (or its ``drumkit.xml``); instruments without a
    sample on disk are left out. Raises ValueError naming the file when it is not a kit."""
    path = Path(path)
    xml = path if path.suffix == ".xml" else path / "drumkit.xml"
    try:
        root = _strip_namespace(ET.parse(str(xml)).getroot())
    except (OSError, ET.ParseError) as e:
        raise ValueError(f"{xml}: not a readable Hydrogen drum kit ({str(e).splitlines()[0]})") from None
    if root.tag != "drumkit_info":
        raise ValueError(f"{xml}: not a Hydrogen drum kit (root element <{root.tag}>)")
    elements = root.findall("./instrumentList/instrument")
    instruments = tuple(i for i in (_instrument(el, xml.parent, n) for n, el in enumerate(elements)) if i.layers)
    return DrumKit(xml.parent.name, xml.parent, instruments)


def find_kits(root: str | Path = DEFAULT_ROOT) -> list[Path]:
    """The kit folders (holding a ``drumkit.xml``) directly under ``root``, sorted by name
    without regard to case; empty when ``root`` does not exist."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if (p / "drumkit.xml").is_file()), key=lambda p: p.name.casefold())


# --- instrument roles by name ---------------------------------------------------------

_HAT = re.compile(r"hat|\bhh\b|\bohh\b|\bchh\b")
_HAT_KINDS = (("hat_open", r"open|\bop\b|\bohh\b|swish"), ("hat_pedal", r"pedal|\bpd\b|foot"),
              ("hat_closed", r"clos|\bcl\b|\bchh\b|tight"))
_ROLES = (  # first match wins; hats are decided above
    ("cowbell", r"cowbell"),
    ("kick", r"kick|bass ?drum|\bbd\b"),
    ("snare_rim", r"snare.*(rim|stick)"),
    ("snare_other", r"snare.*(roll|brush|flam|ghost)"),
    ("snare", r"snare"),
    ("stick", r"stick|\brim"),
    ("clap", r"clap"),
    ("tom", r"\btom"),
    ("ride_bell", r"ride.*(bell|cup)|(bell|cup).*ride"),
    ("ride", r"ride"),
    ("crash", r"crash|splash|china|cymbal"),
    ("ride_bell", r"\bbell\b"),
    ("tambourine", r"tamb"),
    ("shaker", r"shake|maraca|cabasa"),
    ("conga", r"conga"),
    ("bongo", r"bongo"),
    ("clave", r"clave|wood ?block"),
    ("triangle", r"triangle"),
)
_TOM_HEIGHT = ((0, r"floor|low|\blo\b"), (2, r"hi|high"), (1, r"mid"))

# GM drum notes -> roles in order of preference (toms are spread over the kit's toms).
_GM_ROLES: dict[int, tuple[str, ...]] = {
    35: ("kick",), 36: ("kick",), 37: ("stick", "snare_rim", "snare"), 38: ("snare", "snare_other", "snare_rim"),
    39: ("clap", "snare", "snare_other"), 40: ("snare", "snare_other", "snare_rim"),
    42: ("hat_closed", "hat_other", "hat_pedal"), 44: ("hat_pedal", "hat_closed", "hat_other"),
    46: ("hat_open", "hat_other", "hat_closed"),
    49: ("crash", "ride"), 52: ("crash", "ride"), 55: ("crash", "ride"), 57: ("crash", "ride"),
    51: ("ride", "crash"), 59: ("ride", "crash"), 53: ("ride_bell", "ride", "crash"),
    54: ("tambourine", "shaker"), 56: ("cowbell",), 58: ("shaker",), 60: ("bongo", "conga"), 61: ("bongo", "conga"),
    62: ("conga", "bongo"), 63: ("conga", "bongo"), 64: ("conga", "bongo"), 69: ("shaker",), 70: ("shaker",),
    82: ("shaker",), 75: ("clave",), 76: ("clave",), 77: ("clave",), 80: ("triangle",), 81: ("triangle",),
}
_GM_TOMS = (41, 43, 45, 47, 48, 50)  # low floor tom .. high tom


def _words(name: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", name.lower()) + " "


def role_of(name: str) -> str | None:
    """The drum role of an instrument named ``name`` ("kick", "snare", "hat_closed",
    "hat_open", "tom", "crash", "ride"...), None when no keyword matches."""
    s = _words(name)
    if _HAT.search(s):
        return next((role for role, pat in _HAT_KINDS if re.search(pat, s)), "hat_other")
    return next((role for role, pat in _ROLES if re.search(pat, s)), None)


def _tom_height(name: str) -> int:
    s = _words(name).replace("tom", " ")
    return next((h for h, pat in _TOM_HEIGHT if re.search(pat, s)), 1)


def _by_role(kit: DrumKit) -> dict[str, list[Instrument]]:
    roles: dict[str, list[Instrument]] = {}
    for inst in kit.instruments:
        role = role_of(inst.name)
        if role is not None:
            roles.setdefault(role, []).append(inst)
    return roles


def gm_map(kit: DrumKit, rng: np.random.Generator | None = None) -> dict[int, Instrument]:
    """GM drum note -> the kit's instrument. Where a role has several instruments one is
    drawn from ``rng`` (the first without one); GM toms are spread over the kit's toms from
    low to high. Notes the kit has nothing for are absent."""
    roles = _by_role(kit)
    mapping: dict[int, Instrument] = {}
    for note, prefs in _GM_ROLES.items():
        pool = next((roles[r] for r in prefs if r in roles), None)
        if pool:
            mapping[note] = pool[int(rng.integers(len(pool)))] if rng is not None and len(pool) > 1 else pool[0]
    toms = sorted(roles.get("tom", []), key=lambda i: _tom_height(i.name))
    for k, note in enumerate(_GM_TOMS):
        if toms:
            mapping[note] = toms[int(round(k * (len(toms) - 1) / (len(_GM_TOMS) - 1)))]
    return mapping


def usable_kits(root: str | Path = DEFAULT_ROOT) -> list[Path]:
    """The kits under ``root`` that can play a drum kit part: a kick, a snare and a hi-hat
    (hand-percussion kits are left out), sorted as :func:`find_kits`."""
    out = []
    for path in find_kits(root):
        try:
            roles = _by_role(load_kit(path))
        except ValueError as e:
            log.warning("%s", e)
            continue
        has = set(roles)
        if "kick" in has and has & {"snare", "snare_other"} and has & {"hat_closed", "hat_other", "hat_pedal"}:
            out.append(path)
    return out


def holdout_kits(kits: Sequence[str | Path], holdout: int | Sequence[str]) -> list[str]:
    """Names of the held-out kits: the ``holdout`` alphabetically last of ``kits`` (by
    name, ignoring case; the same for every seed), or the names given. Raises ValueError for
    a name that is not among ``kits``."""
    names = sorted((Path(k).name for k in kits), key=str.casefold)
    if isinstance(holdout, int):
        return names[len(names) - holdout:] if 0 < holdout else []
    unknown = [n for n in holdout if n not in names]
    if unknown:
        raise ValueError(f"unknown drum kit(s): {', '.join(unknown)} (found: {', '.join(names) or 'none'})")
    return sorted(holdout, key=str.casefold)


# --- rendering ------------------------------------------------------------------------


@functools.lru_cache(maxsize=128)
def _sample(file: Path, pitch: float, sample_rate: int) -> np.ndarray:
    """The sample ``file`` as mono float32 at ``sample_rate``, ``pitch`` semitones up."""
    try:
        audio, rate = sf.read(str(file), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as e:  # soundfile raises LibsndfileError (a RuntimeError)
        raise ValueError(f"{file}: unreadable drum sample ({str(e).splitlines()[0]})") from None
    mono = _trim_start(audio.mean(axis=1), rate)
    return resample(mono, rate * 2.0 ** (pitch / 12), sample_rate)


def _trim_start(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` without its leading near-silence (below -45 dB of its peak), keeping 1 ms: some
    kits' samples start up to 20 ms late, which would put every hit behind its note."""
    loud = np.flatnonzero(np.abs(x) > np.max(np.abs(x), initial=0.0) * TRIM_BELOW)
    return x[max(0, int(loud[0]) - rate // 1000):] if loud.size else x


def _layer(inst: Instrument, velocity: float) -> Layer:
    inside = [la for la in inst.layers if la.lo <= velocity <= la.hi]
    if inside:
        return inside[0]
    return min(inst.layers, key=lambda la: min(abs(velocity - la.lo), abs(velocity - la.hi)))


def drum_hits(midi: mido.MidiFile) -> list[tuple[float, int, int]]:
    """The drum notes of ``midi`` (note-ons on GM channel 10) as sorted
    ``(onset_s, note, velocity)``."""
    to_sec = tick_to_seconds(midi)
    hits = []
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0 and msg.channel == DRUM_CHANNEL:
                hits.append((to_sec(tick), msg.note, msg.velocity))
    return sorted(hits)


def _choke_group(inst: Instrument) -> str | None:
    if role_of(inst.name) in ("hat_open", "hat_closed", "hat_pedal", "hat_other"):
        return "hihat"
    return f"mute{inst.mute_group}" if inst.mute_group >= 0 else None


def _next_choke(hits: list, groups: list, k: int) -> int | None:
    """The onset of the first later hit that chokes hit ``k``: another instrument of its group."""
    if groups[k] is None:
        return None
    start, inst = hits[k][0], hits[k][1]
    for (s, other, _), group in zip(hits[k + 1:], groups[k + 1:]):
        if s > start and group == groups[k] and other is not inst:
            return s
    return None


def _fade_out(seg: np.ndarray, at: int, fade: int) -> np.ndarray:
    """``seg`` cut ``fade`` samples after ``at``, fading linearly to 0 from ``at``."""
    seg = seg[:at + fade]
    return np.concatenate([seg[:at], seg[at:] * np.linspace(1.0, 0.0, len(seg) - at, endpoint=False,
                                                            dtype=np.float32)])


def render_drums(midi: mido.MidiFile, kit: DrumKit, sample_rate: int, samples: int,
                 rng: np.random.Generator | None = None, level_db: float | None = None) -> np.ndarray:
    """Play the GM drum track of ``midi`` on ``kit``: a float32 mono array of exactly
    ``samples`` samples. Each hit plays the velocity layer of its velocity (0..1 as in
    Hydrogen) at gain velocity x layer gain x instrument gain; a hit of another instrument
    of the same choke group fades it out over 5 ms. ``rng`` picks among instruments of one
    role (:func:`gm_map`); ``level_db`` brings the result to that RMS (dBFS)."""
    mapping = gm_map(kit, rng)
    notes = drum_hits(midi)
    dropped = sorted({note for _, note, _ in notes if note not in mapping})
    if dropped:
        log.debug("%s: no instrument for GM drum notes %s", kit.name, dropped)
    hits = [(int(round(t * sample_rate)), mapping[note], vel) for t, note, vel in notes if note in mapping]
    hits = [h for h in hits if h[0] < samples]
    groups = [_choke_group(inst) for _, inst, _ in hits]
    out = np.zeros(samples, dtype=np.float32)
    for k, (start, inst, vel) in enumerate(hits):
        layer = _layer(inst, vel / 127.0)
        sound = _sample(layer.file, layer.pitch, sample_rate)[:samples - start]
        seg = sound * np.float32(vel / 127.0 * layer.gain * inst.gain)
        choke = _next_choke(hits, groups, k)
        if choke is not None and choke - start < len(seg):
            seg = _fade_out(seg, choke - start, max(1, int(round(CHOKE_FADE_S * sample_rate))))
        out[start:start + len(seg)] += seg
    if level_db is not None:
        out *= level_gain(out, level_db)
    return out
