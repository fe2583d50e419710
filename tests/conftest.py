"""Shared fixtures: tiny model configs so the core tests run in seconds on a CPU."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

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
