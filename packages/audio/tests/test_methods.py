import pytest
import torch

from selfsup.audio.augment import BYOLAAugment, linear_fader, log_mixup_exp, random_resize_crop
from selfsup.audio.build import METHOD_TOKENS, METHODS, build_method
from selfsup.audio.encoders import AudioCNN, SpectrogramTransformer


def _encoder(name: str):
    if METHOD_TOKENS[name] == "cnn":
        return AudioCNN(channels=8, out_dim=32)
    return SpectrogramTransformer("mini", frames=32, tokens=METHOD_TOKENS[name])


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_trains_its_encoder(name):
    torch.manual_seed(0)
    encoder = _encoder(name)
    kwargs = {"hidden_dim": 64} if name == "byol_a" else {}
    method = build_method(name, encoder, **kwargs)
    spec = torch.randn(6, 128, 32)
    if hasattr(method, "fit_targets"):
        method.fit_targets(torch.randn(20, 128, 32))
    before = [p.detach().clone() for p in encoder.parameters()]
    optimizer = torch.optim.AdamW(method.parameters(), lr=1e-3)
    out = method({"spec": spec})
    assert out["loss"].dim() == 0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())
    optimizer.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, encoder.parameters(), strict=True))
    if hasattr(method, "update_teacher"):
        method.update_teacher(0.5)


def test_masked_methods_need_a_transformer():
    with pytest.raises(TypeError, match="SpectrogramTransformer"):
        build_method("ssast", AudioCNN(channels=8))


def test_ssast_discriminates_among_the_masked_patches_of_one_clip():
    torch.manual_seed(0)
    method = build_method("ssast", SpectrogramTransformer("mini", frames=32, tokens="frame"), mask_ratio=0.5)
    out = method({"spec": torch.randn(4, 128, 32)})
    assert set(out) == {"loss", "nce", "mse", "nce_accuracy"}
    torch.testing.assert_close(out["loss"], out["nce"] + 10 * out["mse"])


def test_hubert_targets_are_nearest_codewords_and_need_fitting():
    torch.manual_seed(0)
    method = build_method("hubert", SpectrogramTransformer("mini", frames=32, tokens="frame"), num_clusters=4)
    with pytest.raises(RuntimeError, match="fit_targets"):
        method({"spec": torch.randn(2, 128, 32)})
    specs = torch.randn(10, 128, 32)
    method.fit_targets(specs)
    assert method.codebook.shape == (4, 256)
    targets = method.targets(specs[:2])
    frames = specs[:2].reshape(2, 128, 16, 2).permute(0, 2, 1, 3).reshape(2, 16, 256)
    expected = ((frames[:, :, None] - method.codebook) ** 2).sum(-1).argmin(-1)
    assert torch.equal(targets, expected)


def test_eat_moves_its_teacher_towards_the_student():
    torch.manual_seed(0)
    method = build_method("eat", SpectrogramTransformer("mini", frames=32), num_clones=2)
    with torch.no_grad():
        for p in method.encoder.parameters():
            p.add_(1.0)
    teacher = next(method.teacher.module.parameters()).clone()
    method.update_teacher(0.0)
    assert not torch.equal(teacher, next(method.teacher.module.parameters()))
    torch.testing.assert_close(next(method.teacher.module.parameters()), next(method.encoder.parameters()))


def test_byol_a_augmentations():
    torch.manual_seed(0)
    spec = torch.randn(5, 64, 40)
    torch.testing.assert_close(log_mixup_exp(spec, 0.0), spec)  # no mixing
    mixed = log_mixup_exp(spec, 0.4)
    assert (mixed >= spec + torch.log1p(torch.tensor(-0.4)) - 1e-5).all()  # exp-mixing keeps (1-l) of the power
    same = random_resize_crop(spec, (1.0, 1.0), (1.0, 1.0), virtual=1.0)  # full-size crop at the centre
    torch.testing.assert_close(same, spec, atol=1e-5, rtol=1e-5)
    zoom = random_resize_crop(spec, (0.5, 0.5), (0.5, 0.5), virtual=1.0)
    assert zoom.shape == spec.shape and not torch.allclose(zoom, spec)
    torch.testing.assert_close(linear_fader(spec, 0.0), spec)
    ramp = linear_fader(torch.zeros(3, 2, 10), 1.0)
    steps = ramp[:, 0].diff(dim=1)
    torch.testing.assert_close(steps, steps[:, :1].expand_as(steps))  # linear in time
    views = BYOLAAugment()(spec)
    assert len(views) == 2 and views[0].shape == spec.shape and not torch.allclose(views[0], views[1])
