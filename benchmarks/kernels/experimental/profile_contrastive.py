"""Stage-by-stage timing of the Triton contrastive LSE kernels (GPU only), to see where time goes.

Prints, for bf16 q, k of shape (N, D): the forward (row LSE; row and column LSE), the backward
row kernel (dQ), the whole backward (dQ and dK) by two row-kernel launches, by the fused one-pass kernel and by the
row kernel storing dS for cuBLAS,
each with its TFLOP/s (counting the matmul FLOPs each really does); the same for
SimCLR's 2N form by the row kernels on (Z, Z) and by the symmetric kernels; each stage again with direct
exponentials (the unit vectors' bound: no running max, one exponential per logit in the backward); the losses'
prologue (normalisation, positive logits) fused and in PyTorch; then the whole step for every Triton variant of the
benchmark; last, the configuration each autotuner kept, and the gemm backward's cuBLAS GEMM alone (one product, and
its reduction split by hand: ``"auto"`` keeps the faster).

    python benchmarks/kernels/profile_contrastive.py --n 32768 --d 256 [--step-only]
"""

from __future__ import annotations

import argparse

import torch
from bench_kernels import gpu_time_ms  # the script's folder is on sys.path
from selfsup_kernels_experimental import _triton_lse as T
from selfsup_kernels_experimental import _triton_self_lse as S


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=32768)
    parser.add_argument("--d", type=int, default=256)
    parser.add_argument("--step-only", action="store_true",
                        help="only the whole step per variant, the kept configurations and the dK GEMM (short loans)")
    args = parser.parse_args()
    n, d = args.n, args.d
    if args.step_only:
        print(f"N={n} D={d} bf16 on {torch.cuda.get_device_name()}")
        whole_step(n, d)
        chosen_configs()
        dk_gemm_stage(n, d)
        return
    q = torch.nn.functional.normalize(torch.randn(n, d, device="cuda"), dim=1).bfloat16()
    k = torch.nn.functional.normalize(torch.randn(n, d, device="cuda"), dim=1).bfloat16()
    scale = 1 / 0.07
    lse_r, lse_c = T.lse_forward(q, k, None, scale, True)
    g = torch.full((n,), 1.0 / n, device="cuda")
    w_r, w_c = T.direct_weights(lse_r, g), T.direct_weights(lse_c, g)
    stages = {
        "forward, row LSE (q vs k)": (lambda: T.lse_forward(q, k, None, scale, False), 2),
        "forward, row + column LSE": (lambda: T.lse_forward(q, k, None, scale, True, "rows"), 4),
        "forward, row + column, one pass": (lambda: T.lse_forward(q, k, None, scale, True, "fused"), 2),
        "backward dQ (row kernel)": (lambda: T._grad_rows(q, k, None, scale, (lse_r, g), (lse_c, g)), 4),
        "backward dQ + dK": (lambda: T.lse_backward(q, k, None, scale, lse_r, lse_c, g, g, "rows"), 8),
        "backward dQ + dK, fused": (lambda: T.lse_backward(q, k, None, scale, lse_r, lse_c, g, g, "fused"), 6),
        "backward dQ + dK, gemm": (lambda: T.lse_backward(q, k, None, scale, lse_r, lse_c, g, g, "gemm"), 6),
    }
    direct = {  # the same with the unit vectors' bound: 2^s itself, one exponential per logit in the backward
        "forward, row LSE, direct": (lambda: T.lse_forward(q, k, None, scale, False, direct=True), 2),
        "forward, row + column, direct": (lambda: T.lse_forward(q, k, None, scale, True, "rows", direct=True), 4),
        "forward, one pass, direct": (lambda: T.lse_forward(q, k, None, scale, True, "fused", direct=True), 2),
        "backward dQ (row kernel), direct": (
            lambda: T._grad_rows(q, k, None, scale, (lse_r, w_r), (lse_c, w_c), direct=True), 4),
        "backward dQ + dK, direct": (
            lambda: T.lse_backward(q, k, None, scale, lse_r, lse_c, g, g, "rows", direct=True), 8),
        "backward dQ + dK, fused, direct": (
            lambda: T.lse_backward(q, k, None, scale, lse_r, lse_c, g, g, "fused", direct=True), 6),
        "backward dQ + dK, gemm, direct": (
            lambda: T.lse_backward(q, k, None, scale, lse_r, lse_c, g, g, "gemm", direct=True), 6),
    }
    print(f"N={n} D={d} bf16 on {torch.cuda.get_device_name()}")
    for name, (fn, factor) in {**stages, **direct}.items():
        ms = gpu_time_ms(fn)
        print(f"{name:34s} {ms:8.3f} ms  {factor * n * n * d / ms / 1e9:7.1f} TFLOP/s (counting {factor}N^2D)")
    self_stages(n, d, scale)
    prologue_stages(n, d, scale)
    whole_step(n, d)
    chosen_configs()
    dk_gemm_stage(n, d)


def dk_gemm_stage(n: int, d: int) -> None:
    """The gemm backward's cuBLAS share alone: one chunk's ``dK = dS^T @ Q`` (``dS (n, chunk)`` as the row kernel
    stores it, :func:`._triton_lse.gemm_chunk` columns), whose ``(chunk, d)`` output is few tiles over a long
    reduction (1024 x 256 over 32768 at the target), so it fills the GPU only if cuBLAS splits the reduction. Timed
    both ways the backward's ``"auto"`` chooses between (:func:`._triton_lse._dk_product`): one product, and the
    reduction split by hand into :data:`._triton_lse.DK_SPLITS` slices."""
    chunk = T.gemm_chunk(n, n, 2)
    ds = torch.randn(n, chunk, device="cuda").bfloat16()
    q = torch.randn(n, d, device="cuda").bfloat16()
    chunks = -(-n // chunk)
    for name, fn in (("one product", lambda: T._mm_fp32(ds.t(), q)),
                     (f"split in {T.DK_SPLITS} by hand", lambda: T._mm_split_fp32(ds, q))):
        ms = gpu_time_ms(fn)
        print(f"gemm backward's dK GEMM ({chunk} x {d} over {n}), {name}: {ms * 1e3:.1f} us, "
              f"{2 * chunk * d * n / ms / 1e9:.1f} TFLOP/s; x{chunks} chunks per step: {ms * chunks:.3f} ms")


def chosen_configs(launchers=None) -> None:
    """The configuration each launcher's autotuner kept, per problem it tuned (its key: the shapes and the flags the
    launcher is keyed on, then the argument dtypes), e.g. whether the one-warpgroup ``TWO_PER_SM`` won; ``launchers``:
    ``(label, launcher)`` pairs (default: those of the losses' usual kernels)."""
    launchers = launchers or (("row forward", T._FORWARD), ("one-pass forward", T._FORWARD_COLUMN_SUMS),
                              ("row backward", T._BACKWARD), ("fused backward", T._BACKWARD_FUSED),
                              ("gemm backward's row kernel", T._BACKWARD_STORE_DS),
                              ("symmetric forward", S._FORWARD), ("symmetric backward", S._BACKWARD))
    for label, launch in launchers:
        for key, config in getattr(getattr(launch, "tuned", None), "cache", {}).items():
            print(f"{label} kept {config} for {key[:len(launch.tuned.keys)]}")


def self_stages(n: int, d: int, scale: float) -> None:
    """SimCLR's 2N form over n embeddings: the row LSE of Z @ Z^T (diagonal out) and its gradient, by the row
    kernels on (Z, Z) (the backward: one launch, each tile's row and column terms together) and by the symmetric
    kernels (upper triangle of tiles), TFLOP/s counting what each does."""
    z = torch.nn.functional.normalize(torch.randn(n, d, device="cuda"), dim=1).bfloat16()
    diagonal = torch.arange(n, device="cuda", dtype=torch.int32)
    lse = S.self_lse_forward(z, scale)
    g = torch.full((n,), 1.0 / n, device="cuda")
    stages = {
        "2N form forward, rows (Z, Z)": (lambda: T.lse_forward(z, z, diagonal, scale, False), 2),
        "2N form forward, symmetric": (lambda: S.self_lse_forward(z, scale), 1),
        "2N form backward, rows (Z, Z)": (lambda: T.self_grad_rows(z, diagonal, scale, lse, g), 4),
        "2N form backward, symmetric": (lambda: S.self_lse_backward(z, scale, lse, g), 3),
        "2N form forward, rows, direct": (lambda: T.lse_forward(z, z, diagonal, scale, False, direct=True), 2),
        "2N form forward, symmetric, direct": (lambda: S.self_lse_forward(z, scale, direct=True), 1),
        "2N form backward, rows, direct": (lambda: T.self_grad_rows(z, diagonal, scale, lse, g, direct=True), 4),
        "2N form backward, symmetric, direct": (lambda: S.self_lse_backward(z, scale, lse, g, direct=True), 3),
    }
    for name, (fn, factor) in stages.items():
        ms = gpu_time_ms(fn)
        print(f"{name:34s} {ms:8.3f} ms  {factor * n * n * d / ms / 1e9:7.1f} TFLOP/s (counting {factor}N^2D)")


def prologue_stages(n: int, d: int, scale: float) -> None:
    """The losses' prologue (:func:`selfsup_kernels_experimental.unit_pair.unit_pair`: both views L2-normalised,
    positive logits, finiteness check) forward, and forward + backward, fused in Triton and in PyTorch; GB/s counting
    the fused kernels' traffic (forward: read and write both views; backward: read x, its gradient and the other view,
    write dx, per view)."""
    from bench_kernels import with_triton
    from selfsup_kernels_experimental.unit_pair import unit_pair

    a = torch.randn(n, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    b = torch.randn(n, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    grads = (torch.randn(n, d, device="cuda", dtype=torch.bfloat16),
             torch.randn(n, d, device="cuda", dtype=torch.bfloat16), torch.randn(n, device="cuda"))

    def forward():
        with torch.no_grad():
            unit_pair(a, b, scale, backend="triton")

    def both():
        a.grad = b.grad = None
        torch.autograd.backward(unit_pair(a, b, scale, backend="triton"), grads)

    size = n * d * 2
    for prologue in ("fused", "torch"):
        for name, fn, moved in (("forward", forward, 4 * size), ("forward + backward", both, 12 * size)):
            ms = gpu_time_ms(with_triton({"NORMALIZE": prologue}, fn))
            print(f"prologue {name}, {prologue:5s}       {ms:8.3f} ms  {moved / ms / 1e6:7.1f} GB/s (counting the "
                  f"fused kernels' {moved // size} passes over (N, D))")


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
