"""Deterministic train/valid/test assignment by group, so a whole group stays together."""

from __future__ import annotations

import hashlib


def group_fraction(group: str) -> float:
    """Return a stable number in [0, 1) derived from ``group`` (SHA-1, not Python's hash)."""
    digest = hashlib.sha1(group.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_split(group: str, valid_share: float = 0.1, test_share: float = 0.0) -> str:
    """Return "valid", "test" or "train" for ``group``; the same group always gets the same split.

    ``valid_share`` and ``test_share`` are the expected shares of groups (0..1).
    """
    if not (0.0 <= valid_share <= 1.0 and 0.0 <= test_share <= 1.0 and valid_share + test_share <= 1.0):
        raise ValueError(f"valid_share={valid_share} and test_share={test_share} must be shares in [0, 1]")
    u = group_fraction(group)
    if u < test_share:
        return "test"
    if u < test_share + valid_share:
        return "valid"
    return "train"
