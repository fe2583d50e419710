"""``groundbass export --from-model M`` without ``--diffusion``: the same weights, new stored sampling
defaults (what a dev-set sweep of cfg / phi / style_cfg chooses), on a real model file."""

from __future__ import annotations

from click.testing import CliRunner
from safetensors.torch import load_file

from groundbass.bridge.cli import main
from groundbass.core import BassGenerator


def test_retune_keeps_weights_and_changes_only_the_given_defaults(model_path, tmp_path):
    out = tmp_path / "retuned.safetensors"
    res = CliRunner().invoke(main, ["export", "--from-model", str(model_path), "--out", str(out), "--dtype", "fp32",
                                    "--cfg", "6", "--phi", "0", "--style-cfg", "4"])
    assert res.exit_code == 0, res.output
    before, after = load_file(str(model_path)), load_file(str(out))
    assert before.keys() == after.keys()
    assert all(before[k].dtype == after[k].dtype and (before[k] == after[k]).all() for k in before)
    old = BassGenerator.from_pretrained(model_path, device="cpu").config
    new = BassGenerator.from_pretrained(out, device="cpu")
    s = new.config.sampling
    assert (s.cfg, s.phi, s.style_cfg) == (6.0, 0.0, 4.0)
    assert (s.steps, s.sampler, s.grounding) == (old.sampling.steps, old.sampling.sampler, old.sampling.grounding)
    assert new.config.name == old.name and new.model_id == "retuned"


def test_retune_refuses_bad_values_and_leaves_no_file(model_path, tmp_path):
    out = tmp_path / "bad.safetensors"
    res = CliRunner().invoke(main, ["export", "--from-model", str(model_path), "--out", str(out), "--phi", "7"])
    assert res.exit_code == 1 and "phi" in res.output and "Traceback" not in res.output
    assert not out.exists()
    res = CliRunner().invoke(main, ["export", "--out", str(out), "--cfg", "3"])  # neither a run nor a model
    assert res.exit_code == 1 and "--diffusion" in res.output and len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(main, ["export", "--from-model", str(model_path), "--out", str(out), "--phase-iters", "2"])
    assert res.exit_code == 1 and "need --diffusion" in res.output
    assert not out.exists()
