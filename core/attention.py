"""Self-attention over time with dynamic positional bias (DPB).

``Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + B) V`` where ``B_ij = MLP(i - j)`` per
head (paper section 3.2; Wang et al., CrossFormer). Because the bias is a function of
the relative offset rather than a learned table, the layer runs on lengths never seen in
training. The MLP reads the offset as ``sign(d) * log(1 + |d|)``, which keeps its input in
a small range for any length.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DynamicPositionBias", "DPBSelfAttention"]


class DynamicPositionBias(nn.Module):
    """MLP from relative offset ``i - j`` to one bias per head."""

    def __init__(self, heads: int, hidden: int = 64):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(1, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, heads)
        )

        self._cache: tuple[tuple, torch.Tensor] | None = None

    def forward(self, length: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """Bias (heads, length, length) with ``B[h, i, j] = MLP(i - j)[h]``.

        Outside autograd the result is cached for the current length and weights (the
        key includes the parameters' in-place version counters), so a sampler's
        64 steps over one song compute it once per layer.
        """
        if torch.is_grad_enabled() and self.training:
            return self._compute(length, device, dtype)
        key = (length, str(device), dtype, tuple(p._version for p in self.parameters()),
               tuple(p.data_ptr() for p in self.parameters()))
        cache = self._cache  # read once: another thread may replace it meanwhile
        if cache is None or cache[0] != key:
            with torch.no_grad():
                cache = (key, self._compute(length, device, dtype))
            self._cache = cache
        return cache[1]

    def _compute(self, length: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        return self.rows(self._table(length, device), 0, length, length).to(dtype)

    def _table(self, length: int, device: torch.device) -> torch.Tensor:
        """(heads, 2L - 1): the bias of every offset ``i - j`` from ``-(L - 1)`` to ``L - 1``."""
        rel = torch.arange(-(length - 1), length, device=device, dtype=torch.float32)
        feat = torch.sign(rel) * torch.log1p(rel.abs())
        return self.mlp(feat[:, None]).t()

    @staticmethod
    def rows(table: torch.Tensor, i0: int, i1: int, length: int) -> torch.Tensor:
        """Rows ``i0..i1`` of the bias, (heads, i1 - i0, L), from the offset ``table``."""
        pos = torch.arange(length, device=table.device)
        idx = pos[i0:i1, None] - pos[None, :] + (length - 1)  # i - j shifted to >= 0
        return table[:, idx]

    def table(self, length: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """The offset table (heads, 2L - 1), cached like :meth:`forward` outside autograd."""
        if torch.is_grad_enabled() and self.training:
            return self._table(length, device).to(dtype)
        key = ("table", length, str(device), dtype, tuple(p._version for p in self.parameters()),
               tuple(p.data_ptr() for p in self.parameters()))
        cache = self._cache
        if cache is None or cache[0] != key:
            with torch.no_grad():
                cache = (key, self._table(length, device).to(dtype))
            self._cache = cache
        return cache[1]


class DPBSelfAttention(nn.Module):
    """Pre-norm multi-head self-attention with DPB on (B, channels, frames); residual output."""

    def __init__(self, channels: int, heads: int, dpb_hidden: int = 64):
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels ({channels}) must divide by heads ({heads})")
        self.heads = heads
        self.norm = nn.GroupNorm(min(32, channels // 4), channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.out = nn.Conv1d(channels, channels, 1)
        self.bias = DynamicPositionBias(heads, dpb_hidden)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    # Longer sequences are attended in blocks of queries, so memory grows with L, not L^2
    # (a 15-minute song has 2,400 frames at the small preset's attention level).
    full_max: int = 1024
    query_block: int = 512

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, length = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, length).unbind(1)
        q, k, v = (t.transpose(-1, -2) for t in (q, k, v))  # (B, H, L, d)
        scale = q.shape[-1] ** -0.5
        kt = k.transpose(-1, -2)
        if length <= self.full_max:
            bias = self.bias(length, x.device, q.dtype)
            h = torch.matmul((torch.matmul(q, kt) * scale + bias).softmax(dim=-1), v)  # softmax(QK^T/sqrt(d)+B) V
        else:
            table = self.bias.table(length, x.device, q.dtype)
            h = torch.cat([
                torch.matmul((torch.matmul(q[:, :, i0:i0 + self.query_block], kt) * scale
                              + DynamicPositionBias.rows(table, i0, min(length, i0 + self.query_block), length))
                             .softmax(dim=-1), v)
                for i0 in range(0, length, self.query_block)], dim=2)
        return x + self.out(h.transpose(-1, -2).reshape(b, c, length))
