"""Training crops: subset choice, lengths and rates, mix = gain * sum of chosen stems, skipping."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from groundbass.core.data.manifest import Song
from groundbass.core.data.pairs import StemCrops, choose_subset, db_to_gain


def test_choose_subset_nonempty_and_covers_every_stem():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 9):
        seen, sizes = set(), set()
        for _ in range(500):
            s = choose_subset(n, rng)
            assert 1 <= len(s) <= n and s == sorted(set(s)) and all(0 <= i < n for i in s)
            seen.update(s)
            sizes.add(len(s))
        assert seen == set(range(n)) and sizes == set(range(1, n + 1))
    with pytest.raises(ValueError):
        choose_subset(0, rng)


def _song(root: Path, name: str, sr: int, seconds: float = 3.0, n_others: int = 3) -> Song:
    """A song whose stems are sines at distinct frequencies (bass 55 Hz), amplitude 0.2 each."""
    t = np.arange(int(seconds * sr)) / sr
    paths = []
    for i, f in enumerate([55.0] + [220.0 * (i + 1) for i in range(n_others)]):
        p = root / name / f"s{i}.wav"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(p), (0.2 * np.sin(2 * np.pi * f * t + i)).astype(np.float32), sr, subtype="FLOAT")
        paths.append(p)
    return Song(song=name, split="train", sample_rate=sr, samples=len(t), bass=paths[:1], others=paths[1:],
                group=name)


def _read(path, start, n):
    return sf.read(str(path), start=start, stop=start + n, dtype="float32")[0]


def test_pair_mix_is_gain_times_sum_of_chosen_stems(tmp_path):
    songs = [_song(tmp_path, "a", 22050), _song(tmp_path, "b", 22050, n_others=2)]
    ds = StemCrops(songs, sample_rate=22050, crop_samples=11025, role="pair", seed=7, length=50)
    for i in range(20):
        c = ds.draw(i)
        n = ds.crop_samples
        assert c.mix.shape == (n,) and c.bass.shape == (n,) and c.mix.dtype == np.float32
        assert c.stems and not c.bass_in_mix
        expect_mix = sum(_read(c.song.others[k], c.start, n) for k in c.stems) * db_to_gain(c.mix_gain_db)
        expect_bass = _read(c.song.bass[0], c.start, n) * db_to_gain(c.bass_gain_db)
        np.testing.assert_allclose(c.mix, expect_mix, atol=1e-6)
        np.testing.assert_allclose(c.bass, expect_bass, atol=1e-6)
        assert -7.0 <= c.mix_gain_db <= 4.0 and abs(c.mix_gain_db - c.bass_gain_db) <= 2.0
    item = ds[3]
    assert set(item) == {"mix", "bass"} and item["mix"].shape == (1, 11025)


def test_reproducible_by_step_and_roles(tmp_path):
    songs = [_song(tmp_path, "a", 22050)]
    ds1 = StemCrops(songs, crop_samples=4096, seed=1, length=100)
    ds2 = StemCrops(songs, crop_samples=4096, seed=1, length=100)
    b1, b2 = ds1.batch(5, 4), ds2.batch(5, 4)
    assert b1["mix"].shape == (4, 1, 4096) and b1["bass"].shape == (4, 1, 4096)
    assert torch.equal(b1["mix"], b2["mix"]) and torch.equal(b1["bass"], b2["bass"])
    assert not torch.equal(ds1.batch(6, 4)["bass"], b1["bass"])
    assert set(StemCrops(songs, crop_samples=512, role="bass")[0]) == {"bass"}
    assert set(StemCrops(songs, crop_samples=512, role="mix")[0]) == {"mix"}


def test_resamples_to_target_rate(tmp_path):
    songs = [_song(tmp_path, "hi", 44100)]
    ds = StemCrops(songs, sample_rate=22050, crop_samples=22050, role="bass", seed=0, gain_db=(0, 0), jitter_db=0)
    bass = ds.draw(0).bass
    assert bass.shape == (22050,)
    spectrum = np.abs(np.fft.rfft(bass))
    assert np.argmax(spectrum) * 22050 / len(bass) == pytest.approx(55.0, abs=1.5)  # pitch kept


def test_short_song_is_zero_padded(tmp_path):
    songs = [_song(tmp_path, "short", 22050, seconds=0.5)]
    c = StemCrops(songs, crop_samples=22050, role="pair").draw(0)
    assert c.mix.shape == (22050,) and np.all(c.mix[12000:] == 0)


def test_unreadable_song_is_skipped_and_counted(tmp_path):
    good = _song(tmp_path, "good", 22050)
    bad = _song(tmp_path, "bad", 22050)
    bad.others[0].write_bytes(b"not audio at all")
    bad.bass[0].write_bytes(b"not audio at all")
    ds = StemCrops([good, bad], crop_samples=2048, role="pair", seed=3, length=40)
    crops = [ds.draw(i) for i in range(40)]
    assert all(c.song.song == "good" for c in crops)
    assert ds.skipped > 0 and "bad" in ds.bad_songs
    only_bad = StemCrops([bad], crop_samples=2048, max_draws=3)
    with pytest.raises(RuntimeError, match="no readable song"):
        only_bad.draw(0)


def test_bass_in_mix_option(tmp_path):
    songs = [_song(tmp_path, "a", 22050)]
    ds = StemCrops(songs, crop_samples=1024, bass_in_mix_prob=1.0, gain_db=(0, 0), jitter_db=0)
    c = ds.draw(0)
    expect = sum(_read(p, c.start, 1024) for p in [*[c.song.others[k] for k in c.stems], c.song.bass[0]])
    assert c.bass_in_mix
    np.testing.assert_allclose(c.mix, expect, atol=1e-6)
