"""What a fused loss step does besides its log-sum-exp kernels: the PyTorch ops it dispatches and the bytes they move,
with the prologue (normalisation and positive logits) in PyTorch and fused (``SELFSUP_TRITON_NORMALIZE``).

Runs on CPU with the Triton kernels interpreted (``TRITON_INTERPRET=1``) on bf16 embeddings, as on the GPU; the
kernels' numbers are not checked here (the interpreter mis-computes bf16 ``tl.dot``; the tests check values), only
what is dispatched. Per step (forward + backward of the benchmark's symmetric InfoNCE and of SimCLR's 2N form):
Triton launches, PyTorch ops, those touching an ``(N, D)``-sized tensor, and the bytes those read and write, also as
"passes" over one ``(N, D)`` bf16 tensor. Views and allocations are not counted. Both counts are independent of N
and D; the bytes scale with ``N * D``.

    python benchmarks/kernels/count_step_ops.py [--n 256 --d 64]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before any Triton kernel is defined

import selfsup_kernels_experimental as kernels
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

_NO_DATA = {"empty", "new_empty", "empty_like", "empty_strided", "detach", "alias", "_local_scalar_dense"}


class _Counter(TorchDispatchMode):
    """Counts the ATen ops that compute (no views or allocations), and those touching a tensor of at least ``full``
    elements with the bytes they move."""

    def __init__(self, full: int):
        super().__init__()
        self.full, self.ops, self.full_ops, self.bytes = full, 0, [], 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.is_view or func.__name__.split(".")[0] in _NO_DATA:
            return out  # views and allocations move no data
        self.ops += 1
        tensors = [t for t in tree_leaves((args, kwargs, out)) if isinstance(t, torch.Tensor)]
        if any(t.numel() >= self.full for t in tensors):
            self.full_ops.append(func.__name__)
            self.bytes += sum(t.numel() * t.element_size() for t in tensors if t.numel() >= self.full)
        return out


def _count_launches():
    """Patch the interpreter's launch to count it, and to hide from the counter the copies the interpreter makes of
    the kernel's arguments (on a GPU the kernel reads them in place); returns the list it appends to."""
    from torch.utils._python_dispatch import _disable_current_modes
    from triton.runtime.interpreter import InterpretedFunction

    launches = []
    real = InterpretedFunction.run

    def run(self, *args, **kwargs):
        launches.append(self.fn.__name__)
        with _disable_current_modes():
            return real(self, *args, **kwargs)
    InterpretedFunction.run = run
    return launches


def measure(loss, n: int, d: int, launches: list) -> dict:
    q = torch.randn(n, d, dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn(n, d, dtype=torch.bfloat16, requires_grad=True)
    loss(q, k).backward()  # first call: imports, kernel set-up
    q.grad = k.grad = None
    launches.clear()
    counter = _Counter(n * d)
    with counter:
        loss(q, k).backward()
    return {"triton": len(launches), "ops": counter.ops, "full_ops": len(counter.full_ops),
            "passes": counter.bytes / (n * d * 2), "full_names": counter.full_ops}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--names", action="store_true", help="list the full-size ops")
    args = parser.parse_args()
    launches = _count_launches()
    losses = {"symmetric InfoNCE": lambda q, k: kernels.info_nce(q, k, 0.07, symmetric=True, backend="triton"),
              "SimCLR NT-Xent (2N form)": lambda q, k: kernels.nt_xent(q, k, 0.07, backend="triton")}
    print(f"bf16 (N, D) = ({args.n}, {args.d}), forward + backward, Triton interpreted on {torch.__version__} CPU")
    print("| loss | prologue | Triton launches | PyTorch ops | ops on (N, D) tensors | their bytes, in (N, D) passes |")
    print("|---|---|---|---|---|---|")
    for name, loss in losses.items():
        for prologue in ("torch", "fused"):
            os.environ["SELFSUP_TRITON_NORMALIZE"] = prologue
            got = measure(loss, args.n, args.d, launches)
            print(f"| {name} | {prologue} | {got['triton']} | {got['ops']} | {got['full_ops']} | {got['passes']:.0f} |")
            if args.names:
                print("    ", " ".join(got["full_names"]))


if __name__ == "__main__":
    main()
