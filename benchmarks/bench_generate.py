"""Generation speed, memory and quality: the model's default sampling path against the old one.

    python benchmarks/bench_generate.py --model default --seconds 180
    python benchmarks/bench_generate.py --model default --seconds 180 \\
        --quality-data runs/ood_dev/manifest.jsonl --songs 12 --quality-seconds 12 --processing heldout

"new" is what ``groundbass generate`` does with the model's stored defaults (sampler and
steps); "old" is the same call with 64-step DDIM and nothing else changed. For each path:

- **CLI**: ``groundbass generate MIX`` end to end in a fresh process (import, model load,
  read, generate, write), wall time, real-time factor and the process's peak RSS;
- **stages**: the Python API in a fresh process, wall time of import, load, encode,
  diffusion and decode (after one short warm-up call, as a DAW bridge that stays up sees it);
- **quality** (with ``--quality-data``): chord-tone rate and the Fréchet log-mel distance to
  the true basses (``groundbass eval``'s figures) on the same held-out songs, and for the old
  path a second seed, whose difference is the run-to-run spread the new path must stay within.

The mix is a synthetic 44.1 kHz stereo signal (speed does not depend on the content). The CPU
model and its bf16 support are printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OLD = {"sampler": "ddim", "steps": 64}


def cpu_description() -> str:
    """``model name`` of /proc/cpuinfo, the core count and whether AMX/AVX-512 bf16 is there."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and name in ("", platform.machine(), platform.processor()):
                name = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    bf16 = "AMX bf16" if "amx_bf16" in flags else ("AVX-512 bf16" if "avx512_bf16" in flags else "no bf16")
    return f"{name}, {os.cpu_count()} cores, {bf16}"


def write_mix(path: Path, seconds: float, sr: int = 44100) -> Path:
    import soundfile as sf  # here, not at the top: bench_gpu.py imports this module where soundfile is absent

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.2 * np.sin(2 * np.pi * 110 * t) + 0.1 * np.sin(2 * np.pi * 330 * t)
    sf.write(path, (tone[:, None] + 0.05 * rng.standard_normal((len(t), 2))).astype(np.float32), sr,
             subtype="PCM_24")
    return path


def _path_options(path: str) -> list[str]:
    return [] if path == "new" else ["--sampler", OLD["sampler"], "--steps", str(OLD["steps"])]


def run_generate(mix: Path, out: Path, model: str, device: str, extra: list[str]) -> dict:
    """``groundbass generate MIX -o OUT`` in a fresh process -> wall time and its peak RSS (from a
    wrapper's RUSAGE_CHILDREN)."""
    cmd = [sys.executable, "-m", "groundbass.bridge", "generate", str(mix), "-o", str(out), "--model", model,
           "--seed", "0", "--quiet", "--overwrite", "--device", device, *extra]
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "rc = subprocess.run(sys.argv[1:]).returncode; w = time.perf_counter() - t; "
               "print(rc, w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    res = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True)
    rc, wall, rss_kb = res.stdout.split()[-3:]
    if int(rc) != 0:
        raise RuntimeError(f"groundbass generate failed ({' '.join(extra)}): {res.stderr.strip()[-500:]}")
    return {"wall_s": float(wall), "peak_rss_mb": int(rss_kb) / 1024.0}


def measure_cli(path: str, model: str, mix: Path, out_dir: Path, device: str) -> dict:
    """``groundbass generate`` of the new or the old path, in a fresh process."""
    return run_generate(mix, out_dir / f"bass-{path}.wav", model, device, _path_options(path))


def _stages(path: str, model: str, mix_path: str, device: str, queue) -> None:
    import soundfile as sf  # before the clock, as a top-level import was

    t0 = time.perf_counter()
    import torch

    from groundbass.core import BassGenerator  # noqa: F401  (the import is timed)

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    gen = BassGenerator.from_pretrained(model, device=device)
    t_load = time.perf_counter() - t0
    mix, sr = sf.read(mix_path, dtype="float32")
    kw = {} if path == "new" else dict(OLD)
    gen.generate(mix[: 2 * sr], sr, seed=0, **{**kw, "steps": 2})  # warm-up: one-time costs are not timed
    marks: dict[str, float] = {}

    def cb(stage: str, k: int, n: int) -> None:
        marks.setdefault(f"{stage}_first", time.perf_counter())
        marks[f"{stage}_last"] = time.perf_counter()

    if gen.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    gen.generate(mix, sr, seed=0, callback=cb, **kw)
    if gen.device.type == "cuda":
        torch.cuda.synchronize()
    end = time.perf_counter()
    d = gen.config.sampling
    queue.put({
        "import_s": t_import, "load_s": t_load,
        "encode_s": marks["encode_last"] - t0,
        "diffusion_s": marks["diffusion_last"] - marks["encode_last"],
        "decode_s": end - marks["diffusion_last"],
        "generate_s": end - t0,
        "sampler": kw.get("sampler", d.sampler), "steps": kw.get("steps", d.steps),
        "device": str(gen.device), "precision": gen.precision, "threads": torch.get_num_threads(),
    })


def measure_stages(path: str, model: str, mix: Path, device: str) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_stages, args=(path, model, str(mix), device, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def measure_quality(model: str, manifest: str, songs: int, seconds: float, processing: str, device: str) -> dict:
    """Chord-tone rate and Fréchet log-mel distance of both paths on the same held-out songs,
    plus the old path with another seed (the run-to-run spread)."""
    from groundbass.core import BassGenerator
    from groundbass.core.data.manifest import read_manifest
    from groundbass.core.model_eval import evaluate_generator

    gen = BassGenerator.from_pretrained(model, device=device)
    chosen = [s for s in read_manifest(manifest) if s.chords is not None][:songs]
    out = {}
    for name, kw, seed in (("new", {}, 0), ("old", OLD, 0), ("old_seed2", OLD, 1000)):
        m = evaluate_generator(gen, chosen, seconds=seconds, processing=processing, ae_figures=False,
                               style_eval=False, seed=seed, **kw)["metrics"]
        out[name] = {"chord_tone_rate": m["chord_tone_rate"], "frechet_logmel": m["frechet_logmel"],
                     "songs": m["songs"]}
    out["spread"] = {k: abs(out["old"][k] - out["old_seed2"][k]) for k in ("chord_tone_rate", "frechet_logmel")}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default", help="bundled name or checkpoint path")
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quality-data", help="manifest of held-out songs for the quality figures")
    ap.add_argument("--songs", type=int, default=12)
    ap.add_argument("--quality-seconds", type=float, default=12.0)
    ap.add_argument("--processing", default="none", choices=["none", "train", "heldout"])
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    a = ap.parse_args(argv)
    report: dict = {"cpu": cpu_description(), "seconds": a.seconds, "model": a.model}
    with tempfile.TemporaryDirectory(prefix="gb-bench-") as tmp:
        mix = write_mix(Path(tmp) / "mix.wav", a.seconds)
        for path in ("new", "old"):
            report[path] = {"cli": measure_cli(path, a.model, mix, Path(tmp), a.device),
                            "stages": measure_stages(path, a.model, mix, a.device)}
    if a.quality_data:
        report["quality"] = measure_quality(a.model, a.quality_data, a.songs, a.quality_seconds, a.processing,
                                            a.device)
    if a.json:
        print(json.dumps(report))
        return 0
    print(f"CPU: {report['cpu']}   audio: {a.seconds:.0f} s, 44.1 kHz stereo   model: {a.model}")
    head = f"{'':>22}{'new':>12}{'old':>12}{'old/new':>10}"
    print(head)
    n, o = report["new"], report["old"]
    print(f"{'sampler, steps':>22}{n['stages']['sampler'] + ' ' + str(n['stages']['steps']):>12}"
          f"{o['stages']['sampler'] + ' ' + str(o['stages']['steps']):>12}")
    rows = [("CLI wall (s)", n["cli"]["wall_s"], o["cli"]["wall_s"]),
            ("CLI real-time factor", a.seconds / n["cli"]["wall_s"], a.seconds / o["cli"]["wall_s"]),
            ("CLI peak RSS (MB)", n["cli"]["peak_rss_mb"], o["cli"]["peak_rss_mb"])]
    rows += [(f"{k[:-2]} (s)", n["stages"][k], o["stages"][k])
             for k in ("import_s", "load_s", "encode_s", "diffusion_s", "decode_s", "generate_s")]
    rows.append(("API real-time factor", a.seconds / n["stages"]["generate_s"], a.seconds / o["stages"]["generate_s"]))
    for label, x, y in rows:
        ratio = f"{y / x:10.2f}" if "factor" not in label and x > 0 else ""
        print(f"{label:>22}{x:12.2f}{y:12.2f}{ratio}")
    q = report.get("quality")
    if q:
        for k in ("chord_tone_rate", "frechet_logmel"):
            print(f"{k:>22}{q['new'][k]:12.3f}{q['old'][k]:12.3f}   old with another seed {q['old_seed2'][k]:.3f} "
                  f"(spread {q['spread'][k]:.3f})")
        print(f"{'':>22}({q['new']['songs']} held-out songs x {a.quality_seconds:.0f} s, {a.processing} processing)")
    print(f"[{n['stages']['device']}, {n['stages']['precision']}, {n['stages']['threads']} threads]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
