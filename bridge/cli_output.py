"""Printing paths from the command line without a traceback.

A file name that is not UTF-8 reaches Python as a ``str`` with surrogate escapes
(``b"\\xff"`` -> ``"\\udcff"``). stderr always spells those out (errors="backslashreplace"),
but stdout is strict where the locale is UTF-8 (and in click's CliRunner): ``click.echo`` of
such a path raises UnicodeEncodeError. :func:`echo` never does. Light: no torch.
"""

from __future__ import annotations

import os

import click

__all__ = ["echo", "shown"]


def shown(text: str) -> str:
    """``text`` with any surrogate escape spelled out as Python's stderr shows it (``\\udcff``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def echo(text: str, err: bool = False) -> None:
    """``click.echo(text, err=err)``; where the stream cannot encode ``text`` (a path with
    undecodable bytes on a strict UTF-8 stream), stdout gets the text as the file system's
    bytes (the real name, as ``ls`` prints it, so a script can use it) and stderr the text
    with the escapes spelled out."""
    try:
        click.echo(text, err=err)
        return
    except UnicodeEncodeError:
        pass
    if not err:
        try:
            click.echo(os.fsencode(text), err=False)
            return
        except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
            pass
    try:
        click.echo(shown(text), err=err)
    except UnicodeEncodeError:  # a stream that is not UTF-8 at all (an ASCII locale, strict)
        click.echo(text.encode("ascii", "backslashreplace").decode("ascii"), err=err)
