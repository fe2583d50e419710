"""render_file: outputs, naming, seeds, progress, cancellation, no overwrite, bad input."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import soundfile as sf
from cli_fixtures import write_mix

from groundbass.bridge.render import RenderCancelled, RenderError, RenderParams, render_file, variation_paths


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_render_variations_lengths_seeds_and_progress(generator, tmp_path):
    mix = write_mix(tmp_path / "song.wav", frames=44100 + 37, rate=44100, channels=2, subtype="PCM_24")
    before = _sha(mix)
    events = []
    res = render_file(generator, mix, tmp_path / "out" / "song.bass.wav",
                      RenderParams(steps=2, seed=7, variations=2, fx="clean"),
                      progress=lambda s, f: events.append((s, f)))
    assert [p.name for p in res.outputs] == ["song.bass.wav", "song.bass.v2.wav"]
    assert res.seeds == [7, 8] and res.midi == []
    assert res.duration_s == pytest.approx((44100 + 37) / 44100)
    for p in res.outputs:
        info = sf.info(p)
        assert (info.frames, info.samplerate, info.channels, info.subtype) == (44100 + 37, 44100, 2, "PCM_24")
    fracs = [f for _, f in events]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0 and events[-1][0] == "done"
    assert {"encode", "diffusion", "decode", "postfx", "write"} <= {s for s, _ in events}
    assert set(res.timings) >= {"read", "encode", "diffusion", "decode", "postfx", "write", "total"}
    assert _sha(mix) == before  # the input is never modified
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left


def test_same_seed_same_output_and_rate_format_override(generator, tmp_path):
    mix = write_mix(tmp_path / "m.wav", seconds=1.0, rate=22050, channels=1, subtype="PCM_16")
    a = render_file(generator, mix, tmp_path / "a.wav", RenderParams(steps=2, seed=3)).outputs[0]
    b = render_file(generator, mix, tmp_path / "b.flac",
                    RenderParams(steps=2, seed=3, format="flac", bit_depth="24", sample_rate=48000)).outputs[0]
    c = render_file(generator, mix, tmp_path / "c.wav", RenderParams(steps=2, seed=3)).outputs[0]
    np.testing.assert_array_equal(sf.read(a)[0], sf.read(c)[0])
    info = sf.info(b)
    assert (info.format, info.subtype, info.samplerate, info.frames, info.channels) == ("FLAC", "PCM_24", 48000,
                                                                                        48000, 1)


def test_never_overwrites_without_flag(generator, tmp_path):
    mix = write_mix(tmp_path / "m.wav")
    out = tmp_path / "m.bass.wav"
    out.write_bytes(b"keep me")
    with pytest.raises(RenderError, match="already exists"):
        render_file(generator, mix, out, RenderParams(steps=2))
    assert out.read_bytes() == b"keep me"
    render_file(generator, mix, out, RenderParams(steps=2), overwrite=True)
    assert sf.info(out).frames == 44100
    with pytest.raises(RenderError, match="overwrite the input"):
        render_file(generator, mix, mix, RenderParams(steps=2), overwrite=True)


def test_should_stop_cancels_and_leaves_nothing(generator, tmp_path):
    mix = write_mix(tmp_path / "m.wav")
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3  # stop during diffusion

    with pytest.raises(RenderCancelled):
        render_file(generator, mix, tmp_path / "o" / "m.bass.wav", RenderParams(steps=4, midi=True, variations=2),
                    should_stop=stop)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == []


def _bytes(path, data):
    path.write_bytes(data)
    return path


def _truncated_wav(path):
    write_mix(path, seconds=1.0, rate=44100, channels=2, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("make,match", [
    (lambda p: _truncated_wav(p / "cut.wav"), "truncated"),
    (lambda p: _bytes(p / "zero.wav", b""), "zero-length"),
    (lambda p: _bytes(p / "text.wav", b"not audio\n" * 50), "not a readable audio file"),
    (lambda p: _bytes(p / "song.xyz", b"1234"), "unsupported format"),
    (lambda p: write_mix(p / "short.wav", seconds=0.3), "too short"),
    (lambda p: p / "missing.wav", "no such file"),
    (lambda p: _loop(p, "loop.wav"), "symlink loop"),
    (lambda p: p / ("n" * 300 + ".wav"), "too long"),
    (lambda p: p.joinpath(*["p" * 200] * 25, "mix.wav"), "too long"),
])
def test_bad_inputs_one_line_naming_the_file(generator, tmp_path, make, match):
    mix = make(tmp_path)
    with pytest.raises(RenderError, match=match) as info:
        render_file(generator, mix, tmp_path / "out" / "sub" / "x.bass.wav", RenderParams(steps=2))
    msg = str(info.value)
    assert "\n" not in msg and str(mix)[:100] in msg
    assert not (tmp_path / "out").exists()  # the inputs are read before the output folder is made


def _loop(folder, name):
    (folder / name).symlink_to(folder / f"other-{name}")
    (folder / f"other-{name}").symlink_to(folder / name)
    return folder / name


@pytest.mark.parametrize("what", ["style", "keep", "transition_to"])
def test_a_bad_reference_file_leaves_no_output_folder(generator, tmp_path, what):
    mix = write_mix(tmp_path / "m.wav")
    params = {"style": RenderParams(steps=2, style=str(_loop(tmp_path, "s.wav"))),
              "keep": RenderParams(steps=2, keep=str(tmp_path / "gone.wav"), continue_=True),
              "transition_to": RenderParams(steps=2, style=str(mix), transition_to=str(tmp_path / ("n" * 300 + ".wav")),
                                            span="0.2:0.4")}[what]
    with pytest.raises(RenderError, match="symlink loop|no such file|too long") as info:
        render_file(generator, mix, tmp_path / "new" / "x.wav", params)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("where", ["in a symlink loop", "name over 255 bytes", "loop as the output file"])
def test_an_unusable_output_path_is_a_render_error(generator, tmp_path, where):
    mix = write_mix(tmp_path / "m.wav")
    out = {"in a symlink loop": lambda: _loop(tmp_path, "dir") / "x.wav",
           "name over 255 bytes": lambda: tmp_path / ("o" * 300 + ".wav"),
           "loop as the output file": lambda: _loop(tmp_path, "o.wav")}[where]()
    with pytest.raises(RenderError, match="symlink loop|too long") as info:
        render_file(generator, mix, out, RenderParams(steps=2))
    assert "\n" not in str(info.value) and str(out)[:60] in str(info.value)


def test_nan_samples_rejected(generator, tmp_path):
    x = np.zeros((44100, 2), np.float32)
    x[100, 1] = np.nan
    sf.write(tmp_path / "nan.wav", x, 44100, subtype="FLOAT")
    with pytest.raises(RenderError, match="NaN or Inf"):
        render_file(generator, tmp_path / "nan.wav", tmp_path / "o.wav", RenderParams(steps=2))


def test_style_file_missing_or_unreadable(generator, tmp_path):
    mix = write_mix(tmp_path / "m.wav")
    with pytest.raises(RenderError, match=r"nope\.wav \(style file\): no such file"):
        render_file(generator, mix, tmp_path / "o.wav", RenderParams(steps=2, style=str(tmp_path / "nope.wav")))
    (tmp_path / "bad.wav").write_text("garbage" * 100)
    with pytest.raises(RenderError, match="style file"):
        render_file(generator, mix, tmp_path / "o.wav", RenderParams(steps=2, style=str(tmp_path / "bad.wav")))
    style = write_mix(tmp_path / "style.flac", seconds=1.0, rate=48000, channels=1, fmt="FLAC")
    res = render_file(generator, mix, tmp_path / "o.wav", RenderParams(steps=2, style=str(style), grounding=1.0))
    assert sf.info(res.outputs[0]).frames == 44100


def test_midi_written_beside_each_variation(generator, tmp_path):
    import mido

    mix = write_mix(tmp_path / "m.wav", seconds=1.5)
    res = render_file(generator, mix, tmp_path / "m.bass.wav",
                      RenderParams(steps=2, midi=True, tempo=97, variations=2, quantize="1/16"))
    assert [p.name for p in res.midi] == ["m.bass.mid", "m.bass.v2.mid"]
    for p in res.midi:
        mf = mido.MidiFile(p)
        tempos = [m.tempo for m in mf.tracks[0] if m.type == "set_tempo"]
        assert tempos and mido.tempo2bpm(tempos[0]) == pytest.approx(97, abs=0.01)


def test_bad_parameters_and_unwritable_output(generator, tmp_path):
    mix = write_mix(tmp_path / "m.wav")
    with pytest.raises(RenderError, match="FLAC has no 32-bit float"):
        render_file(generator, mix, tmp_path / "o.flac", RenderParams(format="flac", bit_depth="32f"))
    with pytest.raises(RenderError, match="unknown fx preset"):
        render_file(generator, mix, tmp_path / "o.wav", RenderParams(fx="loud"))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(RenderError, match="not a directory"):
        render_file(generator, mix, tmp_path / "afile" / "o.wav", RenderParams(steps=2))


def test_variation_paths():
    from pathlib import Path

    assert [p.name for p in variation_paths(Path("a/s.bass.flac"), 3)] == ["s.bass.flac", "s.bass.v2.flac",
                                                                           "s.bass.v3.flac"]


def test_render_of_a_stereo_mix_equals_the_api_on_the_stereo_samples(generator, tmp_path):
    """render_file gives the model the mono downmix and upmixes the bass at the end (memory):
    the file must hold what BassGenerator.generate makes from the stereo samples themselves."""
    mix = write_mix(tmp_path / "song.wav", frames=30000, rate=44100, channels=2, subtype="FLOAT")
    res = render_file(generator, mix, tmp_path / "b.wav", RenderParams(steps=2, seed=3, fx="none", bit_depth="32f"))
    written, _ = sf.read(res.outputs[0], dtype="float32")
    samples, rate = sf.read(mix, dtype="float32")
    direct = generator.generate(samples, rate, seed=3, steps=2)
    assert written.shape == direct.shape == (30000, 2)
    np.testing.assert_array_equal(written, direct)
