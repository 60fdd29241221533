"""Every objective against the independent float64 loop references, in value and gradient."""

import zlib

import core_references as ref
import pytest
import torch

from selfsup.core import objectives as obj

B, D = 12, 16


def _randn(gen, *shape, scale=1.0):
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale


def _pair(gen):
    return [_randn(gen, B, D, scale=3.0), _randn(gen, B, D, scale=3.0)]


def _token_mask(gen, b=4, n=6):
    mask = torch.rand(b, n, generator=gen) < 0.5
    mask[0, 0] = True  # never empty
    return mask


def _soft(gen, *shape):
    return torch.softmax(_randn(gen, *shape), dim=-1)


# name -> (inputs(gen, t), library(inputs, t), reference(inputs, t)); inputs: list, first entries get grads
CASES = {
    "info_nce": (_pair, lambda x, t: obj.info_nce(x[0], x[1], t), lambda x, t: ref.info_nce(x[0], x[1], t)),
    "info_nce_symmetric": (
        _pair,
        lambda x, t: obj.info_nce(x[0], x[1], t, symmetric=True),
        lambda x, t: ref.info_nce(x[0], x[1], t, symmetric=True),
    ),
    "info_nce_queue": (
        lambda g: [*_pair(g), _randn(g, 20, D)],
        lambda x, t: obj.info_nce(x[0], x[1], t, negatives=x[2]),
        lambda x, t: ref.info_nce(x[0], x[1], t, negatives=x[2]),
    ),
    "nt_xent": (_pair, lambda x, t: obj.nt_xent(x[0], x[1], t), lambda x, t: ref.nt_xent(x[0], x[1], t)),
    "dcl": (_pair, lambda x, t: obj.dcl(x[0], x[1], t), lambda x, t: ref.dcl(x[0], x[1], t)),
    "dclw": (_pair, lambda x, t: obj.dclw(x[0], x[1], t), lambda x, t: ref.dcl(x[0], x[1], t, sigma=0.5)),
    "supcon": (
        lambda g: [_randn(g, B, 2, D), torch.randint(0, 4, (B,), generator=g)],
        lambda x, t: obj.supcon(x[0], x[1], t),
        lambda x, t: ref.supcon(x[0], x[1], t),
    ),
    "supcon_single_view": (
        lambda g: [_randn(g, B, D), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7])],
        lambda x, t: obj.supcon(x[0], x[1], t),
        lambda x, t: ref.supcon(x[0][:, None], x[1], t),
    ),
    "barlow_twins": (_pair, lambda x, t: obj.barlow_twins(x[0], x[1], 5e-3),
                     lambda x, t: ref.barlow_twins(x[0], x[1], 5e-3)),
    "vicreg": (_pair, lambda x, t: obj.vicreg(x[0], x[1]), lambda x, t: ref.vicreg(x[0], x[1])),
    "negative_cosine": (_pair, lambda x, t: obj.negative_cosine(x[0], x[1], stop_gradient=False),
                        lambda x, t: ref.negative_cosine(x[0], x[1])),
    "dino": (
        lambda g: [_randn(g, 4, 3, 10, scale=2.0), _randn(g, 2, 3, 10, scale=2.0), _randn(g, 10)],
        lambda x, t: obj.dino(x[0], x[1], x[2], student_temp=0.1, teacher_temp=t),
        lambda x, t: ref.dino(x[0], x[1].detach(), x[2], 0.1, t),
    ),
    "masked_reconstruction": (
        lambda g: [_randn(g, 4, 6, 5), _randn(g, 4, 6, 5), _token_mask(g)],
        lambda x, t: obj.masked_reconstruction(x[0], x[1], x[2]),
        lambda x, t: ref.masked_reconstruction(x[0], x[1].detach(), x[2]),
    ),
    "masked_reconstruction_raw": (
        lambda g: [_randn(g, 4, 6, 5), _randn(g, 4, 6, 5), None],
        lambda x, t: obj.masked_reconstruction(x[0], x[1], x[2], normalize_target=False),
        lambda x, t: ref.masked_reconstruction(x[0], x[1].detach(), None, normalize=False),
    ),
    "masked_token_ce_hard": (
        lambda g: [_randn(g, 4, 6, 9, scale=3.0), torch.randint(0, 9, (4, 6), generator=g), _token_mask(g)],
        lambda x, t: obj.masked_token_cross_entropy(x[0], x[1], x[2]),
        lambda x, t: ref.masked_token_ce(x[0], x[1], x[2]),
    ),
    "masked_token_ce_soft": (
        lambda g: [_randn(g, 4, 6, 9, scale=3.0), _soft(g, 4, 6, 9), _token_mask(g)],
        lambda x, t: obj.masked_token_cross_entropy(x[0], x[1], x[2]),
        lambda x, t: ref.masked_token_ce(x[0], x[1].detach(), x[2]),
    ),
    "latent_prediction": (
        lambda g: [_randn(g, 4, 6, 8), _randn(g, 3, 4, 6, 8, scale=2.0), _token_mask(g)],
        lambda x, t: obj.latent_prediction(x[0], obj.normalized_teacher_target(x[1]), x[2]),
        lambda x, t: ref.latent_prediction(x[0], list(x[1].detach()), x[2]),
    ),
}
TEMPERATURE_FREE = {"barlow_twins", "vicreg", "negative_cosine", "masked_reconstruction",
                    "masked_reconstruction_raw", "masked_token_ce_hard", "masked_token_ce_soft",
                    "latent_prediction"}
PARAMS = [(name, t) for name in CASES for t in ((1.0,) if name in TEMPERATURE_FREE else (0.1, 0.01))]


def _grad_inputs(x):
    return [v for v in x if isinstance(v, torch.Tensor) and v.dtype == torch.float64]


@pytest.mark.parametrize(("name", "temperature"), PARAMS)
def test_float64_value_and_gradient_match_reference(name, temperature):
    make, library, reference = CASES[name]
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    x = make(gen)
    x_ref = [v.clone().requires_grad_(True) if v is not None and v.dtype == torch.float64 else v for v in x]
    x_lib = [v.clone().requires_grad_(True) if v is not None and v.dtype == torch.float64 else v for v in x]
    expected = reference(x_ref, temperature)
    got = library(x_lib, temperature)
    assert got.shape == ()
    torch.testing.assert_close(got, expected.reshape(()), rtol=1e-9, atol=1e-10)
    expected.backward()
    got.backward()
    for a, b in zip(_grad_inputs(x_lib), _grad_inputs(x_ref), strict=True):
        if b.grad is None:
            assert a.grad is None or a.grad.abs().max() == 0
        else:
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize(("name", "temperature"), PARAMS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_low_precision_inputs_are_computed_without_overflow(name, temperature, dtype):
    make, library, reference = CASES[name]
    gen = torch.Generator().manual_seed(1 + zlib.crc32(name.encode()))
    x = [v.to(dtype) if v is not None and v.dtype == torch.float64 else v for v in make(gen)]
    x_lib = [v.clone().requires_grad_(True) if v is not None and v.dtype == dtype else v for v in x]
    got = library(x_lib, temperature)
    expected = reference([v.double() if v is not None and v.dtype == dtype else v for v in x], temperature)
    assert got.dtype == torch.float32
    assert torch.isfinite(got)
    torch.testing.assert_close(got.double(), expected.detach().reshape(()), rtol=2e-5, atol=2e-5)
    got.backward()
    grads = [v.grad for v in x_lib if v is not None and v.dtype == dtype and v.grad is not None]
    assert grads, "no gradient reached the inputs"
    for g in grads:
        assert g.dtype == dtype and bool(torch.isfinite(g).all())
