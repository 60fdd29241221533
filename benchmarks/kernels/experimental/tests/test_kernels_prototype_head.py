"""Fused linear + cross-entropy heads against the float64 reference (Triton interpreted on CPU, and chunked)."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before any Triton kernel is defined

import pytest
import selfsup_kernels_experimental as kernels
from selfsup_kernels_experimental import _chunked_head_ce, _chunked_lse

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BACKENDS = ["chunked"] + (["triton"] if kernels.triton_available() else [])


def _implementation(backend):
    if backend == "triton":
        from selfsup_kernels_experimental import _triton_soft_ce

        return _triton_soft_ce
    return _chunked_head_ce


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


def _head_inputs(seed, s_rows=37, hid=16, protos=90):
    gen = torch.Generator().manual_seed(seed)
    h, ht = torch.randn(s_rows, hid, generator=gen), torch.randn(s_rows, hid, generator=gen)
    w, wt = torch.randn(protos, hid, generator=gen) * 0.4, torch.randn(protos, hid, generator=gen) * 0.4
    center = torch.randn(protos, generator=gen) * 0.2
    labels = torch.randint(0, protos, (s_rows,), generator=gen)
    return h, w, ht, wt, center, labels


def _float64_gradients(loss_fn, h, w):
    h64, w64 = (x.detach().double().clone().requires_grad_(True) for x in (h, w))
    loss = loss_fn(h64, w64)
    dh, dw = torch.autograd.grad(loss, (h64, w64))
    return loss.detach(), dh, dw


@pytest.mark.parametrize("chunk", [1, 7, 36, 37, 64])
def test_chunked_heads_match_float64_for_any_chunking(poison_outputs, chunk):
    """Loss and both gradients from one pass, over full and partial chunks, for soft targets and hard labels."""
    poison_outputs(_chunked_head_ce)
    h, w, ht, wt, center, labels = _head_inputs(chunk)
    soft = _chunked_head_ce.soft_ce_mean(h, w, ht, wt, center, 0.1, 0.04, True, True, chunk=chunk)
    soft_ref = _float64_gradients(lambda a, b: _reference(a, b, ht.double(), wt.double(), center.double(), 0.1, 0.04),
                                  h, w)
    hard = _chunked_head_ce.hard_ce_mean(h, w, labels, True, True, chunk=chunk)
    hard_ref = _float64_gradients(lambda a, b: torch.nn.functional.cross_entropy(a @ b.T, labels), h, w)
    for got, expected in ((soft, soft_ref), (hard, hard_ref)):
        for mine, theirs in zip(got, expected, strict=True):  # fp32 teacher logits up to 1/0.04: as above
            torch.testing.assert_close(mine.double(), theirs, rtol=1e-4, atol=2e-7 / 0.04)


@pytest.mark.parametrize("head", ["soft", "hard"])
def test_chunked_heads_scale_by_the_upstream_gradient_and_skip_unneeded_work(monkeypatch, head):
    """The gradients are taken in the forward: the backward must still apply the upstream gradient (also when
    run twice with ``retain_graph``), give no gradient to a frozen input, and do no gradient work without grad."""
    h, w, ht, wt, center, labels = _head_inputs(11)

    def loss_of(a, b):
        if head == "soft":
            return kernels.prototype_cross_entropy(a, b, ht, wt, center=center, backend="chunked")
        return kernels.linear_cross_entropy(a, b, labels, backend="chunked")

    _, dh_ref, dw_ref = _float64_gradients(
        lambda a, b: (_reference(a, b, ht.double(), wt.double(), center.double(), 0.1, 0.04) if head == "soft"
                      else torch.nn.functional.cross_entropy(a @ b.T, labels)), h, w)
    hg, wg = h.clone().requires_grad_(True), w.clone().requires_grad_(True)
    loss = loss_of(hg, wg)
    (-2.5 * loss).backward(retain_graph=True)
    torch.testing.assert_close(hg.grad.double(), -2.5 * dh_ref, rtol=1e-4, atol=2.5 * 5e-6)
    (0.5 * loss).backward()
    torch.testing.assert_close(wg.grad.double(), -2.0 * dw_ref, rtol=1e-4, atol=2 * 5e-6)

    frozen, wg = h.clone(), w.clone().requires_grad_(True)
    loss_of(frozen, wg).backward()
    assert frozen.grad is None
    torch.testing.assert_close(wg.grad.double(), dw_ref, rtol=1e-4, atol=5e-6)

    def no_gradient_work(*args):
        raise AssertionError("gradients were computed for a loss that needs none")

    monkeypatch.setattr(_chunked_head_ce, "_add_gradients", no_gradient_work)
    with torch.no_grad():
        value = loss_of(h.clone().requires_grad_(True), w.clone().requires_grad_(True))
    assert value.shape == () and torch.isfinite(value)


def test_chunked_heads_take_bf16_in_fp32():
    """bf16 rows and prototypes: fp32 accumulation inside, the loss in fp32, the gradients back in bf16."""
    h, w, ht, wt, center, _ = _head_inputs(3)
    hb, wb = h.bfloat16().requires_grad_(True), w.bfloat16().requires_grad_(True)
    loss = kernels.prototype_cross_entropy(hb, wb, ht.bfloat16(), wt.bfloat16(), center=center, backend="chunked")
    loss.backward()
    expected, dh, dw = _float64_gradients(
        lambda a, b: _reference(a, b, ht.bfloat16().double(), wt.bfloat16().double(), center.double(), 0.1, 0.04),
        hb.detach(), wb.detach())
    assert loss.dtype == torch.float32 and hb.grad.dtype == wb.grad.dtype == torch.bfloat16
    torch.testing.assert_close(loss.double(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(hb.grad.double(), dh, rtol=2e-2, atol=1e-4)
    torch.testing.assert_close(wb.grad.double(), dw, rtol=2e-2, atol=1e-4)


def test_chunked_heads_are_exact_in_float64_when_exponents_fall_below_the_floor():
    """Teacher temperature 0.01 and student 0.02 over wide logits: most exponents are clamped at EXP_FLOOR before
    exp (the CPU's fast path); loss and gradients must not move in float64."""
    h, w, ht, wt, center, labels = (x.double() if x.is_floating_point() else x for x in _head_inputs(21))
    w, wt = w * 10, wt * 10
    assert float((ht @ wt.T).amax(1).sub((ht @ wt.T).amin(1)).min()) / 0.01 > -4 * _chunked_lse.EXP_FLOOR
    soft = _chunked_head_ce.soft_ce_mean(h, w, ht, wt, center, 0.02, 0.01, True, True, chunk=10)
    soft_ref = _float64_gradients(lambda a, b: _reference(a, b, ht, wt, center, 0.02, 0.01), h, w)
    hard = _chunked_head_ce.hard_ce_mean(h, w, labels, True, True, chunk=10)
    hard_ref = _float64_gradients(lambda a, b: torch.nn.functional.cross_entropy(a @ b.T, labels), h, w)
    for got, expected in ((soft, soft_ref), (hard, hard_ref)):
        for mine, theirs in zip(got, expected, strict=True):
            torch.testing.assert_close(mine, theirs, rtol=1e-12, atol=1e-12)
