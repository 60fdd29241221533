"""The self-similarity LSE of SimCLR's 2N form (upper triangle of the symmetric logits only) against float64:
chunked, Triton's row kernels on (Z, Z) and Triton's symmetric kernels (interpreted on CPU, fp32)."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before any Triton kernel is defined

import pytest
import selfsup_kernels_experimental as kernels
from selfsup_kernels_experimental import _chunked_self_lse

from selfsup.core import objectives as obj

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BACKENDS = ["chunked"] + (["triton", "triton-symmetric"] if kernels.triton_available() else [])
needs_triton = pytest.mark.skipif(not kernels.triton_available(), reason="needs triton")


@pytest.fixture
def use_backend(monkeypatch):
    """``use_backend(name)`` -> the ``backend=`` argument and the implementation module whose outputs are poisoned;
    the chunked path gets 32-row tiles, so a 100-row batch has off-diagonal and partial tiles."""
    def use(name: str):
        if name == "chunked":
            monkeypatch.setattr(_chunked_self_lse, "_tile_size", lambda n: 32)
            return "chunked", _chunked_self_lse
        from selfsup_kernels_experimental import _triton_lse, _triton_self_lse

        symmetric = name == "triton-symmetric"
        monkeypatch.setenv("SELFSUP_TRITON_SELF", "symmetric" if symmetric else "rows")
        return "triton", _triton_self_lse if symmetric else _triton_lse
    return use


def _reference_lse(z: torch.Tensor, scale: float) -> torch.Tensor:
    s = (z.double() @ z.double().T) * scale
    return torch.logsumexp(s.fill_diagonal_(float("-inf")), dim=1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("temperature", [0.5, 0.1, 0.01])
@pytest.mark.parametrize("bounded", [False, True])
def test_self_lse_matches_float64(poison_outputs, use_backend, backend, temperature, bounded):
    """``bounded``: ``max_logit`` given (unit vectors: the scale), direct exponentials at temperatures 0.5 and 0.1."""
    name, module = use_backend(backend)
    poison_outputs(module)
    gen = torch.Generator().manual_seed(int(1000 * temperature))
    z = torch.nn.functional.normalize(torch.randn(100, 48, generator=gen), dim=1)
    g = torch.randn(100, generator=gen)
    scale = 1 / temperature
    z64 = z.double().requires_grad_(True)
    ref = _reference_lse(z64, scale)
    (ref * g.double()).sum().backward()

    zd = z.to(DEVICE).requires_grad_(True)
    lse = kernels.self_contrastive_lse(zd, scale, backend=name, max_logit=scale if bounded else None)
    assert lse.shape == (100,) and lse.dtype == torch.float32
    (lse * g.to(DEVICE)).sum().backward()
    torch.testing.assert_close(lse.double().cpu(), ref.detach(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(zd.grad.double().cpu(), z64.grad, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("n, tile", [(37, 8), (37, 37), (64, 16), (2, 1)])
def test_chunked_self_lse_is_exact_in_float64_for_any_tiling(n, tile):
    gen = torch.Generator().manual_seed(n + tile)
    z = torch.randn(n, 12, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(n, generator=gen, dtype=torch.float64)
    ref = _reference_lse(z, 0.7)
    (ref * g).sum().backward()
    lse = _chunked_self_lse.self_lse_forward(z.detach(), 0.7, tile=tile)
    dz = _chunked_self_lse.self_lse_backward(z.detach(), 0.7, lse, g, tile=tile)
    torch.testing.assert_close(lse, ref.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dz, z.grad, rtol=1e-12, atol=1e-12)


def test_chunked_self_lse_is_exact_in_float64_when_exponents_fall_below_the_floor():
    """Temperature 0.005 over 4-d embeddings: most exponents are clamped at EXP_FLOOR before exp (the CPU's fast
    path); the LSE and its gradient must not move in float64."""
    from selfsup_kernels_experimental._chunked_lse import EXP_FLOOR

    gen = torch.Generator().manual_seed(4)
    z = torch.nn.functional.normalize(torch.randn(45, 4, generator=gen, dtype=torch.float64), dim=1)
    scale = 1 / 0.005
    assert float((z @ z.T).min() * scale - scale) < 4 * EXP_FLOOR
    g = torch.randn(45, generator=gen, dtype=torch.float64)
    z64 = z.clone().requires_grad_(True)
    ref = _reference_lse(z64, scale)
    (ref * g).sum().backward()
    lse = _chunked_self_lse.self_lse_forward(z, scale, tile=8)
    dz = _chunked_self_lse.self_lse_backward(z, scale, lse, g, tile=8)
    torch.testing.assert_close(lse, ref.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dz, z64.grad, rtol=1e-12, atol=1e-12)


def test_chunked_nt_xent_computes_each_logit_once_per_pass(monkeypatch):
    """The 2N form on one rank works the upper triangle of tiles: forward and backward each compute about half of
    the (2B)^2 logits (plus the diagonal tiles), and the loss and gradients still equal the objective's."""
    real = _chunked_self_lse._block_logits
    computed = []
    monkeypatch.setattr(_chunked_self_lse, "_tile_size", lambda n: 16)
    monkeypatch.setattr(_chunked_self_lse, "_block_logits", lambda *a: computed.append(real(*a).numel()) or real(*a))
    gen = torch.Generator().manual_seed(2)
    z1, z2 = (torch.randn(64, 8, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(2))
    loss = kernels.nt_xent(z1, z2, 0.2, backend="chunked")
    forward_logits = sum(computed)
    loss.backward()
    n = 128
    assert forward_logits == sum(computed) - forward_logits == n * (n + 16) // 2  # 8 row blocks: 36 tiles of 16^2
    r1, r2 = (z.detach().clone().requires_grad_(True) for z in (z1, z2))
    expected = obj.nt_xent(r1, r2, 0.2)
    expected.backward()
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(z1.grad, r1.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(z2.grad, r2.grad, rtol=1e-10, atol=1e-12)


@needs_triton
@pytest.mark.parametrize("temperature, tiny", [(0.1, "none"), (0.01, "some"), (0.001, "all")])
def test_symmetric_forward_recomputes_exactly_the_rows_that_underflowed(temperature, tiny):
    """Row sums are taken relative to an upper bound of the logits; the rows whose sum falls below n * 2^-100
    (none at temperature 0.1, some at 0.01, all at 0.001) get the exact row pass, and every row matches float64."""
    from selfsup_kernels_experimental import _triton_self_lse as S

    gen = torch.Generator().manual_seed(9)
    z = torch.nn.functional.normalize(torch.randn(100, 48, generator=gen), dim=1).to(DEVICE)
    scale = 1 / temperature
    rowsum = torch.zeros(100, device=DEVICE)
    S._FORWARD(lambda meta: (-(-100 // meta["BLOCK_M"]),), z, S.logit_bound_log2(z, z, scale), rowsum, 100, 48,
               scale * S.LOG2E, z.stride(0), PRECISION="ieee", DIRECT=False, BLOCK_D=64)
    n_tiny = int((rowsum < 100 * S.TINY_ROW_SUM).sum())
    assert {"none": n_tiny == 0, "some": 0 < n_tiny < 100, "all": n_tiny == 100}[tiny], n_tiny
    lse = S.self_lse_forward(z, scale)
    torch.testing.assert_close(lse.double().cpu(), _reference_lse(z.cpu(), scale), rtol=1e-5, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="bf16 tl.dot is only exact on a GPU")
@pytest.mark.parametrize("backend", ["triton", "triton-symmetric"])
def test_bf16_nt_xent_on_gpu(use_backend, backend):
    gen = torch.Generator().manual_seed(12)
    a, b = (torch.randn(300, 128, generator=gen).bfloat16() for _ in range(2))
    a64, b64 = a.double().requires_grad_(True), b.double().requires_grad_(True)
    expected = obj.nt_xent(a64, b64, 0.1)
    expected.backward()
    ad, bd = a.cuda().requires_grad_(True), b.cuda().requires_grad_(True)
    got = kernels.nt_xent(ad, bd, 0.1, backend=use_backend(backend)[0])
    got.backward()
    torch.testing.assert_close(got.double().cpu(), expected.detach(), rtol=2e-2, atol=2e-2)
    for mine, ref in ((ad.grad, a64.grad), (bd.grad, b64.grad)):
        assert float((mine.double().cpu() - ref).norm() / ref.norm()) < 2e-2


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"z must be \(N, D\)"):
        kernels.self_contrastive_lse(torch.randn(4, 2, 3), 1.0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        kernels.self_contrastive_lse(torch.randn(1, 3), 1.0)
    with pytest.raises(ValueError, match="backend must be"):
        kernels.self_contrastive_lse(torch.randn(4, 3), 1.0, backend="gpu")


@needs_triton
def test_the_self_algorithm_is_chosen_by_name(monkeypatch):
    from selfsup_kernels_experimental import _triton_lse

    monkeypatch.delenv("SELFSUP_TRITON_SELF", raising=False)
    assert _triton_lse.chosen_algorithm("self") == _triton_lse.SELF == "auto"
    monkeypatch.setenv("SELFSUP_TRITON_SELF", "symmetric")
    assert _triton_lse.chosen_algorithm("self") == "symmetric"
    monkeypatch.setenv("SELFSUP_TRITON_SELF", "fused")
    with pytest.raises(ValueError, match="SELFSUP_TRITON_SELF must be 'rows', 'symmetric' or 'auto'"):
        _triton_lse.chosen_algorithm("self")


@needs_triton
def test_symmetric_kernels_zero_their_atomic_outputs_between_autotuning_trials():
    from selfsup_kernels_experimental import _triton_self_lse as S

    assert S._FORWARD.reset_to_zero == ["ROWSUM"] and S._BACKWARD.reset_to_zero == ["DZ"]
