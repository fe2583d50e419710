"""Atomic file output: write to a temporary name beside the target, then rename into place.

A reader (or a crash) never sees a half-written file: the target is either the old file,
absent, or complete. Files get the usual permissions (0666 minus the umask), not the
0600 of a bare temporary file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic", "open_directory", "write_in_directory",
           "StagedFiles"]

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp", fsync: bool = False) -> Iterator[Path]:
    """Yield a fresh hidden temporary path in ``path``'s folder for the caller to write.

    When the block ends normally the file is (optionally fsync-ed,) given normal
    permissions and renamed to ``path``; when it raises, the temporary file is removed and
    the exception propagates. Creating the temporary file raises OSError if the folder
    cannot be written.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def _fd_path(fd: int, fallback: Path) -> Path:
    """The real path of an open directory: /proc on Linux, F_GETPATH on macOS; elsewhere the
    resolved ``fallback``, accepted only if it is the very directory that is open."""
    proc = Path(f"/proc/self/fd/{fd}")
    if proc.exists():
        return Path(os.readlink(proc))
    try:
        import fcntl

        if hasattr(fcntl, "F_GETPATH"):
            return Path(os.fsdecode(fcntl.fcntl(fd, fcntl.F_GETPATH, b"\0" * 1024)).rstrip("\0"))
    except OSError:
        pass
    real = Path(os.path.realpath(fallback))
    a, b = os.fstat(fd), os.stat(real)
    if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
        raise OSError(f"{fallback}: the folder changed while it was opened")
    return real


def open_directory(path: str | os.PathLike) -> tuple[int, Path]:
    """Open the folder ``path`` -> ``(fd, real path of what was opened)``. Whatever happens to
    the name afterwards (a folder swapped for a symlink), files made relative to ``fd`` land in
    the folder whose real path was returned. The caller closes ``fd``."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    fd = os.open(os.fspath(path), flags)
    try:
        return fd, _fd_path(fd, Path(path))
    except BaseException:
        os.close(fd)
        raise


def _create_temp(dir_fd: int, name: str) -> tuple[int, str]:
    """A fresh hidden temporary file for ``name`` inside the open folder ``dir_fd``, created
    exclusively and never through a symlink, with the usual permissions -> (fd, its name)."""
    if os.sep in name or (os.altsep and os.altsep in name) or name in ("", ".", ".."):
        raise ValueError(f"{name!r} is not a plain file name")
    tmp = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.part"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    return os.open(tmp, flags, 0o666 & ~_UMASK, dir_fd=dir_fd), tmp


def write_in_directory(dir_fd: int, name: str, write: Callable[[BinaryIO], None], fsync: bool = True) -> None:
    """Atomically create or replace file ``name`` inside the open folder ``dir_fd``: ``write(f)``
    fills a fresh hidden temporary file there (never following a symlink), which is then
    renamed to ``name`` within the same folder. On error the temporary file is removed."""
    fd, tmp = _create_temp(dir_fd, name)
    try:
        with os.fdopen(fd, "w+b") as f:
            write(f)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


class StagedFiles:
    """Several files written to hidden temporary names in one folder, then renamed into place
    together by :meth:`commit` — so a failure while writing the third leaves none of them (and
    no replaced old file) behind. Used as a context manager, an exception discards every
    temporary file. ``folder_check(real_folder)`` is called once with the real path of the
    folder as opened; the files are made relative to that open folder (see
    :func:`write_in_directory`)."""

    def __init__(self, folder: str | os.PathLike, folder_check: Callable[[Path], None] | None = None) -> None:
        self.folder = Path(folder)
        self._fd, real = open_directory(self.folder)
        try:
            if folder_check is not None:
                folder_check(real)
        except BaseException:
            os.close(self._fd)
            raise
        self._pending: list[tuple[str, str]] = []

    def write(self, name: str, write: Callable[[BinaryIO], None]) -> None:
        """Fill a fresh temporary file for ``name`` (a plain file name in the folder) with
        ``write(f)`` and fsync it; it becomes ``name`` at :meth:`commit`."""
        fd, tmp = _create_temp(self._fd, name)
        self._pending.append((tmp, name))
        with os.fdopen(fd, "w+b") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())

    def commit(self) -> list[Path]:
        """Rename every temporary file to its name; returns the final paths."""
        done = []
        while self._pending:
            tmp, name = self._pending[0]
            os.replace(tmp, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
            self._pending.pop(0)
            done.append(self.folder / name)
        return done

    def discard(self) -> None:
        """Remove every temporary file not yet committed."""
        for tmp, _ in self._pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=self._fd)
        self._pending.clear()

    def close(self) -> None:
        self.discard()
        os.close(self._fd)

    def __enter__(self) -> "StagedFiles":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
