"""The kernel benchmark on CPU: time and peak RSS of forward + backward, each variant in its own process.

Three tables, fp32 at small shapes:
- contrastive, N pairs of D-dimensional embeddings (the GPU table's N): symmetric InfoNCE and SimCLR's 2N form
  by the chunked path (the CPU default), eagerly and by ``torch.compile`` of the eager loss, against lightly's
  ``NTXentLoss`` (the issue's CPU reference); the 2N form also on the full square (``contrastive_lse(Z, Z)``), to
  show the symmetric tiles.
- temperature: symmetric InfoNCE on clustered embeddings at temperature 0.07 and 0.01 (CLIP's), where exp of
  the far-below-max logits would take the CPU's slow path.
- prototype heads, S rows x H x V prototypes: DINO/iBOT soft targets and hard labels, chunked vs eager and
  ``torch.compile``; and DINO's whole multi-crop loss (10 student views, 2 teacher views) by
  ``DINOLoss.forward_heads`` vs on the logits.

Every variant runs one untimed step first (``torch.compile`` compiles there), then the timed ones, then one more
for its peak RSS above what is resident before it (``VmHWM`` after resetting it through ``/proc/self/clear_refs``),
with glibc set to give freed buffers back to the OS so that the peak counts every buffer the step allocates.

    python benchmarks/kernels/cpu_bench.py --worker TABLE KIND VARIANT ARGS...   (one row's measurement, as JSON)
"""

from __future__ import annotations

import ctypes
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import losses  # the script's folder is on sys.path
import torch
from tqdm import tqdm

from selfsup.core import kernels

LIGHTLY = "lightly NTXentLoss (2N form)"
FULL_SQUARE = "selfsup chunked, full square (contrastive_lse(Z, Z))"


def _full_square_lse(z, scale, backend, max_logit=None):
    """The 2N form's LSE without the symmetry: every logit computed as a row and again as a column."""
    diagonal = torch.arange(z.shape[0], device=z.device)
    return kernels.contrastive_lse(z, z, scale, exclude=diagonal, backend=backend, max_logit=max_logit)


def _full_square_nt_xent(z1, z2):
    with mock.patch("selfsup.core.kernels.info_nce.self_contrastive_lse", _full_square_lse):
        return losses.fused_nt_xent(z1, z2, "chunked")


def compiled(fn):
    """``torch.compile(fn)`` (dynamic shapes, as the GPU bench), wrapped at its first call, compiled there too: in a
    worker, the untimed warm-up step. Not at import: ``torch.compile`` itself imports the compiler (4.9 s here),
    which every worker process, also those of the other variants, would pay."""
    cache = {}

    def run(*args):
        if "fn" not in cache:
            cache["fn"] = torch.compile(fn, dynamic=True)
        return cache["fn"](*args)
    return run


COMPILED = "torch.compile of eager"


def _lightly(z1, z2, temperature=losses.TEMPERATURE):
    from lightly.loss import NTXentLoss

    return NTXentLoss(temperature)(z1, z2)


# (loss, variant) -> fn(a, b) for the contrastive table; lightly's NTXentLoss is the reference of every row.
CONTRASTIVE = {
    ("symmetric InfoNCE", "selfsup chunked (kernels.info_nce)"): lambda a, b: losses.fused_symmetric_info_nce(
        a, b, "chunked"),
    ("symmetric InfoNCE", "eager (full logits, CLIP style)"): losses.eager_symmetric_info_nce,
    ("symmetric InfoNCE", COMPILED): compiled(losses.eager_symmetric_info_nce),
    ("SimCLR NT-Xent (2N form)", "selfsup chunked (kernels.nt_xent)"): lambda a, b: losses.fused_nt_xent(
        a, b, "chunked"),
    ("SimCLR NT-Xent (2N form)", FULL_SQUARE): _full_square_nt_xent,
    ("SimCLR NT-Xent (2N form)", "eager (full logits)"): losses.eager_nt_xent,
    ("SimCLR NT-Xent (2N form)", COMPILED): compiled(losses.eager_nt_xent),
    ("SimCLR NT-Xent (2N form)", LIGHTLY): _lightly,
}
_compiled_soft, _compiled_hard = compiled(losses.eager_soft_head), compiled(losses.eager_hard_head)
# (loss, variant) -> fn(h, w, ht, wt, center, labels) for the head table; eager is the reference.
HEADS = {
    ("prototype head, soft (DINO/iBOT)", "selfsup chunked"): lambda h, w, ht, wt, c, y: losses.fused_soft_head(
        h, w, ht, wt, c, "chunked"),
    ("prototype head, soft (DINO/iBOT)", "eager"): lambda h, w, ht, wt, c, y: losses.eager_soft_head(h, w, ht, wt, c),
    ("prototype head, soft (DINO/iBOT)", COMPILED): lambda h, w, ht, wt, c, y: _compiled_soft(h, w, ht, wt, c),
    ("prototype head, hard labels", "selfsup chunked"): lambda h, w, ht, wt, c, y: losses.fused_hard_head(
        h, w, y, "chunked"),
    ("prototype head, hard labels", "eager"): lambda h, w, ht, wt, c, y: losses.eager_hard_head(h, w, y),
    ("prototype head, hard labels", COMPILED): lambda h, w, ht, wt, c, y: _compiled_hard(h, w, y),
}


# variant -> fn(a, b, temperature) for the temperature table (symmetric InfoNCE on clustered embeddings).
AT_TEMPERATURE = {
    "selfsup chunked (kernels.info_nce)": lambda a, b, t: losses.fused_symmetric_info_nce(a, b, "chunked", t),
    "eager (full logits, CLIP style)": losses.eager_symmetric_info_nce,
    COMPILED: compiled(losses.eager_symmetric_info_nce),
    LIGHTLY: lambda a, b, t: _lightly(a, b, t),
}
TEMPERATURES = (0.07, 0.01)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _run_step(step, params: list[torch.Tensor]) -> float:
    """One forward + backward from cleared gradients; the loss."""
    for p in params:
        p.grad = None
    loss = step()
    loss.backward()
    return float(loss.detach())


def _allocations_back_to_the_os() -> None:
    """From now on glibc maps every allocation of 64 KiB or more on its own and unmaps it when freed, and the
    memory it kept is given back: resident memory then follows what is live. By default glibc raises its mmap
    threshold (up to 32 MiB) after such frees and reuses the freed heap, so a step after a warm-up would show
    little or no new RSS for buffers below that size."""
    libc = ctypes.CDLL("libc.so.6")
    m_mmap_threshold = -3  # mallopt's M_MMAP_THRESHOLD; setting it also stops the dynamic adjustment
    if libc.mallopt(m_mmap_threshold, 64 * 1024) != 1:
        raise RuntimeError("mallopt(M_MMAP_THRESHOLD) failed")
    libc.malloc_trim(0)


def _time_and_peak(step, params: list[torch.Tensor], reps: int = 3) -> dict:
    """Median seconds of ``step()`` (a loss, then its backward) over ``reps`` runs after an untimed one (where
    ``torch.compile`` compiles), then the peak RSS of one more run above what was resident before it, with the
    allocator returning freed memory (:func:`_allocations_back_to_the_os`)."""
    _run_step(step, params)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        value = _run_step(step, params)
        times.append(time.perf_counter() - start)
    _allocations_back_to_the_os()
    base = _rss_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    _run_step(step, params)
    peak = _rss_kib("VmHWM") - base
    return {"loss": round(value, 5), "median_s": round(statistics.median(times), 3),
            "peak_rss_mib": round(peak / 1024, 1), "threads": torch.get_num_threads()}


def contrastive_worker(kind: str, variant: str, pairs: int, dim: int) -> dict:
    """One row of the contrastive table: fwd + bwd on two views of ``pairs`` x ``dim`` fp32 embeddings."""
    torch.manual_seed(0)
    z1 = torch.randn(pairs, dim, requires_grad=True)
    z2 = torch.randn(pairs, dim, requires_grad=True)
    fn = CONTRASTIVE[kind, variant]
    return _time_and_peak(lambda: fn(z1, z2), [z1, z2])


def temperature_worker(variant: str, pairs: int, dim: int, temperature_x1000: int) -> dict:
    """One row of the temperature table: embeddings near a few directions, as a trained encoder gives (cosines
    spread over [-1, 1], unlike random vectors), so that at a low temperature most logits lie far below their
    row's largest: where exp takes the CPU's slow path."""
    torch.manual_seed(0)
    centres = torch.randn(pairs, 4) @ torch.randn(4, dim)
    z1 = (centres + 0.3 * torch.randn(pairs, dim)).requires_grad_(True)
    z2 = (centres + 0.3 * torch.randn(pairs, dim)).requires_grad_(True)
    temperature = temperature_x1000 / 1000
    fn = AT_TEMPERATURE[variant]
    return _time_and_peak(lambda: fn(z1, z2, temperature), [z1, z2])


def head_worker(kind: str, variant: str, rows: int, hidden: int, prototypes: int) -> dict:
    """One row of the head table: fwd + bwd of a (rows, hidden) x (prototypes, hidden) head in fp32."""
    torch.manual_seed(0)
    h = torch.randn(rows, hidden, requires_grad=True)
    w = (torch.randn(prototypes, hidden) * 0.05).requires_grad_(True)
    ht, wt = torch.randn(rows, hidden), torch.randn(prototypes, hidden) * 0.05
    center = torch.randn(prototypes) * 0.1
    labels = torch.randint(0, prototypes, (rows,))
    fn = HEADS[kind, variant]
    return _time_and_peak(lambda: fn(h, w, ht, wt, center, labels), [h, w])


DINO_KIND = "DINO loss (2 global + 8 local views)"
DINO_VARIANTS = {"selfsup chunked": "DINOLoss.forward_heads", "eager": "DINOLoss on the logits"}


def dino_worker(variant: str, batch: int, hidden: int, prototypes: int) -> dict:
    """One DINO row of the head table: ``DINOLoss`` on the (views, B, K) logits of a linear last layer, or
    ``forward_heads`` on its inputs and prototypes (the same loss), fwd + bwd in fp32."""
    from selfsup.core.objectives import DINOLoss

    torch.manual_seed(0)
    hs = torch.nn.functional.normalize(torch.randn(10, batch, hidden), dim=-1).requires_grad_(True)
    ht = torch.nn.functional.normalize(torch.randn(2, batch, hidden), dim=-1)
    w, wt = torch.randn(prototypes, hidden).requires_grad_(True), torch.randn(prototypes, hidden)
    loss = DINOLoss(prototypes)
    if DINO_VARIANTS[variant] == "DINOLoss.forward_heads":
        def step():
            return loss.forward_heads(hs, w, ht, wt, backend="chunked")
    else:
        def step():
            return loss(hs @ w.T, ht @ wt.T)
    return _time_and_peak(step, [hs, w])


def _run_worker(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        error = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit status {out.returncode}"
        return {"error": error}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _jobs(quick: bool) -> list[tuple[str, str, str, str, list[int]]]:
    """``(table, kind, variant, shape label, the worker's integer arguments)`` of every row."""
    jobs = []
    for pairs in ([1024] if quick else [1024, 4096, 16384]):
        jobs += [("contrastive", kind, variant, f"N={pairs} D=128", [pairs, 128]) for kind, variant in CONTRASTIVE]
    pairs = 1024 if quick else 4096
    for temperature in TEMPERATURES:
        jobs += [("temperature", f"symmetric InfoNCE, T={temperature}", variant, f"N={pairs} D=128",
                  [pairs, 128, round(temperature * 1000)]) for variant in AT_TEMPERATURE]
    for rows, prototypes in ([(1024, 8192)] if quick else [(4096, 8192), (4096, 65536)]):
        jobs += [("heads", kind, variant, f"S={rows} H=256 V={prototypes}", [rows, 256, prototypes])
                 for kind, variant in HEADS]
    batch, prototypes = (16, 8192) if quick else (64, 65536)
    jobs += [("heads", DINO_KIND, variant, f"views=10 B={batch} H=256 K={prototypes}", [batch, 256, prototypes])
             for variant in DINO_VARIANTS]
    return jobs


def run_cpu(quick: bool) -> dict:
    """Every variant at every shape, each in a fresh process; rows printed as they come, under a progress bar."""
    results = []
    jobs = _jobs(quick)
    for table, kind, variant, shape, args in tqdm(jobs, desc="kernels on CPU", unit="row"):
        row = {"table": table, "kind": kind, "variant": variant, "shape": shape,
               **_run_worker([table, kind, variant, *map(str, args)])}
        results.append(row)
        tqdm.write(json.dumps(row))
    return {"device": "cpu", "threads": torch.get_num_threads(), "rows": results}


def _ratio_cells(row: dict, ref: dict | None) -> tuple[str, str]:
    if ref is None or "error" in ref or "error" in row:
        return "-", "-"
    return f"{row['median_s'] / ref['median_s']:.2f}x", f"{100 * row['peak_rss_mib'] / ref['peak_rss_mib']:.1f}%"


def to_markdown_cpu(result: dict) -> str:
    rows = result["rows"]
    lines = []
    for table, reference, title in (("contrastive", LIGHTLY, "vs lightly"), ("temperature", LIGHTLY, "vs lightly"),
                                    ("heads", "eager", "vs eager")):
        lines += ["", f"| loss | shape | variant | median s (fwd+bwd) | peak RSS MiB | {title}: time | "
                  f"{title}: memory |", "|---|---|---|---|---|---|---|"]
        for r in (x for x in rows if x["table"] == table):
            ref = next((x for x in rows if x["table"] == table and x["shape"] == r["shape"]
                        and x["variant"] == reference and (table == "contrastive" or x["kind"] == r["kind"])), None)
            if "error" in r:
                lines.append(f"| {r['kind']} | {r['shape']} | {r['variant']} | {r['error']} | | | |")
                continue
            time_ratio, memory_ratio = _ratio_cells(r, ref)
            lines.append(f"| {r['kind']} | {r['shape']} | {r['variant']} | {r['median_s']} | {r['peak_rss_mib']} | "
                         f"{time_ratio} | {memory_ratio} |")
    method = ("each variant in its own process: one untimed step (torch.compile compiles there), the median of 3 "
              "timed ones, then the peak RSS of one more above what was resident before it, freed buffers returned "
              "to the OS")
    return f"CPU, {result['threads']} threads, fp32; {method}.\n" + "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    table, kind, variant, *args = argv
    args = [int(a) for a in args]
    if table == "temperature":
        row = temperature_worker(variant, *args)
    elif kind == DINO_KIND:
        row = dino_worker(variant, *args)
    else:
        row = (contrastive_worker if table == "contrastive" else head_worker)(kind, variant, *args)
    print(json.dumps(row))


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"]:
        raise SystemExit("run benchmarks/kernels/bench_kernels.py --device cpu; this file's entry point is its workers")
    main(sys.argv[2:])
