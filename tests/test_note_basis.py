"""The note basis (core/train/note_basis.py): the latent directions that carry the bass's notes,
fitted with scikit-learn's logistic regression, stored by ``groundbass export --note-basis``, and
used by style grounding so a reference moves the timbre and not the notes. Real model file, real
latent cache folder (safetensors files as `groundbass train diffusion --cache` writes them)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from groundbass.bridge.cli import main
from groundbass.core import BassGenerator
from groundbass.core.checkpoint import load_checkpoint, resolve_model, save_checkpoint
from groundbass.core.train.note_basis import fit_note_basis, note_basis_from_cache, note_frames, notes_moved


def test_fit_finds_the_directions_that_carry_the_classes():
    rng = np.random.default_rng(0)
    centres = np.array([[3, 0, 0], [0, 3, 0], [0, 0, 3], [-3, -3, -3]], dtype=float)  # 4 classes in dims 0..2
    y = rng.integers(0, 4, 4000)
    z = rng.standard_normal((4000, 16))
    z[:, :3] += centres[y]
    basis, accuracy = fit_note_basis(z, y)
    assert basis.shape == (3, 16)  # 4 classes: 3 directions
    torch.testing.assert_close(basis @ basis.T, torch.eye(3), atol=1e-5, rtol=0)
    inside = (basis[:, :3] ** 2).sum(0)  # each class dimension lies (almost) in the basis
    outside = (basis[:, 3:] ** 2).sum(0)
    assert inside.min() > 0.9 and outside.max() < 0.05
    assert accuracy > 0.9


def test_fit_refuses_too_little_data():
    with pytest.raises(ValueError, match="voiced frames"):
        fit_note_basis(np.zeros((50, 4)), np.zeros(50))


def _bass_line(gen: BassGenerator, notes, seconds_per_note=0.5) -> np.ndarray:
    sr = gen.sample_rate
    t = np.arange(int(seconds_per_note * sr)) / sr
    env = np.minimum(1.0, 20 * t) * np.exp(-1.5 * t)
    parts = [env * sum(np.sin(2 * np.pi * k * 440.0 * 2 ** ((n - 69) / 12) * t) / k for k in (1, 2, 3))
             for n in notes]
    return (0.3 * np.concatenate(parts)).astype(np.float32)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """A latent cache of eight songs' bass latents (another two in a held-out split)."""
    gen = BassGenerator.from_pretrained("default", device="cpu")
    root = tmp_path_factory.mktemp("cache")
    (root / "songs").mkdir()
    rows = []
    for i in range(10):
        notes = [28 + (i * 5 + j * 7) % 24 for j in range(16)]
        z = gen.encode_bass(_bass_line(gen, notes))[0] * gen.stats.bass_std[:, None] + gen.stats.bass_mean[:, None]
        save_file({"bass": z.contiguous()}, str(root / "songs" / f"s{i}.safetensors"))
        rows.append({"song": f"s{i}", "split": "train" if i < 8 else "test", "group": "g", "frames": z.shape[-1],
                     "file": f"songs/s{i}.safetensors"})
    (root / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_note_basis_from_a_cache_and_grounding_that_keeps_the_notes(cache_dir):
    gen = BassGenerator.from_pretrained("default", device="cpu")
    s = gen.stats
    basis, fit = note_basis_from_cache(gen.bass_ae, s, cache_dir)
    k, c = basis.shape
    assert fit["songs"] == 8 and fit["directions"] == k and fit["frames"] >= 200  # the train split only
    assert 1 <= k <= 11 and c == gen.config.bass_ae.latent_dim
    torch.testing.assert_close(basis @ basis.T, torch.eye(k), atol=1e-4, rtol=0)
    # the frames it was fitted on are voiced notes the pitch head reads
    first = load_file(str(cache_dir / "songs" / "s0.safetensors"))["bass"]
    z, y = note_frames(gen.bass_ae, s, first)
    assert len(z) > 20 and set(np.unique(y)) <= set(range(12))

    # pull a bass line's latent mean towards another line's (grounding 0.3 at beta = 1): without the
    # basis the decoded notes change on more frames than with it
    line = gen.encode_bass(_bass_line(gen, [33, 40, 36, 43] * 4))
    other = gen.encode_bass(_bass_line(gen, [30, 37, 42, 35] * 4, 0.37)).mean(dim=(0, 2))
    plain = notes_moved(gen.bass_ae, s, line, other, 0.3)
    kept = notes_moved(gen.bass_ae, s, line, other, 0.3, basis)
    assert kept < plain


def test_export_stores_and_drops_the_basis(cache_dir, tmp_path):
    with_basis, without = tmp_path / "nb.safetensors", tmp_path / "paper.safetensors"
    res = CliRunner().invoke(main, ["export", "--from-model", "default", "--out", str(without), "--paper-grounding"])
    assert res.exit_code == 0, res.output
    assert BassGenerator.from_pretrained(without, device="cpu").stats.bass_note_basis is None
    assert "note_basis" not in load_checkpoint(without).meta["extra"]
    res = CliRunner().invoke(main, ["export", "--from-model", str(without), "--out", str(with_basis),
                                    "--note-basis", str(cache_dir)])
    assert res.exit_code == 0, res.output
    gen = BassGenerator.from_pretrained(with_basis, device="cpu")
    assert gen.stats.bass_note_basis is not None and gen.stats.bass_note_basis.shape[1] == 32
    before, after = load_file(str(without)), load_file(str(with_basis))
    assert set(after) - set(before) == {"stats.bass_note_basis"}
    assert all((before[k] == after[k]).all() for k in before)  # nothing else changed
    assert load_checkpoint(with_basis).meta["extra"]["note_basis"]["songs"] == 8
    # errors: one line, nothing written
    bad = tmp_path / "bad.safetensors"
    broken = tmp_path / "broken"
    (broken / "songs").mkdir(parents=True)
    row = {"song": "x", "split": "train", "file": "songs/x.safetensors"}
    (broken / "index.jsonl").write_text(json.dumps(row) + "\n")
    (broken / "songs" / "x.safetensors").write_bytes(b"not a tensor file")
    for args, text in ((["--note-basis", str(tmp_path)], "not a latent cache"),
                       (["--note-basis", str(broken)], "not a readable cached song"),
                       (["--note-basis", str(cache_dir), "--paper-grounding"], "both")):
        res = CliRunner().invoke(main, ["export", "--from-model", "default", "--out", str(bad), *args])
        assert res.exit_code == 1 and text in res.output and "Traceback" not in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1
    assert not bad.exists()


def test_a_model_whose_note_basis_does_not_fit_is_refused_in_one_line(tmp_path):
    ck = load_checkpoint(resolve_model("default"))
    bad = tmp_path / "bad-basis.safetensors"
    save_checkpoint(bad, {**ck.tensors, "stats.bass_note_basis": torch.zeros(3, 7)}, kind="generator",
                    config=ck.config, extra=ck.meta["extra"])
    mix = tmp_path / "mix.wav"
    sf.write(mix, np.zeros((22050, 2), dtype=np.float32), 22050)
    res = CliRunner().invoke(main, ["generate", str(mix), "-o", str(tmp_path / "b.wav"), "--model", str(bad)])
    assert res.exit_code != 0 and "note basis" in res.output and "Traceback" not in res.output, res.output
    assert not (tmp_path / "b.wav").exists()
