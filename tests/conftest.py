"""Shared fixtures: tiny model configs so the core tests run in seconds on a CPU; one
random-init `small` generator checkpoint for the whole run (CLI, render and OSC tests), and a
bridge server on 127.0.0.1 (free port) with a client."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from groundbass.bridge.osc.client import BridgeClient
from groundbass.bridge.osc.server import BridgeServer
from groundbass.core import BassGenerator
from groundbass.core.config import ModelConfig, UNetConfig, preset


@pytest.fixture(autouse=True)
def _torch_threads():
    torch.set_num_threads(2)
    yield


@pytest.fixture
def tiny_config() -> ModelConfig:
    """A very small model config with the `small` preset's rates and ratio."""
    base = preset("small")
    ae = dataclasses.replace(base.mix_ae, channels=(32, 32, 32, 32, 32), res_blocks=1, phase_iters=0)
    return dataclasses.replace(
        base,
        name="tiny",
        mix_ae=dataclasses.replace(ae, latent_dim=16, chroma_head=base.mix_ae.chroma_head),
        bass_ae=dataclasses.replace(ae, latent_dim=8, pitch_bins=base.bass_ae.pitch_bins,
                                    phase_source=base.bass_ae.phase_source),
        unet=UNetConfig(latent_dim=8, cond_dim=16, channels=(32, 48, 64), res_blocks=1, attn_levels=(2,),
                        heads=4, time_dim=16, dpb_hidden=16, train_frames=64),
    )


@pytest.fixture(scope="session")
def synth_songs(tmp_path_factory) -> Path:
    """Three 6-second synthetic songs (real MMA + FluidSynth, TimGM6mb); returns the manifest path."""
    from groundbass.core.data.synth import synthesize

    out = tmp_path_factory.mktemp("synth_songs")
    synthesize(out, songs=3, seconds=6, seed=3, workers=2, soundfonts=["/usr/share/sounds/sf2/TimGM6mb.sf2"],
               holdout=0, valid_share=0.34)
    return out / "manifest.jsonl"


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    """A random-init `small` generator checkpoint (loads like a trained one), saved once."""
    path = tmp_path_factory.mktemp("model") / "small-random.safetensors"
    return BassGenerator.from_preset("small", seed=0).save(path)


@pytest.fixture(scope="session")
def generator(model_path):
    return BassGenerator.from_pretrained(model_path, device="cpu")


@pytest.fixture
def server(generator, tmp_path):
    """A bridge on 127.0.0.1 (free port) whose only allowed root is this test's tmp_path."""
    srv = BridgeServer(generator, host="127.0.0.1", port=0, roots=[tmp_path], heartbeat_s=0.2).start()
    yield srv
    srv.shutdown()


@pytest.fixture
def client(server):
    with BridgeClient(*server.address) as c:
        yield c
