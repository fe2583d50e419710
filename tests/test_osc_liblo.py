"""A real, independent OSC peer: liblo's `oscsend` sends ping and generate to the bridge and
`oscdump` receives the replies (on the reply_port the requests name). 127.0.0.1 only."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import soundfile as sf
from osc_support import write_mix

OSCSEND, OSCDUMP = shutil.which("oscsend"), shutil.which("oscdump")
pytestmark = pytest.mark.skipif(not (OSCSEND and OSCDUMP), reason="liblo-tools (oscsend, oscdump) not installed")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_until(proc: subprocess.Popen, needle: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            line = line.strip()
            if line and not line.startswith("/"):  # oscdump prefixes the bundle time tag
                line = line.split(" ", 1)[-1]
            lines.append(line)
            if needle in line:
                return lines
        elif proc.poll() is not None:
            break
    raise AssertionError(f"{needle!r} not seen within {timeout} s: {lines}")


def test_oscsend_ping_and_generate_replies_seen_by_oscdump(server, tmp_path):
    dump_port = _free_port()
    # oscdump takes a bare port (a host in its URL means multicast); it only listens, and
    # everything is sent to 127.0.0.1.
    dump = subprocess.Popen([OSCDUMP, "-L", str(dump_port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(0.3)  # let oscdump bind
        port = str(server.address[1])
        subprocess.run([OSCSEND, "127.0.0.1", port, "/groundbass/ping", "si", "reply_port", str(dump_port)],
                       check=True, timeout=10)
        pong = _read_until(dump, "/groundbass/pong", 10)[-1]
        assert pong.startswith("/groundbass/pong sss") and '"cpu"' in pong

        mix = write_mix(tmp_path / "liblo mix.wav")
        out = tmp_path / "liblo bass.wav"
        subprocess.run([OSCSEND, "127.0.0.1", port, "/groundbass/generate", "ssssisisi", "lb1", str(mix), str(out),
                        "steps", "2", "seed", "5", "reply_port", str(dump_port)], check=True, timeout=10)
        lines = _read_until(dump, "/groundbass/done", 60)
        job_lines = [ln for ln in lines if '"lb1"' in ln]
        assert job_lines[0].startswith("/groundbass/accepted si")
        assert any(ln.startswith("/groundbass/progress sfs") for ln in job_lines)
        assert job_lines[-1] == f'/groundbass/done ss "lb1" "{out}"'
        assert sf.info(str(out)).frames == sf.info(str(mix)).frames
    finally:
        dump.terminate()
        dump.wait(5)
