
import numpy as np
import pytest
import torch

from groundbass.core.autoencoder import SpectrogramAutoencoder
from groundbass.core.checkpoint import CheckpointError, load_checkpoint, resolve_model, save_checkpoint
from groundbass.core.config import AutoencoderConfig, ModelConfig, config_from_dict, config_to_dict, preset
from groundbass.core.pipeline import BassGenerator, LatentStats
from groundbass.core.unet import UNet1d


@pytest.mark.parametrize("name", ["small", "paper"])
def test_config_dict_round_trip(name):
    cfg = preset(name)
    assert config_from_dict(ModelConfig, config_to_dict(cfg)) == cfg


def test_autoencoder_checkpoint_rebuilds_model(tmp_path, tiny_config):
    torch.manual_seed(1)
    ae = SpectrogramAutoencoder(tiny_config.bass_ae).eval()
    path = save_checkpoint(tmp_path / "ae.safetensors", ae.state_dict(), kind="autoencoder", config=ae.cfg)
    ck = load_checkpoint(path, kind="autoencoder")
    ae2 = SpectrogramAutoencoder(config_from_dict(AutoencoderConfig, ck.config)).eval()
    ae2.load_state_dict(ck.tensors)
    x = torch.randn(1, 9000)
    with torch.no_grad():
        assert torch.equal(ae.decode(ae.encode(x)), ae2.decode(ae2.encode(x)))
    with pytest.raises(CheckpointError, match="expected diffusion"):
        load_checkpoint(path, kind="diffusion")


def _tiny_generator(cfg, seed=0):
    torch.manual_seed(seed)
    unet = UNet1d(cfg.unet)
    for p in unet.parameters():
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.05)
    stats = LatentStats(torch.randn(16) * 0.1, torch.rand(16) + 0.5, torch.randn(8) * 0.1, torch.rand(8) + 0.5)
    return BassGenerator(cfg, SpectrogramAutoencoder(cfg.mix_ae, with_decoder=False),
                         SpectrogramAutoencoder(cfg.bass_ae), unet, stats, device="cpu", precision="fp32",
                         model_id="tiny-test")


def test_generator_checkpoint_round_trip_bit_for_bit(tmp_path, tiny_config):
    gen = _tiny_generator(tiny_config)
    path = gen.save(tmp_path / "gen.safetensors")
    gen2 = BassGenerator.from_pretrained(path, device="cpu", precision="fp32")
    assert gen2.config == gen.config and gen2.model_id == "tiny-test"
    mix = np.random.default_rng(0).standard_normal(30000).astype(np.float32) * 0.1
    a = gen.generate(mix, 22050, steps=3, seed=5)
    b = gen2.generate(mix, 22050, steps=3, seed=5)
    assert np.array_equal(a, b)


def test_fp16_checkpoint_is_smaller_and_loads(tmp_path, tiny_config):
    gen = _tiny_generator(tiny_config)
    full = gen.save(tmp_path / "a.safetensors")
    half = gen.save(tmp_path / "b.safetensors", dtype=torch.float16)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    BassGenerator.from_pretrained(half, device="cpu")


def test_bad_files_give_clear_errors(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        load_checkpoint(junk)
    with pytest.raises(CheckpointError, match="no such"):
        resolve_model(tmp_path / "missing.safetensors")
    foreign = tmp_path / "foreign.safetensors"
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a groundbass checkpoint"):
        load_checkpoint(foreign)
    assert not list(tmp_path.glob("*.tmp"))
