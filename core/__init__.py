"""groundbass.core — the bass generator library (no CLI, no OSC, no printing).

``from groundbass.core import BassGenerator`` is the entry point for scripts.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["BassGenerator", "ModelConfig", "preset"]

# Imported on first use (PEP 562), so that light modules such as groundbass.core.params are
# importable without loading torch (the DAW scripts start `groundbass send` for every job).
_LAZY = {"BassGenerator": ".pipeline", "ModelConfig": ".config", "preset": ".config"}

if TYPE_CHECKING:  # pragma: no cover
    from .config import ModelConfig, preset
    from .pipeline import BassGenerator


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
