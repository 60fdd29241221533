"""Fused linear + cross-entropy heads against the float64 reference (Triton interpreted on CPU, and chunked)."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before any Triton kernel is defined

import pytest

from selfsup.core import kernels
from selfsup.core.kernels import _chunked_soft_ce

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BACKENDS = ["chunked"] + (["triton"] if kernels.triton_available() else [])


def _implementation(backend):
    if backend == "triton":
        from selfsup.core.kernels import _triton_soft_ce

        return _triton_soft_ce
    return _chunked_soft_ce


def _reference(h, w, ht, wt, center, st, tt):
    t = ht @ wt.T
    if center is not None:
        t = t - center
    p_t = torch.softmax(t / tt, dim=1)
    return -(p_t * torch.log_softmax(h @ w.T / st, dim=1)).sum(1).mean()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("with_center", [False, True])
@pytest.mark.parametrize("temps", [(0.1, 0.04), (0.1, 0.01)])
def test_prototype_cross_entropy_matches_float64(poison_outputs, backend, with_center, temps):
    poison_outputs(_implementation(backend))
    gen = torch.Generator().manual_seed(5 + with_center)
    s_rows, hid, protos = 50, 24, 130
    h, ht = torch.randn(s_rows, hid, generator=gen), torch.randn(s_rows, hid, generator=gen)
    w, wt = torch.randn(protos, hid, generator=gen) * 0.3, torch.randn(protos, hid, generator=gen) * 0.3
    center = torch.randn(protos, generator=gen) if with_center else None
    h64, w64 = h.double().requires_grad_(True), w.double().requires_grad_(True)
    expected = _reference(h64, w64, ht.double(), wt.double(), center.double() if with_center else None, *temps)
    expected.backward()
    hd, wd = h.to(DEVICE).requires_grad_(True), w.to(DEVICE).requires_grad_(True)
    got = kernels.prototype_cross_entropy(hd, wd, ht.to(DEVICE), wt.to(DEVICE), student_temp=temps[0],
                                          teacher_temp=temps[1],
                                          center=center.to(DEVICE) if with_center else None, backend=backend)
    got.backward()
    torch.testing.assert_close(got.double().cpu(), expected.detach(), rtol=1e-5, atol=1e-5)
    # teacher logits reach |t| ~ 1/teacher_temp: fp32 rounding of t scales the same way
    tol = 2e-7 / temps[1]
    torch.testing.assert_close(hd.grad.double().cpu(), h64.grad, rtol=1e-4, atol=tol)
    torch.testing.assert_close(wd.grad.double().cpu(), w64.grad, rtol=1e-4, atol=tol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_cross_entropy_matches_torch(backend):
    gen = torch.Generator().manual_seed(9)
    h, w = torch.randn(60, 32, generator=gen), torch.randn(200, 32, generator=gen) * 0.5
    labels = torch.randint(0, 200, (60,), generator=gen)
    h64, w64 = h.double().requires_grad_(True), w.double().requires_grad_(True)
    expected = torch.nn.functional.cross_entropy(h64 @ w64.T, labels)
    expected.backward()
    hd, wd = h.to(DEVICE).requires_grad_(True), w.to(DEVICE).requires_grad_(True)
    got = kernels.linear_cross_entropy(hd, wd, labels.to(DEVICE), backend=backend)
    got.backward()
    torch.testing.assert_close(got.double().cpu(), expected.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(hd.grad.double().cpu(), h64.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(wd.grad.double().cpu(), w64.grad, rtol=1e-4, atol=1e-6)


def test_head_errors_are_named():
    h, w = torch.randn(4, 8), torch.randn(10, 8)
    with pytest.raises(ValueError, match="disagree on H"):
        kernels.prototype_cross_entropy(h, torch.randn(10, 7), h, w)
    with pytest.raises(ValueError, match=r"center must have shape \(10,\)"):
        kernels.prototype_cross_entropy(h, w, h, w, center=torch.zeros(3))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        kernels.linear_cross_entropy(h, w, torch.tensor([0, 1, 2, 10]))
