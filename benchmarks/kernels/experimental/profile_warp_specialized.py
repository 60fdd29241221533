"""The warp-specialized row kernels (``"rows-ws"``, ``"gemm-ws"``) on a GPU, against the plain ones: first whether
they compute the same thing, then their time per stage and in the whole step (GPU only).

They have not run on a GPU before this script, and their producer/consumer split is Triton's experimental Hopper
pass, so ``gpu_kernels.sh`` runs this last, under a timeout: a kernel that hangs costs only this script. In order:

1. Agreement at N=4096: row and column LSE, dQ and dK of each warp-specialized algorithm against the row kernels'
   (``_algorithm_tuner.disagreement``, the relative norm of the difference ``"auto"`` checks before timing, ``inf``
   where the two are not finite at the same places; bf16 operands, fp32 accumulation: ~1e-3 is rounding, O(1) is
   wrong).
2. At N x D (default 32768 x 256), bf16: the forward (``rows``, ``rows-ws``, ``fused``) and the backward (``rows``,
   ``rows-ws``, ``gemm``, ``gemm-ws``), median ms and TFLOP/s counting the matmul FLOPs each executes.
3. The whole step (symmetric InfoNCE forward + backward) with ``"auto"`` over every algorithm, warp-specialized ones
   included (``SELFSUP_TRITON_WARP_SPECIALIZE=auto``; ``SELFSUP_TRITON_PRINT_CHOICES=1`` prints its timings), and
   fixed to ``rows-ws`` + ``gemm-ws``.
4. The configuration each warp-specialized launcher's autotuner kept.

    python benchmarks/kernels/profile_warp_specialized.py [--n 32768] [--d 256]
"""

from __future__ import annotations

import argparse

import torch
from bench_kernels import ROW_KERNELS, gpu_time_ms  # the script's folder is on sys.path
from profile_contrastive import chosen_configs, whole_step
from selfsup_kernels_experimental import _triton_lse as T
from selfsup_kernels_experimental._algorithm_tuner import disagreement


def _unit(n: int, d: int, seed: int) -> torch.Tensor:
    gen = torch.Generator(device="cuda").manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, device="cuda", generator=gen), dim=1).bfloat16()


def agreement(n: int, d: int, scale: float) -> None:
    q, k = _unit(n, d, 1), _unit(n, d, 2)
    g = torch.full((n,), 1.0 / n, device="cuda")
    for direct in (True, False):
        lse = T.lse_forward(q, k, None, scale, True, "rows", direct=direct)
        ws = T.lse_forward(q, k, None, scale, True, "rows-ws", direct=direct)
        print(f"agreement N={n} D={d}{', direct' if direct else ''}: forward rows-ws vs rows: row LSE "
              f"{disagreement(ws[0], lse[0]):.2e}, column LSE {disagreement(ws[1], lse[1]):.2e}", flush=True)
        rows = T.lse_backward(q, k, None, scale, *lse, g, g, "rows", direct=direct)
        for algorithm in ("rows-ws", "gemm-ws"):
            got = T.lse_backward(q, k, None, scale, *lse, g, g, algorithm, direct=direct)
            print(f"  backward {algorithm} vs rows: dQ {disagreement(got[0], rows[0]):.2e}, "
                  f"dK {disagreement(got[1], rows[1]):.2e}", flush=True)


def stages(n: int, d: int, scale: float) -> None:
    q, k = _unit(n, d, 3), _unit(n, d, 4)
    g = torch.full((n,), 1.0 / n, device="cuda")
    lse = T.lse_forward(q, k, None, scale, True, "rows", direct=True)
    runs = {
        "forward rows": (lambda: T.lse_forward(q, k, None, scale, True, "rows", direct=True), 4),
        "forward rows-ws": (lambda: T.lse_forward(q, k, None, scale, True, "rows-ws", direct=True), 4),
        "forward fused (one pass)": (lambda: T.lse_forward(q, k, None, scale, True, "fused", direct=True), 2),
    }
    for algorithm, factor in (("rows", 8), ("rows-ws", 8), ("gemm", 6), ("gemm-ws", 6)):
        runs[f"backward {algorithm}"] = (
            lambda algorithm=algorithm: T.lse_backward(q, k, None, scale, *lse, g, g, algorithm, direct=True), factor)
    for name, (fn, factor) in runs.items():
        ms = gpu_time_ms(fn)
        print(f"{name:26s} {ms:8.3f} ms  {factor * n * n * d / ms / 1e9:7.1f} TFLOP/s (counting {factor}N^2D)",
              flush=True)


# The whole step (3.): "auto" over every algorithm, warp-specialized ones included, and fixed to them.
WHOLE_STEP_VARIANTS = (
    ("auto, warp-specialized candidates",
     {**ROW_KERNELS, "FORWARD": "auto", "BACKWARD": "auto", "WARP_SPECIALIZE": "auto"}),
    ("rows-ws forward + gemm-ws backward", {**ROW_KERNELS, "FORWARD": "rows-ws", "BACKWARD": "gemm-ws"}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=32768)
    parser.add_argument("--d", type=int, default=256)
    args = parser.parse_args()
    print(f"warp-specialized row kernels on {torch.cuda.get_device_name()}", flush=True)
    scale = 1 / 0.07
    agreement(4096, args.d, scale)
    stages(args.n, args.d, scale)
    whole_step(args.n, args.d, WHOLE_STEP_VARIANTS, op_table=False)
    chosen_configs((("warp-specialized forward", T._FORWARD_WS), ("warp-specialized backward", T._BACKWARD_WS),
                    ("warp-specialized gemm row kernel", T._BACKWARD_STORE_DS_WS)))


if __name__ == "__main__":
    main()
