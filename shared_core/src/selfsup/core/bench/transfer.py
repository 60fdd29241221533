"""What a domain gives the cross-modal suite: a trunk encoder, its masked-autoencoder method, unlabeled
training data and the domain suite's probes (:class:`TransferTask`); pretraining one or two of them.

A domain plugin registers ``factory(preset, data_root, seed) -> TransferTask`` with
:func:`selfsup.core.registry.register_transfer`; the core never imports a domain package.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset, default_collate

from selfsup.core.train import TrainConfig, Trainer
from selfsup.core.trunk import Trunk


@dataclass
class TransferTask:
    """One domain's side of a trunk transfer.

    Attributes:
        domain: the domain package (``"vision"``, ``"audio"`` ...).
        data: what the data are, for the report.
        make_encoder: a new random-init encoder with ``.trunk`` (a core :class:`Trunk`) and
            ``.tokenizer.modality``; ``encoder(batch) -> (B, D)`` pooled features.
        make_method: ``make_method(encoder) -> nn.Module`` the domain's MAE on that encoder
            (``method(batch) -> {"loss": ...}``).
        train_set: the unlabeled pretraining set (items the method's batches collate from).
        evaluate: ``evaluate(encoder, device) -> {metric: value}``, the domain suite's frozen probes.
        metrics: the metric names to report, main one first.
        epochs, batch_size, lr (per 256 samples, scaled linearly), weight_decay: the MAE recipe.
        collate_fn: how items of ``train_set`` form a batch (``None``: torch's default collate).
        method_name: what ``make_method`` trains, for the report (``"MAE"``; tables: ``"T-JEPA"``).
    """

    domain: str
    data: str
    make_encoder: Callable[[], nn.Module]
    make_method: Callable[[nn.Module], nn.Module]
    train_set: Dataset
    evaluate: Callable[[nn.Module, torch.device], dict[str, float]]
    metrics: tuple[str, ...]
    epochs: int
    batch_size: int
    lr: float = 1.5e-3
    weight_decay: float = 0.05
    collate_fn: Callable[[list], object] | None = None
    method_name: str = "MAE"

    @property
    def steps_per_epoch(self) -> int:
        return _steps_per_epoch(self.train_set, self.batch_size)


def _steps_per_epoch(dataset: Dataset, batch_size: int) -> int:
    """Whole batches of ``min(batch_size, len(dataset))`` in one pass over ``dataset`` (at least 1)."""
    return max(1, len(dataset) // min(batch_size, len(dataset)))


def trunk_of(encoder: nn.Module) -> Trunk:
    trunk = getattr(encoder, "trunk", None)
    if not isinstance(trunk, Trunk):
        raise TypeError(f"cross-modal transfer needs an encoder with a core Trunk at .trunk, "
                        f"got {type(encoder).__name__}")
    return trunk


class PairedDataset(Dataset):
    """Item ``i`` = ``(first[i % len(first)], second[i % len(second)])``; ``len`` = the longer one's.
    :meth:`collate` batches each side with its own collate function."""

    def __init__(self, first: Dataset, second: Dataset) -> None:
        if len(first) == 0 or len(second) == 0:
            raise ValueError("both datasets of a joint pretraining run must be non-empty")
        self.first, self.second = first, second

    def __len__(self) -> int:
        return max(len(self.first), len(self.second))

    def __getitem__(self, i: int):
        return self.first[i % len(self.first)], self.second[i % len(self.second)]

    @staticmethod
    def collate_with(first: Callable[[list], object] | None, second: Callable[[list], object] | None):
        """A collate function for lists of pairs: ``(first(lefts), second(rights))`` (``None``: default collate)."""
        first, second = first or default_collate, second or default_collate

        def collate(pairs: list[tuple]) -> tuple:
            lefts, rights = zip(*pairs, strict=True)
            return first(list(lefts)), second(list(rights))

        return collate


class JointMethod(nn.Module):
    """Sum of the methods' losses, method ``k`` on element ``k`` of each batch (a :class:`PairedDataset`
    batch); the encoders share one trunk, so each step updates it from every modality."""

    def __init__(self, methods: dict[str, nn.Module]) -> None:
        super().__init__()
        self.methods = nn.ModuleDict(methods)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        if len(batch) != len(self.methods):
            raise ValueError(f"a joint batch needs one part per method ({list(self.methods)}), got {len(batch)}")
        logs, total = {}, 0.0
        for (name, method), part in zip(self.methods.items(), batch, strict=True):
            loss = method(part)["loss"]
            logs[f"{name}_loss"] = loss.detach()
            total = total + loss
        return {"loss": total, **logs}

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        """Step the EMA teachers of the methods that have one (T-JEPA's, for tables)."""
        for method in self.methods.values():
            if hasattr(method, "update_teacher"):
                method.update_teacher(momentum)


def share_trunk(encoders: list[nn.Module]) -> Trunk:
    """Make every encoder use the first one's trunk, with a learned embedding per modality (zeros at first)."""
    trunk = trunk_of(encoders[0])
    for encoder in encoders:
        trunk_of(encoder)
        encoder.trunk = trunk
        trunk.add_modality(encoder.tokenizer.modality)
    return trunk


def pretrain(task: TransferTask, method: nn.Module, *, dataset: Dataset | None = None,
             collate_fn: Callable[[list], object] | None = None, max_steps: int | None = None,
             device: torch.device, seed: int = 0, progress: bool = True) -> dict:
    """Train ``method`` with the task's recipe (AdamW, warm-up then cosine) for ``task.epochs`` epochs of
    ``dataset`` batched by ``collate_fn`` (default: the task's own set and collate), or ``max_steps``;
    returns steps, wall time, samples/s, final loss."""
    if dataset is None:
        dataset, collate_fn = task.train_set, task.collate_fn
    batch = min(task.batch_size, len(dataset))
    steps = max_steps or task.epochs * _steps_per_epoch(dataset, task.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(output_dir=tmp, epochs=task.epochs if max_steps is None else 10**6, max_steps=steps,
                             batch_size=batch, optimizer="adamw", lr=task.lr * batch / 256,
                             weight_decay=task.weight_decay, warmup_steps=max(1, steps // 10), seed=seed,
                             log_every=20, keep_checkpoints=1, checkpoint_every=10**9, device=str(device),
                             progress=progress)
        summary = Trainer(method, dataset, config, collate_fn=collate_fn).fit()
    return {"steps": steps, "wall_s": round(summary["wall_s"], 1), "samples_per_s": round(summary["samples_per_s"], 1),
            "final_loss": round(summary["final_loss"], 4)}
