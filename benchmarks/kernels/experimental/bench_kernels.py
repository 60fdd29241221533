"""Kernel benchmark: fused contrastive loss and prototype heads vs eager, torch.compile and lightly.

GPU (``--device cuda``): per shape, median time of forward+backward, TFLOP/s (8*N*N*D for the
symmetric InfoNCE; 6*N*N*D for SimCLR's 2N form over N embeddings; 8*S*V*H for a prototype head),
% of the device's bf16 dense peak, and peak memory above the inputs, for: selfsup's Triton kernels
(each algorithm), the eager PyTorch loss, ``torch.compile`` of it, and lightly's ``NTXentLoss``.
Every shape is first checked against a float64 reference.

CPU (``--device cpu``, ``cpu_bench.py``): small shapes, each variant in its own process, time and peak RSS
above the inputs: symmetric InfoNCE and SimCLR's 2N form (chunked path, eager, torch.compile, lightly),
prototype heads (chunked vs eager and torch.compile).

Both write ``kernels-<device>.json``, the table as ``.md`` and time and memory against size as ``.png``
(``plot_kernels.py``).

    python benchmarks/kernels/bench_kernels.py --device cuda --output DIR [--quick | --targets]
    python benchmarks/kernels/bench_kernels.py --device cpu --output DIR
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path
from unittest import mock

import torch
from cpu_bench import run_cpu, to_markdown_cpu  # the script's folder is on sys.path
from losses import (
    TEMPERATURE,
    eager_hard_head,
    eager_nt_xent,
    eager_soft_head,
    eager_symmetric_info_nce,
    fused_hard_head,
    fused_nt_xent,
    fused_soft_head,
    fused_symmetric_info_nce,
    info_nce_reference,
    nt_xent_reference,
)

BF16_PEAK_TFLOPS = {"H100": 989.4, "H200": 989.4, "A100": 312.0}  # dense bf16, vendor datasheets


# --------------------------------------------------------------------------- GPU measurement
def gpu_time_ms(fn, min_total_s=0.4, max_reps=25) -> float:
    fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    estimate = time.perf_counter() - start
    reps = int(min(max_reps, max(3, math.ceil(min_total_s / max(estimate, 1e-6)))))
    times = []
    for _ in range(reps):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(begin.elapsed_time(end))
    return statistics.median(times)


def _gpu_peak_mib(fn) -> float:
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


def _measure(fn, flops: float, peak_tflops: float) -> dict:
    try:
        fn()  # compile / autotune outside the measurements
        peak = _gpu_peak_mib(fn)
        ms = gpu_time_ms(fn)
    except torch.OutOfMemoryError:
        torch.cuda.empty_cache()
        return {"ms": None, "tflops": None, "pct_peak": None, "peak_mib": "OOM"}
    tflops = flops / (ms * 1e-3) / 1e12
    return {"ms": round(ms, 3), "tflops": round(tflops, 1), "pct_peak": round(100 * tflops / peak_tflops, 1),
            "peak_mib": round(peak, 1)}


def _matmul_ceiling_tflops() -> float:
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    ms = gpu_time_ms(lambda: a @ b)
    return 2 * 8192**3 / (ms * 1e-3) / 1e12


def with_triton(settings: dict[str, str], fn):
    """``fn`` run with the Triton algorithms ``settings`` (``{"FORWARD": "fused"}``: SELFSUP_TRITON_FORWARD=fused)."""
    env = {f"SELFSUP_TRITON_{stage}": algorithm for stage, algorithm in settings.items()}

    def run(*args):
        with mock.patch.dict(os.environ, env):
            return fn(*args)
    return run


# Triton variants timed at every InfoNCE shape: (label, algorithms); the first is the default: "auto" times the row
# and one-pass algorithms of the forward and of the backward on a problem's first call and keeps the faster of each
# (SELFSUP_TRITON_PRINT_CHOICES=1 prints the times and the choice). The others fix each algorithm, on the row kernels.
# "online exponentials" is the default of the earlier tables (kernels-h100-run*.md): a running max, and two
# exponentials per logit in the backward, where the losses' unit vectors now take one (SELFSUP_TRITON_EXP).
# "PyTorch normalisation": F.normalize and the positive logits in PyTorch, as in those tables, instead of one fused
# kernel forward and one per view backward (SELFSUP_TRITON_NORMALIZE, benchmarks/results/kernels-step-ops.md).
ROW_KERNELS = {"FORWARD": "rows", "BACKWARD": "rows", "EXP": "direct", "NORMALIZE": "fused"}
TRITON_VARIANTS = [("selfsup triton", {**ROW_KERNELS, "FORWARD": "auto", "BACKWARD": "auto"}),
                   ("selfsup triton, row kernels", ROW_KERNELS),
                   ("selfsup triton, online exponentials", {**ROW_KERNELS, "EXP": "online"}),
                   ("selfsup triton, PyTorch normalisation", {**ROW_KERNELS, "NORMALIZE": "torch"}),
                   ("selfsup triton, one-pass forward", {**ROW_KERNELS, "FORWARD": "fused"}),
                   ("selfsup triton, fused backward", {**ROW_KERNELS, "BACKWARD": "fused"}),
                   ("selfsup triton, gemm backward", {**ROW_KERNELS, "BACKWARD": "gemm"}),
                   ("selfsup triton, one-pass forward + fused backward",
                    {**ROW_KERNELS, "FORWARD": "fused", "BACKWARD": "fused"}),
                   ("selfsup triton, one-pass forward + gemm backward",
                    {**ROW_KERNELS, "FORWARD": "fused", "BACKWARD": "gemm"})]
# ... and at every SimCLR 2N-form shape.
SELF_VARIANTS = [("selfsup triton", {"SELF": "auto", "NORMALIZE": "fused"}),
                 ("selfsup triton, row kernels", {"SELF": "rows", "NORMALIZE": "fused"}),
                 ("selfsup triton, PyTorch normalisation", {"SELF": "rows", "NORMALIZE": "torch"}),
                 ("selfsup triton, symmetric", {"SELF": "symmetric", "NORMALIZE": "fused"})]


def _loss_and_backward(loss_fn):
    def run(a, b):
        loss = loss_fn(a, b)
        loss.backward()
        return loss
    return run


def _check_contrastive(n: int, d: int, fused, reference, settings: dict[str, str]) -> float:
    """Relative error of ``fused(q, k, "triton")`` (under the Triton ``settings``) and its gradients vs
    ``reference`` in float64 on fresh random bf16 inputs."""
    gen = torch.Generator(device="cuda").manual_seed(n + d)
    q = torch.randn(n, d, device="cuda", generator=gen).bfloat16()
    k = torch.randn(n, d, device="cuda", generator=gen).bfloat16()
    q64, k64 = q.double().requires_grad_(True), k.double().requires_grad_(True)
    ref = reference(q64, k64)
    ref.backward()
    qb, kb = q.clone().requires_grad_(True), k.clone().requires_grad_(True)
    got = with_triton(settings, _loss_and_backward(lambda a, b: fused(a, b, "triton")))(qb, kb)
    err = [abs(float(got.detach()) - float(ref.detach())) / abs(float(ref.detach()))]
    for mine, theirs in ((qb.grad, q64.grad), (kb.grad, k64.grad)):
        err.append(float((mine.double() - theirs).norm() / theirs.norm()))
    if not all(math.isfinite(e) for e in err):
        raise RuntimeError(f"non-finite result at N={n}, D={d}: {err}")
    return max(err)


def run_gpu_nt_xent(args, peak: float, lightly_loss) -> list[dict]:
    """SimCLR's 2N form at 2B embeddings of D=256: Triton's row kernels on (Z, Z) and its symmetric kernels
    against eager, torch.compile and lightly; TFLOP/s counts 6 (2B)^2 D (eager's logits and their two gradient
    matmuls), what the symmetric kernels do in 4 (2B)^2 D."""
    compiled = torch.compile(eager_nt_xent, dynamic=True)
    rows, d = [], 256
    for n in ([16384, 32768, 65536] if not args.quick else [32768]):  # not run with --targets
        errors = {label: _check_contrastive(min(n, 8192) // 2, d, fused_nt_xent, nt_xent_reference, settings)
                  for label, settings in SELF_VARIANTS}
        z1 = torch.randn(n // 2, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        z2 = torch.randn(n // 2, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)

        def step(loss_fn):
            def run():
                z1.grad = z2.grad = None
                loss_fn(z1, z2).backward()
            return run

        variants = {**{label: with_triton(settings, step(lambda a, b: fused_nt_xent(a, b, "triton")))
                       for label, settings in SELF_VARIANTS},
                    "eager": step(eager_nt_xent), "torch.compile": step(compiled),
                    "lightly NTXentLoss": step(lightly_loss)}
        for variant, fn in variants.items():
            rows.append({"kind": "SimCLR NT-Xent (2N form)", "shape": f"2B={n} D={d}", "variant": variant,
                         "rel_err_vs_fp64": round(errors[variant], 5) if variant in errors else None,
                         **_measure(fn, 6 * n * n * d, peak)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def run_gpu(args) -> dict:
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), 989.4)
    ceiling = _matmul_ceiling_tflops()
    print(f"device: {name}; bf16 dense peak {peak} TFLOP/s (datasheet); cuBLAS 8192^3 bf16 matmul "
          f"measured {ceiling:.0f} TFLOP/s", flush=True)
    from lightly.loss import NTXentLoss

    lightly_loss = NTXentLoss(TEMPERATURE)
    compiled = torch.compile(eager_symmetric_info_nce, dynamic=True)
    rows = []
    sizes = [32768] if args.targets else [4096, 32768] if args.quick else [4096, 16384, 32768, 65536]
    dims = [128, 256, 512] if not (args.quick or args.targets) else [256]
    for d in dims:
        for n in sizes:
            errors = {label: _check_contrastive(min(n, 8192), d, fused_symmetric_info_nce, info_nce_reference,
                                                settings) for label, settings in TRITON_VARIANTS}
            q = torch.randn(n, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
            k = torch.randn(n, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)

            def step(loss_fn):
                def run():
                    q.grad = k.grad = None
                    loss_fn(q, k).backward()
                return run

            flops = 8 * n * n * d
            variants = {
                # the backward runs inside step's run(): the algorithms are set around the whole step
                **{label: with_triton(settings, step(lambda a, b: fused_symmetric_info_nce(a, b, "triton")))
                   for label, settings in TRITON_VARIANTS},
                "eager": step(eager_symmetric_info_nce),
                "torch.compile": step(compiled),
                "lightly NTXentLoss": step(lightly_loss),
            }
            for variant, fn in variants.items():
                result = _measure(fn, flops, peak)
                rows.append({"kind": "symmetric InfoNCE", "shape": f"N={n} D={d}", "variant": variant,
                             "rel_err_vs_fp64": round(errors[variant], 5) if variant in errors else None,
                             **result})
                print(json.dumps(rows[-1]), flush=True)
    if not args.targets:
        rows += run_gpu_nt_xent(args, peak, lightly_loss)
    compiled_soft = torch.compile(eager_soft_head, dynamic=True)
    compiled_hard = torch.compile(eager_hard_head, dynamic=True)
    for s_rows in ([4096, 16384] if not (args.quick or args.targets) else [16384]):
        for v in ([8192, 65536] if not args.targets else [65536]):
            h_dim = 256
            h = torch.randn(s_rows, h_dim, device="cuda", dtype=torch.bfloat16, requires_grad=True)
            w = (torch.randn(v, h_dim, device="cuda", dtype=torch.bfloat16) * 0.05).requires_grad_(True)
            ht = torch.randn(s_rows, h_dim, device="cuda", dtype=torch.bfloat16)
            wt = torch.randn(v, h_dim, device="cuda", dtype=torch.bfloat16) * 0.05
            center = torch.randn(v, device="cuda") * 0.1
            labels = torch.randint(0, v, (s_rows,), device="cuda")

            def step(loss_fn):
                def run():
                    h.grad = w.grad = None
                    loss_fn().backward()
                return run

            sub = slice(0, 2048)  # float64 logits of every row would not fit
            with torch.no_grad():
                ours = fused_soft_head(h[sub], w, ht[sub], wt, center, "triton")
                ref = eager_soft_head(h[sub].double(), w.double(), ht[sub].double(), wt.double(), center.double())
            soft_err = abs(float(ours) - float(ref)) / abs(float(ref))
            flops = 8 * s_rows * v * h_dim
            variants = {
                ("soft (DINO/iBOT)", "selfsup triton"): step(lambda: fused_soft_head(
                    h, w, ht, wt, center, "triton")),
                ("soft (DINO/iBOT)", "eager"): step(lambda: eager_soft_head(h, w, ht, wt, center)),
                ("soft (DINO/iBOT)", "torch.compile"): step(lambda: compiled_soft(h, w, ht, wt, center)),
                ("hard labels", "selfsup triton"): step(lambda: fused_hard_head(
                    h, w, labels, "triton")),
                ("hard labels", "eager"): step(lambda: eager_hard_head(h, w, labels)),
                ("hard labels", "torch.compile"): step(lambda: compiled_hard(h, w, labels)),
            }
            for (kind, variant), fn in variants.items():
                head_flops = flops if kind.startswith("soft") else 6 * s_rows * v * h_dim
                result = _measure(fn, head_flops, peak)
                rows.append({"kind": f"prototype head, {kind}", "shape": f"S={s_rows} H={h_dim} V={v}",
                             "variant": variant,
                             "rel_err_vs_fp64": round(soft_err, 5) if variant == "selfsup triton"
                             and kind.startswith("soft") else None, **result})
                print(json.dumps(rows[-1]), flush=True)
    return {"device": name, "bf16_peak_tflops": peak, "matmul_ceiling_tflops": round(ceiling, 1), "rows": rows}


def to_markdown(result: dict) -> str:
    rows = result["rows"]
    if result["device"] == "cpu":
        return to_markdown_cpu(result)
    lines = [f"Device: {result['device']}; bf16 dense peak {result['bf16_peak_tflops']} TFLOP/s; measured "
             f"cuBLAS bf16 matmul {result['matmul_ceiling_tflops']} TFLOP/s.", "",
             "| loss | shape | variant | median ms | TFLOP/s | % bf16 peak | peak MiB | speed-up vs eager | "
             "memory vs eager | rel. err vs fp64 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        eager = next((x for x in rows if x["kind"] == r["kind"] and x["shape"] == r["shape"]
                      and x["variant"] == "eager"), None)
        speed = mem = "-"
        if eager and eager["ms"] and r["ms"]:
            speed = f"{eager['ms'] / r['ms']:.2f}x"
        if eager and isinstance(eager["peak_mib"], float) and isinstance(r["peak_mib"], float):
            mem = f"{100 * r['peak_mib'] / eager['peak_mib']:.2f}%"
        lines.append(f"| {r['kind']} | {r['shape']} | {r['variant']} | {r['ms']} | {r['tflops']} | "
                     f"{r['pct_peak']} | {r['peak_mib']} | {speed} | {mem} | {r['rel_err_vs_fp64'] or ''} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="a few shapes only")
    parser.add_argument("--targets", action="store_true",
                        help="only the issue's GPU target shapes: InfoNCE N=32768 D=256, head S=16384 V=65536")
    parser.add_argument("--output", type=Path, default=Path("out/bench-kernels"))
    args = parser.parse_args()
    result = run_gpu(args) if args.device == "cuda" else run_cpu(args.quick)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / f"kernels-{args.device}.json").write_text(json.dumps(result, indent=2))
    table = to_markdown(result)
    (args.output / f"kernels-{args.device}.md").write_text(table)
    try:  # a lent GPU machine may lack matplotlib: the measurements matter more than the figure
        from plot_kernels import plot
    except ImportError as missing:
        print(f"no plot ({missing}); later: python benchmarks/kernels/plot_kernels.py {args.output}/kernels-*.json")
    else:
        plot(result, args.output / f"kernels-{args.device}.png")
    print(table)


if __name__ == "__main__":
    main()
