"""Split an MMA MIDI file into one MIDI file per stem, and read bar times from its tempo map."""

from __future__ import annotations

from dataclasses import dataclass

import mido
import numpy as np

BASS_PROGRAMS = range(32, 40)  # GM "Bass" family, 0-based program numbers
DRUM_CHANNEL = 9  # GM channel 10, 0-based

GM_FAMILIES = ("piano", "chromatic", "organ", "guitar", "bass", "strings", "ensemble", "brass",
               "reed", "pipe", "lead", "pad", "synthfx", "ethnic", "percussive", "sfx")


@dataclass
class StemMidi:
    """One stem's MIDI: ``name`` (file stem), ``program`` (0-127, None for drums), and the file."""

    name: str
    program: int | None
    is_bass: bool
    midi: mido.MidiFile


def _track_info(track: mido.MidiTrack) -> tuple[int | None, set[int], int]:
    program, channels, notes = None, set(), 0
    for msg in track:
        if msg.type == "program_change" and program is None:
            program = msg.program
        if msg.type == "note_on" and msg.velocity > 0:
            notes += 1
            channels.add(msg.channel)
    return program, channels, notes


def split_stems(midi: mido.MidiFile) -> list[StemMidi]:
    """Return one :class:`StemMidi` per stem of a type-1 MIDI file.

    Every track with notes is a stem; the first track's meta events (tempo, time signature)
    go into each stem. Tracks on GM bass programs (32-39) merge into one stem named "bass";
    channel-10 tracks into "drums"; the others are named by GM family ("piano-1", "reed-2").
    """
    conductor = mido.MidiTrack(m.copy() for m in midi.tracks[0] if m.is_meta and m.type != "end_of_track")
    groups: dict[str, list[mido.MidiTrack]] = {}
    programs: dict[str, int | None] = {}
    counts: dict[str, int] = {}
    for track in midi.tracks[1:]:
        program, channels, notes = _track_info(track)
        if notes == 0:
            continue
        if DRUM_CHANNEL in channels:
            name = "drums"
        elif program is not None and program in BASS_PROGRAMS:
            name = "bass"
        else:
            family = GM_FAMILIES[(program or 0) // 8]
            counts[family] = counts.get(family, 0) + 1
            name = f"{family}-{counts[family]}"
        groups.setdefault(name, []).append(track)
        programs.setdefault(name, None if name == "drums" else program)
    stems = []
    for name, tracks in groups.items():
        out = mido.MidiFile(type=1, ticks_per_beat=midi.ticks_per_beat)
        out.tracks.append(mido.MidiTrack([*conductor, mido.MetaMessage("end_of_track", time=0)]))
        out.tracks.extend(tracks)
        stems.append(StemMidi(name, programs[name], name == "bass", out))
    return stems


def set_program(midi: mido.MidiFile, program: int) -> mido.MidiFile:
    """Return a copy of ``midi`` whose program changes all select GM ``program`` (0-127).

    A program change is added at the start of every track with notes that lacks one.
    """
    out = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    for track in midi.tracks:
        new = mido.MidiTrack()
        channels = sorted({m.channel for m in track if m.type == "note_on"})
        has_pc = any(m.type == "program_change" for m in track)
        if channels and not has_pc:
            new.extend(mido.Message("program_change", channel=ch, program=program, time=0) for ch in channels)
        for m in track:
            new.append(m.copy(program=program) if m.type == "program_change" else m.copy())
        out.tracks.append(new)
    return out


def tick_to_seconds(midi: mido.MidiFile):
    """Return a function mapping an absolute tick to seconds, following all set_tempo events."""
    tempos = sorted(
        (tick, msg.tempo)
        for track in midi.tracks
        for tick, msg in _absolute(track)
        if msg.type == "set_tempo"
    )
    if not tempos or tempos[0][0] != 0:
        tempos.insert(0, (0, 500000))
    tpb = midi.ticks_per_beat

    def convert(tick: int) -> float:
        seconds, last_tick, tempo = 0.0, 0, tempos[0][1]
        for t, new_tempo in tempos[1:]:
            if t >= tick:
                break
            seconds += mido.tick2second(t - last_tick, tpb, tempo)
            last_tick, tempo = t, new_tempo
        return seconds + mido.tick2second(tick - last_tick, tpb, tempo)

    return convert


def _absolute(track: mido.MidiTrack):
    tick = 0
    for msg in track:
        tick += msg.time
        yield tick, msg


def bar_starts(midi: mido.MidiFile, bars: int) -> list[float]:
    """Return the start time in seconds of bars 0..``bars`` (``bars + 1`` values).

    The bar length in ticks comes from the first time signature (default 4/4).
    """
    num, den = 4, 4
    for track in midi.tracks:
        ts = next((m for m in track if m.type == "time_signature"), None)
        if ts is not None:
            num, den = ts.numerator, ts.denominator
            break
    bar_ticks = int(round(midi.ticks_per_beat * num * 4 / den))
    to_sec = tick_to_seconds(midi)
    return [to_sec(i * bar_ticks) for i in range(bars + 1)]


def note_count(midi: mido.MidiFile) -> int:
    """Return the number of sounding notes (note_on with velocity > 0) in ``midi``."""
    return sum(1 for t in midi.tracks for m in t if m.type == "note_on" and m.velocity > 0)


def note_spans(midi: mido.MidiFile) -> list[tuple[float, float, int]]:
    """Every note of ``midi`` as ``(onset_s, offset_s, note)`` sorted by onset, in seconds.

    A note-on with velocity 0 counts as a note-off; a note still on at the end of the file
    ends at its last event.
    """
    return [(onset, offset, note) for onset, offset, note, _ in note_events(midi)]


def note_events(midi: mido.MidiFile) -> list[tuple[float, float, int, int]]:
    """Every note of ``midi`` as ``(onset_s, offset_s, note, velocity)``, sorted; the notes
    of :func:`note_spans` with their note-on velocity (1-127)."""
    to_sec = tick_to_seconds(midi)
    events, end_tick = [], 0
    for track in midi.tracks:
        sounding: dict[tuple[int, int], tuple[int, int]] = {}
        for tick, msg in _absolute(track):
            end_tick = max(end_tick, tick)
            if msg.type == "note_on" and msg.velocity > 0:
                sounding[(msg.channel, msg.note)] = (tick, msg.velocity)
            elif msg.type in ("note_off", "note_on") and (msg.channel, msg.note) in sounding:
                start, velocity = sounding.pop((msg.channel, msg.note))
                events.append((to_sec(start), to_sec(tick), msg.note, velocity))
        events += [(to_sec(t), to_sec(end_tick), note, v) for (_, note), (t, v) in sounding.items()]
    return sorted(events)


def frame_notes(spans: list[tuple[float, float, int]], start_s: float, frames: int, hop_s: float) -> np.ndarray:
    """The sounding MIDI note of frames centred at ``start_s + (t + 0.5) * hop_s`` seconds,
    t = 0..frames-1, as int64 (frames,); -1 where no note sounds. Where notes overlap, the
    one that started last wins (a bass line is monophonic)."""
    out = np.full(frames, -1, dtype=np.int64)
    centres = start_s + (np.arange(frames) + 0.5) * hop_s
    for onset, offset, note in spans:  # sorted by onset: later notes overwrite
        if offset <= centres[0] or onset > centres[-1]:
            continue
        out[(centres >= onset) & (centres < offset)] = note
    return out


def humanize(midi: mido.MidiFile, rng: np.random.Generator, timing_s: float = 0.010,
             velocity: int = 12) -> mido.MidiFile:
    """Return a copy of ``midi`` played less like a machine: every note moved in time by a
    normal offset (standard deviation ``timing_s`` seconds, at most 2.5 of them, the note's
    length kept) and its velocity moved by up to ``velocity`` (kept in 1..127).

    Consecutive notes on the same key never overlap after the move (a note starts no earlier
    than the previous one on its key ends), so no note is cut off by a displaced note-off.
    Timing uses the file's first tempo; meta events do not move.
    """
    tempo = next((m.tempo for t in midi.tracks for m in t if m.type == "set_tempo"), 500000)
    ticks_per_s = midi.ticks_per_beat * 1e6 / tempo
    out = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    for track in midi.tracks:
        events = [[tick, i, msg.copy()] for i, (tick, msg) in enumerate(_absolute(track))]
        notes: dict[tuple[int, int], list[list]] = {}
        open_: dict[tuple[int, int], list] = {}
        for ev in events:
            msg = ev[2]
            if msg.type == "note_on" and msg.velocity > 0:
                key = (msg.channel, msg.note)
                if key in open_:  # a re-struck key without a note-off: treat as its own note
                    notes.setdefault(key, []).append([open_.pop(key), None])
                open_[key] = ev
            elif msg.type in ("note_off", "note_on") and (msg.channel, msg.note) in open_:
                key = (msg.channel, msg.note)
                notes.setdefault(key, []).append([open_.pop(key), ev])
        for key, pairs in notes.items():
            prev_end = 0
            for on, off in sorted(pairs, key=lambda p: p[0][0]):
                shift = int(round(np.clip(rng.normal(0.0, timing_s), -2.5 * timing_s, 2.5 * timing_s) * ticks_per_s))
                length = (off[0] - on[0]) if off is not None else 0
                start = max(0, prev_end, on[0] + shift)
                on[0] = start
                on[2] = on[2].copy(velocity=int(np.clip(on[2].velocity + rng.integers(-velocity, velocity + 1), 1, 127)))
                if off is not None:
                    off[0] = start + max(1, length)
                    prev_end = off[0]
                else:
                    prev_end = start
        end = max((e[0] for e in events), default=0)
        for e in events:
            if e[2].type == "end_of_track":  # stays the last event, after any delayed note
                e[0], e[1] = end, len(events)
        events.sort(key=lambda e: (e[0], e[1]))
        new, last = mido.MidiTrack(), 0
        for tick, _, msg in events:
            new.append(msg.copy(time=tick - last))
            last = tick
        out.tracks.append(new)
    return out
