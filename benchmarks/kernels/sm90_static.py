"""The Triton kernels compiled for an H100 (sm_90) on a machine without a GPU: registers, spills, shared memory and
the instructions that matter, per kernel specialisation and autotuning configuration.

Triton ships ``ptxas``, so compiling needs no GPU. The script runs the kernels' Python wrappers on CPU tensors of
the benchmark's shapes (bf16, or ``--dtype`` float16 / float32; N=4096, D in ``--dims``) with every launch
intercepted: each specialisation the losses launch (symmetric InfoNCE and SimCLR's 2N form on the row kernels, and
the prototype head) is compiled for sm_90 in every configuration its autotuner would try, and its cubin read with
``cuobjdump``: registers per thread, local-memory (spill) loads and stores in the SASS, the shared memory Triton
asks for (over the 227 KiB an sm_90 block may take the configuration cannot launch), how many programs (blocks) of
it one multiprocessor holds at once (:func:`programs_per_sm`), per
kernel the exponentials (``MUFU.EX2``) and tensor-core instructions in the SASS: ``HGMMA`` (Hopper's warpgroup MMA,
wgmma) and ``HMMA`` (the warp-level MMA of earlier GPUs, which Triton falls back to where a tile does not suit
wgmma).
Static counts: no timing. ``--default-only``: only the configuration a launch takes without autotuning; ``--config M
N W S``: only that one, where the launch's autotuner tries it; ``--launch``: only the launches whose label contains
it.

    python benchmarks/kernels/sm90_static.py [--dims 256 512] [--default-only | --config M N W S]
        [--dtype float16|float32] [--launch LABEL_PART]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

os.environ.pop("TRITON_INTERPRET", None)  # compiled kernels, not interpreted ones
os.environ["SELFSUP_TRITON_AUTOTUNE"] = "0"  # one launch per call, intercepted below

import torch
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource, make_backend
from triton.runtime.jit import JITFunction, create_function_from_signature

TARGET = GPUTarget("cuda", 90, 32)
MAX_SHARED = 232448  # bytes of shared memory one sm_90 block may use
SM_SHARED = 233472  # bytes of shared memory per sm_90 multiprocessor, 1 KiB of it reserved per resident block
SM_REGISTERS = 65536  # 32-bit registers per multiprocessor, allocated per warp in units of 256 (8 per thread)
SM_WARPS = 64  # resident warps per multiprocessor
_BIN = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"


@dataclass
class Launch:
    """One intercepted kernel launch: the kernel, its arguments, and the configurations its launcher would try."""
    fn: JITFunction
    args: tuple
    kwargs: dict
    label: str = ""
    configs: list = field(default_factory=list)  # (BLOCK_M, BLOCK_N, num_warps, num_stages)


_captured: list[Launch] = []


def _intercept(self, *args, grid, warmup, **kwargs):
    _captured.append(Launch(self, args, dict(kwargs)))


def _flags(launch: Launch) -> str:
    """The specialisation: the constexpr flags that are set, and the feature block."""
    names = [p.name for p in launch.fn.params]
    values = dict(zip(names, launch.args, strict=False)) | launch.kwargs
    on = [name for name, p in zip(names, launch.fn.params, strict=True) if p.is_constexpr and values.get(name) is True]
    return " ".join([*on, f"BLOCK_D={values.get('BLOCK_D')}"])


def capture(n: int, d: int, dtype: torch.dtype = torch.bfloat16) -> list[Launch]:
    """Every launch of the losses' kernels at (N, D) in ``dtype``, with its launcher's configurations, deduplicated
    (fp16 operands: the backward kernels with rescaled weights, ``RESCALED``)."""
    from selfsup.core.kernels import _triton_lse as T
    from selfsup.core.kernels import _triton_soft_ce as C

    launchers = [obj for module in (T, C) for obj in vars(module).values()
                 if callable(obj) and hasattr(obj, "configs_for") and hasattr(obj, "kernel")]
    gen = torch.Generator().manual_seed(0)
    q, k = (torch.nn.functional.normalize(torch.randn(n, d, generator=gen), dim=1).to(dtype) for _ in range(2))
    g, lse = torch.full((n,), 1.0 / n), torch.ones(n)
    scale = 1 / 0.07
    calls = {
        "InfoNCE forward": lambda: T.lse_forward(q, k, None, scale, True),
        "InfoNCE backward": lambda: T.lse_backward(q, k, None, scale, lse, lse, g, g, out_dtype=dtype),
        "2N form forward": lambda: T.self_lse_forward(q, scale),
        "2N form backward": lambda: T.self_lse_backward(q, scale, lse, g, out_dtype=dtype),
    }
    if d <= 256:  # the prototype head's kernels take hidden dims up to 256
        w = torch.randn(8192, d, generator=gen).to(dtype)
        calls["prototype head, soft targets"] = lambda: (
            C.soft_ce_forward(q, w, k, w, torch.zeros(8192), 0.1, 0.04),
            C.soft_ce_backward(q, w, k, w, torch.zeros(8192), 0.1, 0.04, lse, lse, g))
    out: dict[tuple, Launch] = {}
    saved = JITFunction.run
    JITFunction.run = _intercept
    try:
        for label, call in calls.items():
            _captured.clear()
            call()
            for launch in _captured:
                launch.label = label
                owner = next((lz for lz in launchers if lz.kernel is launch.fn), None)
                launch.configs = (owner.configs_for(launch.kwargs["BLOCK_D"]) if owner
                                  else [(None, None, launch.kwargs.get("num_warps", 4), 3)])
                out.setdefault((launch.fn.__name__, _flags(launch)), launch)
    finally:
        JITFunction.run = saved
    return list(out.values())


def _sass_counts(cubin: bytes) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin)
        f.flush()
        usage = subprocess.run([_BIN / "cuobjdump", "-res-usage", f.name], capture_output=True, text=True).stdout
        sass = subprocess.run([_BIN / "cuobjdump", "-sass", f.name], capture_output=True, text=True).stdout
    regs = re.search(r"REG:(\d+)", usage)
    return {"regs": int(regs.group(1)) if regs else None,
            "spill_ops": len(re.findall(r"\b(?:LDL|STL)\b", sass)),
            "ex2": len(re.findall(r"MUFU\.EX2", sass)),
            "hgmma": len(re.findall(r"\bHGMMA\.", sass)), "hmma": len(re.findall(r"\bHMMA\.", sass))}


def consumers(ttgir: str) -> str:
    """A warp-specialized kernel's consumer partitions, from its TTGIR: how many, and whether each does its own work
    (``"2, split"``) or they run the same code on the same rows (``"2, identical"``: a 64-row block, which the pass
    does not divide); ``"-"`` for a kernel that is not warp-specialized. Compared with the partition bodies' async
    task ids, locations and argument numbers (barriers and buffers) left out."""
    pieces = re.split(r"\n(\s*)partition\d+\(", ttgir)
    bodies = []
    for indent, body in zip(pieces[1::2], pieces[2::2], strict=True):
        end = body.find("\n" + indent + "}")
        bodies.append(re.sub(r"async_task_id = array<i32: \d+>|loc\([^)]*\)|#loc\d*|%arg\d+", "",
                             body if end < 0 else body[:end]))
    if len(bodies) < 2:
        return "-"
    return f"{len(bodies)}, {'split' if len(set(bodies)) == len(bodies) else 'identical'}"


def programs_per_sm(regs: int, warps: int, shared: int) -> int:
    """Blocks of a kernel one sm_90 multiprocessor holds at once, from its registers per thread, warps per block and
    shared memory (bytes): the fewest that the register file, the shared memory and the warp slots allow (0: it
    cannot launch). Two or more let one block's exponentials run while another's matmul does."""
    by_registers = SM_REGISTERS // (-(-regs // 8) * 8 * 32 * warps)
    by_shared = SM_SHARED // (shared + 1024) if shared <= MAX_SHARED else 0
    return min(by_registers, by_shared, SM_WARPS // warps, 32)


_JOBS: list[tuple] = []  # (kernel, args, kwargs, config): read by the forked workers by index


def compile_one(index: int) -> dict:
    """Compile launch ``_JOBS[index]`` in its configuration for sm_90; its resources and instruction counts."""
    fn, args, kwargs, (block_m, block_n, warps, stages) = _JOBS[index]
    kwargs = dict(kwargs)
    names = {p.name for p in fn.params}
    kwargs.update({name: value for name, value in (("BLOCK_M", block_m), ("BLOCK_N", block_n))
                   if value is not None and name in names})
    kwargs.update(num_warps=warps, num_stages=stages)
    backend = make_backend(TARGET)
    binder = create_function_from_signature(fn.signature, fn.params, backend)
    bound, specialization, options = binder(*args, **kwargs)
    options, signature, constexprs, attrs = fn._pack_args(backend, kwargs, bound, specialization, options)
    kernel = triton.compile(ASTSource(fn, signature, constexprs, attrs), target=TARGET, options=options.__dict__)
    counts = _sass_counts(kernel.asm["cubin"])
    launched = kernel.metadata.num_warps  # warp specialization adds warpgroups: 4 asked, 12 launched
    return {"shared": kernel.metadata.shared, **counts, "launched_warps": launched,
            "per_sm": programs_per_sm(counts["regs"] or 255, launched, kernel.metadata.shared),
            "consumers": consumers(kernel.asm["ttgir"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--dims", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--default-only", action="store_true", help="only the configuration used without autotuning")
    parser.add_argument("--config", type=int, nargs=4, metavar=("BLOCK_M", "BLOCK_N", "WARPS", "STAGES"),
                        help="only this configuration, for the launches whose autotuner tries it")
    parser.add_argument("--launch", help="only the launches whose label contains this, e.g. warp-specialized")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dtype", choices=["bfloat16", "float16", "float32"], default="bfloat16",
                        help="the operands' dtype")
    args = parser.parse_args()
    print(f"Triton {triton.__version__}, target sm_90 (H100), compiled on CPU; {args.dtype} operands, N={args.n}")
    print("| launch | kernel | flags | BLOCK_M x BLOCK_N | warps | stages | regs/thread | spill loads+stores | "
          "shared KiB | per SM | MUFU.EX2 | HGMMA | HMMA | consumers |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for d in args.dims:
        launches = capture(args.n, d, getattr(torch, args.dtype))
        _JOBS.clear()
        rows = []
        for launch in launches:
            if args.launch and args.launch not in launch.label:
                continue
            configs = launch.configs
            if args.default_only:
                configs = [(launch.kwargs.get("BLOCK_M"), launch.kwargs.get("BLOCK_N"),
                            launch.kwargs.get("num_warps", 4), launch.kwargs.get("num_stages", 3))]
            elif args.config:
                configs = [c for c in configs if list(c) == args.config]
            for config in configs:
                _JOBS.append((launch.fn, launch.args, launch.kwargs, config))
                rows.append((launch, config))
        with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(compile_one, range(len(_JOBS))))
        for (launch, (block_m, block_n, warps, stages)), got in zip(rows, results, strict=True):
            blocks = f"{block_m} x {block_n}" if block_m else "-"
            shared = f"{got['shared'] / 1024:.0f}" + (" (too much)" if got["shared"] > MAX_SHARED else "")
            if got["launched_warps"] != warps:
                warps = f"{warps} ({got['launched_warps']} launched)"
            print(f"| {launch.label} | {launch.fn.__name__} | {_flags(launch)} | {blocks} | {warps} | {stages} | "
                  f"{got['regs']} | {got['spill_ops']} | {shared} | {got['per_sm']} | {got['ex2']} | {got['hgmma']} | "
                  f"{got['hmma']} | {got['consumers']} |", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
