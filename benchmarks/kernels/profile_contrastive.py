"""Stage-by-stage timing of the Triton contrastive LSE kernels (GPU only), to see where time goes.

Prints, for bf16 q, k of shape (N, D): the forward (row LSE; row and column LSE), the backward row kernel (dQ) and the
whole backward (dQ and dK) by two row-kernel launches, each with its TFLOP/s (counting the matmul FLOPs each really
does); the same for SimCLR's 2N form by the row kernels on (Z, Z); then the whole step; last, the configuration each
autotuner kept. (The variants never timed on a GPU, with this script's version that times them, are on the
kernels-experimental branch: docs/kernels.md.)

    python benchmarks/kernels/profile_contrastive.py --n 32768 --d 256 [--step-only]
"""

from __future__ import annotations

import argparse

import torch
from bench_kernels import gpu_time_ms  # the script's folder is on sys.path

from selfsup.core.kernels import _triton_lse as T


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=32768)
    parser.add_argument("--d", type=int, default=256)
    parser.add_argument("--step-only", action="store_true",
                        help="only the whole step and the kept configurations (short loans)")
    args = parser.parse_args()
    n, d = args.n, args.d
    print(f"N={n} D={d} bf16 on {torch.cuda.get_device_name()}")
    if not args.step_only:
        q = torch.nn.functional.normalize(torch.randn(n, d, device="cuda"), dim=1).bfloat16()
        k = torch.nn.functional.normalize(torch.randn(n, d, device="cuda"), dim=1).bfloat16()
        scale = 1 / 0.07
        lse_r, lse_c = T.lse_forward(q, k, None, scale, True)
        g = torch.full((n,), 1.0 / n, device="cuda")
        z = q
        lse = T.self_lse_forward(z, scale)
        stages = {
            "forward, row LSE (q vs k)": (lambda: T.lse_forward(q, k, None, scale, False), 2),
            "forward, row + column LSE": (lambda: T.lse_forward(q, k, None, scale, True), 4),
            "backward dQ (row kernel)": (lambda: T._grad_rows(q, k, None, scale, (lse_r, g), (lse_c, g)), 4),
            "backward dQ + dK": (lambda: T.lse_backward(q, k, None, scale, lse_r, lse_c, g, g), 8),
            "2N form forward, rows (Z, Z)": (lambda: T.self_lse_forward(z, scale), 2),
            "2N form backward, rows (Z, Z)": (lambda: T.self_lse_backward(z, scale, lse, g), 4),
        }
        for name, (fn, factor) in stages.items():
            ms = gpu_time_ms(fn)
            print(f"{name:34s} {ms:8.3f} ms  {factor * n * n * d / ms / 1e9:7.1f} TFLOP/s (counting {factor}N^2D)")
    whole_step(n, d)
    for label, launch in (("row forward", T._FORWARD), ("row backward", T._BACKWARD)):
        for key, config in getattr(getattr(launch, "tuned", None), "cache", {}).items():
            print(f"{label} kept {config} for {key[:len(launch.tuned.keys)]}")


def whole_step(n: int, d: int, variants=None, op_table: bool = True) -> None:
    """The benchmark's step (symmetric InfoNCE forward + backward on raw bf16 embeddings) per Triton variant
    (``variants``: ``(label, settings)`` pairs, default the benchmark's ``TRITON_VARIANTS``), and with ``op_table``
    where its time goes beyond the LSE kernels: the CUDA time of every op, from torch.profiler."""
    from bench_kernels import TRITON_VARIANTS, with_triton
    from losses import fused_symmetric_info_nce

    q = torch.randn(n, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn(n, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)

    def step():
        q.grad = k.grad = None
        fused_symmetric_info_nce(q, k, "triton").backward()

    for label, settings in variants or TRITON_VARIANTS:
        run = with_triton(settings, step)
        ms = gpu_time_ms(run)
        print(f"whole step, {label}: {ms:.3f} ms  {8 * n * n * d / ms / 1e9:.1f} TFLOP/s (counting 8N^2D)",
              flush=True)
        if not op_table:
            continue
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                run()
            torch.cuda.synchronize()
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=12))


if __name__ == "__main__":
    main()
