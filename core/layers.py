"""Small convolutional building blocks shared by the autoencoder and the critics."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ResBlock1d", "Downsample1d", "Upsample1d", "res_stack"]


class ResBlock1d(nn.Module):
    """Residual block over time: LeakyReLU -> dilated conv(k=3) -> LeakyReLU -> conv(k=1), plus skip.

    Keeps the (batch, channels, frames) shape.
    """

    def __init__(self, channels: int, dilation: int = 1):
        super().__init__()
        self.act = nn.LeakyReLU(0.2)
        self.conv1 = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(self.act(x))))


class Downsample1d(nn.Module):
    """Strided conv that halves the frame count: (B, c_in, T) -> (B, c_out, T // 2)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample1d(nn.Module):
    """Nearest-neighbour x2 then conv(k=3): (B, c_in, T) -> (B, c_out, 2 T)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.repeat_interleave(x, 2, dim=-1))


def res_stack(channels: int, count: int) -> nn.Sequential:
    """``count`` residual blocks with dilations 1, 3, 9, ... (wider receptive field per block)."""
    return nn.Sequential(*[ResBlock1d(channels, dilation=3 ** (i % 3)) for i in range(count)])
