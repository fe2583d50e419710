"""Start-up time of the commands a DAW script runs for every job (not a test).

Measures, as separate processes, the wall time of ``groundbass --help`` and ``groundbass serve
--help``, and the time from starting ``groundbass send`` to its first datagram arriving at a
UDP socket standing in for the bridge (the moment it "reaches the network"). Also reports
whether torch was imported on those paths. Target (issue: start-up): send < 0.5 s.

    python benchmarks/bench_startup.py --repeat 5
"""

from __future__ import annotations

import argparse
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def send_to_first_datagram(mix: Path) -> float:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    port = sock.getsockname()[1]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "groundbass.bridge", "send", str(mix), str(mix) + ".out.wav",
                             "--port", str(port), "--timeout", "1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        sock.recvfrom(8192)
        return time.perf_counter() - t0
    finally:
        proc.kill()
        proc.wait()
        sock.close()


def torch_imported(args: list[str]) -> bool:
    code = ("import sys\nfrom groundbass.bridge.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules)") % (args,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip().splitlines()
    return bool(out) and out[-1] == "True"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    gb = [sys.executable, "-m", "groundbass.bridge"]
    with tempfile.TemporaryDirectory() as tmp:
        mix = Path(tmp) / "mix.wav"
        mix.write_bytes(b"")  # send only needs a path; the bridge would read it
        rows = {
            "groundbass --help": [timed(gb + ["--help"]) for _ in range(args.repeat)],
            "groundbass serve --help": [timed(gb + ["serve", "--help"]) for _ in range(args.repeat)],
            "groundbass send -> first datagram": [send_to_first_datagram(mix) for _ in range(args.repeat)],
        }
    print(f"CPU: {cpu_model()}; Python {platform.python_version()}; {args.repeat} runs each (median, min)")
    for name, vals in rows.items():
        print(f"  {name:36s} {statistics.median(vals):6.3f} s  (min {min(vals):.3f} s)")
    for name, argv in (("--help", ["--help"]), ("serve --help", ["serve", "--help"]), ("send --help", ["send", "--help"])):
        print(f"  torch imported by `groundbass {name}`: {torch_imported(argv)}")


if __name__ == "__main__":
    main()
