"""The installed groundbass version, without importing torch (for fast command start-up)."""

from __future__ import annotations

from importlib import metadata

__all__ = ["groundbass_version"]


def groundbass_version() -> str:
    """The installed groundbass version string (``"0+unknown"`` when not installed)."""
    try:
        return metadata.version("groundbass")
    except metadata.PackageNotFoundError:
        return "0+unknown"
