"""Input checks shared by the objectives: clear errors instead of NaN losses or deep torch crashes."""

from __future__ import annotations

import torch

from selfsup.core import distributed


class NonFiniteValuesError(ValueError):
    """An objective's input holds NaN or inf: in training, the model diverged or the batch held such values."""


_FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def require_float(name: str, tensor: torch.Tensor, ndim: int | tuple[int, ...]) -> None:
    """Check that ``tensor`` is a floating tensor with the given number of dimensions."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if tensor.dim() not in dims:
        expected = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"{name} must be {expected}, got shape {tuple(tensor.shape)}")
    if tensor.dtype not in _FLOATING:
        raise TypeError(f"{name} must be a floating tensor, got dtype {tensor.dtype}")


def require_same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def require_pair(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor, ndim: int) -> None:
    """Two floating tensors of ``ndim`` dimensions and the same shape (two views, prediction and target)."""
    require_float(name_a, a, ndim)
    require_float(name_b, b, ndim)
    require_same_shape(name_a, a, name_b, b)


def require_finite(**tensors: torch.Tensor) -> None:
    """Raise naming the first input that holds NaN or inf (skipped while torch.compile traces)."""
    if torch.compiler.is_compiling():
        return
    present = {name: t for name, t in tensors.items() if t is not None}
    if not present:
        return
    finite = torch.stack([torch.isfinite(t).all() for t in present.values()]).tolist()  # one device sync
    for (name, tensor), ok in zip(present.items(), finite, strict=True):
        if not ok:
            n_nan = int(torch.isnan(tensor).sum())
            n_inf = int(torch.isinf(tensor).sum())
            raise NonFiniteValuesError(f"{name} contains non-finite values ({n_nan} NaN, {n_inf} inf)")


def require_batch(name: str, local_rows: int, minimum: int, gather: bool, why: str) -> None:
    """Check that the (global, when gathering) batch has at least ``minimum`` rows."""
    total = local_rows * (distributed.world_size() if gather else 1)
    if total < minimum:
        raise ValueError(f"{name} needs a batch of at least {minimum} ({why}), got {total}")


def require_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def require_contrastive(loss: str, names: tuple[str, str], a: torch.Tensor, b: torch.Tensor, temperature: float,
                        gather: bool, negatives: torch.Tensor | None = None) -> None:
    """What every InfoNCE-family loss (reference and fused) checks first, finiteness aside: two ``(B, D)`` floating
    tensors of one shape, a positive ``temperature``, optional ``(M, D)`` ``negatives``, and a batch (the global one
    when gathering) with a negative for every row: 2 rows, or 1 when ``negatives`` are given."""
    require_pair(names[0], a, names[1], b, 2)
    require_positive("temperature", temperature)
    if negatives is None:
        require_batch(loss, a.shape[0], 2, gather, "no negatives otherwise")
        return
    require_float("negatives", negatives, 2)
    if negatives.shape[1] != a.shape[1]:
        raise ValueError(f"negatives must have feature dim {a.shape[1]}, got shape {tuple(negatives.shape)}")
    require_batch(loss, a.shape[0], 1, gather, "an empty batch has no mean")


def upcast(tensor: torch.Tensor) -> torch.Tensor:
    """Half-precision inputs are computed in float32; float32/float64 stay as they are."""
    return tensor.float() if tensor.dtype in (torch.float16, torch.bfloat16) else tensor
