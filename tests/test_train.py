"""Training loops on real synthetic songs (MMA + FluidSynth), tiny models, a few CPU steps."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from groundbass.core import BassGenerator
from groundbass.core.config import UNetConfig, preset
from groundbass.core.train.autoencoder_train import AETrainOptions, load_autoencoder, train_autoencoder
from groundbass.core.train.diffusion_train import DiffusionTrainOptions, train_diffusion
from groundbass.core.train.export import export_generator
from groundbass.core.train.latent_cache import LatentCache, build_latent_cache

TINY_AE = dict(channels=(24, 24, 24, 24, 24), res_blocks=1)


def _tiny_configs():
    base = preset("small")
    mix = dataclasses.replace(base.mix_ae, latent_dim=8, **TINY_AE)
    bass = dataclasses.replace(base.bass_ae, latent_dim=4, **TINY_AE)
    critic = dataclasses.replace(base.critic, channels=(16, 16), mel_bins=32)
    unet = UNetConfig(latent_dim=4, cond_dim=8, channels=(16, 24), res_blocks=1, attn_levels=(1,), heads=2,
                      time_dim=8, dpb_hidden=8, train_frames=16)
    return mix, bass, critic, unet


@pytest.fixture(scope="module")
def songs(synth_songs) -> Path:
    return synth_songs


@pytest.fixture(scope="module")
def trained_aes(songs, tmp_path_factory):
    mix, bass, critic, _ = _tiny_configs()
    root = tmp_path_factory.mktemp("aes")
    opts = AETrainOptions(steps=2, batch_size=2, crop_seconds=0.5, ckpt_every=100, valid_every=2, valid_batches=1)
    train_autoencoder(songs, root / "mix", config=mix, critic_config=critic,
                      options=dataclasses.replace(opts, role="mix"), device="cpu", quiet=True)
    train_autoencoder(songs, root / "bass", config=bass, critic_config=critic,
                      options=dataclasses.replace(opts, role="bass"), device="cpu", quiet=True)
    return root / "mix" / "autoencoder.safetensors", root / "bass" / "autoencoder.safetensors"


def test_autoencoder_overfits_a_fixed_batch(songs, tmp_path):
    _, bass, critic, _ = _tiny_configs()
    losses = []
    opts = AETrainOptions(role="bass", steps=25, batch_size=2, crop_seconds=0.5, lr=3e-3, warmup_steps=100,
                          ckpt_every=1000, valid_every=1000, overfit=True)
    train_autoencoder(songs, tmp_path / "run", config=bass, critic_config=critic, options=opts, device="cpu",
                      quiet=True, on_step=lambda s, d: losses.append(d["train/total"]))
    assert len(losses) == 25 and all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:3])


def test_autoencoder_resume_is_bit_for_bit(songs, tmp_path):
    _, bass, critic, _ = _tiny_configs()
    opts = AETrainOptions(role="bass", steps=4, batch_size=2, crop_seconds=0.5, warmup_steps=1, ckpt_every=1000,
                          valid_every=1000)
    train_autoencoder(songs, tmp_path / "a", config=bass, critic_config=critic, options=opts, device="cpu", quiet=True)
    train_autoencoder(songs, tmp_path / "b", config=bass, critic_config=critic,
                      options=dataclasses.replace(opts, steps=2), device="cpu", quiet=True)
    train_autoencoder(songs, tmp_path / "b", config=bass, critic_config=critic, options=opts, device="cpu",
                      quiet=True, resume=True)
    a = torch.load(tmp_path / "a" / "state.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "state.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    for key in ("model", "critics"):
        for name, t in a[key].items():
            assert torch.equal(t, b[key][name]), f"{key}.{name} differs after resume"


def test_bad_manifest_is_a_clear_error(tmp_path):
    bad = tmp_path / "manifest.jsonl"
    bad.write_text("{not json\n")
    _, bass, critic, _ = _tiny_configs()
    with pytest.raises(ValueError, match="manifest.jsonl:1"):
        train_autoencoder(bad, tmp_path / "run", config=bass, critic_config=critic,
                          options=AETrainOptions(steps=1), device="cpu", quiet=True)


def test_latent_cache_and_diffusion_overfit_resume_export(songs, trained_aes, tmp_path):
    mix_path, bass_path = trained_aes
    _, _, _, unet = _tiny_configs()
    cache = build_latent_cache(songs, load_autoencoder(mix_path, with_decoder=False), load_autoencoder(bass_path),
                               tmp_path / "cache", mixes_per_song=2)
    lc = LatentCache(cache, None)
    assert len(lc) == 3 and lc.songs[0].mix.shape[0] == 2  # two stem subsets per song
    m, b = lc.batch(0, 0, 0, 3, 16)
    assert m.shape == (3, 8, 16) and b.shape == (3, 4, 16)

    losses = []
    opts = DiffusionTrainOptions(steps=30, batch_size=4, lr=3e-3, warmup_steps=1, ckpt_every=1000,
                                 valid_every=1000, overfit=True)
    train_diffusion(cache, tmp_path / "overfit", config=unet, options=opts, device="cpu", quiet=True,
                    on_step=lambda s, d: losses.append(d["train/loss"]))
    assert all(np.isfinite(losses)) and np.mean(losses[-5:]) < 0.7 * np.mean(losses[:3])

    opts = DiffusionTrainOptions(steps=4, batch_size=2, warmup_steps=2, ckpt_every=1000, valid_every=2,
                                 valid_batches=1)
    train_diffusion(cache, tmp_path / "a", config=unet, options=opts, device="cpu", quiet=True)
    train_diffusion(cache, tmp_path / "b", config=unet, options=dataclasses.replace(opts, steps=2), device="cpu",
                    quiet=True)
    train_diffusion(cache, tmp_path / "b", config=unet, options=opts, device="cpu", quiet=True, resume=True)
    a = torch.load(tmp_path / "a" / "state.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "state.pt", weights_only=True)
    for key in ("model", "ema"):
        for name, t in a[key].items():
            assert torch.equal(t, b[key][name]), f"{key}.{name} differs after resume"

    model = export_generator(mix_path, bass_path, tmp_path / "a" / "diffusion.safetensors", tmp_path / "m.safetensors")
    gen = BassGenerator.from_pretrained(model, device="cpu")
    mix = np.random.default_rng(0).standard_normal((44100 + 7, 2)).astype(np.float32) * 0.1
    bass = gen.generate(mix, 44100, steps=2, seed=0)
    assert bass.shape == mix.shape and np.isfinite(bass).all()
    assert gen.config.style_rms_db is None  # not asked for: references are used as given

    # The CLI stores the training basses' median level for style references.
    from click.testing import CliRunner

    from groundbass.bridge.cli import main
    from groundbass.core.data.levels import median_bass_level_db
    from groundbass.core.data.manifest import read_manifest

    out = tmp_path / "leveled.safetensors"
    result = CliRunner().invoke(main, ["export", "--mix-ae", str(mix_path), "--bass-ae", str(bass_path),
                                       "--diffusion", str(tmp_path / "a" / "diffusion.safetensors"),
                                       "--out", str(out), "--style-level-data", str(songs)])
    assert result.exit_code == 0, result.output
    level = BassGenerator.from_pretrained(out, device="cpu").config.style_rms_db
    expected = median_bass_level_db([s for s in read_manifest(songs) if s.split == "train"], -20.0)
    assert level == pytest.approx(expected) and -60.0 < level < 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_process_gloo(songs, trained_aes, tmp_path):
    mix_path, bass_path = trained_aes
    cache = build_latent_cache(songs, load_autoencoder(mix_path, with_decoder=False), load_autoencoder(bass_path),
                               tmp_path / "cache", mixes_per_song=1)
    script = tmp_path / "run_ddp.py"
    script.write_text(textwrap.dedent(f"""
        import torch.distributed as dist
        from groundbass.core.config import UNetConfig
        from groundbass.core.train.diffusion_train import DiffusionTrainOptions, train_diffusion
        unet = UNetConfig(latent_dim=4, cond_dim=8, channels=(16, 24), res_blocks=1, attn_levels=(1,), heads=2,
                          time_dim=8, dpb_hidden=8, train_frames=16)
        out = train_diffusion({str(cache)!r}, {str(tmp_path / 'ddp')!r}, config=unet,
                              options=DiffusionTrainOptions(steps=3, batch_size=2, ckpt_every=1000, valid_every=1000),
                              device="cpu", quiet=True)
        # One file per rank: two processes printing to one pipe can interleave their lines.
        rank = dist.get_rank()
        with open({str(tmp_path)!r} + f"/rank{{rank}}.txt", "w") as fh:
            fh.write(f"rank {{rank}} world {{dist.get_world_size()}} step {{int(out['step'])}}")
        dist.destroy_process_group()
    """))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                           f"--master_port={_free_port()}", str(script)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for rank in (0, 1):
        assert (tmp_path / f"rank{rank}.txt").read_text() == f"rank {rank} world 2 step 3"
    assert (tmp_path / "ddp" / "diffusion.safetensors").is_file()


def test_ctrl_c_writes_a_checkpoint_and_resume_continues(songs, tmp_path):
    """SIGINT during a CLI training run: the step finishes, state.pt is written, exit is clean."""
    import signal
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "groundbass.bridge", "train", "autoencoder", "--role", "bass",
           "--data", str(songs), "--out", str(out), "--steps", "100000", "--batch-size", "1",
           "--ckpt-every", "100000", "--valid-every", "100000", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while not (out / "tb").exists() and time.time() < deadline:  # the loop has started
        time.sleep(0.5)
    time.sleep(8)  # a few steps
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-1500:]
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["step"] >= 1
    assert "Traceback" not in stderr
    assert (out / "autoencoder.safetensors").is_file()


def test_v3_cache_features_processing_timbre_refs_and_a_style_conditioned_run(songs, trained_aes, tmp_path):
    """Recipe v3 end to end on tiny models: a cache with effects and mix features, timbre
    references from other songs of the same timbre, a U-Net with features and a timbre
    condition started from a latent-only run (new channels at zero), and export."""
    from groundbass.core.features import FEATURE_DIM
    from groundbass.core.train.diffusion_train import init_unet_from
    from groundbass.core.unet import UNet1d

    mix_path, bass_path = trained_aes
    _, _, _, unet = _tiny_configs()
    mix_ae, bass_ae = load_autoencoder(mix_path, with_decoder=False), load_autoencoder(bass_path)
    cache = build_latent_cache(songs, mix_ae, bass_ae, tmp_path / "cache3", mixes_per_song=2, processing="train",
                               features=True)
    with pytest.raises(ValueError, match="other processing or features"):
        build_latent_cache(songs, mix_ae, bass_ae, tmp_path / "cache3", mixes_per_song=2)
    lc = LatentCache(cache, None)
    assert lc.feature_dim == FEATURE_DIM and lc.songs[0].feat.shape[:2] == (2, FEATURE_DIM)
    batch = lc.draw(0, 0, 0, 3, 16)
    assert batch.cond.shape == (3, 8 + FEATURE_DIM, 16) and batch.style.shape == (3, 8)
    assert torch.isfinite(batch.style).all() and (batch.style[:, 4:] >= 0).all()  # std half non-negative

    # a latent-only run, then a v3 U-Net initialised from it computes the same function
    plain = tmp_path / "plain"
    train_diffusion(build_latent_cache(songs, mix_ae, bass_ae, tmp_path / "cache_plain", mixes_per_song=1),
                    plain, config=unet, options=DiffusionTrainOptions(steps=2, batch_size=2, ckpt_every=1000,
                                                                      valid_every=1000), device="cpu", quiet=True)
    v3 = dataclasses.replace(unet, feature_dim=FEATURE_DIM, style_dim=8)
    net = UNet1d(v3)
    fresh = init_unet_from(net, plain / "diffusion.safetensors")
    assert sorted(fresh) == ["style_mlp.0.bias", "style_mlp.0.weight", "style_mlp.2.bias", "style_mlp.2.weight"]
    old = UNet1d(unet)
    from groundbass.core.checkpoint import load_checkpoint

    old.load_state_dict(load_checkpoint(plain / "diffusion.safetensors").sub("ema"))
    z, t = torch.randn(2, 4, 16), torch.rand(2)
    cond = torch.randn(2, 8 + FEATURE_DIM, 16)
    with torch.no_grad():
        torch.testing.assert_close(net(z, t, cond, torch.randn(2, 8)), old(z, t, cond[:, :8]))

    opts = DiffusionTrainOptions(steps=3, batch_size=2, warmup_steps=1, ckpt_every=1000, valid_every=3,
                                 valid_batches=1)
    res = train_diffusion(cache, tmp_path / "v3", config=v3, options=opts, device="cpu", quiet=True,
                          init_from=plain / "diffusion.safetensors")
    assert np.isfinite(res["train/loss"]) and np.isfinite(res["valid/loss"])
    with pytest.raises(ValueError, match="feature channels"):
        train_diffusion(cache, tmp_path / "bad", config=unet, options=opts, device="cpu", quiet=True)

    model = export_generator(mix_ae, bass_ae, tmp_path / "v3" / "diffusion.safetensors", tmp_path / "m3.safetensors")
    gen = BassGenerator.from_pretrained(model, device="cpu")
    assert gen.config.unet.feature_dim == FEATURE_DIM and gen.config.unet.style_dim == 8
    mix = np.random.default_rng(0).standard_normal((44100, 2)).astype(np.float32) * 0.1
    ref = np.random.default_rng(1).standard_normal(22050).astype(np.float32) * 0.1
    a = gen.generate(mix, 44100, steps=2, seed=0, style=ref, style_cfg=2.0, grounding=0.0)
    b = gen.generate(mix, 44100, steps=2, seed=0, style=ref, style_cfg=0.0, grounding=0.0)
    assert a.shape == mix.shape and np.isfinite(a).all() and np.isfinite(b).all()


def test_feature_set_2_cache_widened_start_and_generation(songs, trained_aes, tmp_path):
    """--chord-features end to end on tiny models: the cache's first 26 feature channels and its
    latents are feature set 1's (same effects draw), a set-2 U-Net started from a set-1 run computes
    the same function at first, and its exported model generates through the chord features."""
    from groundbass.core.checkpoint import load_checkpoint
    from groundbass.core.features import FEATURE_DIM, FEATURE_DIM_CHORDS
    from groundbass.core.train.diffusion_train import init_unet_from
    from groundbass.core.unet import UNet1d

    mix_path, bass_path = trained_aes
    _, _, _, unet = _tiny_configs()
    mix_ae, bass_ae = load_autoencoder(mix_path, with_decoder=False), load_autoencoder(bass_path)
    one = build_latent_cache(songs, mix_ae, bass_ae, tmp_path / "c1", mixes_per_song=1, processing="train",
                             features=True)
    two = build_latent_cache(songs, mix_ae, bass_ae, tmp_path / "c2", mixes_per_song=1, processing="train",
                             features=FEATURE_DIM_CHORDS)
    with pytest.raises(ValueError, match="other processing or features"):
        build_latent_cache(songs, mix_ae, bass_ae, tmp_path / "c2", mixes_per_song=1, processing="train",
                           features=True)
    with pytest.raises(ValueError, match="no feature set has 30 channels"):
        build_latent_cache(songs, mix_ae, bass_ae, tmp_path / "c3", features=30)
    a, b = LatentCache(one, None), LatentCache(two, None)
    assert (a.feature_dim, b.feature_dim) == (FEATURE_DIM, FEATURE_DIM_CHORDS)
    for x, y in zip(a.songs, b.songs):
        torch.testing.assert_close(y.feat[:, :FEATURE_DIM], x.feat)
        torch.testing.assert_close(y.mix, x.mix)
        assert y.feat[:, FEATURE_DIM:].abs().sum() > 0            # the chord channels hold something

    cfg1 = dataclasses.replace(unet, feature_dim=FEATURE_DIM)
    cfg2 = dataclasses.replace(unet, feature_dim=FEATURE_DIM_CHORDS)
    opts = DiffusionTrainOptions(steps=2, batch_size=2, warmup_steps=1, ckpt_every=1000, valid_every=1000)
    train_diffusion(one, tmp_path / "r1", config=cfg1, options=opts, device="cpu", quiet=True)
    net, old = UNet1d(cfg2), UNet1d(cfg1)
    assert init_unet_from(net, tmp_path / "r1" / "diffusion.safetensors") == []
    old.load_state_dict(load_checkpoint(tmp_path / "r1" / "diffusion.safetensors").sub("ema"))
    z, t, cond = torch.randn(2, 4, 16), torch.rand(2), torch.randn(2, 8 + FEATURE_DIM_CHORDS, 16)
    with torch.no_grad():
        torch.testing.assert_close(net(z, t, cond), old(z, t, cond[:, :8 + FEATURE_DIM]))

    res = train_diffusion(two, tmp_path / "r2", config=cfg2, options=opts, device="cpu", quiet=True,
                          init_from=tmp_path / "r1" / "diffusion.safetensors")
    assert np.isfinite(res["train/loss"])
    model = export_generator(mix_ae, bass_ae, tmp_path / "r2" / "diffusion.safetensors", tmp_path / "m2.safetensors")
    gen = BassGenerator.from_pretrained(model, device="cpu")
    assert gen.config.unet.feature_dim == FEATURE_DIM_CHORDS
    mix = np.random.default_rng(0).standard_normal((44100, 2)).astype(np.float32) * 0.1
    out = gen.generate(mix, 44100, steps=2, seed=0)
    assert out.shape == mix.shape and np.isfinite(out).all()


def test_a_latent_dropout_run_exports_a_model_that_takes_harmony_guidance(songs, trained_aes, tmp_path):
    """--latent-dropout end to end on tiny models: the run records its dropout, export carries it
    into the model's config, and only such a model accepts harmony_cfg > 0 (which changes the bass)."""
    from groundbass.core.features import FEATURE_DIM
    from groundbass.core.train.export import retune_generator

    mix_path, bass_path = trained_aes
    _, _, _, unet = _tiny_configs()
    mix_ae, bass_ae = load_autoencoder(mix_path, with_decoder=False), load_autoencoder(bass_path)
    cache = build_latent_cache(songs, mix_ae, bass_ae, tmp_path / "cache", mixes_per_song=1, features=True)
    cfg = dataclasses.replace(unet, feature_dim=FEATURE_DIM)
    models = {}
    for dropout in (0.0, 0.25):
        opts = DiffusionTrainOptions(steps=3, batch_size=4, warmup_steps=1, ckpt_every=1000, valid_every=1000,
                                     latent_dropout=dropout)
        run = tmp_path / f"run{dropout}"
        train_diffusion(cache, run, config=cfg, options=opts, device="cpu", quiet=True)
        models[dropout] = export_generator(mix_ae, bass_ae, run / "diffusion.safetensors",
                                           tmp_path / f"m{dropout}.safetensors")
    plain = BassGenerator.from_pretrained(models[0.0], device="cpu")
    gen = BassGenerator.from_pretrained(models[0.25], device="cpu")
    assert (plain.config.sampling.latent_dropout, gen.config.sampling.latent_dropout) == (0.0, 0.25)
    assert not plain.harmony_guidance and gen.harmony_guidance
    mix = np.random.default_rng(0).standard_normal((44100, 2)).astype(np.float32) * 0.1
    with pytest.raises(ValueError, match="harmony_cfg needs a model trained with latent dropout"):
        plain.generate(mix, 44100, steps=2, seed=0, harmony_cfg=1.0)
    a = gen.generate(mix, 44100, steps=2, seed=0, harmony_cfg=0.0)
    b = gen.generate(mix, 44100, steps=2, seed=0, harmony_cfg=2.0)
    assert a.shape == b.shape == mix.shape and np.isfinite(b).all() and not np.allclose(a, b)
    # a stored default: the retuned model uses it when the call does not say
    retuned = BassGenerator.from_pretrained(retune_generator(models[0.25], tmp_path / "h.safetensors", harmony_cfg=2.0),
                                            device="cpu")
    assert retuned.config.sampling.harmony_cfg == 2.0
    np.testing.assert_array_equal(retuned.generate(mix, 44100, steps=2, seed=0), b)
    with pytest.raises(ValueError, match="harmony_cfg needs"):
        retune_generator(models[0.0], tmp_path / "bad.safetensors", harmony_cfg=1.0)
    with pytest.raises(ValueError, match="harmony_cfg must be within"):
        gen.generate(mix, 44100, steps=2, seed=0, harmony_cfg=11.0)


def test_merged_caches_train_together(songs, trained_aes, tmp_path):
    """docs/training/merge_caches.py (replay training: two data sets in one run) on real caches:
    the songs of both under their prefixes, linked not copied, indexed and trained on."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("merge_caches", Path(__file__).parents[1] / "docs" / "training"
                                                  / "merge_caches.py")
    merge = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(merge)
    mix_path, bass_path = trained_aes
    mix, bass = load_autoencoder(mix_path, with_decoder=False), load_autoencoder(bass_path)
    a = build_latent_cache(songs, mix, bass, tmp_path / "a", mixes_per_song=1, seed=1)
    b = build_latent_cache(songs, mix, bass, tmp_path / "b", mixes_per_song=1, seed=2)  # same names, other mixes
    merge.main(str(tmp_path / "m.jsonl"), str(tmp_path / "m"), [f"{songs}:{a}:a_", f"{songs}:{b}:b_"])
    linked = sorted((tmp_path / "m" / "songs").iterdir())
    assert len(linked) == 6 and all(p.is_symlink() for p in linked)
    cache = build_latent_cache(tmp_path / "m.jsonl", mix, bass, tmp_path / "m", mixes_per_song=1)  # indexes only
    rows = [json.loads(line) for line in (cache / "index.jsonl").read_text().splitlines()]
    assert sorted(r["song"][:2] for r in rows) == ["a_"] * 3 + ["b_"] * 3
    lc = LatentCache(cache, None)
    assert len(lc) == 6
    _, _, _, unet = _tiny_configs()
    opts = DiffusionTrainOptions(steps=2, batch_size=2, warmup_steps=1, ckpt_every=1000, valid_every=1000)
    out = train_diffusion(cache, tmp_path / "run", config=unet, options=opts, device="cpu", quiet=True)
    assert int(out["step"]) == 2
    other = build_latent_cache(songs, mix, bass, tmp_path / "c", mixes_per_song=2)  # another layout: refused
    with pytest.raises(SystemExit, match="other autoencoders, processing or features"):
        merge.main(str(tmp_path / "m2.jsonl"), str(tmp_path / "m2"), [f"{songs}:{a}:a_", f"{songs}:{other}:c_"])


def test_learning_rate_warms_up_holds_then_decays_by_a_cosine():
    from groundbass.core.train.diffusion_train import learning_rate

    o = DiffusionTrainOptions(steps=100, lr=1e-3, warmup_steps=10, decay_steps=40, final_lr_ratio=0.1)
    lrs = [learning_rate(o, s) for s in range(101)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert lrs[10:61] == [pytest.approx(1e-3)] * 51  # held until the decay starts at step 60
    assert all(a > b for a, b in zip(lrs[60:], lrs[61:]))  # then falls every step
    assert lrs[80] == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5)) and lrs[100] == pytest.approx(1e-4)
    assert {learning_rate(dataclasses.replace(o, decay_steps=0), s) for s in range(10, 100)} == {1e-3}
