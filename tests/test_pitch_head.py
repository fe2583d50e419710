"""The bass autoencoder's pitch head: MIDI targets, its loss, and the phase it drives."""

import dataclasses

import mido
import numpy as np
import pytest
import torch

from groundbass.core.ae_losses import AELossWeights, autoencoder_generator_loss, pitch_loss
from groundbass.core.autoencoder import SpectrogramAutoencoder
from groundbass.core.config import AutoencoderConfig
from groundbass.core.data.midi_tracks import frame_notes, note_spans
from groundbass.core.data.pairs import StemCrops
from groundbass.core.metrics import pitch_class_track
from groundbass.core.pitch_phase import carrier_phase, frame_f0, harmonic_carrier
from groundbass.core.spectral import istft


def _midi(notes, tpb=480, tempo=500000):
    """A one-track MIDI file; notes are (onset_beats, length_beats, note)."""
    mid = mido.MidiFile(ticks_per_beat=tpb)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    events = []
    for on, length, note in notes:
        events += [(int(on * tpb), mido.Message("note_on", note=note, velocity=90)),
                   (int((on + length) * tpb), mido.Message("note_off", note=note, velocity=0))]
    now = 0
    for tick, msg in sorted(events, key=lambda e: (e[0], e[1].type == "note_on")):
        tr.append(msg.copy(time=tick - now))
        now = tick
    return mid


def test_note_spans_and_frame_notes_follow_the_tempo():
    spans = note_spans(_midi([(0, 1, 40), (2, 1, 45)], tempo=250000))  # 240 bpm: a beat is 0.25 s
    assert spans == [(0.0, 0.25, 40), (0.5, 0.75, 45)]
    notes = frame_notes(spans, 0.0, 8, 0.1)  # centres 0.05, 0.15, ... 0.75
    assert notes.tolist() == [40, 40, -1, -1, -1, 45, 45, -1]
    assert frame_notes(spans, 0.4, 2, 0.1).tolist() == [-1, 45]  # offset into the song


def test_overlapping_notes_latest_onset_wins():
    spans = note_spans(_midi([(0, 2, 40), (1, 2, 43)]))  # 120 bpm: beat 0.5 s
    assert frame_notes(spans, 0.0, 3, 0.5).tolist() == [40, 43, 43]


def test_stem_crops_pitch_targets_match_the_rendered_bass(synth_songs):
    ds = StemCrops.from_manifest(synth_songs, None, role="bass", crop_samples=22050 * 3, seed=1, pitch_hop=256)
    hits = voiced = 0
    for i in range(4):
        crop = ds.draw(i)
        target = ds.pitch_classes(crop)
        assert target.shape == (22050 * 3 // 256,) and target.dtype == np.int64
        assert ds[i]["pitch"].tolist() == target.tolist()
        # pYIN on the rendered bass agrees with the MIDI-derived classes (the targets are aligned)
        times, pc = pitch_class_track(crop.bass, 22050)
        idx = np.clip(np.round(times * 22050 / 256 - 0.5).astype(int), 0, len(target) - 1)
        t = target[idx]
        both = (pc >= 0) & (t > 0)
        hits += int(np.sum(pc[both] == (24 + t[both] - 1) % 12))
        voiced += int(both.sum())
    assert voiced > 100 and hits / voiced > 0.85


def test_pitch_loss_ignores_unknown_and_padding():
    logits = torch.zeros(1, 5, 6)
    logits[0, 2, :] = 10.0  # confident "class 2" everywhere
    good = torch.tensor([[2, 2, -1, -1]])
    assert pitch_loss(logits, good).item() < 1e-3
    assert pitch_loss(logits, torch.tensor([[3, -1, -1, -1]])).item() > 5
    assert pitch_loss(logits, torch.full((1, 4), -1)).item() == 0.0


def test_pitch_head_learns_notes_from_targets(tiny_config):
    """A few steps on one batch: the pitch cross-entropy falls and reaches the decoder's head."""
    torch.manual_seed(0)
    ae = SpectrogramAutoencoder(tiny_config.bass_ae)
    assert ae.decoder.pitch is not None
    n = ae.ratio * 4
    classes = torch.tensor([[10] * (n // 256) + [0] * (n // 256)])  # 128-sample hop: 2 frames/256
    f0 = frame_f0(classes, 24)
    wave = 0.2 * harmonic_carrier(torch.repeat_interleave(f0, 2, dim=-1), 128, 22050)[:, :n]
    target = torch.repeat_interleave(classes, 2, dim=-1)[:, : n // 128]
    opt = torch.optim.Adam(ae.parameters(), lr=3e-3)
    w = AELossWeights(adv=0.0, pitch=1.0)
    first = None
    for _ in range(30):
        loss, parts, _ = autoencoder_generator_loss(ae, None, wave, w, target)
        first = parts["pitch"] if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert parts["pitch"] < 0.3 * first
    with torch.no_grad():
        pred = ae.decode_pitch(ae.encode(wave))[0, : target.shape[-1]]
    assert (pred == target[0]).float().mean().item() > 0.9


def test_carrier_plays_the_decoded_notes():
    classes = torch.tensor([[0] * 20 + [10] * 100 + [0] * 10 + [15] * 100 + [0] * 20])
    f0 = frame_f0(classes, 24)
    assert f0[0, 0] == 0 and abs(f0[0, 20].item() - 440 * 2 ** ((33 - 69) / 12)) < 1e-6
    wave = harmonic_carrier(f0, 128, 22050)
    assert wave.shape == (1, 250 * 128) and wave.abs().max() <= 1.01
    assert wave[0, : 20 * 128].abs().max() < 0.1  # silent frames: low noise only
    _, pc = pitch_class_track(0.3 * wave[0].numpy(), 22050)
    counts = np.bincount(pc[pc >= 0], minlength=12)
    assert counts[(24 + 10 - 1) % 12] > 40 and counts[(24 + 15 - 1) % 12] > 40
    assert counts.sum() - counts[9] - counts[2] <= 5
    assert carrier_phase(classes, 24, 1024, 128, 22050).shape == (1, 513, 250)


def test_true_magnitude_with_carrier_phase_keeps_the_pitch():
    """Resynthesis from the input's magnitude and the carrier's phase keeps pitch classes."""
    from groundbass.core.spectral import stft

    classes = torch.tensor([[12] * 60 + [17] * 60 + [7] * 60])
    src = 0.3 * harmonic_carrier(frame_f0(classes, 24), 128, 22050, max_freq=2000.0)
    mag = stft(src, 1024, 128).abs()
    out = istft(torch.polar(mag, carrier_phase(classes, 24, 1024, 128, 22050)), 1024, 128)
    _, a = pitch_class_track(src[0].numpy(), 22050)
    _, b = pitch_class_track(out[0].numpy(), 22050)
    voiced = a >= 0
    assert voiced.sum() > 50 and np.mean(a[voiced] == b[: len(a)][voiced]) > 0.9


def test_phase_source_pitch_needs_a_head():
    with pytest.raises(ValueError, match="pitch head"):
        AutoencoderConfig(phase_source="pitch")


def test_init_from_loads_matching_tensors(tiny_config, tmp_path):
    from groundbass.core.checkpoint import save_checkpoint
    from groundbass.core.train.autoencoder_train import _init_from

    plain = SpectrogramAutoencoder(dataclasses.replace(tiny_config.bass_ae, pitch_bins=0, phase_source="decoder"))
    save_checkpoint(tmp_path / "a.safetensors", plain.state_dict(), kind="autoencoder", config=plain.cfg)
    torch.manual_seed(1)
    headed = SpectrogramAutoencoder(tiny_config.bass_ae)
    head_before = headed.decoder.pitch.weight.clone()
    _init_from(headed, tmp_path / "a.safetensors", verbose=False)
    for k, v in plain.state_dict().items():
        assert torch.equal(headed.state_dict()[k], v)
    assert torch.equal(headed.decoder.pitch.weight, head_before)


def test_stem_crops_chroma_targets_follow_the_chord_chart(synth_songs):
    import json

    ds = StemCrops.from_manifest(synth_songs, None, role="mix", crop_samples=22050 * 2, seed=2, chroma_hop=128)
    crop = ds.draw(0)
    target = ds.chord_chroma(crop)
    assert target.shape == (22050 * 2 // 128, 12) and ds[0]["chroma"].shape == target.shape
    chart = json.loads(crop.song.chords.read_text())
    t = crop.start / crop.song.sample_rate + 0.5 * 128 / 22050  # centre of frame 0
    chord = next(c for c in chart if c["start"] <= t < c["end"])
    assert sorted(np.flatnonzero(target[0]).tolist()) == sorted(p % 12 for p in chord["pitch_classes"])


def test_chroma_loss_and_head(tiny_config):
    from groundbass.core.ae_losses import chroma_loss

    logits = torch.full((1, 12, 4), -10.0)
    logits[0, [0, 4, 7]] = 10.0  # C major everywhere
    c_major = torch.zeros(1, 3, 12)
    c_major[0, :, [0, 4, 7]] = 1.0
    assert chroma_loss(logits, c_major).item() < 1e-3
    unknown = torch.full((1, 3, 12), -1.0)
    assert chroma_loss(logits, unknown).item() == 0.0
    assert chroma_loss(logits, 1 - c_major).item() > 5
    ae = SpectrogramAutoencoder(tiny_config.mix_ae)
    assert ae.decoder.chroma is not None and ae.decoder.pitch is None
    r = ae.reconstruct(torch.randn(2, ae.ratio * 2) * 0.1)
    assert r.chroma_logits.shape == (2, 12, 32) and r.pitch_logits is None


def test_init_from_grows_the_encoder_input_for_hires_bins(tiny_config, tmp_path):
    """Adding the long-window STFT to a trained encoder keeps its output unchanged at first."""
    from groundbass.core.checkpoint import save_checkpoint
    from groundbass.core.train.autoencoder_train import _init_from

    old = SpectrogramAutoencoder(dataclasses.replace(tiny_config.bass_ae, hires_fft=0)).eval()
    save_checkpoint(tmp_path / "a.safetensors", old.state_dict(), kind="autoencoder", config=old.cfg)
    new = SpectrogramAutoencoder(dataclasses.replace(tiny_config.bass_ae, hires_fft=4096)).eval()
    assert new.encoder.inp.weight.shape[1] == old.encoder.inp.weight.shape[1] + new.cfg.hires_bins > old.cfg.n_bins
    _init_from(new, tmp_path / "a.safetensors", verbose=False)
    x = torch.randn(1, new.ratio * 3) * 0.1
    with torch.no_grad():
        assert torch.allclose(new.encode(x), old.encode(x), atol=1e-5)


def test_carrier_holds_a_note_through_its_release():
    """carrier_phase's default: after a note, "silent" frames keep the note's pitch (its release)."""
    classes = torch.tensor([[10] * 60 + [0] * 60])
    held = harmonic_carrier(frame_f0(classes, 24), 128, 22050, hold=True)
    _, pc = pitch_class_track(0.3 * held[0, 60 * 128:].numpy(), 22050)
    assert np.mean(pc == (24 + 10 - 1) % 12) > 0.8
    gated = harmonic_carrier(frame_f0(classes, 24), 128, 22050, hold=False)
    assert gated[0, 61 * 128:].abs().max() < 0.1
