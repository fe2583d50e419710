import dataclasses

import pytest
import torch

from groundbass.core.attention import DynamicPositionBias
from groundbass.core.config import preset
from groundbass.core.unet import TimeConcatConv, UNet1d


@pytest.mark.parametrize("frames", [37, 256, 2000])
def test_unet_runs_on_unseen_lengths(tiny_config, frames):
    cfg = dataclasses.replace(tiny_config.unet, train_frames=64)
    torch.manual_seed(0)
    net = UNet1d(cfg).eval()
    for p in net.parameters():  # make the zero-initialised output layers non-trivial
        torch.nn.init.normal_(p, std=0.02) if p.dim() > 1 else None
    z = torch.randn(2, cfg.latent_dim, frames)
    cond = torch.randn(2, cfg.cond_dim, frames)
    with torch.no_grad():
        out = net(z, torch.tensor([0.3, 0.9]), cond)
    assert out.shape == z.shape
    assert torch.isfinite(out).all()
    assert out.abs().sum() > 0


def test_dpb_bias_is_a_function_of_offset():
    dpb = DynamicPositionBias(heads=3, hidden=8)
    bias = dpb(10, torch.device("cpu"), torch.float32)
    assert bias.shape == (3, 10, 10)
    # Toeplitz: equal along diagonals (same i - j)
    assert torch.allclose(bias[:, 1:, 1:], bias[:, :-1, :-1])
    assert not torch.allclose(bias[:, 0, 1], bias[:, 1, 0])  # i - j = -1 vs +1


def test_time_concat_conv_equals_conv_over_concatenation():
    torch.manual_seed(0)
    conv = TimeConcatConv(5, 3, 4)
    for length in (1, 2, 9):
        x, temb = torch.randn(2, 5, length), torch.randn(2, 3)
        cat = torch.cat([x, temb[:, :, None].expand(-1, -1, length)], dim=1)
        ref = torch.nn.functional.conv1d(cat, conv.weight, conv.bias, padding=1)
        assert torch.allclose(conv(x, temb), ref, atol=1e-6)


def test_paper_unet_size():
    n = sum(p.numel() for p in UNet1d(preset("paper").unet).parameters())
    assert 35e6 < n < 50e6  # the paper's ~42M


def test_attention_in_query_blocks_equals_the_full_attention():
    """Long sequences are attended in blocks of queries (memory linear in length); the
    result is the full softmax(QK^T / sqrt(d) + B) V."""
    from groundbass.core.attention import DPBSelfAttention

    torch.manual_seed(0)
    attn = DPBSelfAttention(32, 4).eval()
    torch.nn.init.normal_(attn.out.weight, std=0.1)
    x = torch.randn(2, 32, 1300)
    with torch.no_grad():
        blocked = attn(x)
        attn.full_max, attn.query_block = 4096, 4096
        full = attn(x)
        attn.full_max, attn.query_block = 16, 300  # blocks that do not divide the length
        odd = attn(x)
    assert not torch.allclose(blocked, x)  # the layer does something
    torch.testing.assert_close(blocked, full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(odd, full, atol=1e-5, rtol=1e-5)
