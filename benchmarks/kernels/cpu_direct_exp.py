"""Direct exponentials against the running max on the chunked (CPU) path: the same losses, timed one after the
other in one process, with ``direct_exponentials`` switched off for the second column.

Symmetric InfoNCE and SimCLR's 2N form (``kernels.info_nce`` / ``kernels.nt_xent`` at temperature 0.07, which
normalise, so ``|logit| <= 1 / 0.07``), forward + backward, fp32, the median of 3 steps after one untimed step;
also the largest difference of loss and gradients between the two.

    python benchmarks/kernels/cpu_direct_exp.py [--sizes 4096 16384] [--dim 128]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from unittest import mock

import torch

from selfsup.core import kernels

DISPATCH = importlib.import_module("selfsup.core.kernels.contrastive_lse")  # the modules, not the functions
SELF_LSE = importlib.import_module("selfsup.core.kernels.self_lse")
LOSSES = {"symmetric InfoNCE": lambda a, b: kernels.info_nce(a, b, 0.07, symmetric=True, backend="chunked"),
          "SimCLR NT-Xent (2N form)": lambda a, b: kernels.nt_xent(a, b, 0.07, backend="chunked")}


def _step(loss_fn, a: torch.Tensor, b: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
    a.grad = b.grad = None
    loss = loss_fn(a, b)
    loss.backward()
    return float(loss.detach()), a.grad.clone(), b.grad.clone()


def timed(loss_fn, a: torch.Tensor, b: torch.Tensor, direct: bool, repeats: int = 3):
    """``(median seconds, loss, grad a, grad b)`` with direct exponentials allowed or not."""
    allowed = DISPATCH.direct_exponentials if direct else (lambda max_logit: False)
    with mock.patch.object(DISPATCH, "direct_exponentials", allowed), \
            mock.patch.object(SELF_LSE, "direct_exponentials", allowed):
        result = _step(loss_fn, a, b)  # untimed
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = _step(loss_fn, a, b)
            seconds.append(time.perf_counter() - start)
    return (statistics.median(seconds), *result)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 16384])
    parser.add_argument("--dim", type=int, default=128)
    args = parser.parse_args()
    print(f"chunked path, {torch.get_num_threads()} threads, fp32, D={args.dim}, temperature 0.07, fwd + bwd, "
          "median of 3")
    print("| loss | N | direct s | running max s | speed-up | max |loss diff| | max |grad diff| |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        gen = torch.Generator().manual_seed(n)
        a = torch.randn(n, args.dim, generator=gen).requires_grad_(True)
        b = torch.randn(n, args.dim, generator=gen).requires_grad_(True)
        for name, loss_fn in LOSSES.items():
            fast, loss_d, ga_d, gb_d = timed(loss_fn, a, b, direct=True)
            slow, loss_o, ga_o, gb_o = timed(loss_fn, a, b, direct=False)
            grad_diff = max(float((ga_d - ga_o).abs().max()), float((gb_d - gb_o).abs().max()))
            print(f"| {name} | {n} | {fast:.3f} | {slow:.3f} | {slow / fast:.2f}x | {abs(loss_d - loss_o):.1e} "
                  f"| {grad_diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
