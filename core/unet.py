"""1-D U-Net over latent frames (paper sections 3.2 and 4).

Input: the noisy bass latent concatenated on channels with the mix latent; output: the
network's v-prediction, same shape as the bass latent. Residual conv blocks at every
level; the sinusoidal timestep embedding is concatenated with the feature maps before
every block; self-attention with dynamic positional bias at the lower-resolution levels.
Any number of frames works: inputs are padded to a multiple of the total downsampling and
the output is cropped back, so the output length always equals the input's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import DPBSelfAttention
from .config import UNetConfig

__all__ = ["UNet1d", "timestep_embedding", "style_vector"]


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of diffusion times ``t`` in [0, 1], (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = (t.float() * 1000.0)[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def style_vector(bass_norm: torch.Tensor) -> torch.Tensor:
    """The timbre condition of a normalised bass latent (..., C, T) -> (..., 2C): its mean and
    (population) std over time. One definition for training crops and inference references."""
    return torch.cat([bass_norm.mean(dim=-1), bass_norm.std(dim=-1, unbiased=False)], dim=-1)


def _groups(channels: int) -> int:
    for g in (32, 16, 8, 4, 2, 1):
        if channels % g == 0:
            return g
    return 1


class TimeConcatConv(nn.Conv1d):
    """A k=3 conv over ``cat([x, temb broadcast over time])`` (zero padding 1).

    The weight covers ``c_in + time_dim`` input channels, exactly like a conv over the
    concatenation, but the time part is applied as the per-sample bias it amounts to
    (the embedding is constant over time), with the two edge frames corrected for the
    zero padding. Same result, without convolving ``time_dim`` constant channels.
    """

    def __init__(self, c_in: int, time_dim: int, c_out: int):
        super().__init__(c_in + time_dim, c_out, 3, padding=1)
        self.c_in = c_in

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        w = self.weight.to(x.dtype)
        w_x, w_t = w[:, : self.c_in], w[:, self.c_in :]
        out = F.conv1d(x, w_x, self.bias.to(x.dtype), padding=1)
        taps = torch.einsum("oik,bi->bok", w_t, temb.to(x.dtype))  # (B, c_out, 3)
        out = out + taps.sum(-1, keepdim=True)
        if out.shape[-1] > 1:  # frame 0 has no left neighbour, the last no right one
            out[:, :, 0] -= taps[:, :, 0]
            out[:, :, -1] -= taps[:, :, 2]
        else:
            out[:, :, 0] -= taps[:, :, 0] + taps[:, :, 2]
        return out


class TimeResBlock(nn.Module):
    """GroupNorm-SiLU-conv residual block with the time embedding concatenated before each conv."""

    def __init__(self, c_in: int, c_out: int, time_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(c_in), c_in)
        self.conv1 = TimeConcatConv(c_in, time_dim, c_out)
        self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.conv2 = TimeConcatConv(c_out, time_dim, c_out)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)), temb)
        h = self.conv2(F.silu(self.norm2(h)), temb)
        return self.skip(x) + h


class Level(nn.Module):
    """``n`` time-residual blocks, each optionally followed by DPB self-attention."""

    def __init__(self, c_in: int, c_out: int, n: int, time_dim: int, attn: bool, heads: int, dpb_hidden: int):
        super().__init__()
        self.blocks = nn.ModuleList(TimeResBlock(c_in if i == 0 else c_out, c_out, time_dim) for i in range(n))
        self.attns = nn.ModuleList(
            DPBSelfAttention(c_out, heads, dpb_hidden) if attn else nn.Identity() for _ in range(n)
        )

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        for block, attn in zip(self.blocks, self.attns):
            x = attn(block(x, temb))
        return x


class UNet1d(nn.Module):
    """``forward(z_t, t, cond, style=None) -> v_hat``: (B, latent_dim, T), (B,),
    (B, cond_dim + feature_dim, T), optional (B, style_dim) -> (B, latent_dim, T).

    A style row of zeros (or ``style=None``) means "no timbre reference": its embedding is
    then exactly zero, as for a dropped reference in training."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        ch, td = cfg.channels, cfg.time_dim
        self.time_mlp = nn.Sequential(nn.Linear(td, td), nn.SiLU(), nn.Linear(td, td))
        self.inp = nn.Conv1d(cfg.latent_dim + cfg.cond_dim + cfg.feature_dim, ch[0], 3, padding=1)
        self.style_mlp = None
        if cfg.style_dim:
            self.style_mlp = nn.Sequential(nn.Linear(cfg.style_dim, td), nn.SiLU(), nn.Linear(td, td))
            nn.init.zeros_(self.style_mlp[2].weight)
            nn.init.zeros_(self.style_mlp[2].bias)
        kw = dict(time_dim=td, heads=cfg.heads, dpb_hidden=cfg.dpb_hidden)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        for i, c in enumerate(ch):
            self.down.append(Level(c, c, cfg.res_blocks, attn=i in cfg.attn_levels, **kw))
            if i + 1 < len(ch):
                self.downsample.append(nn.Conv1d(c, ch[i + 1], 4, stride=2, padding=1))
        self.mid = Level(ch[-1], ch[-1], 2, attn=True, **kw)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in range(len(ch) - 1, -1, -1):
            self.up.append(Level(2 * ch[i], ch[i], cfg.res_blocks, attn=i in cfg.attn_levels, **kw))
            if i > 0:
                self.upsample.append(nn.Conv1d(ch[i], ch[i - 1], 3, padding=1))
        self.out_norm = nn.GroupNorm(_groups(ch[0]), ch[0])
        self.out = nn.Conv1d(ch[0], cfg.latent_dim, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                style: torch.Tensor | None = None) -> torch.Tensor:
        length = z.shape[-1]
        factor = self.cfg.downsample
        pad = (-length) % factor
        x = torch.cat([z, cond.to(z.dtype)], dim=1)
        if pad:
            x = F.pad(x, (0, pad), mode="reflect" if length > pad else "replicate")
        temb = self.time_mlp(timestep_embedding(t.expand(z.shape[0]) if t.dim() == 0 else t, self.cfg.time_dim))
        if self.style_mlp is not None and style is not None:
            present = (style.abs().sum(dim=-1, keepdim=True) > 0).to(temb.dtype)
            temb = temb + self.style_mlp(style.to(temb.dtype)) * present
        h = self.inp(x)
        skips = []
        for i, level in enumerate(self.down):
            h = level(h, temb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid(h, temb)
        for i, level in enumerate(self.up):
            h = level(torch.cat([h, skips.pop()], dim=1), temb)
            if i < len(self.upsample):
                h = self.upsample[i](torch.repeat_interleave(h, 2, dim=-1))
        return self.out(F.silu(self.out_norm(h)))[..., :length]
