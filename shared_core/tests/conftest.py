import os
import sys
from pathlib import Path

import pytest
import torch

# Lets the test modules import the float64 references beside them (pytest runs in importlib mode).
sys.path.insert(0, str(Path(__file__).parent))

# Without a GPU the Triton kernels run in the interpreter; it must be chosen before any kernel is defined.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture
def poison_outputs(monkeypatch):
    """``poison(module)``: the module's output allocator ``_empty`` returns NaN-filled tensors, so a
    test fails unless the kernel writes every element."""
    real = torch.empty

    def poison(module) -> None:
        monkeypatch.setattr(module, "_empty", lambda *shape, **kwargs: real(*shape, **kwargs).fill_(float("nan")))

    return poison


@pytest.fixture
def untuned_gpu_launch(monkeypatch):
    """``untuned_gpu_launch() -> (kernel, seen)``: the Triton launchers set to launch once, as on a GPU without
    autotuning, and a stand-in kernel whose launches record their grid and keyword arguments in ``seen``."""
    def make():
        from selfsup.core.kernels import _triton_lse

        monkeypatch.setattr(_triton_lse, "_autotuning", lambda: False)
        monkeypatch.setattr(_triton_lse, "_interpreting", lambda: False)
        seen = {}

        class Kernel:
            def __getitem__(self, grid):
                return lambda *args, **kwargs: seen.update(grid=grid, **kwargs)

        return Kernel(), seen
    return make
