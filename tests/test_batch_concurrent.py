"""run_batch with several files at once (the GPU path, exercised here on CPU threads)."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
from cli_fixtures import write_mix

from groundbass.bridge.batch import ModelInfo, find_audio_files, plan_jobs, prepare_output_dir, run_batch
from groundbass.bridge.render import RenderParams, resolve_params


def _run(gen, src, out, concurrency):
    prepare_output_dir(out)
    files = find_audio_files(src)
    info = ModelInfo(gen.model_id, "test", "test", "cpu")
    jobs = plan_jobs(files, src, out, resolve_params(gen, RenderParams(steps=2, seed=11)), info)
    return run_batch(gen, jobs, src, out, info, concurrency=concurrency)


def test_concurrent_batch_matches_one_by_one(generator, tmp_path):  # noqa: F811
    src = tmp_path / "mixes"
    src.mkdir()
    for i, secs in enumerate([1.0, 1.7, 0.9, 2.3]):
        write_mix(src / f"song{i}.wav", seconds=secs)
    (src / "broken.wav").write_text("not audio")

    serial = _run(generator, src, tmp_path / "serial", 1)
    parallel = _run(generator, src, tmp_path / "parallel", 3)
    assert (serial.done, serial.failed) == (parallel.done, parallel.failed) == (4, 1)
    for i in range(4):
        a, sr_a = sf.read(tmp_path / "serial" / f"song{i}.bass.wav")
        b, sr_b = sf.read(tmp_path / "parallel" / f"song{i}.bass.wav")
        assert sr_a == sr_b and np.array_equal(a, b)
    lines = [json.loads(x) for x in (tmp_path / "parallel" / "manifest.jsonl").read_text().splitlines()]
    final = {}
    for line in lines:
        final[line["input"]] = line["status"]
    assert sorted(final.values()) == ["done"] * 4 + ["failed"]
    assert not list((tmp_path / "parallel").glob(".*.part"))
