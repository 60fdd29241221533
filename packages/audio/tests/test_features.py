import numpy as np
import pytest
import torch

from selfsup.audio.features import SILENCE, SpecAugment, SpectrogramStats, fit_frames, kaldi_fbank, log_mel_spectrogram


def test_fbank_shape_and_pitch_order(tone):
    low = kaldi_fbank(torch.from_numpy(tone(400, 1.0))[None], 8000)
    high = kaldi_fbank(torch.from_numpy(tone(3000, 1.0))[None], 8000)
    assert low.shape == (128, 98) and high.shape == (128, 98)  # 1 s at 16 kHz, 25 ms window / 10 ms shift
    assert low.mean(dim=1).argmax() < high.mean(dim=1).argmax()
    assert torch.isfinite(low).all()


def test_fbank_equals_transformers_ast_feature_extractor():
    transformers = pytest.importorskip("transformers")
    wave = np.random.default_rng(1).standard_normal(14000).astype(np.float32) * 0.1
    extractor = transformers.ASTFeatureExtractor(num_mel_bins=128, max_length=96, mean=-4.0, std=3.0)
    theirs = extractor(wave, sampling_rate=16000, return_tensors="pt")["input_values"][0].T
    ours = SpectrogramStats(-4.0, 3.0)(fit_frames(kaldi_fbank(torch.from_numpy(wave)[None], 16000), 96))
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)


def test_fbank_rejects_stereo_and_pads_tiny_clips():
    with pytest.raises(ValueError, match="mono"):
        kaldi_fbank(torch.randn(2, 800), 8000)
    assert kaldi_fbank(torch.randn(1, 50), 8000).shape == (128, 1)


def test_log_mel_spectrogram_shape():
    spec = log_mel_spectrogram(torch.randn(1, 16000), 16000, n_mels=64)
    assert spec.shape == (64, 101) and torch.isfinite(spec).all()


def test_fit_frames_pads_and_crops():
    spec = torch.randn(4, 10)
    assert torch.equal(fit_frames(spec, 12)[:, :10], spec) and fit_frames(spec, 12)[:, 10:].abs().sum() == 0
    assert torch.equal(fit_frames(spec, 6), spec[:, :6])
    assert torch.equal(fit_frames(spec, 6, offset=3), spec[:, 3:9])
    assert (fit_frames(spec, 12, pad_value=SILENCE)[:, 10:] == SILENCE).all() and SILENCE < -15


def test_stats_skip_padding_and_use_ast_formula():
    specs = torch.zeros(2, 3, 5)
    specs[0, :, :2] = torch.tensor([1.0, 3.0])
    specs[1, :, :3] = torch.tensor([2.0, 2.0, 2.0])
    stats = SpectrogramStats.fit(specs, torch.tensor([2, 3]))
    real = torch.tensor([1.0, 3.0, 2.0, 2.0, 2.0]).repeat(3)
    assert stats.mean == pytest.approx(float(real.mean())) and stats.std == pytest.approx(float(real.std()))
    assert torch.allclose(stats(torch.tensor(5.0)), (5.0 - real.mean()) / (2 * real.std()))
    with pytest.raises(ValueError, match="constant"):
        SpectrogramStats.fit(torch.ones(2, 3, 4))


def test_specaugment_masks_each_example_independently():
    torch.manual_seed(0)
    x = torch.randn(8, 64, 50) + 5
    out = SpecAugment(freq_mask=20, time_mask=20, num_masks=1)(x)
    zeros = out == 0
    assert out.shape == x.shape and zeros.any()
    assert len({tuple(z.flatten().tolist()) for z in zeros}) > 4  # a different mask for (nearly) every example
    assert torch.equal(out[~zeros], x[~zeros])
