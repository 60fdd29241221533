"""The contrastive losses' prologue: two views L2-normalised and their positive logits, with inputs holding NaN or
inf named (PyTorch ops on every backend; the fused Triton prologue is on the kernels-experimental branch)."""

import pytest
import torch

from selfsup.core import kernels
from selfsup.core.kernels import unit_pair


@pytest.mark.parametrize("stacked", [False, True])
def test_unit_rows_and_positive_logits_in_float64(stacked):
    gen = torch.Generator().manual_seed(3)
    a, b = (torch.randn(9, 16, generator=gen, dtype=torch.float64) for _ in range(2))
    out = unit_pair(a, b, 2.5, stacked=stacked)
    a_hat, b_hat = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    expected = (torch.cat([a_hat, b_hat]), 2.5 * (a_hat * b_hat).sum(1)) if stacked else \
        (a_hat, b_hat, 2.5 * (a_hat * b_hat).sum(1))
    for got, want in zip(out, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["chunked", "triton"])
def test_non_finite_inputs_are_named(backend):
    a, b = torch.randn(8, 16), torch.randn(8, 16)
    with_nan, with_inf = b.clone(), a.clone()
    with_nan[2, 0] = float("nan")
    with_inf[7, 3] = float("inf")
    with pytest.raises(ValueError, match=r"z2 contains non-finite values \(1 NaN, 0 inf\)"):
        unit_pair(a, with_nan, 1.0, ("z1", "z2"), backend=backend)
    with pytest.raises(ValueError, match=r"z1 contains non-finite values \(0 NaN, 1 inf\)"):
        unit_pair(with_inf, b, 1.0, ("z1", "z2"), backend=backend, stacked=True)
    with pytest.raises(ValueError, match="z2 contains non-finite"):  # through the losses, which name their inputs
        kernels.nt_xent(a, with_nan, backend="chunked")
    with pytest.raises(ValueError, match="key contains non-finite"):
        kernels.info_nce(a, with_nan, backend="chunked")
