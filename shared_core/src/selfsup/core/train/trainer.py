"""The training loop every domain uses: plain PyTorch, DDP when launched by ``torchrun``.

A method is an ``nn.Module`` with ``method(batch) -> {"loss": scalar, **logs}``; if it has
``update_teacher(momentum)``, the trainer calls it after each optimizer step with the cosine
EMA-momentum schedule. The loop does bf16 autocast on CUDA, gradient accumulation, clipping,
warm-up + cosine LR, a non-finite guard, atomic checkpoints with exact resume, JSONL logs and a
progress bar on rank 0.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from selfsup.core import distributed
from selfsup.core.data.scan import progress_interval
from selfsup.core.data.skips import SkipLog
from selfsup.core.train import checkpoint as ckpt
from selfsup.core.train.config import TrainConfig
from selfsup.core.train.optim import build_optimizer
from selfsup.core.train.run_logger import RunLogger, peak_memory_mib
from selfsup.core.train.sampler import ResumableBatchSampler
from selfsup.core.train.schedule import cosine_momentum, warmup_cosine

Hook = Callable[["Trainer", dict[str, Any]], None]


class NonFiniteLossError(RuntimeError):
    """Raised when the loss or the gradients stop being finite (no checkpoint is written for that step)."""


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if hasattr(batch, "to") and callable(batch.to):  # batch objects of the domain packages
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": np.random.get_state()}  # noqa: NPY002 (the legacy global state is what users seed)
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Trainer:
    """Fit ``method`` on ``dataset`` as ``config`` says. ``fit()`` returns a summary dict.

    Args:
        method: module returning ``{"loss": ..., **logs}`` for a batch.
        dataset: map-style dataset; batches are collated by ``collate_fn`` (default collation).
        config: :class:`TrainConfig`.
        hooks: callables ``hook(trainer, record)`` run after every optimizer step on every rank.

    A batch that is a dict with a ``"skipped"`` list (:meth:`selfsup.core.data.FileSource.collate`) has those records
    taken out and written to ``skipped.jsonl`` in ``output_dir`` (:attr:`skips`); past ``config.max_bad_fraction``
    of the items read the run stops with :class:`~selfsup.core.data.TooManyBadItems` (``skips``: a log that already
    holds what a scan found, by default an empty one counting from the dataset's size). A dataset with
    ``set_epoch(epoch)`` is told each epoch before its workers start.
    """

    def __init__(self, method: nn.Module, dataset: Dataset, config: TrainConfig, *,
                 collate_fn: Callable | None = None, hooks: Sequence[Hook] = (), skips: SkipLog | None = None) -> None:
        self.config, self.method, self.dataset, self.hooks = config, method, dataset, list(hooks)
        self.distributed = distributed.init_from_env()
        self.rank, self.world = distributed.rank(), distributed.world_size()
        self.is_main = self.rank == 0
        self._check_sizes()
        self.device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if self.device.type == "cuda" and self.distributed:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.autocast = config.amp == "bf16" or (config.amp == "auto" and self.device.type == "cuda")
        self.step = self.epoch = self.batch_in_epoch = self.nonfinite_skipped = 0
        if not config.resume:
            self._seed(config.seed + self.rank)
        method.to(self.device)
        self.model = method
        if self.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(method, device_ids=ids)
        self.optimizer = build_optimizer(method, config.optimizer, config.lr, config.weight_decay, config.betas)
        self.batch_sampler = ResumableBatchSampler(dataset, self.local_batch, rank=self.rank, world_size=self.world,
                                                   seed=config.seed, drop_last=config.drop_last)
        # The loader's own generator: creating an iterator must not draw from the global RNG, or a
        # mid-epoch resume would shift every later random number (augmentations, masks).
        self.loader = DataLoader(dataset, batch_sampler=self.batch_sampler, collate_fn=collate_fn,
                                 num_workers=config.num_workers, pin_memory=self.device.type == "cuda",
                                 generator=torch.Generator().manual_seed(config.seed + 7919 * self.rank))
        self.steps_per_epoch = len(self.batch_sampler) // config.grad_accum
        if self.steps_per_epoch == 0:
            raise ValueError(f"one optimizer step needs {config.grad_accum} batches of {self.local_batch} per rank, "
                             f"but an epoch has {len(self.batch_sampler)}: lower grad_accum or batch_size")
        total = config.epochs * self.steps_per_epoch
        self.total_steps = min(total, config.max_steps) if config.max_steps else total
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: warmup_cosine(s, self.total_steps, config.warmup_steps, config.min_lr_ratio))
        self.output_dir = Path(config.output_dir)
        self.logger = RunLogger(self.output_dir, enabled=self.is_main, tensorboard=config.tensorboard)
        self.skips = skips or SkipLog(self.output_dir / "skipped.jsonl", config.max_bad_fraction, len(dataset))
        self.items_read = 0  # by this rank: the samples of its batches and the unreadable items replaced in them
        self.last_checkpoint: Path | None = None
        if config.resume:
            self._resume(config.resume)

    # ------------------------------------------------------------------ set-up
    def _check_sizes(self) -> None:
        cfg, n = self.config, len(self.dataset)
        if n == 0:
            raise ValueError("the dataset is empty: nothing to train on")
        if cfg.batch_size % self.world:
            raise ValueError(f"batch_size={cfg.batch_size} is the global batch and must be divisible by the "
                             f"{self.world} processes")
        self.local_batch = cfg.batch_size // self.world
        per_rank = n // self.world
        if cfg.drop_last and self.local_batch > per_rank:
            raise ValueError(f"batch_size={cfg.batch_size} is larger than the dataset ({n} samples"
                             f"{f' over {self.world} processes' if self.world > 1 else ''}) with drop_last=True, "
                             f"so no batch would be formed: use batch_size <= {per_rank * self.world} "
                             "or drop_last=False")

    @staticmethod
    def _seed(seed: int) -> None:
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed % 2**32)  # noqa: NPY002

    def _resume(self, resume: str) -> None:
        path = ckpt.latest_checkpoint(self.output_dir) if resume == "auto" else Path(resume)
        if path is None:
            self._seed(self.config.seed + self.rank)  # nothing to resume: a fresh run
            return
        model_state, state = ckpt.load_checkpoint(path)
        self.method.load_state_dict(model_state)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.epoch = state["step"], state["epoch"]
        self.batch_in_epoch, self.nonfinite_skipped = state["batch_in_epoch"], state["nonfinite_skipped"]
        rng = state["rng"]
        if len(rng) != self.world:
            raise ValueError(f"{path} was written by {len(rng)} processes; resume it with the same number "
                             f"(this run has {self.world})")
        _set_rng_state(rng[self.rank])
        self.last_checkpoint = path

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self) -> Path | None:
        """Write a checkpoint of the current step (rank 0 writes; every rank's RNG state is kept)."""
        rng = [_rng_state()]
        if self.distributed:
            rng = [None] * self.world
            dist.all_gather_object(rng, _rng_state())
        path = None
        if self.is_main:
            state = {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                     "nonfinite_skipped": self.nonfinite_skipped, "optimizer": self.optimizer.state_dict(),
                     "scheduler": self.scheduler.state_dict(), "rng": rng, "config": self.config.to_dict()}
            path = ckpt.save_checkpoint(self.output_dir, self.step, self.method.state_dict(), state,
                                        keep=self.config.keep_checkpoints)
            self.last_checkpoint = path
        distributed.barrier()
        return path

    # ------------------------------------------------------------------ training
    def _forward_backward(self, batch: Any, sync: bool) -> tuple[torch.Tensor, dict[str, float], bool]:
        no_sync = self.model.no_sync if self.distributed and not sync else contextlib.nullcontext
        with no_sync():
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                out = self.model(_to_device(batch, self.device))
            if not isinstance(out, dict) or "loss" not in out:
                raise TypeError(f"{type(self.method).__name__}(batch) must return a dict with a 'loss' entry")
            loss = out["loss"]
            if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
                raise TypeError("the method's 'loss' must be a scalar tensor")
            finite = torch.isfinite(loss.detach()).float()
            if self.distributed:  # every rank takes the same branch, or DDP would hang
                dist.all_reduce(finite, op=dist.ReduceOp.MIN)
            ok = bool(finite.item())
            if ok:
                (loss / self.config.grad_accum).backward()
        logs = {k: float(v.detach() if isinstance(v, torch.Tensor) else v) for k, v in out.items()
                if k != "loss" and isinstance(v, (int, float, torch.Tensor))
                and (not isinstance(v, torch.Tensor) or v.numel() == 1)}
        return loss.detach(), logs, ok

    def _non_finite(self, what: str, value: float) -> None:
        if self.config.on_nonfinite == "raise":
            raise NonFiniteLossError(
                f"non-finite {what} ({value}) at step {self.step + 1} (epoch {self.epoch}, batch "
                f"{self.batch_in_epoch - 1} of the epoch, counting from 0); no checkpoint was written for it. Lower "
                f"the learning rate, set clip_grad_norm, check the inputs, or pass on_nonfinite='skip'")
        self.nonfinite_skipped += 1

    def _take_skips(self, batch: Any) -> None:
        """Log the batch's skip records and stop (on every rank at once) past ``max_bad_fraction``."""
        if not isinstance(batch, dict) or "skipped" not in batch:
            return
        records = batch.pop("skipped")
        self.items_read += len(records) + (len(batch["index"]) if "index" in batch else 0)
        if records:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            self.skips.add(records)
        over = torch.tensor(float(self.skips.over(self.items_read)))
        if self.distributed:
            dist.all_reduce(over, op=dist.ReduceOp.MAX)
        if over.item():
            self.skips.check(self.items_read)
            raise RuntimeError("another process read more unusable items than max_bad_fraction allows; see "
                               f"{self.skips.path}")

    def _optimizer_step(self, batches: list[Any]) -> dict[str, Any]:
        cfg = self.config
        losses, logs, ok = [], {}, True
        for i, batch in enumerate(batches):
            loss, logs, finite = self._forward_backward(batch, sync=i == len(batches) - 1)
            self.batch_in_epoch += 1
            losses.append(loss)
            if not finite:
                ok = False
                self._non_finite("loss", float(loss))
        if ok:
            params = [p for p in self.method.parameters() if p.grad is not None]
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad_norm or float("inf"))
            if not bool(torch.isfinite(norm)):
                ok = False
                self._non_finite("gradient norm", float(norm))
        if ok:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.step += 1
        if ok and hasattr(self.method, "update_teacher"):
            self.method.update_teacher(cosine_momentum(self.step, self.total_steps, cfg.ema_momentum,
                                                       cfg.ema_momentum_end))
        loss = torch.stack(losses).float().mean()
        if self.distributed:
            dist.all_reduce(loss)
            loss /= self.world
        return {"loss": float(loss), **logs, "applied": ok}

    def fit(self) -> dict[str, Any]:
        cfg = self.config
        if self.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        bar = tqdm(total=self.total_steps, initial=self.step, disable=not (self.is_main and cfg.progress),
                   desc="pretrain", dynamic_ncols=True, mininterval=progress_interval())
        start = window_start = time.perf_counter()
        start_step, window_steps, record, data_wait = self.step, 0, {}, 0.0
        samples_per_step = cfg.batch_size * cfg.grad_accum
        batches_per_epoch = self.steps_per_epoch * cfg.grad_accum
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        while self.step < self.total_steps:
            if self.batch_in_epoch >= batches_per_epoch:
                self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                continue
            self.batch_sampler.set_epoch(self.epoch, self.batch_in_epoch)
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(self.epoch)
            pending: list[Any] = []
            asked = time.perf_counter()
            for batch in self.loader:
                data_wait += time.perf_counter() - asked
                self._take_skips(batch)
                pending.append(batch)
                if len(pending) < cfg.grad_accum:
                    continue
                record = self._optimizer_step(pending)
                pending = []
                window_steps += 1
                record.update(step=self.step, epoch=self.epoch, lr=self.scheduler.get_last_lr()[0],
                              nonfinite_skipped=self.nonfinite_skipped)
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    elapsed = time.perf_counter() - window_start
                    record.update(samples_per_s=window_steps * samples_per_step / elapsed,
                                  step_time_s=elapsed / window_steps, peak_memory_mib=peak_memory_mib(self.device))
                    self.logger.log(record)
                    window_start, window_steps = time.perf_counter(), 0
                bar.update(1)
                elapsed = time.perf_counter() - start
                bar.set_postfix({"loss": f"{record['loss']:.4f}",
                                 "items/s": f"{(self.step - start_step) * samples_per_step / elapsed:.1f}",
                                 "waiting for data": f"{100 * data_wait / elapsed:.0f}%"}, refresh=False)
                due = cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0
                if due or self.step == self.total_steps:
                    self.save_checkpoint()
                for hook in self.hooks:
                    hook(self, record)
                if self.step >= self.total_steps or self.batch_in_epoch >= batches_per_epoch:
                    break
                asked = time.perf_counter()
            if not cfg.checkpoint_every and self.batch_in_epoch >= batches_per_epoch and self.step < self.total_steps:
                self.save_checkpoint()  # default: one checkpoint per epoch
        bar.close()
        self.logger.close()
        wall = time.perf_counter() - start
        steps = self.step - start_step
        return {"steps": self.step, "epochs": self.epoch + (self.batch_in_epoch >= batches_per_epoch),
                "final_loss": record.get("loss"), "wall_s": wall,
                "samples_per_s": steps * samples_per_step / wall if wall > 0 and steps else 0.0,
                "peak_memory_mib": peak_memory_mib(self.device), "nonfinite_skipped": self.nonfinite_skipped,
                "data_wait_s": round(data_wait, 3), "items_skipped": self.skips.count,
                "checkpoint": str(self.last_checkpoint) if self.last_checkpoint else None}
