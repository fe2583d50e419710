"""groundbass.core — the bass generator library (no CLI, no OSC, no printing).

``from groundbass.core import BassGenerator`` is the entry point for scripts.
"""

from .config import ModelConfig, preset
from .pipeline import BassGenerator

__all__ = ["BassGenerator", "ModelConfig", "preset"]
