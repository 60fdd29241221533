"""The contrastive losses' prologue (L2 normalisation of two views and their positive logits) fused in Triton,
against PyTorch in float64: values and gradients, the clamped tiny-norm branch, and the errors for bad input.

Interpreted on CPU with fp32 operands; on a machine with CUDA the compiled kernels, bf16 included.
"""

import importlib
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before any Triton kernel is defined

import pytest
import selfsup_kernels_experimental as kernels
from selfsup_kernels_experimental.unit_pair import unit_pair

unit_pair_module = importlib.import_module("selfsup_kernels_experimental.unit_pair")  # the package exports the function

pytestmark = pytest.mark.skipif(not kernels.triton_available(), reason="needs triton")
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _reference(a, b, scale):
    a_hat, b_hat = torch.nn.functional.normalize(a, dim=1), torch.nn.functional.normalize(b, dim=1)
    return a_hat, b_hat, (a_hat * b_hat).sum(1) * scale


def _views(gen, n=37, d=40):
    """Two views of n rows, a few scaled far below F.normalize's eps (1e-12) so that its clamp is exercised."""
    a, b = torch.randn(n, d, generator=gen) * 3, torch.randn(n, d, generator=gen) * 0.5
    a[3] *= 1e-14
    b[5] *= 1e-14
    return a, b


@pytest.mark.parametrize("stacked", [False, True])
@pytest.mark.parametrize("uses", ["all", "units", "positive"])
def test_fused_prologue_matches_pytorch_in_float64(poison_outputs, stacked, uses):
    from selfsup_kernels_experimental import _triton_unit_pair

    poison_outputs(_triton_unit_pair)
    gen = torch.Generator().manual_seed(3 + 2 * stacked + len(uses))
    a, b = _views(gen)
    scale = 1 / 0.07
    w_a, w_b, w_pos = torch.randn(*a.shape, generator=gen), torch.randn(*b.shape, generator=gen), torch.randn(
        a.shape[0], generator=gen)

    def objective(a_hat, b_hat, positive):
        terms = {"units": (a_hat * w_a.to(a_hat)).sum() + (b_hat * w_b.to(b_hat)).sum(),
                 "positive": (positive * w_pos.to(positive)).sum()}
        return sum(terms.values()) if uses == "all" else terms[uses]

    a64, b64 = a.double().requires_grad_(True), b.double().requires_grad_(True)
    ref = _reference(a64, b64, scale)
    objective(*ref).backward()

    ad, bd = a.to(DEVICE).requires_grad_(True), b.to(DEVICE).requires_grad_(True)
    out = unit_pair(ad, bd, scale, backend="triton", stacked=stacked)
    if stacked:
        units, positive = out
        assert units.shape == (2 * a.shape[0], a.shape[1])
        a_hat, b_hat = units[:a.shape[0]], units[a.shape[0]:]
    else:
        a_hat, b_hat, positive = out
    assert a_hat.dtype == b_hat.dtype == torch.float32 and positive.dtype == torch.float32
    for mine, expected in ((a_hat, ref[0]), (b_hat, ref[1]), (positive, ref[2])):
        torch.testing.assert_close(mine.double().cpu(), expected.detach(), rtol=1e-5, atol=1e-5)
    objective(a_hat, b_hat, positive).backward()
    for mine, expected, clamped in ((ad.grad, a64.grad, 3), (bd.grad, b64.grad, 5)):
        mine, rest = mine.double().cpu(), torch.arange(a.shape[0]) != clamped
        torch.testing.assert_close(mine[rest], expected[rest], rtol=1e-4, atol=1e-4)
        # the clamped row: du / eps, no projection; du's fp32 rounding is scaled by 1e12 with it
        torch.testing.assert_close(mine[clamped], expected[clamped], rtol=1e-3, atol=0)
        assert mine[clamped].abs().max() > 1e10


def test_only_the_inputs_that_need_a_gradient_get_one(monkeypatch):
    from selfsup_kernels_experimental import _triton_unit_pair

    calls = []
    real = _triton_unit_pair.unit_grad
    monkeypatch.setattr(_triton_unit_pair, "unit_grad", lambda *args: calls.append(1) or real(*args))
    gen = torch.Generator().manual_seed(5)
    a, b = _views(gen)
    b_req = b.clone().to(DEVICE).requires_grad_(True)
    *_, positive = unit_pair(a.to(DEVICE), b_req, 2.0, backend="triton")
    positive.sum().backward()
    assert len(calls) == 1
    b64 = b.double().requires_grad_(True)
    _reference(a.double(), b64, 2.0)[2].sum().backward()
    torch.testing.assert_close(b_req.grad.double().cpu(), b64.grad, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stacked", [False, True])
def test_non_finite_and_overflowing_inputs_are_named(stacked):
    a, b = torch.randn(8, 16, device=DEVICE), torch.randn(8, 16, device=DEVICE)
    with_nan, with_inf = b.clone(), a.clone()
    with_nan[2, 0] = float("nan")
    with_inf[7, 3] = float("inf")
    with pytest.raises(ValueError, match=r"z2 contains non-finite values \(1 NaN, 0 inf\)"):
        unit_pair(a, with_nan, 1.0, ("z1", "z2"), backend="triton", stacked=stacked)
    with pytest.raises(ValueError, match=r"z1 contains non-finite values \(0 NaN, 1 inf\)"):
        unit_pair(with_inf, b, 1.0, ("z1", "z2"), backend="triton", stacked=stacked)
    with pytest.raises(ValueError, match="squared norm overflows float32"):
        unit_pair(a * 1e20, b, 1.0, ("z1", "z2"), backend="triton", stacked=stacked)
    with pytest.raises(ValueError, match="z2 contains non-finite"):  # through the losses, which name their inputs
        kernels.nt_xent(a, with_nan, backend="triton")
    with pytest.raises(ValueError, match="key contains non-finite"):
        kernels.info_nce(a, with_nan, symmetric=stacked, backend="triton")


def test_pytorch_prologue_by_name_and_off_triton(monkeypatch):
    """``SELFSUP_TRITON_NORMALIZE=torch`` keeps F.normalize on the Triton backend; the chunked backend always does."""
    calls = []
    real = unit_pair_module._FusedUnitPair.apply
    monkeypatch.setattr(unit_pair_module._FusedUnitPair, "apply", lambda *args: calls.append(1) or real(*args))
    a, b = torch.randn(8, 16, device=DEVICE), torch.randn(8, 16, device=DEVICE)
    fused = unit_pair(a, b, 2.0, backend="triton")
    assert len(calls) == 1
    monkeypatch.setenv("SELFSUP_TRITON_NORMALIZE", "torch")
    plain = unit_pair(a, b, 2.0, backend="triton")
    monkeypatch.delenv("SELFSUP_TRITON_NORMALIZE")
    chunked = unit_pair(a, b, 2.0, backend="chunked")
    assert len(calls) == 1
    for got in (plain, chunked):
        for mine, expected in zip(fused, got, strict=True):
            torch.testing.assert_close(mine, expected, rtol=1e-5, atol=1e-6)
    monkeypatch.setenv("SELFSUP_TRITON_NORMALIZE", "triton")
    with pytest.raises(ValueError, match="SELFSUP_TRITON_NORMALIZE must be"):
        unit_pair(a, b, 2.0, backend="triton")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="bf16 on the compiled kernels")
def test_bf16_prologue_on_gpu():
    gen = torch.Generator().manual_seed(9)
    a, b = (t.bfloat16().cuda() for t in _views(gen, n=300, d=256))
    ad, bd = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    a_hat, b_hat, positive = unit_pair(ad, bd, 10.0, backend="triton")
    assert a_hat.dtype == torch.bfloat16 and positive.dtype == torch.float32
    (a_hat.float().sum() + b_hat.float().square().sum() + positive.sum()).backward()
    a64, b64 = a.double().requires_grad_(True), b.double().requires_grad_(True)
    ref = _reference(a64, b64, 10.0)
    (ref[0].sum() + ref[1].square().sum() + ref[2].sum()).backward()
    torch.testing.assert_close(positive.double(), ref[2].detach(), rtol=2e-2, atol=2e-2)
    for mine, expected in ((ad.grad, a64.grad), (bd.grad, b64.grad)):
        ok = torch.ones(mine.shape[0], dtype=torch.bool, device="cuda")
        ok[3] = ok[5] = False  # the clamped rows' gradients are ~1e12: compared on their own scale
        assert float((mine[ok].double() - expected[ok]).norm() / expected[ok].norm()) < 2e-2
