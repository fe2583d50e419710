"""Editing at sampling time (regenerate a region, continue, loop): known-answer tests with an
analytic denoiser, and the audio splice's exactness outside the region."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from groundbass.core.diffusion import sample_ddim, sample_dpmpp_2m
from groundbass.core.editing import (
    circular_denoiser,
    circular_pad,
    frame_mask,
    loop_seam,
    reconstruction_guidance_denoiser,
    replacement_denoiser,
    splice,
)


def _target(frames=40, ch=3):
    t = torch.arange(frames, dtype=torch.float32)
    return torch.stack([torch.sin(0.3 * t + k) for k in range(ch)])[None]


@pytest.mark.parametrize("sampler", [sample_ddim, sample_dpmpp_2m])
def test_replacement_keeps_known_frames_exactly_and_fills_the_rest(sampler):
    truth = _target()
    known = truth.clone()
    known[..., 10:25] = 0.0  # what we "know" outside the region; the region itself is unknown
    keep = frame_mask(40, [(0, 10), (25, 40)])
    fill = torch.full_like(truth, 0.5)
    inner = lambda z, t: fill  # noqa: E731  analytic denoiser: always predicts 0.5
    out = sampler(replacement_denoiser(inner, known, keep), torch.randn_like(truth), 12)
    assert torch.equal(out[..., :10], truth[..., :10]) and torch.equal(out[..., 25:], truth[..., 25:])
    assert torch.allclose(out[..., 10:25], fill[..., 10:25])


def test_replacement_keeps_the_known_part_on_its_noising_path():
    """With a deterministic sampler the known frames' latent is alpha_t known + sigma_t eps."""
    from groundbass.core.diffusion import alpha_sigma

    truth, noise = _target(), torch.randn(1, 3, 40)
    keep = frame_mask(40, [(0, 20)])
    seen = []
    inner = lambda z, t: (seen.append((float(t), z.clone())), torch.zeros_like(z))[1]  # noqa: E731
    sample_ddim(replacement_denoiser(inner, truth, keep), noise, 8)
    for t, z in seen:
        a, s = (float(v) for v in alpha_sigma(t))
        torch.testing.assert_close(z[..., :20], a * truth[..., :20] + s * noise[..., :20], atol=1e-5, rtol=1e-5)


def test_reconstruction_guidance_pulls_the_kept_frames_to_the_known_ones():
    truth = _target()
    keep = frame_mask(40, [(0, 15)])
    # a denoiser that ignores the truth: x0 = alpha z (a "data are zero-mean noise" model)
    from groundbass.core.diffusion import alpha_sigma

    def inner(z, t):
        a, _ = alpha_sigma(float(t))
        return float(a) * z

    free = sample_ddim(inner, torch.randn(1, 3, 40, generator=torch.Generator().manual_seed(0)), 16)
    guided = sample_ddim(reconstruction_guidance_denoiser(inner, truth, keep, xi=1.0),
                         torch.randn(1, 3, 40, generator=torch.Generator().manual_seed(0)), 16)
    err_free = (free[..., :15] - truth[..., :15]).abs().mean()
    err_guided = (guided[..., :15] - truth[..., :15]).abs().mean()
    assert err_guided < 0.1 * err_free


def test_circular_denoiser_sees_the_wrap_around():
    frames, pad = 20, 4
    x = torch.arange(frames, dtype=torch.float32)[None, None]
    padded = circular_pad(x, pad)
    assert padded[0, 0, :pad].tolist() == list(range(16, 20)) and padded[0, 0, -pad:].tolist() == [0, 1, 2, 3]
    # a denoiser that averages each frame with its neighbours: at frame 0 it must see frame 19
    smooth = lambda z, t: torch.nn.functional.avg_pool1d(z, 3, 1, padding=1, count_include_pad=False)  # noqa: E731
    out = circular_denoiser(smooth, frames, pad)(x, torch.tensor(0.5))
    assert out.shape == x.shape
    assert out[0, 0, 0].item() == pytest.approx((19 + 0 + 1) / 3) and out[0, 0, 19].item() == pytest.approx((18 + 19 + 0) / 3)


def _max_step(x):
    return float(np.max(np.abs(np.diff(x, axis=0))))


def test_splice_is_bit_exact_outside_the_region_and_click_free_at_the_edges():
    rate = 22050
    t = np.arange(rate * 2) / rate
    old = (0.5 * np.sin(2 * np.pi * 55 * t)).astype(np.float32)
    new = (0.5 * np.sin(2 * np.pi * 82.4 * t + 1.0)).astype(np.float32)
    a, b, fade = 11025, 33075, int(0.03 * rate)
    out = splice(old, new, a, b, fade)
    assert np.array_equal(out[:a], old[:a]) and np.array_equal(out[b:], old[b:])
    assert np.array_equal(out[a + fade:b - fade], new[a + fade:b - fade])
    inside = _max_step(new[a + fade:b - fade])
    for edge in (a, b):
        assert _max_step(out[edge - 64:edge + fade + 64]) <= 1.05 * max(inside, _max_step(old))
    # a plain cut would click
    cut = old.copy()
    cut[a:b] = new[a:b]
    assert _max_step(cut[a - 2:a + 2]) > 2 * inside


def test_splice_keeps_stereo_layout():
    old = np.zeros((1000, 2), np.float32)
    new = np.ones((1000, 2), np.float32)
    out = splice(old, new, 200, 800, 50)
    assert out.shape == (1000, 2) and np.array_equal(out[:200], old[:200]) and np.all(out[250:750] == 1)


def test_loop_seam_makes_the_end_run_into_the_start():
    rate = 22050
    n = rate  # a 1 s loop of a 55 Hz tone whose period does not divide the length: a plain loop clicks
    t = np.arange(n + 2000) / rate
    wave = (0.5 * np.sin(2 * np.pi * 57.3 * t)).astype(np.float32)
    looped, continuation = wave[:n].copy(), wave[n:]
    plain_seam = abs(float(looped[0] - looped[-1]))
    fixed = loop_seam(looped, continuation, int(0.05 * rate))
    seam = abs(float(fixed[0] - fixed[-1]))
    step_inside = _max_step(looped)
    assert seam <= 1.05 * step_inside < plain_seam
    assert np.array_equal(fixed[int(0.05 * rate):], looped[int(0.05 * rate):])


# ------------------------------------------------------------------ through the generator


@pytest.fixture(scope="module")
def small_gen():
    from groundbass.core import BassGenerator

    return BassGenerator.from_preset("small", seed=0, device="cpu")


def _mix(seconds, rate=32000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    m = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (110.0, 138.6, 164.8)) + 0.01 * rng.standard_normal(len(t))
    return np.stack([m, m], axis=1).astype(np.float32), rate


@pytest.mark.parametrize("method", ["replace", "repaint", "guidance"])
def test_regenerate_equals_the_kept_bass_outside_the_region(small_gen, method):
    mix, rate = _mix(4.0)
    bass_rate = 44100
    old = (0.3 * np.sin(2 * np.pi * 55 * np.arange(4 * bass_rate) / bass_rate)).astype(np.float32)
    out = small_gen.edit(mix, rate, old, bass_rate, task="regenerate", start=1.0, end=2.5, steps=3, seed=1,
                         method=method, tuning=0.0)
    assert out.shape == old.shape and out.dtype == np.float32
    a, b = int(1.0 * bass_rate), int(2.5 * bass_rate)
    assert np.array_equal(out[:a], old[:a]) and np.array_equal(out[b:], old[b:])
    assert not np.array_equal(out[a:b], old[a:b])


def test_continue_keeps_the_existing_part_and_fills_to_the_mix_length(small_gen):
    mix, rate = _mix(4.0)
    old = (0.3 * np.sin(2 * np.pi * 55 * np.arange(2 * rate) / rate)).astype(np.float32)
    out = small_gen.edit(mix, rate, old, task="continue", steps=3, seed=1, tuning=0.0, crossfade=0.03)
    assert out.shape == (mix.shape[0],)
    keep = 2 * rate - int(0.03 * rate)
    assert np.array_equal(out[:keep], old[:keep])
    with pytest.raises(ValueError, match="shorter than the mix"):
        small_gen.edit(mix, rate, np.zeros(5 * rate, np.float32), task="continue", steps=2, seed=0)


def test_loop_output_has_the_input_length_and_no_seam(small_gen):
    mix, rate = _mix(3.3)
    out = small_gen.generate(mix, rate, steps=3, seed=2, loop=True, tuning=0.0)
    assert out.shape == mix.shape
    mono = out[:, 0]
    steps = np.abs(np.diff(mono))
    seam = abs(float(mono[0] - mono[-1]))
    assert seam <= max(1e-6, 1.5 * float(np.percentile(steps, 99.9)))


# ------------------------------------------------------------------ transitions


def test_transition_ramp_is_zero_before_one_after_and_monotone_between():
    from groundbass.core.editing import transition_ramp

    r = transition_ramp(30, 10, 20)
    assert torch.all(r[:10] == 0) and torch.all(r[20:] == 1)
    assert torch.all(torch.diff(r[9:21]) > 0)
    assert torch.equal(transition_ramp(8, 4, 4), torch.tensor([0.0] * 4 + [1.0] * 4))


@pytest.mark.parametrize("sampler", [sample_ddim, sample_dpmpp_2m])
def test_blend_denoiser_moves_from_the_first_estimate_to_the_second(sampler):
    from groundbass.core.editing import blend_denoiser, transition_ramp

    ramp = transition_ramp(40, 10, 30)
    first = lambda z, t: torch.zeros_like(z)  # noqa: E731
    second = lambda z, t: torch.ones_like(z)  # noqa: E731
    out = sampler(blend_denoiser(first, second, ramp), torch.randn(1, 3, 40), 10)
    torch.testing.assert_close(out, ramp.reshape(1, 1, -1).expand(1, 3, 40))


def test_blend_refiner_leaves_what_neither_refines():
    from groundbass.core.editing import blend_refiner

    assert blend_refiner(None, None, torch.ones(4)) is None
    x = torch.randn(1, 2, 4)
    shift = blend_refiner(None, lambda x0, t: x0 + 1.0, torch.tensor([0.0, 0.0, 1.0, 1.0]))
    y = shift(x, torch.tensor(0.5))
    assert torch.equal(y[..., :2], x[..., :2]) and torch.allclose(y[..., 2:], x[..., 2:] + 1)


def test_transition_keeps_the_bass_before_the_span_exactly(small_gen):
    mix, rate = _mix(4.0)
    bass_rate = 44100
    old = (0.3 * np.sin(2 * np.pi * 55 * np.arange(3 * bass_rate) / bass_rate)).astype(np.float32)
    ref = (0.3 * np.sign(np.sin(2 * np.pi * 41 * np.arange(2 * rate) / rate))).astype(np.float32)
    out = small_gen.transition(mix, rate, start=1.5, end=2.5, bass=old, bass_sample_rate=bass_rate, to_style=ref,
                               grounding=1.0, steps=3, seed=1, tuning=0.0, crossfade=0.03)
    assert out.shape == (4 * bass_rate,) and out.dtype == np.float32  # the mix's length at the bass's rate
    keep = int(1.5 * bass_rate) - int(round(0.03 * bass_rate))
    assert np.array_equal(out[:keep], old[:keep])
    assert not np.array_equal(out[keep:3 * bass_rate], old[keep:])
    with pytest.raises(ValueError, match="ends before the span"):
        small_gen.transition(mix, rate, start=3.5, end=3.9, bass=old, bass_sample_rate=bass_rate, steps=2, seed=0)
    with pytest.raises(ValueError, match="go from or to"):
        small_gen.transition(mix, rate, start=1.0, end=2.0, steps=2, seed=0)


def test_transition_between_one_reference_and_itself_is_that_generation(small_gen):
    """Known answer: blending two identical guided estimates changes nothing, so a transition
    from a reference to the same reference is the plain generation with that reference."""
    mix, rate = _mix(3.0)
    ref = (0.3 * np.sign(np.sin(2 * np.pi * 41 * np.arange(2 * rate) / rate))).astype(np.float32)
    kw = dict(steps=3, seed=4, tuning=0.0, grounding=1.0)
    plain = small_gen.generate(mix, rate, style=ref, **kw)
    moved = small_gen.transition(mix, rate, start=1.0, end=2.0, style=ref, to_style=ref, **kw)
    assert moved.shape == plain.shape
    np.testing.assert_allclose(moved, plain, atol=1e-4)


def test_transition_of_the_timbre_condition_on_the_bundled_model():
    """The bundled model has a timbre condition: the ramp blends two guided estimates (one per
    reference). Same reference on both sides = the plain generation; two references = a
    different bass that still has the mix's length."""
    from groundbass.core import BassGenerator

    gen = BassGenerator.from_pretrained("default", device="cpu", precision="fp32")
    assert gen.config.unet.style_dim > 0
    mix, rate = _mix(3.0)
    t = np.arange(2 * rate) / rate
    ref_a = (0.3 * np.sin(2 * np.pi * 55 * t)).astype(np.float32)
    ref_b = (0.3 * np.sign(np.sin(2 * np.pi * 41 * t))).astype(np.float32)
    kw = dict(steps=3, seed=4, tuning=0.0)
    plain = gen.generate(mix, rate, style=ref_a, **kw)
    same = gen.transition(mix, rate, start=1.0, end=2.0, style=ref_a, to_style=ref_a, **kw)
    np.testing.assert_allclose(same, plain, atol=1e-4)
    moved = gen.transition(mix, rate, start=1.0, end=2.0, style=ref_a, to_style=ref_b, **kw)
    assert moved.shape == plain.shape and np.isfinite(moved).all()
    assert np.abs(moved - plain)[2 * rate:].max() > 1e-3  # after the span the other reference rules


def test_resampled_ddim_with_one_jump_is_ddim_and_keeps_known_frames():
    from groundbass.core.diffusion import sample_ddim_resampled

    truth = _target()
    keep = frame_mask(40, [(0, 10), (25, 40)])
    noise = torch.randn(1, 3, 40, generator=torch.Generator().manual_seed(3))

    def inner(z, t):  # an analytic denoiser that depends on z, so a resampling pass changes it
        return 0.5 * torch.tanh(z)

    plain = sample_ddim(replacement_denoiser(inner, truth, keep), noise, 8)
    once = sample_ddim_resampled(replacement_denoiser(inner, truth, keep), noise, 8, jumps=1)
    assert torch.equal(plain, once)
    passes = []
    twice = sample_ddim_resampled(replacement_denoiser(inner, truth, keep), noise, 8, jump_length=2, jumps=2,
                                  generator=[torch.Generator().manual_seed(0)], callback=lambda k, n: passes.append(n))
    assert len(passes) == 8 + 6 and passes[-1] == 14  # the last piece (to t = 0) is not repeated
    assert torch.equal(twice[..., :10], truth[..., :10]) and torch.equal(twice[..., 25:], truth[..., 25:])
    assert not torch.allclose(twice[..., 10:25], plain[..., 10:25])  # the jumps changed the filled part


def test_renoise_follows_the_forward_process():
    from groundbass.core.diffusion import alpha_sigma, renoise

    x0 = torch.full((4000, 1, 8), 0.7)
    s, t = 0.3, 0.6
    a_s, s_s = (float(v) for v in alpha_sigma(s))
    a_t, s_t = (float(v) for v in alpha_sigma(t))
    z_s = a_s * x0 + s_s * torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
    z_t = renoise(z_s, s, t, torch.Generator().manual_seed(2))
    # marginal of z_t must be N(alpha_t x0, sigma_t^2)
    assert abs(float(z_t.mean()) - a_t * 0.7) < 0.01
    assert abs(float(z_t.std()) - s_t) < 0.01
    with pytest.raises(ValueError):
        renoise(z_s, t, s)
