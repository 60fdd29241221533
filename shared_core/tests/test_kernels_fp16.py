"""fp16 operands: the kernels' gradients keep the small weights that fp16 cannot hold.

The backward's weights ``dS`` (an upstream gradient times a probability) go to the tensor cores in the operands'
dtype. With 5 exponent bits, fp16 rounds them to 0 below 6e-8, where the true gradient is still a normal fp16
number. Here the upstream gradient is small enough for that (as in a mean over a large batch) and every gradient
must come out as close to the float64 reference as its own rounding to fp16 allows. Triton is interpreted on CPU
(numpy computes fp16 ``tl.dot`` exactly, unlike bf16); on a machine with CUDA the compiled kernels run.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before any Triton kernel is defined

import pytest

from selfsup.core import kernels

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
needs_triton = pytest.mark.skipif(not kernels.triton_available(), reason="needs triton")
# Per-row upstream gradient: the gradients come out near 1e-3 (normal in fp16, rounding error ~2.4e-4 relative)
# while most weights g * P (P ~ 1 / 128) are below fp16's smallest normal number, 6.1e-5, many below 6e-8.
UPSTREAM = 2e-4
# chunked (PyTorch, computes in fp32) and Triton's row kernels
BACKENDS = ["chunked"] + (["triton"] if kernels.triton_available() else [])
CONTRASTIVE_BACKENDS = BACKENDS


def _unit(gen, n, d):
    return torch.nn.functional.normalize(torch.randn(n, d, generator=gen), dim=1).half()


def _relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.double().cpu() - want).norm() / want.norm())


def _assert_as_close_as_fp16_allows(got: torch.Tensor, want: torch.Tensor) -> None:
    """``got`` (fp16) against the float64 ``want``: within twice the error of ``want`` rounded to fp16 itself."""
    assert got.dtype == torch.float16
    rounding = _relative_error(want.half(), want)
    assert 0 < rounding < 1e-3  # the reference is a normal fp16 number: the test means what it says
    assert _relative_error(got, want) < 2 * rounding


@pytest.mark.parametrize("backend", CONTRASTIVE_BACKENDS)
@pytest.mark.parametrize("max_logit", [None, 10.0])  # running max; direct exponentials
def test_contrastive_lse_gradients_in_fp16(backend, max_logit):
    gen = torch.Generator().manual_seed(3)
    q, k = _unit(gen, 128, 32), _unit(gen, 160, 32)
    q64, k64 = q.double().requires_grad_(True), k.double().requires_grad_(True)
    s = q64 @ k64.T * 10.0
    (UPSTREAM * (torch.logsumexp(s, 1).sum() + torch.logsumexp(s, 0).sum())).backward()

    qd, kd = q.to(DEVICE).requires_grad_(True), k.to(DEVICE).requires_grad_(True)
    lse_r, lse_c = kernels.contrastive_lse(qd, kd, 10.0, columns=True, backend=backend, max_logit=max_logit)
    (UPSTREAM * (lse_r.sum() + lse_c.sum())).backward()
    _assert_as_close_as_fp16_allows(qd.grad, q64.grad)
    _assert_as_close_as_fp16_allows(kd.grad, k64.grad)


@pytest.mark.parametrize("backend", BACKENDS)
def test_self_contrastive_lse_gradient_in_fp16(backend):
    gen = torch.Generator().manual_seed(4)
    z = _unit(gen, 144, 32)
    z64 = z.double().requires_grad_(True)
    s = (z64 @ z64.T * 10.0).fill_diagonal_(float("-inf"))
    (UPSTREAM * torch.logsumexp(s, 1).sum()).backward()

    zd = z.to(DEVICE).requires_grad_(True)
    (UPSTREAM * kernels.self_contrastive_lse(zd, 10.0, backend=backend).sum()).backward()
    _assert_as_close_as_fp16_allows(zd.grad, z64.grad)


@pytest.mark.parametrize("backend", ["chunked"] + (["triton"] if kernels.triton_available() else []))
def test_prototype_heads_gradients_in_fp16(backend):
    gen = torch.Generator().manual_seed(5)
    h, w, ht, wt = (torch.randn(n, 32, generator=gen).half() for n in (96, 200, 96, 200))
    labels = torch.randint(0, 200, (96,), generator=gen)
    h64, w64 = h.double().requires_grad_(True), w.double().requires_grad_(True)
    teacher = torch.softmax(ht.double() @ wt.double().T / 0.04, dim=1)
    soft = -(teacher * torch.log_softmax(h64 @ w64.T / 0.1, dim=1)).sum(1).mean()
    hard = torch.nn.functional.cross_entropy(h64 @ w64.T, labels)
    (UPSTREAM * (soft + hard)).backward()  # a mean over 96 rows: each row's weight is UPSTREAM / 96

    hd, wd = h.to(DEVICE).requires_grad_(True), w.to(DEVICE).requires_grad_(True)
    soft = kernels.prototype_cross_entropy(hd, wd, ht.to(DEVICE), wt.to(DEVICE), backend=backend)
    hard = kernels.linear_cross_entropy(hd, wd, labels.to(DEVICE), backend=backend)
    (UPSTREAM * (soft + hard)).backward()
    _assert_as_close_as_fp16_allows(hd.grad, h64.grad)
    _assert_as_close_as_fp16_allows(wd.grad, w64.grad)


@needs_triton
def test_the_fp16_weight_scale_is_the_power_of_two_that_fits():
    from selfsup.core.kernels import _triton_lse as T

    for bound in (5e-10, 3e-5, 1.0, 7.5e3, 1e9):
        f, inv_f = T.half_grad_scale(torch.float16, torch.tensor(bound))
        assert f.shape == inv_f.shape == (1,) and float(f * inv_f) == 1.0
        assert float(torch.log2(f)).is_integer()
        assert float(f) * bound <= T.HALF_GRAD_PEAK < 2 * float(f) * bound
    f, inv_f = T.half_grad_scale(torch.float16, torch.tensor(0.0))  # all gradients zero: finite, any scale works
    assert torch.isfinite(f).all() and torch.isfinite(inv_f).all()
    assert T.half_grad_scale(torch.bfloat16, torch.tensor(1e-9)) is None
    assert T.half_grad_scale(torch.float32, torch.tensor(1e-9)) is None
    inv_f, g_r, none, g_c = T.half_rescaled(torch.float16, torch.tensor([1.0, -3.0]), None, torch.tensor([-0.5]),
                                            terms=2)
    assert none is None and float(1 / inv_f) * 7.0 <= T.HALF_GRAD_PEAK < 2 * float(1 / inv_f) * 7.0  # 2 * (3 + 0.5)
    torch.testing.assert_close(g_r * inv_f, torch.tensor([1.0, -3.0]), rtol=0, atol=0)
    kept = T.half_rescaled(torch.bfloat16, g_c)
    assert kept[0] is None and kept[1] is g_c  # other dtypes: as they are
