"""Kernel benchmark: fused contrastive loss and prototype heads vs eager, torch.compile and lightly.

GPU (``--device cuda``): per shape, median time of forward+backward, TFLOP/s (8*N*N*D for the
symmetric InfoNCE; 6*N*N*D for SimCLR's 2N form over N embeddings; 8*S*V*H for a prototype head),
% of the device's bf16 dense peak, and peak memory above the inputs, for: selfsup's Triton kernels
(each algorithm), the eager PyTorch loss, ``torch.compile`` of it, and lightly's ``NTXentLoss``.
Every shape is first checked against a float64 reference.

CPU (``--device cpu``): SimCLR's 2N form at small shapes, each variant in its own process, time and
peak RSS above the inputs (``VmHWM`` after resetting it through ``/proc/self/clear_refs``): the
chunked path (symmetric tiles), the chunked path on the full square, eager, and lightly.

    python benchmarks/kernels/bench_kernels.py --device cuda --output DIR
    python benchmarks/kernels/bench_kernels.py --device cpu --output DIR
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import torch
import torch.nn.functional as F

from selfsup.core import kernels
from selfsup.core import objectives as obj

TEMPERATURE = 0.07
BF16_PEAK_TFLOPS = {"H100": 989.4, "H200": 989.4, "A100": 312.0}  # dense bf16, vendor datasheets


# --------------------------------------------------------------------------- losses under test
def eager_symmetric_info_nce(q, k, temperature=TEMPERATURE):
    """The usual implementation (CLIP/open_clip style): full logits, cross-entropy both ways."""
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    logits = (q @ k.T).float() / temperature
    labels = torch.arange(q.shape[0], device=q.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


def fused_symmetric_info_nce(q, k, backend):
    return kernels.info_nce(q, k, TEMPERATURE, symmetric=True, backend=backend)


def eager_nt_xent(z1, z2, temperature=TEMPERATURE):
    """SimCLR's 2N form as usually written: the (2B, 2B) logits, the diagonal masked, cross-entropy."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T).float() / temperature
    logits.fill_diagonal_(float("-inf"))
    b = z1.shape[0]
    positives = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(logits, positives)


def fused_nt_xent(z1, z2, backend):
    return kernels.nt_xent(z1, z2, TEMPERATURE, backend=backend)


def eager_soft_head(h, w, ht, wt, center, st=0.1, tt=0.04):
    s = (h @ w.T).float() / st
    t = ((ht @ wt.T).float() - center) / tt
    return -(torch.softmax(t, 1) * torch.log_softmax(s, 1)).sum(1).mean()


def eager_hard_head(h, w, labels):
    return F.cross_entropy((h @ w.T).float(), labels)


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


# Triton variants timed at every InfoNCE shape: (label, algorithms); the first is the default.
TRITON_VARIANTS = [("selfsup triton", {"FORWARD": "rows", "BACKWARD": "rows"}),
                   ("selfsup triton, one-pass forward", {"FORWARD": "fused", "BACKWARD": "rows"}),
                   ("selfsup triton, fused backward", {"FORWARD": "rows", "BACKWARD": "fused"}),
                   ("selfsup triton, one-pass forward + fused backward", {"FORWARD": "fused", "BACKWARD": "fused"})]
# ... and at every SimCLR 2N-form shape.
SELF_VARIANTS = [("selfsup triton", {"SELF": "rows"}), ("selfsup triton, symmetric", {"SELF": "symmetric"})]


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


def info_nce_reference(q, k):
    return obj.info_nce(q, k, TEMPERATURE, symmetric=True)


def nt_xent_reference(z1, z2):
    return obj.nt_xent(z1, z2, TEMPERATURE)


def run_gpu_nt_xent(args, peak: float, lightly_loss) -> list[dict]:
    """SimCLR's 2N form at 2B embeddings of D=256: Triton's row kernels on (Z, Z) and its symmetric kernels
    against eager, torch.compile and lightly; TFLOP/s counts 6 (2B)^2 D (eager's logits and their two gradient
    matmuls), what the symmetric kernels do in 4 (2B)^2 D."""
    compiled = torch.compile(eager_nt_xent, dynamic=True)
    rows, d = [], 256
    for n in ([16384, 32768, 65536] if not args.quick else [32768]):
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
    sizes = [4096, 16384, 32768, 65536] if not args.quick else [4096, 32768]
    dims = [128, 256, 512] if not args.quick else [256]
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
    rows += run_gpu_nt_xent(args, peak, lightly_loss)
    compiled_soft = torch.compile(eager_soft_head, dynamic=True)
    compiled_hard = torch.compile(eager_hard_head, dynamic=True)
    for s_rows in ([4096, 16384] if not args.quick else [16384]):
        for v in [8192, 65536]:
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
                ours = kernels.prototype_cross_entropy(h[sub], w, ht[sub], wt, center=center, backend="triton")
                ref = eager_soft_head(h[sub].double(), w.double(), ht[sub].double(), wt.double(), center.double())
            soft_err = abs(float(ours) - float(ref)) / abs(float(ref))
            flops = 8 * s_rows * v * h_dim
            variants = {
                ("soft (DINO/iBOT)", "selfsup triton"): step(lambda: kernels.prototype_cross_entropy(
                    h, w, ht, wt, center=center, backend="triton")),
                ("soft (DINO/iBOT)", "eager"): step(lambda: eager_soft_head(h, w, ht, wt, center)),
                ("soft (DINO/iBOT)", "torch.compile"): step(lambda: compiled_soft(h, w, ht, wt, center)),
                ("hard labels", "selfsup triton"): step(lambda: kernels.linear_cross_entropy(
                    h, w, labels, backend="triton")),
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


# --------------------------------------------------------------------------- CPU measurement
def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


FULL_SQUARE = "selfsup chunked, full square (contrastive_lse(Z, Z))"


def _full_square_lse(z, scale, backend):
    """The 2N form's LSE without the symmetry: every logit computed as a row and again as a column."""
    diagonal = torch.arange(z.shape[0], device=z.device)
    return kernels.contrastive_lse(z, z, scale, exclude=diagonal, backend=backend)


def cpu_worker(variant: str, pairs: int, dim: int) -> dict:
    """One variant in this process: fwd+bwd on ``pairs`` x ``dim`` fp32 pairs, SimCLR 2N form."""
    torch.manual_seed(0)
    z1 = torch.randn(pairs, dim, requires_grad=True)
    z2 = torch.randn(pairs, dim, requires_grad=True)
    if variant == "lightly NTXentLoss":
        from lightly.loss import NTXentLoss

        loss_fn = NTXentLoss(TEMPERATURE)
    elif variant == "eager (objectives.nt_xent)":
        def loss_fn(a, b):
            return obj.nt_xent(a, b, TEMPERATURE)
    elif variant == FULL_SQUARE:
        def loss_fn(a, b):
            with mock.patch("selfsup.core.kernels.info_nce.self_contrastive_lse", _full_square_lse):
                return kernels.nt_xent(a, b, TEMPERATURE, backend="chunked")
    else:
        def loss_fn(a, b):
            return kernels.nt_xent(a, b, TEMPERATURE, backend="chunked")
    base = _rss_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    times, value = [], None
    for _ in range(3):
        z1.grad = z2.grad = None
        start = time.perf_counter()
        loss = loss_fn(z1, z2)
        loss.backward()
        times.append(time.perf_counter() - start)
        value = float(loss)
    peak = _rss_kib("VmHWM") - base
    return {"variant": variant, "pairs": pairs, "embeddings": 2 * pairs, "dim": dim, "loss": round(value, 5),
            "median_s": round(statistics.median(times), 3), "peak_rss_mib": round(peak / 1024, 1),
            "threads": torch.get_num_threads()}


def run_cpu(args) -> dict:
    rows = []
    shapes = [(1024, 128), (4096, 128), (8192, 128)] if not args.quick else [(1024, 128)]
    for pairs, dim in shapes:
        for variant in ("selfsup chunked (kernels.nt_xent)", FULL_SQUARE, "eager (objectives.nt_xent)",
                        "lightly NTXentLoss"):
            out = subprocess.run([sys.executable, __file__, "--cpu-worker", variant, str(pairs), str(dim)],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                rows.append({"variant": variant, "pairs": pairs, "embeddings": 2 * pairs, "dim": dim,
                             "error": out.stderr.strip().splitlines()[-1] if out.stderr else f"rc={out.returncode}"})
            else:
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    return {"device": "cpu", "rows": rows}


def to_markdown(result: dict) -> str:
    rows = result["rows"]
    if result["device"] == "cpu":
        lines = ["| loss (SimCLR 2N form) | embeddings x D | variant | median s (fwd+bwd) | peak RSS MiB | "
                 "vs lightly: time | vs lightly: memory |", "|---|---|---|---|---|---|---|"]
        for r in rows:
            ref = next((x for x in rows if x["pairs"] == r["pairs"] and x["variant"] == "lightly NTXentLoss"
                        and "median_s" in x), None)
            if "error" in r:
                lines.append(f"| nt_xent | {r['embeddings']} x {r['dim']} | {r['variant']} | {r['error']} | | | |")
                continue
            t_ratio = f"{r['median_s'] / ref['median_s']:.2f}x" if ref else "-"
            m_ratio = f"{100 * r['peak_rss_mib'] / ref['peak_rss_mib']:.1f}%" if ref else "-"
            lines.append(f"| nt_xent | {r['embeddings']} x {r['dim']} | {r['variant']} | {r['median_s']} | "
                         f"{r['peak_rss_mib']} | {t_ratio} | {m_ratio} |")
        return "\n".join(lines) + "\n"
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
    if len(sys.argv) > 1 and sys.argv[1] == "--cpu-worker":
        print(json.dumps(cpu_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="a few shapes only")
    parser.add_argument("--output", type=Path, default=Path("out/bench-kernels"))
    args = parser.parse_args()
    result = run_gpu(args) if args.device == "cuda" else run_cpu(args)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / f"kernels-{args.device}.json").write_text(json.dumps(result, indent=2))
    table = to_markdown(result)
    (args.output / f"kernels-{args.device}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
