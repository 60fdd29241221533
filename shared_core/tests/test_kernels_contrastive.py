"""Fused contrastive kernels against float64 references: Triton (interpreted on CPU, fp32) and chunked.

On a machine with CUDA the same tests run the compiled Triton kernels, bf16 included.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before any Triton kernel is defined

import pytest

from selfsup.core import kernels
from selfsup.core import objectives as obj
from selfsup.core.kernels import _chunked_lse

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TRITON_BACKENDS = ["triton"]
BACKENDS = ["chunked"] + (TRITON_BACKENDS if kernels.triton_available() else [])


def _implementation(backend):
    if backend.startswith("triton"):
        from selfsup.core.kernels import _triton_lse

        return _triton_lse
    return _chunked_lse


def _reference_lse(q, k, scale, exclude):
    s = (q.double() @ k.double().T) * scale
    if exclude is not None:
        hit = exclude >= 0
        s[torch.arange(q.shape[0])[hit], exclude[hit]] = float("-inf")
    return torch.logsumexp(s, 1), torch.logsumexp(s, 0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("temperature", [0.1, 0.01])
@pytest.mark.parametrize("columns", [False, True])
@pytest.mark.parametrize("with_exclude", [False, True])
@pytest.mark.parametrize("bounded", [False, True])
def test_contrastive_lse_matches_float64(poison_outputs, backend, temperature, columns, with_exclude,
                                         bounded):
    """``bounded``: the caller passes ``max_logit`` (unit vectors: the scale); at temperature 0.1 the exponentials are
    then taken directly, at 0.01 the bound is too large for that and the running max is kept."""
    poison_outputs(_implementation(backend))
    gen = torch.Generator().manual_seed(int(temperature * 1000) + 2 * columns + with_exclude)
    b, n, d = 70, 100, 48
    q = torch.nn.functional.normalize(torch.randn(b, d, generator=gen), dim=1)
    k = torch.nn.functional.normalize(torch.randn(n, d, generator=gen), dim=1)
    exclude = None
    if with_exclude:  # distinct columns, some rows excluding nothing
        exclude = torch.randperm(n, generator=gen)[:b]
        exclude[torch.rand(b, generator=gen) < 0.2] = -1
    scale = 1 / temperature
    g_r, g_c = torch.randn(b, generator=gen), torch.randn(n, generator=gen)

    q64, k64 = q.double().requires_grad_(True), k.double().requires_grad_(True)
    ref_r, ref_c = _reference_lse(q64, k64, scale, exclude)
    ((ref_r * g_r.double()).sum() + (columns * (ref_c * g_c.double()).sum())).backward()

    qd, kd = q.to(DEVICE).requires_grad_(True), k.to(DEVICE).requires_grad_(True)
    out = kernels.contrastive_lse(qd, kd, scale, columns=columns, exclude=exclude, backend=backend,
                                  max_logit=scale if bounded else None)
    lse_r, lse_c = out if columns else (out, None)
    torch.testing.assert_close(lse_r.double().cpu(), ref_r.detach(), rtol=1e-5, atol=1e-4)
    total = (lse_r * g_r.to(DEVICE)).sum()
    if columns:
        torch.testing.assert_close(lse_c.double().cpu(), ref_c.detach(), rtol=1e-5, atol=1e-4)
        total = total + (lse_c * g_c.to(DEVICE)).sum()
    total.backward()
    torch.testing.assert_close(qd.grad.double().cpu(), q64.grad, rtol=1e-4, atol=1e-4 * scale)
    torch.testing.assert_close(kd.grad.double().cpu(), k64.grad, rtol=1e-4, atol=1e-4 * scale)


def _random_pair(gen, b=64, d=32):
    return torch.randn(b, d, generator=gen) * 2, torch.randn(b, d, generator=gen) * 2


CASES = {
    "info_nce": (lambda a, b, t, **kw: kernels.info_nce(a, b, t, **kw), lambda a, b, t: obj.info_nce(a, b, t)),
    "info_nce symmetric": (lambda a, b, t, **kw: kernels.info_nce(a, b, t, symmetric=True, **kw),
                           lambda a, b, t: obj.info_nce(a, b, t, symmetric=True)),
    "nt_xent": (lambda a, b, t, **kw: kernels.nt_xent(a, b, t, **kw), lambda a, b, t: obj.nt_xent(a, b, t)),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("temperature", [0.5, 0.01])
@pytest.mark.parametrize("name", CASES)
def test_fused_losses_equal_the_objectives(poison_outputs, backend, temperature, name):
    poison_outputs(_implementation(backend))
    fused, reference = CASES[name]
    gen = torch.Generator().manual_seed(len(name) + int(100 * temperature))
    a, b = _random_pair(gen)
    a64, b64 = a.double().requires_grad_(True), b.double().requires_grad_(True)
    expected = reference(a64, b64, temperature)
    expected.backward()
    ad, bd = a.to(DEVICE).requires_grad_(True), b.to(DEVICE).requires_grad_(True)
    got = fused(ad, bd, temperature, backend=backend)
    got.backward()
    torch.testing.assert_close(got.double().cpu(), expected.detach(), rtol=1e-5, atol=1e-5)
    for mine, ref in ((ad.grad, a64.grad), (bd.grad, b64.grad)):
        torch.testing.assert_close(mine.double().cpu(), ref, rtol=1e-4, atol=1e-5 / temperature)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("symmetric", [False, True])
def test_queue_negatives(backend, symmetric):
    gen = torch.Generator().manual_seed(7 + symmetric)
    a, b = _random_pair(gen, b=40)
    queue = torch.randn(90, 32, generator=gen)
    expected = obj.info_nce(a.double(), b.double(), 0.07, symmetric=symmetric, negatives=queue.double())
    got = kernels.info_nce(a.to(DEVICE), b.to(DEVICE), 0.07, symmetric=symmetric, negatives=queue.to(DEVICE),
                           backend=backend)
    torch.testing.assert_close(got.double().cpu(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("direct", [False, True])
def test_chunked_path_is_exact_in_float64_with_tiny_chunks(direct):
    gen = torch.Generator().manual_seed(3)
    q = torch.randn(33, 8, generator=gen, dtype=torch.float64)
    k = torch.randn(29, 8, generator=gen, dtype=torch.float64)
    g_r, g_c = torch.randn(33, generator=gen, dtype=torch.float64), torch.randn(29, generator=gen, dtype=torch.float64)
    lse_r, lse_c = _chunked_lse.lse_forward(q, k, None, 3.0, True, chunk=4, direct=direct)
    q64, k64 = q.clone().requires_grad_(True), k.clone().requires_grad_(True)
    ref_r, ref_c = _reference_lse(q64, k64, 3.0, None)
    ((ref_r * g_r).sum() + (ref_c * g_c).sum()).backward()
    dq, dk = _chunked_lse.lse_backward(q, k, None, 3.0, lse_r, lse_c, g_r, g_c, chunk=4, direct=direct)
    for got, expected in ((lse_r, ref_r), (lse_c, ref_c), (dq, q64.grad), (dk, k64.grad)):
        torch.testing.assert_close(got, expected.detach(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("self_similarity", [False, True])
def test_a_max_logit_far_below_the_logits_is_named(self_similarity):
    """Repeated rows of norm 10 at scale 1 give logits of 100, past exp's fp32 range; a caller claiming they are
    bounded by 1 gets an error naming max_logit, not an infinite loss and NaN gradients."""
    u = torch.nn.functional.normalize(torch.randn(3, 4), dim=1) * 10
    z = torch.cat([u, u])
    with pytest.raises(ValueError, match="max_logit is below"):
        if self_similarity:
            kernels.self_contrastive_lse(z, 1.0, backend="chunked", max_logit=1.0)
        else:
            kernels.contrastive_lse(z, z, 1.0, columns=True, backend="chunked", max_logit=1.0)
    assert torch.isfinite(kernels.contrastive_lse(z, z, 1.0, backend="chunked")).all()  # unbounded: running max


def test_bounded_logits_take_direct_exponentials_only_where_that_is_safe(monkeypatch):
    """The losses pass ``max_logit`` for unit vectors (|logit| <= scale); the direct path is taken up to
    DIRECT_MAX_LOGIT, so at temperature 0.1 but not at 0.01, nor for unnormalised inputs (no bound known)."""
    import importlib

    dispatch = importlib.import_module("selfsup.core.kernels.contrastive_lse")
    assert dispatch.direct_exponentials(dispatch.DIRECT_MAX_LOGIT) and dispatch.direct_exponentials(1 / 0.07)
    assert not dispatch.direct_exponentials(None) and not dispatch.direct_exponentials(1 / 0.01)
    seen = []
    real = _chunked_lse.lse_forward

    def spy(*args, direct, **kwargs):
        seen.append(direct)
        return real(*args, direct=direct, **kwargs)
    monkeypatch.setattr(_chunked_lse, "lse_forward", spy)
    a, b = torch.randn(8, 4), torch.randn(8, 4)
    kernels.info_nce(a, b, 0.1, symmetric=True)
    kernels.info_nce(a, b, 0.01, symmetric=True)
    kernels.info_nce(a, b, 0.1, normalize=False)
    kernels.info_nce(a, b, 0.1, negatives=torch.randn(5, 4))  # the queue's LSE too
    assert seen == [True, False, False, True, True]


def test_chunked_path_is_exact_in_float64_when_exponents_fall_below_the_floor():
    """At temperature 0.005 over 4-d embeddings most exponents lie far below EXP_FLOOR (where the CPU's exp slows
    down 15x): clamping them there must not change the row or column LSE, nor the gradients, in float64."""
    gen = torch.Generator().manual_seed(8)
    q = torch.nn.functional.normalize(torch.randn(41, 4, generator=gen, dtype=torch.float64), dim=1)
    k = torch.nn.functional.normalize(torch.randn(53, 4, generator=gen, dtype=torch.float64), dim=1)
    exclude = torch.randperm(53, generator=gen)[:41]
    scale = 1 / 0.005
    s = (q @ k.T) * scale
    assert float((s - s.amax(1, keepdim=True)).min()) < 4 * _chunked_lse.EXP_FLOOR
    g_r, g_c = torch.randn(41, generator=gen, dtype=torch.float64), torch.randn(53, generator=gen, dtype=torch.float64)
    q64, k64 = q.clone().requires_grad_(True), k.clone().requires_grad_(True)
    ref_r, ref_c = _reference_lse(q64, k64, scale, exclude)
    ((ref_r * g_r).sum() + (ref_c * g_c).sum()).backward()
    lse_r, lse_c = _chunked_lse.lse_forward(q, k, exclude, scale, True, chunk=6)
    dq, dk = _chunked_lse.lse_backward(q, k, exclude, scale, lse_r, lse_c, g_r, g_c, chunk=6)
    for got, expected in ((lse_r, ref_r), (lse_c, ref_c), (dq, q64.grad), (dk, k64.grad)):
        torch.testing.assert_close(got, expected.detach(), rtol=1e-12, atol=1e-12)


def test_chunked_lse_of_a_row_or_column_with_every_logit_excluded_is_minus_infinity():
    q, k = torch.randn(2, 4), torch.randn(1, 4)
    lse_r, lse_c = kernels.contrastive_lse(q, k, 10.0, columns=True, exclude=torch.tensor([0, -1]),
                                           backend="chunked")
    assert lse_r[0] == float("-inf") and torch.isfinite(lse_r[1]) and torch.isfinite(lse_c).all()
    lse_r, lse_c = kernels.contrastive_lse(k, q, 10.0, columns=True, exclude=torch.tensor([1]), backend="chunked")
    assert torch.isfinite(lse_r).all() and lse_c[1] == float("-inf") and torch.isfinite(lse_c[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="bf16 tl.dot is only exact on a GPU")
@pytest.mark.parametrize("backend", TRITON_BACKENDS)
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("temperature", [0.1, 0.01])  # direct exponentials at 0.1, a running max at 0.01
def test_bf16_operands_on_gpu(backend, name, temperature):
    fused, reference = CASES[name]
    gen = torch.Generator().manual_seed(11)
    a, b = _random_pair(gen, b=256, d=128)
    a, b = a.bfloat16(), b.bfloat16()
    a64, b64 = a.double().requires_grad_(True), b.double().requires_grad_(True)
    expected = reference(a64, b64, temperature)
    expected.backward()
    ad, bd = a.cuda().requires_grad_(True), b.cuda().requires_grad_(True)
    got = fused(ad, bd, temperature, backend=backend)
    got.backward()
    assert got.dtype == torch.float32
    torch.testing.assert_close(got.double().cpu(), expected.detach(), rtol=2e-2, atol=2e-2)
    for mine, ref in ((ad.grad, a64.grad), (bd.grad, b64.grad)):  # bf16 gradients: compared by relative norm
        assert float((mine.double().cpu() - ref).norm() / ref.norm()) < 2e-2


def test_bad_backend_and_inputs_are_named():
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    with pytest.raises(ValueError, match="backend must be"):
        kernels.info_nce(a, b, backend="cuda")
    with pytest.raises(ValueError, match="same shape"):
        kernels.info_nce(a, torch.randn(4, 7))
    with pytest.raises(ValueError, match="non-finite"):
        kernels.nt_xent(a, b.masked_fill(b > 1, float("nan")))
    with pytest.raises(TypeError, match="share a dtype"):
        kernels.contrastive_lse(a, b.double(), 1.0)
    with pytest.raises(ValueError, match="distinct key indices"):
        kernels.contrastive_lse(a, b, 1.0, exclude=torch.tensor([1, 1, -1, 0]))


def test_auto_takes_triton_only_for_large_cuda_problems(monkeypatch):
    """Small losses stay on the chunked path (no autotuning pass for a loss that would not earn it back); large
    CUDA ones go to Triton; an explicit backend is never overridden; float64 and CPU tensors stay chunked."""
    import importlib

    dispatch = importlib.import_module("selfsup.core.kernels.contrastive_lse")  # the module, not the function

    monkeypatch.setattr(dispatch, "triton_available", lambda: True)
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    big, small = kernels.TRITON_MIN_LOGITS, kernels.TRITON_MIN_LOGITS - 1
    assert dispatch.resolve_backend("auto", cuda, torch.bfloat16, big) == "triton"
    assert dispatch.resolve_backend("auto", cuda, torch.bfloat16, None) == "triton"
    assert dispatch.resolve_backend("auto", cuda, torch.bfloat16, small) == "chunked"
    assert dispatch.resolve_backend("auto", cuda, torch.float64, big) == "chunked"
    assert dispatch.resolve_backend("auto", cpu, torch.float32, big) == "chunked"
    assert dispatch.resolve_backend("chunked", cuda, torch.float32, big) == "chunked"
    assert dispatch.resolve_backend("triton", cuda, torch.float32, 4) == "triton"
    seen = []
    # feature dims the kernels cannot launch with (an sm_90 block's shared memory; fp32 takes half the width)
    for kernel, half_max in (("contrastive", 512), ("head", 256)):
        for dtype, widest in ((torch.bfloat16, half_max), (torch.float16, half_max), (torch.float32, half_max // 2)):
            assert dispatch.resolve_backend("auto", cuda, dtype, big, widest, kernel) == "triton"
            assert dispatch.resolve_backend("auto", cuda, dtype, big, widest + 1, kernel) == "chunked"
            assert dispatch.resolve_backend("triton", cuda, dtype, big, widest, kernel) == "triton"
            with pytest.raises(ValueError, match=rf"{kernel} feature dims up to {widest} .* got {widest + 1}"):
                dispatch.resolve_backend("triton", cuda, dtype, big, widest + 1, kernel)
    if kernels.triton_available():  # the losses pass their feature dim and kernel
        x = torch.randn(4, 200, device=DEVICE)
        with pytest.raises(ValueError, match=r"up to 256 with float32 operands .* or bf16/fp16 operands"):
            kernels.contrastive_lse(torch.randn(4, 300, device=DEVICE), x[:, :1].repeat(1, 300), 1.0, backend="triton")
        with pytest.raises(ValueError, match="head feature dims up to 128 with float32"):
            kernels.prototype_cross_entropy(x, x, x, x, backend="triton")
        with pytest.raises(ValueError, match="contrastive feature dims up to 256 with float32"):
            kernels.self_contrastive_lse(torch.randn(4, 300, device=DEVICE), 1.0, backend="triton")
    real = dispatch._ContrastiveLSE.apply
    monkeypatch.setattr(dispatch._ContrastiveLSE, "apply", lambda *a: seen.append(a[5]) or real(*a))
    kernels.info_nce(torch.randn(8, 4), torch.randn(8, 4), symmetric=True)  # CPU: chunked whatever the size
    assert seen == ["chunked"]


@pytest.mark.skipif(not kernels.triton_available(), reason="needs triton")
def test_wide_feature_blocks_take_the_configurations_that_fit(monkeypatch, untuned_gpu_launch):
    """From BLOCK_D=512 the autotuner tries a launcher's ``wide`` configurations instead of the usual ones (which
    pass an sm_90 block's shared memory there), and without autotuning the first of them runs."""
    from selfsup.core.kernels import _triton_lse as T

    monkeypatch.setattr(T, "_autotuning", lambda: True)
    wide = [(32, 32, 8, 2), (16, 64, 8, 3), (64, 64, 8, 2)]  # the last is also a usual one: tried once
    launch = T.launcher(T._lse_bwd_kernel, [(64, 64)], ["n_rows"], wide=wide)
    launch.tuned.nargs = {}

    def tried(block_d):
        return [(c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"], c.num_warps, c.num_stages)
                for c in launch.tuned.prune_configs({"BLOCK_D": block_d})]

    usual = [(64, 64, w, st) for w, st in T.WARPS_STAGES]
    assert tried(256) == usual == launch.configs_for(256)
    assert sorted(tried(512)) == sorted(wide) and launch.configs_for(512) == wide  # each once
    assert T.launcher(T._lse_bwd_kernel, [(64, 64)], ["n_rows"]).configs_for(512) == usual  # no wide list: usual
    earlier = T.launcher(T._lse_bwd_kernel, [(64, 64)], ["n_rows"], wide=wide, wide_from=256)  # e.g. the heads
    assert earlier.configs_for(128) == usual and earlier.configs_for(256) == wide

    kernel, seen = untuned_gpu_launch()
    one = T.launcher(kernel, [(64, 64)], ["n_rows"], wide=wide)
    one(lambda meta: (meta["BLOCK_M"],), BLOCK_D=512)
    assert seen == {"grid": (32,), "BLOCK_D": 512, "BLOCK_M": 32, "BLOCK_N": 32, "num_warps": 8, "num_stages": 2}
    one(lambda meta: (meta["BLOCK_M"],), BLOCK_D=256)
    assert seen["BLOCK_M"] == 64 and seen["num_stages"] == 3


AUTOCAST_CASES = {
    "info_nce symmetric": lambda a, b, h, w, y: kernels.info_nce(a, b, 0.05, symmetric=True, backend="chunked"),
    "nt_xent": lambda a, b, h, w, y: kernels.nt_xent(a, b, 0.05, backend="chunked"),
    "prototype head": lambda a, b, h, w, y: kernels.prototype_cross_entropy(h, w, h.detach() * 0.5, w.detach(),
                                                                            backend="chunked"),
    "linear head": lambda a, b, h, w, y: kernels.linear_cross_entropy(h, w, y, backend="chunked"),
}


@pytest.mark.parametrize("name", AUTOCAST_CASES)
def test_chunked_kernels_keep_their_precision_under_autocast(name):
    """Under CPU bf16 autocast (a mixed-precision training step) the chunked kernels still compute fp32 logits:
    the same loss and gradients as without autocast, no dtype error."""
    gen = torch.Generator().manual_seed(len(name))
    inputs = [torch.randn(150, 24, generator=gen), torch.randn(150, 24, generator=gen),
              torch.randn(150, 24, generator=gen), torch.randn(70, 24, generator=gen)]
    labels = torch.randint(0, 70, (150,), generator=gen)
    results = []
    for autocast in (False, True):
        leaves = [x.clone().requires_grad_(True) for x in inputs]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = AUTOCAST_CASES[name](*leaves, labels)
        loss.backward()
        results.append((loss.detach(), [x.grad for x in leaves]))
    (plain, plain_grads), (mixed, mixed_grads) = results
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, plain, rtol=1e-6, atol=1e-6)
    for got, expected in zip(mixed_grads, plain_grads, strict=True):
        if expected is None:
            assert got is None
        else:
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
