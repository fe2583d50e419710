"""Run groundbass commands as an unprivileged user, for the permission tests.

root ignores file permissions (CI runs as root), so as root the commands run as ``nobody``
through ``setpriv`` (or ``runuser``). The interpreter may live where ``nobody`` cannot read
it (pyenv under /root): then the process starts with CAP_DAC_READ_SEARCH as its only
capability (read and search, never write), imports what the commands need, and drops every
capability before the first command runs, so each command meets the file permissions of a
plain ``nobody``. Not root: the commands run as the current user. Nothing is copied.

:func:`run_unprivileged` runs several commands in one process (one interpreter start):
each through click's CliRunner, with its exit code, stdout, stderr and any traceback.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

_DRIVER = r"""
import ctypes, json, os, sys, traceback

# everything the commands import, while the interpreter's own files may still be read
import click.testing, numpy, safetensors.torch, soundfile, torch, tqdm
import encodings.idna  # the socket layer looks the codec up when `send` resolves its host
import groundbass.bridge.batch, groundbass.bridge.cli, groundbass.bridge.cli_generate, groundbass.bridge.cli_osc
import groundbass.bridge.osc.client, groundbass.bridge.render, groundbass.core.pipeline


def caps():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {k: int(fields[k], 16) for k in ("CapEff", "CapPrm", "CapAmb")}


if any(caps().values()) and os.geteuid() != 0:  # drop them all: from here on a plain user
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.capset(ctypes.byref(Header(0x20080522, 0)), (Data * 2)()) != 0:
        sys.exit(f"capset failed: errno {ctypes.get_errno()}")

from click.testing import CliRunner
from groundbass.bridge.cli import main

results = []
for args in json.loads(sys.argv[1]):
    res = CliRunner().invoke(main, args)
    tb = ""
    if res.exc_info is not None and not isinstance(res.exception, SystemExit):
        tb = "".join(traceback.format_exception(*res.exc_info))
    results.append({"args": args, "code": res.exit_code, "stdout": res.stdout, "stderr": res.stderr,
                    "traceback": tb})
print("GB-RESULTS " + json.dumps({"euid": os.geteuid(), "caps": caps(), "results": results}))
"""


def _nobody() -> pwd.struct_passwd:
    return pwd.getpwnam("nobody")


def _env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV")}
    return {**keep, "HOME": str(home), "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "XDG_CACHE_HOME": str(home / ".cache")}


def _probe(prefix: list[str], home: Path) -> str | None:
    """None if ``prefix + [python]`` runs this interpreter with its own stdlib; else why not."""
    code = "import sys, groundbass.bridge.cli, torch; print(sys.base_prefix)"
    try:
        res = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True,
                             env=_env(home), cwd=home, timeout=120)
    except OSError as exc:
        return f"{prefix[0]}: {exc}"
    if res.returncode != 0:
        return f"{' '.join(prefix)}: exit {res.returncode}: {(res.stderr.strip().splitlines() or [''])[-1]}"
    if res.stdout.strip().splitlines()[-1:] != [sys.base_prefix]:
        return f"{' '.join(prefix)}: the interpreter found {res.stdout.strip()!r}, not its stdlib {sys.base_prefix}"
    return None


@lru_cache(maxsize=1)
def _prefix_for(home: str) -> tuple[list[str], str]:
    """(command prefix that runs a process unprivileged, how), or pytest.skip naming why not."""
    if os.geteuid() != 0:
        return [], f"uid {os.geteuid()}"
    nobody = _nobody()
    ids = [f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    tried = []
    candidates = []
    if shutil.which("setpriv"):
        candidates += [(["setpriv", *ids], "setpriv as nobody"),
                       (["setpriv", *ids, "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"],
                        "setpriv as nobody, CAP_DAC_READ_SEARCH only until the commands start")]
    else:
        tried.append("setpriv: not installed (util-linux)")
    if shutil.which("runuser"):
        candidates.append((["runuser", "-u", "nobody", "--"], "runuser as nobody"))
    else:
        tried.append("runuser: not installed (util-linux)")
    for prefix, how in candidates:
        why = _probe(prefix, Path(home))
        if why is None:
            return prefix, how
        tried.append(why)
    pytest.skip("cannot run the interpreter as an unprivileged user: " + "; ".join(tried))


class Sandbox:
    """A folder under /tmp that ``nobody`` can traverse (pytest's tmp_path is private to root).
    ``writable(name)``: a folder nobody may write; ``read_only(name)``: one it may not;
    ``private(path)``: a file nobody may not read. Removed by :meth:`cleanup`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gb-unpriv-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        self.home = self.writable("home")

    def _owned(self, path: Path) -> Path:
        if os.geteuid() == 0:
            os.chown(path, _nobody().pw_uid, _nobody().pw_gid)
        return path

    def writable(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True)
        os.chmod(path, 0o755)
        return self._owned(path)

    def read_only(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o555)
        return path

    def private(self, path: Path) -> Path:
        os.chmod(path, 0o000)
        return path

    def link(self, src: Path, name: str) -> Path:
        """A hard link (nothing copied) to ``src``, readable by everyone."""
        dst = self.root / name
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        os.chmod(dst, 0o644)
        return dst

    def tree(self) -> list[str]:
        """Every path below the sandbox except the home folder, relative, sorted."""
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*")
                      if p != self.home and self.home not in p.parents)

    def cleanup(self) -> None:
        for p in [self.root, *self.root.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                os.chmod(p, 0o755)
        shutil.rmtree(self.root, ignore_errors=True)


def run_unprivileged(box: Sandbox, commands: list[list[str]], timeout: float = 300) -> list[dict]:
    """Run each groundbass command line (argument lists) as an unprivileged user, in ``box``."""
    prefix, how = _prefix_for(str(box.home))
    res = subprocess.run([*prefix, sys.executable, "-c", _DRIVER, json.dumps(commands)], capture_output=True,
                         text=True, env=_env(box.home), cwd=box.home, timeout=timeout)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("GB-RESULTS ")), None)
    assert res.returncode == 0 and line, f"{how}: the driver failed (exit {res.returncode}): {res.stderr[-3000:]}"
    report = json.loads(line[len("GB-RESULTS "):])
    assert report["euid"] != 0, f"{how}: the commands ran as root"
    assert report["caps"] == {"CapEff": 0, "CapPrm": 0, "CapAmb": 0}, f"{how}: capabilities left: {report['caps']}"
    return report["results"]
