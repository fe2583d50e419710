"""Recipe v4 of `groundbass data synth`: the subtractive synth, Hydrogen drum kits, and v3 untouched.

Real rendering throughout (MMA, FluidSynth, the Debian hydrogen-drumkits package), on
tiny songs of 4-5 seconds.
"""

import hashlib
import json

import mido
import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from groundbass.bridge.cli import main
from groundbass.core.data import drumkits, subsynth
from groundbass.core.data import synth as synth_mod
from groundbass.core.data.manifest import read_manifest
from groundbass.core.data.midi_tracks import note_events, note_spans
from groundbass.core.data.synth import V4_FIELDS, plan_song, synthesize
from groundbass.core.metrics import pitch_class_track

FONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"
SR = 22050


def _midi(notes, channel=0, tempo=500000, tpb=480):
    """A type-1 MIDI file; notes are (onset_s, length_s, note, velocity) at 120 bpm."""
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)]))
    per_s = tpb * 1e6 / tempo
    events = []
    for on, length, note, vel in notes:
        events += [(round(on * per_s), 1, mido.Message("note_on", channel=channel, note=note, velocity=vel)),
                   (round((on + length) * per_s), 0, mido.Message("note_off", channel=channel, note=note))]
    track, now = mido.MidiTrack(), 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    mid.tracks.append(track)
    return mid


def _centroid(x):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    return float(np.sum(freqs * spec) / np.sum(spec))


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the synth ------------------------------------------------------------------------

def test_note_events_carry_velocity_and_match_note_spans():
    mid = _midi([(0.0, 0.5, 40, 100), (0.5, 0.25, 43, 30)])
    events = note_events(mid)
    assert [(round(a, 3), round(b, 3), n, v) for a, b, n, v in events] == [(0.0, 0.5, 40, 100), (0.5, 0.75, 43, 30)]
    assert note_spans(mid) == [e[:3] for e in events]


def test_synth_renders_the_right_length_deterministically():
    preset = subsynth.bank_preset(0, "bass", 3)
    notes = note_events(_midi([(0.1, 0.4, 40, 100), (0.6, 0.3, 47, 60), (3.9, 1.0, 45, 90)]))
    a = subsynth.render_notes(notes, preset, SR, 4 * SR, seed=7)
    b = subsynth.render_notes(notes, preset, SR, 4 * SR, seed=7)
    assert a.shape == (4 * SR,) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert np.max(np.abs(a[int(0.12 * SR):int(0.5 * SR)])) > 0.01  # the first note sounds
    assert np.max(np.abs(a[int(1.2 * SR):int(3.8 * SR)])) < 1e-4  # silence between notes, after the release
    rms_db = 20 * np.log10(np.sqrt(np.mean(a.astype(np.float64) ** 2)))
    assert abs(rms_db - preset.level_db) < 0.1
    assert not np.any(subsynth.render_notes([], preset, SR, SR))
    # the same preset from the same bank slot; another seed only moves oscillator phases
    assert subsynth.bank_preset(0, "bass", 3) == preset
    assert subsynth.render_midi_stem(_midi([(0.1, 0.4, 40, 100)]), preset, SR, SR // 2, seed=1).shape == (SR // 2,)


@pytest.mark.parametrize("family", subsynth.FAMILIES)
@pytest.mark.parametrize("heldout", [False, True])
def test_held_note_sounds_at_its_pitch(family, heldout):
    note = 45 if family == "bass" else 57  # 110 Hz / 220 Hz
    f0 = 440.0 * 2 ** ((note - 69) / 12)
    for index in range(4):
        preset = subsynth.bank_preset(1, family, index, heldout)
        y = subsynth.render_notes([(0.0, 1.5, note, 100)], preset, SR, int(1.5 * SR), seed=index)
        mid = y[int(0.6 * SR):int(1.4 * SR)].astype(np.float64)
        spec = np.abs(np.fft.rfft(mid * np.hanning(len(mid)))) ** 2
        freqs = np.fft.rfftfreq(len(mid), 1 / SR)
        peak = freqs[np.argmax(spec)]
        low = f0 / 2 if preset.wave2 != "none" and preset.osc2_semitones == -12 else f0  # a sub-octave oscillator
        k = max(1, round(peak / low))
        assert abs(peak / (k * low) - 1) < 0.03, (preset, peak)  # a harmonic of the note (detune: <= 35 cents)
        assert spec[freqs < 0.8 * low].sum() < 0.01 * spec.sum(), preset  # nothing below the fundamental
        near = spec[(freqs > 0.97 * low) & (freqs < 1.03 * low)].max()
        assert near > 1e-3 * spec.max(), preset  # the fundamental itself is there


def test_presets_differ_and_heldout_ranges_are_disjoint():
    note = [(0.0, 1.0, 45, 100)]
    centroids = [_centroid(subsynth.render_notes(note, subsynth.bank_preset(2, "bass", i), SR, SR, seed=0))
                 for i in range(6)]
    assert max(centroids) > 1.5 * min(centroids)
    lead = _centroid(subsynth.render_notes(note, subsynth.bank_preset(2, "lead", 0), SR, SR))
    assert all(abs(lead - c) > 1.0 for c in centroids)

    rng = np.random.default_rng(0)
    train = [subsynth.draw_preset(rng, f) for f in subsynth.FAMILIES for _ in range(100)]
    held = [subsynth.draw_preset(rng, f, heldout=True) for f in subsynth.FAMILIES for _ in range(100)]
    assert {p.ranges for p in train} == {"train"} and {p.ranges for p in held} == {"heldout"}
    for axis in subsynth.HELDOUT_AXES:
        train_values = [getattr(p, axis) for p in train]
        held_values = [getattr(p, axis) for p in held]
        assert max(train_values) < min(held_values) or min(train_values) > max(held_values), axis
    with pytest.raises(ValueError, match="unknown synth family"):
        subsynth.draw_preset(rng, "organ")


# --- Hydrogen drum kits ---------------------------------------------------------------

def _tiny_kit(tmp_path):
    """A kit in the namespaced format: a two-layer kick (soft 200 Hz / hard 400 Hz), a long
    open hat and a closed hat; plus one instrument whose sample is missing."""
    def burst(name, freq, seconds):
        t = np.arange(int(seconds * 44100)) / 44100
        sf.write(str(tmp_path / name), (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 44100)

    burst("soft.wav", 200, 0.3)
    burst("hard.wav", 400, 0.3)
    burst("open.wav", 3000, 2.0)
    burst("closed.wav", 5000, 0.05)
    layer = "<layer><filename>{}</filename><min>{}</min><max>{}</max><gain>1</gain><pitch>0</pitch></layer>"
    inst = ("<instrument><id>{}</id><name>{}</name><volume>1</volume><gain>1</gain><muteGroup>-1</muteGroup>"
            "{}</instrument>")
    xml = ('<?xml version="1.0"?><drumkit_info xmlns="http://www.hydrogen-music.org/drumkit"><name>Tiny</name>'
           "<instrumentList>"
           + inst.format(0, "Kick", layer.format("soft.wav", 0, 0.5) + layer.format("hard.wav", 0.5, 1))
           + inst.format(1, "Open HH", layer.format("open.wav", 0, 1))
           + inst.format(2, "Closed HH", layer.format("closed.wav", 0, 1))
           + inst.format(3, "Snare", layer.format("gone.wav", 0, 1))
           + "</instrumentList></drumkit_info>")
    (tmp_path / "drumkit.xml").write_text(xml)
    return drumkits.load_kit(tmp_path)


def test_kit_parsing_velocity_layers_and_hat_choke(tmp_path):
    kit = _tiny_kit(tmp_path)
    assert kit.name == tmp_path.name and [i.name for i in kit.instruments] == ["Kick", "Open HH", "Closed HH"]
    mapping = drumkits.gm_map(kit)
    assert mapping[36].name == "Kick" and mapping[42].name == "Closed HH" and mapping[46].name == "Open HH"
    assert 38 not in mapping  # the snare's sample is missing

    def dominant(x):
        return np.fft.rfftfreq(len(x), 1 / SR)[np.argmax(np.abs(np.fft.rfft(x)))]

    soft = drumkits.render_drums(_midi([(0.0, 0.1, 36, 40)], channel=9), kit, SR, SR // 4)
    hard = drumkits.render_drums(_midi([(0.0, 0.1, 36, 120)], channel=9), kit, SR, SR // 4)
    assert abs(dominant(soft) - 200) < 10 and abs(dominant(hard) - 400) < 10
    assert np.max(np.abs(hard)) > 2 * np.max(np.abs(soft))  # gain follows velocity

    hats = drumkits.render_drums(_midi([(0.0, 0.1, 46, 100), (0.5, 0.1, 42, 100)], channel=9), kit, SR, SR)
    open_only = drumkits.render_drums(_midi([(0.0, 0.1, 46, 100)], channel=9), kit, SR, SR)
    assert np.max(np.abs(open_only[int(0.7 * SR):])) > 0.1  # the open hat rings on alone...
    assert np.max(np.abs(hats[int(0.56 * SR):])) < 1e-6  # ...and is choked by the closed hat (5 ms fade)

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "drumkit.xml").write_text("<drumkit_info><name>x")
    with pytest.raises(ValueError, match="bad/drumkit.xml"):
        drumkits.load_kit(tmp_path / "bad")


def test_hydrogen_kits_map_and_play_kicks_on_time():
    kits = drumkits.usable_kits()
    names = [k.name for k in kits]
    assert len(kits) >= 8, names  # hydrogen-drumkits is installed (.ci/run)
    assert "Gimme A Hand 1.0" not in names and "circAfrique v4" not in names  # hand percussion only
    assert drumkits.holdout_kits(kits, 1) == [sorted(names, key=str.casefold)[-1]]
    times = [0.1, 0.6, 1.1, 1.6]
    midi = _midi([(t, 0.1, 36, 110) for t in times], channel=9)
    for path in kits:
        kit = drumkits.load_kit(path)
        mapping = drumkits.gm_map(kit)
        assert {36, 38, 42} <= set(mapping), kit.name
        y = drumkits.render_drums(midi, kit, SR, 2 * SR, np.random.default_rng(0), level_db=-30.0)
        assert y.shape == (2 * SR,)
        env = np.abs(y)
        for t in times:
            a, b = int((t - 0.03) * SR), int((t + 0.05) * SR)
            onset = (a + np.argmax(env[a:b] > 0.1 * env[a:b].max())) / SR
            assert abs(onset - t) < 0.010, (kit.name, t, onset)


def test_heldout_kits_never_in_training_plans():
    kits = [str(p) for p in drumkits.usable_kits()]
    held = drumkits.holdout_kits(kits, ["The Black Pearl 1.0", "Audiophob"])
    plans = [plan_song(i, 3, 30.0, [FONT], test_grooves=["Swing", "Rhumba", "Waltz", "Bebop", "Samba"],
                       recipe="v4", kits=kits, holdout_kits=held) for i in range(300)]
    test = [p for p in plans if p.split == "test"]
    assert test and len(test) < len(plans)
    for p in plans:
        names = {p_.rsplit("/", 1)[-1] for p_ in p.kits}
        if p.split == "test":
            assert names == set(held) and p.synth_presets == "heldout"
        else:
            assert not names & set(held) and len(names) == len(kits) - 2 and p.synth_presets == "train"
    with pytest.raises(ValueError, match="unknown drum kit"):
        drumkits.holdout_kits(kits, ["No Such Kit"])


# --- v4 songs -------------------------------------------------------------------------

def test_v4_songs_synth_bass_follows_its_midi_and_kits(tmp_path):
    out = tmp_path / "v4"
    args = ["data", "synth", str(out), "--recipe", "v4", "--songs", "3", "--seconds", "5", "--seed", "4",
            "--workers", "1", "--soundfonts", FONT, "--synth-share", "1", "--drumkit-share", "1",
            "--holdout-grooves", "0"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "3 written" in res.output
    last_kit = drumkits.holdout_kits(drumkits.usable_kits(), 1)[0]
    songs = read_manifest(out / "manifest.jsonl")
    for s in songs:
        folder = s.bass[0].parent.parent
        meta = json.loads((folder / "song.json").read_text())
        bass, sr = sf.read(str(s.bass[0]), dtype="float32")
        assert sr == SR and len(bass) == 5 * SR and np.max(np.abs(bass)) > 0.01
        synth_bass = meta["synth_stems"]["bass"]
        assert synth_bass["family"] == "bass" and synth_bass["preset"]["ranges"] == "train"
        assert {"wave1", "cutoff_hz", "attack", "resonance"} <= set(synth_bass["preset"])
        assert s.extra["timbre"] == synth_bass["timbre"] and "bass" not in meta["stem_soundfonts"]
        assert meta["drum_kit"] and meta["drum_kit"] != last_kit  # the held-out kit is for test songs only
        assert meta["plan"]["synth_share"] == 1.0 and meta["plan"]["kits"]

        # pYIN's pitch class follows bass.mid within every note of 0.15 s or more
        times, pc = pitch_class_track(bass, SR)
        notes = [(a, b, n) for a, b, n in note_spans(mido.MidiFile(str(s.bass_midi))) if b - a >= 0.15 and b < 5]
        hits = []
        for a, b, n in notes:
            inside = pc[(times > a + 0.04) & (times < b - 0.02) & (pc >= 0)]
            if inside.size:
                hits.append(np.bincount(inside, minlength=12).argmax() == n % 12)
        assert len(hits) >= 3 and np.mean(hits) >= 0.8, (meta["synth_stems"]["bass"], hits)

    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "0 written, 3 already done" in res.output
    # a half-written song is redone, and bit-identically (synth, effects and kit included)
    first = {p.name: _sha(p) for p in (out / "song00000" / "stems").iterdir()}
    (out / "song00000" / "song.json").unlink()
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "1 written, 2 already done" in res.output
    assert {p.name: _sha(p) for p in (out / "song00000" / "stems").iterdir()} == first


def test_v4_out_of_domain_song_uses_heldout_kit_and_presets(tmp_path):
    synthesize(tmp_path / "ood", songs=1, seconds=4, seed=9, workers=1, soundfonts=[FONT], recipe="v4",
               grooves=["Swing"], holdout=["Swing"], synth_share=1.0, drumkit_share=1.0,
               holdout_kits=["HardElectro1"])
    meta = json.loads((tmp_path / "ood" / "song00000" / "song.json").read_text())
    assert meta["split"] == "test" and meta["drum_kit"] == "HardElectro1"
    assert meta["synth_stems"] and {v["preset"]["ranges"] for v in meta["synth_stems"].values()} == {"heldout"}
    assert meta["synth_stems"]["bass"]["timbre"].startswith("subsynth:9:heldout:bass:")
    with pytest.raises(ValueError, match="every drum kit is held out"):
        synthesize(tmp_path / "none", songs=1, seconds=4, recipe="v4", soundfonts=[FONT], holdout_kits=99)
    with pytest.raises(FileNotFoundError, match="hydrogen-drumkits"):
        synthesize(tmp_path / "none", songs=1, seconds=4, recipe="v4", soundfonts=[FONT],
                   drumkit_root=tmp_path / "no-kits")


# --- v3 is untouched ------------------------------------------------------------------

def test_v3_never_touches_the_v4_code_paths(tmp_path, monkeypatch):
    plan = plan_song(0, 6, 4.0, [FONT], recipe="v3", kits=["/x/Kit"], holdout_kits=["Kit"])
    assert not set(V4_FIELDS) & set(plan.identity())
    assert plan.identity() == plan_song(0, 6, 4.0, [FONT], recipe="v3").identity()

    def boom(*args, **kwargs):
        raise AssertionError("v3 reached v4 code")

    for name in ("_render_v4", "render_midi_stem", "render_drums", "load_kit", "usable_kits"):
        monkeypatch.setattr(synth_mod, name, boom)
    for run in ("a", "b"):
        synthesize(tmp_path / run, songs=2, seconds=4, seed=6, workers=1, soundfonts=[FONT], recipe="v3")
    monkeypatch.undo()
    for song in ("song00000", "song00001"):
        a, b = tmp_path / "a" / song, tmp_path / "b" / song
        meta = json.loads((a / "song.json").read_text())
        assert "synth_stems" not in meta and "drum_kit" not in meta
        assert not set(V4_FIELDS) & set(meta["plan"])
        assert set(meta["stem_soundfonts"]) == {p.split("/")[1][:-4] for p in meta["stems"]}
        for rel in [*meta["stems"], "chords.json", "song.json"]:
            assert _sha(a / rel) == _sha(b / rel), rel
        # bass.mid holds MMA's absolute input path (a text event), so only its notes can match
        assert note_events(mido.MidiFile(str(a / "bass.mid"))) == note_events(mido.MidiFile(str(b / "bass.mid")))

    # v4 with both shares at 0 is v3: the same stems, bit for bit
    synthesize(tmp_path / "v4", songs=1, seconds=4, seed=6, workers=1, soundfonts=[FONT], recipe="v4",
               synth_share=0.0, drumkit_share=0.0)
    meta = json.loads((tmp_path / "v4" / "song00000" / "song.json").read_text())
    assert meta["synth_stems"] == {} and meta["drum_kit"] is None
    for rel in meta["stems"]:
        assert _sha(tmp_path / "v4" / "song00000" / rel) == _sha(tmp_path / "a" / "song00000" / rel), rel
