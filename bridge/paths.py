"""Naming what went wrong with a path in a few words, for one-line error messages. Light: no
numpy, soundfile or torch (``groundbass send`` uses it)."""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = ["path_problem", "resolved_or_absolute"]


def path_problem(exc: BaseException) -> str:
    """What went wrong with a path, in a few words, from the OSError (or pathlib's RuntimeError
    for a symlink loop) raised while resolving, stat-ing or opening it."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, RuntimeError) or code == errno.ELOOP:
        return "symlink loop (too many levels of symbolic links)"
    if code == errno.ENAMETOOLONG:
        return "file name too long"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0]


def resolved_or_absolute(path: str | Path) -> Path:
    """``path`` resolved (links followed); just made absolute where it cannot be resolved (a
    symlink loop), so whoever opens it reports the problem."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path).absolute()
