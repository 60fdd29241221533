"""``"auto"``: the Triton kernels' algorithms for a stage (two-launch row kernels, one-pass fused kernels, ...)
timed against each other on the first call of each problem, and the fastest kept for the later calls.

The algorithms of a stage compute the same values from the same inputs; which is fastest depends on the GPU, the
shape and the dtype (atomics, register pressure, exponentials against matmul), as the best tile of a kernel does,
which ``triton.autotune`` picks the same way. The choice is cached per process and problem: stage, device, dtype,
shapes and flags (:func:`chosen`). Where timing would be wrong or impossible, under Triton's interpreter (CPU, the
timings say nothing about a GPU), while a CUDA graph is captured and while ``torch.compile`` traces, a problem
already timed keeps its choice and a new one runs the first (deterministic) algorithm, untimed and not cached.
Under ``torch.use_deterministic_algorithms(True)`` the algorithms that add floats atomically (their summation order
varies from run to run) are not candidates. Before it is timed, each candidate runs once and is compared with the
first (the deterministic default): one that computes something else (a kernel miscompiled on some GPU) or fails to
run there (an error raised: no configuration fits, an op the GPU's libraries lack) is left out, with a warning,
however fast.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import torch

# The algorithms that accumulate with fp32 atomic adds: their results vary in the last bits from run to run.
NONDETERMINISTIC = {"fused", "symmetric"}

_choices: dict[tuple, str] = {}


def _time_ms(name: str, run: Callable[[], object]) -> float:
    """Median milliseconds of the candidate ``name``, run by ``run``, on the GPU (Triton's benchmark loop: warm-up,
    L2 flushed between runs); its first call compiles and autotunes the kernels."""
    import triton.testing

    return triton.testing.do_bench(run, warmup=5, rep=25, return_mode="median")


def _timing_possible(device: torch.device) -> bool:
    if os.environ.get("TRITON_INTERPRET", "0") == "1" or device.type != "cuda":
        return False
    if torch.compiler.is_compiling():
        return False
    return not torch.cuda.is_current_stream_capturing()


# A candidate whose outputs differ from the first one's by more than this (relative norm, per output) is not taken: the
# algorithms differ only in summation order and where they round (bf16 operands: about 1e-3), a wrong kernel by O(1).
AGREEMENT_RTOL = 1e-2


def disagreement(got, want) -> float:
    """The largest ``||got - want|| / ||want||`` over the tensors of two outputs (tensors, or tuples of tensors and
    ``None``), over the finite entries; ``inf`` where they are not finite at the same places."""
    got, want = (x if isinstance(x, (tuple, list)) else (x,) for x in (got, want))
    worst = 0.0
    for a, b in zip(got, want, strict=True):
        if a is None or b is None:
            if a is not b:
                return float("inf")
            continue
        a, b = a.detach().double(), b.detach().double()
        finite = torch.isfinite(b)
        if a.shape != b.shape or not torch.equal(torch.isfinite(a), finite):
            return float("inf")
        scale = float(b[finite].norm())
        worst = max(worst, float((a[finite] - b[finite]).norm()) / scale if scale > 0 else float(a[finite].norm()))
    return worst


def _agreeing(stage: str, names: list[str], outputs: dict) -> list[str]:
    """``names`` with ``outputs`` (those that ran) that agree with the first's (:data:`AGREEMENT_RTOL`); a warning
    names the others."""
    kept = [names[0]]
    for name in (name for name in names[1:] if name in outputs):
        error = disagreement(outputs[name], outputs[names[0]])
        if error <= AGREEMENT_RTOL:
            kept.append(name)
        else:
            warnings.warn(f"selfsup: the {stage} algorithm {name!r} differs from {names[0]!r} by {error:.3g} "
                          f"(relative) on this problem and is not used", RuntimeWarning, stacklevel=3)
    return kept


def _outputs(stage: str, names: list[str], runs: dict[str, Callable[[], object]]) -> dict:
    """Each candidate's outputs, run once; a candidate after the first that raises is left out with a warning (the
    first, the default, raises as it would without ``"auto"``)."""
    outputs = {names[0]: runs[names[0]]()}
    for name in names[1:]:
        try:
            outputs[name] = runs[name]()
        except Exception as error:  # any failure leaves the candidate out, named in the warning
            warnings.warn(f"selfsup: the {stage} algorithm {name!r} failed on this problem and is not used: "
                          f"{type(error).__name__}: {error}", RuntimeWarning, stacklevel=4)
    return outputs


def fastest(stage: str, key: tuple, runs: dict[str, Callable[[], object]], device: torch.device,
            timer: Callable[[str, Callable[[], object]], float] | None = None) -> str:
    """The name of the fastest of ``runs`` (``{algorithm: thunk}``, the deterministic default first) for ``stage``
    on the problem ``key`` (hashable: shapes, dtype, flags), timed once per problem and cached; the first candidate
    where timing is not possible (module docstring). Before timing, each candidate runs once and those that raise or
    whose outputs disagree with the first's (:func:`disagreement` over :data:`AGREEMENT_RTOL`) are dropped with a
    warning: a kernel miscompiled on some GPU is never chosen for speed. ``timer(name, run) -> ms`` replaces the GPU
    timing (tests)."""
    names = list(runs)
    if torch.are_deterministic_algorithms_enabled():
        names = [name for name in names if name not in NONDETERMINISTIC]
    if not names:
        raise ValueError(f"no deterministic {stage} algorithm among {list(runs)}")
    full_key = (stage, str(device), *key, tuple(names))
    if len(names) == 1 or full_key in _choices:
        return _choices.get(full_key, names[0])
    if timer is None and not _timing_possible(device):
        return names[0]  # not cached: timed where it can be
    names = _agreeing(stage, names, _outputs(stage, names, runs))
    timer = timer or _time_ms
    times = {name: timer(name, runs[name]) for name in names}
    _choices[full_key] = min(names, key=times.__getitem__)
    if os.environ.get("SELFSUP_TRITON_PRINT_CHOICES", "0") == "1":
        shown = ", ".join(f"{name} {ms:.3f} ms" for name, ms in times.items())
        print(f"selfsup: {stage} {key}: {shown} -> {_choices[full_key]}", flush=True)
    return _choices[full_key]


def chosen() -> dict[tuple, str]:
    """The choices made so far: ``(stage, device, *key, candidates) -> algorithm``."""
    return dict(_choices)


def forget() -> None:
    """Drop every cached choice (the next call of each problem times its candidates again)."""
    _choices.clear()
