"""Path safety for the OSC bridge: every file it reads or writes must lie under an allowed root.

A path from a message is accepted only if it is absolute, has no ``..`` component and no
NUL byte, and its fully resolved form (all symlinks followed, including a dangling final
link) lies inside one of the resolved roots. The defaults are the system temporary
directory and the user's home directory.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Iterable

__all__ = ["PathPolicy", "PathRejected", "default_roots"]

log = logging.getLogger(__name__)


class PathRejected(ValueError):
    """A path outside the allowed roots or otherwise unsafe (one-line message)."""


def default_roots() -> list[Path]:
    """The system temporary directory and the user's home directory."""
    return [Path(tempfile.gettempdir()), Path.home()]


class PathPolicy:
    """Checks message paths against a fixed set of allowed root directories."""

    def __init__(self, roots: Iterable[str | os.PathLike] | None = None) -> None:
        given = list(roots) if roots is not None else default_roots()
        if not given:
            raise ValueError("at least one allowed root is needed")
        self.roots: list[Path] = []
        for r in given:
            real = Path(os.path.realpath(os.path.expanduser(os.fspath(r))))
            if real == Path(real.anchor):
                log.warning("allowed root %s is a filesystem root: every path is allowed", real)
            if real not in self.roots:
                self.roots.append(real)

    def __repr__(self) -> str:
        return f"PathPolicy({[str(r) for r in self.roots]})"

    def _check_text(self, text: str, what: str) -> Path:
        if not isinstance(text, str) or not text:
            raise PathRejected(f"{what} is empty")
        if "\x00" in text:
            raise PathRejected(f"{what} contains a NUL byte")
        p = Path(text)
        if not p.is_absolute():
            raise PathRejected(f"{what} must be an absolute path: {text}")
        if ".." in p.parts or ".." in text.replace("\\", "/").split("/"):
            raise PathRejected(f"{what} must not contain '..': {text}")
        return p

    def _inside(self, real: Path) -> bool:
        return any(real == r or r in real.parents for r in self.roots)

    def check_folder(self, real_folder: Path, what: str = "output folder") -> None:
        """Write-time check: the real path of a folder opened for writing must lie under a
        root. Raises PathRejected."""
        if not self._inside(Path(real_folder)):
            raise PathRejected(f"{what} is outside the allowed folders (it changed after the request): {real_folder}")

    def check_read(self, text: str, what: str = "input path") -> Path:
        """An existing regular file under a root -> its resolved path. Raises PathRejected."""
        p = self._check_text(text, what)
        real = Path(os.path.realpath(p))
        if not self._inside(real):
            raise PathRejected(f"{what} is outside the allowed folders: {text}")
        if not real.is_file():
            raise PathRejected(f"{what} does not exist or is not a file: {text}")
        return real

    def check_write(self, text: str, what: str = "output path") -> Path:
        """A file path whose folder exists under a root; an existing file there must be a
        regular file, and a symlink at the path must point inside the roots. Returns the path
        (parent resolved, final name kept). Raises PathRejected."""
        p = self._check_text(text, what)
        real = Path(os.path.realpath(p))  # follows a (possibly dangling) final symlink too
        if not self._inside(real):
            raise PathRejected(f"{what} is outside the allowed folders: {text}")
        parent = Path(os.path.realpath(p.parent))
        if not self._inside(parent):
            raise PathRejected(f"{what} is outside the allowed folders: {text}")
        if not parent.is_dir():
            raise PathRejected(f"{what}: folder does not exist: {p.parent}")
        if real.exists() and not real.is_file():
            raise PathRejected(f"{what} exists and is not a regular file: {text}")
        return parent / p.name
