import numpy as np
import pytest
import torch

from groundbass.core.spectral import (
    istft,
    log_power,
    mel_filterbank,
    multiscale_spectral_distance,
    stft,
)


def _sine(freq: float, sr: int = 22050, seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(sr * seconds), dtype=torch.float32) / sr
    return (0.5 * torch.sin(2 * np.pi * freq * t))[None]


@pytest.mark.parametrize("n_fft,hop", [(1024, 256), (512, 128)])
def test_stft_istft_round_trip(n_fft, hop):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, hop * 100, generator=gen) * 0.3 + _sine(110.0, seconds=2.0)[:, : hop * 100]
    spec = stft(x, n_fft, hop)
    assert spec.shape == (2, n_fft // 2 + 1, 100)  # exactly samples // hop frames
    y = istft(spec, n_fft, hop, length=x.shape[-1])
    assert y.shape == x.shape
    assert (y - x).abs().max().item() < 1e-4


def test_log_power_is_log_of_power_plus_eps():
    spec = torch.complex(torch.tensor([[3.0]]), torch.tensor([[4.0]]))
    assert torch.allclose(log_power(spec, eps=1e-5), torch.log(torch.tensor([[25.0 + 1e-5]])))


def test_mel_filterbank_shape_and_peaks():
    fb = mel_filterbank(513, 44100, 128)
    assert fb.shape == (128, 513)
    assert (fb >= 0).all()
    peaks = fb.argmax(dim=1)
    assert (peaks[1:] >= peaks[:-1]).all()  # centres rise with the band index


def test_mssd_zero_for_identical_and_grows_with_pitch_change():
    a = _sine(110.0)
    assert multiscale_spectral_distance(a, a.clone()).item() == 0.0
    semitone = multiscale_spectral_distance(a, _sine(110.0 * 2 ** (1 / 12))).item()
    tiny_noise = multiscale_spectral_distance(a, a + 1e-4 * torch.randn_like(a)).item()
    assert semitone > 0.0
    assert semitone > 100 * tiny_noise
    fifth = multiscale_spectral_distance(a, _sine(110.0 * 1.5)).item()
    assert fifth > semitone * 0.5  # a large change is not smaller than a small one


def test_griffin_lim_recovers_a_consistent_phase():
    from groundbass.core.spectral import griffin_lim

    x = _sine(110.0, seconds=1.0)[:, : 128 * 160] + 0.5 * _sine(220.0, seconds=1.0)[:, : 128 * 160]
    spec = stft(x, 1024, 128)
    mag = spec.abs()
    rnd = torch.rand(mag.shape, generator=torch.Generator().manual_seed(0)) * 2 * np.pi

    def inconsistency(s):  # how far the magnitude of the signal it makes is from the target
        return ((stft(istft(s, 1024, 128), 1024, 128).abs() - mag).norm() / mag.norm()).item()

    before = inconsistency(torch.polar(mag, rnd))
    after = inconsistency(griffin_lim(mag, rnd, 1024, 128, iters=32))
    assert after < 0.5 * before
    assert griffin_lim(mag, rnd, 1024, 128, iters=0).angle().allclose(torch.polar(mag, rnd).angle())


def test_log_power_low_bins_equals_the_full_stft_cropped():
    """The shared-block DFT gives the long-window STFT's low bins: to float32 rounding of the
    float64 FFT, and within the float32 FFT's own error of the float32 one."""
    import groundbass.core.spectral as spectral
    from groundbass.core.spectral import log_power, log_power_low_bins, stft

    gen = torch.Generator().manual_seed(0)
    t = torch.arange(60_000) / 22050
    wave = torch.stack([0.3 * torch.sin(2 * np.pi * 55 * t) + 0.01 * torch.randn(60_000, generator=gen),
                        0.1 * torch.randn(60_000, generator=gen)])
    wave[:, 20_000:30_000] = 0.0  # silence inside: log power at the eps floor
    exact = log_power(stft(wave.double(), 4096, 256))[:, :186]
    fast = log_power_low_bins(wave, 4096, 256, 186)
    assert fast.shape == (2, 186, 60_000 // 256) and fast.dtype == torch.float32
    assert float((fast.double() - exact).abs().max()) < 1e-5
    fft32 = log_power(stft(wave, 4096, 256))[:, :186]
    assert float((fast - fft32).abs().max()) <= 1.5 * float((fft32.double() - exact).abs().max()) + 1e-5
    old = spectral._FRAME_BLOCK
    try:  # frame blocks that do not divide the frames give the same values
        spectral._FRAME_BLOCK = 37
        torch.testing.assert_close(log_power_low_bins(wave, 4096, 256, 186), fast, atol=1e-6, rtol=0)
    finally:
        spectral._FRAME_BLOCK = old
    # a hop that does not divide the window takes the STFT path
    odd = log_power_low_bins(wave, 1000, 300, 40)
    torch.testing.assert_close(odd, log_power(stft(wave, 1000, 300))[:, :40], atol=1e-4, rtol=1e-5)
