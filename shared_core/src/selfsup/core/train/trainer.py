"""The training loop every domain uses: plain PyTorch, DDP when launched by ``torchrun``.

A method is an ``nn.Module`` with ``method(batch) -> {"loss": scalar, **logs}``; if it has
``update_teacher(momentum)``, the trainer calls it after each optimizer step with the cosine
EMA-momentum schedule. The loop does bf16 autocast on CUDA, gradient accumulation, clipping,
warm-up + cosine LR, a non-finite guard, atomic checkpoints with exact resume, JSONL logs and a
progress bar on rank 0.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from selfsup.core import distributed
from selfsup.core.data.scan import progress_interval
from selfsup.core.data.skips import SkipLog
from selfsup.core.objectives._validation import NonFiniteValuesError
from selfsup.core.train import checkpoint as ckpt
from selfsup.core.train.config import DEFAULT_EPOCHS, TrainConfig
from selfsup.core.train.guards import first_diverged, nonfinite_inputs
from selfsup.core.train.optim import build_optimizer
from selfsup.core.train.rng import rng_state, seed_everything, set_rng_state
from selfsup.core.train.run_folder import claim_on_rank0
from selfsup.core.train.run_logger import RunLogger, peak_memory_mib
from selfsup.core.train.sampler import ResumableBatchSampler
from selfsup.core.train.schedule import cosine_momentum, warmup_cosine

Hook = Callable[["Trainer", dict[str, Any]], None]


class NonFiniteLossError(RuntimeError):
    """Raised when the loss, the activations, the gradients or the weights stop being finite, or too many steps were
    skipped for it (no checkpoint is written for that step)."""


def _report(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


def _normal(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _key_mismatch(err: RuntimeError) -> str:
    """The missing/unexpected/size lines of a ``load_state_dict`` error, on one line."""
    lines = [line.strip() for line in str(err).splitlines()[1:] if line.strip()]
    text = " ".join(lines) or str(err)
    return text if len(text) < 600 else text[:600] + " ..."


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

    The run owns ``config.output_dir`` from construction to the end of :meth:`fit` (:func:`claim_output`): a second
    run on it is refused, and so is a new run over an old one unless ``config.overwrite``. The trainer seeds the
    generators (``config.seed``) when it starts a run; seed before building ``method``
    (:func:`~selfsup.core.train.seed_everything`) for bitwise-repeatable runs.
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
        self.output_dir = Path(config.output_dir)
        self.folder = claim_on_rank0(self.output_dir, resume=bool(config.resume), overwrite=config.overwrite)
        try:
            self._setup(method, dataset, config, collate_fn, skips)
        except BaseException:
            self.close()
            raise

    def _setup(self, method, dataset, config, collate_fn, skips) -> None:
        self.run_id, self.resume_changes = uuid.uuid4().hex, {}
        if not config.resume:
            seed_everything(config.seed + self.rank)
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
        if config.epochs is None and config.max_steps:  # max_steps alone is the run's length
            self.total_steps = config.max_steps
        else:
            total = (config.epochs or DEFAULT_EPOCHS) * self.steps_per_epoch
            self.total_steps = min(total, config.max_steps) if config.max_steps else total
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: warmup_cosine(s, self.total_steps, config.warmup_steps, config.min_lr_ratio))
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

    def close(self) -> None:
        """Release the output folder (done by :meth:`fit` when it ends)."""
        if self.folder is not None:
            self.folder.release()
            self.folder = None

    def _resume(self, resume: str) -> None:
        if resume == "auto":
            found = ckpt.load_latest(self.output_dir, report=_report if self.is_main else lambda _: None)
            if found is None:
                seed_everything(self.config.seed + self.rank)  # nothing to resume: a fresh run
                return
            path, model_state, state = found
        else:
            path = Path(resume)
            model_state, state = ckpt.load_checkpoint(path)
        missing = [k for k in ("step", "epoch", "batch_in_epoch", "nonfinite_skipped", "optimizer", "scheduler", "rng",
                               "config") if k not in state]
        if missing:
            raise ckpt.CheckpointError(f"{path / ckpt.STATE_FILE} was not written by the selfsup Trainer "
                                       f"(no {', '.join(missing)})")
        self._check_resumed_config(path, state)
        try:
            self.method.load_state_dict(model_state)
        except RuntimeError as err:
            raise ckpt.CheckpointError(f"{path} holds the weights of another model than this "
                                       f"{type(self.method).__name__}: {_key_mismatch(err)}") from None
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self._apply_changed_rates(state["config"])
        self.step, self.epoch = state["step"], state["epoch"]
        self.batch_in_epoch, self.nonfinite_skipped = state["batch_in_epoch"], state["nonfinite_skipped"]
        self.run_id = state.get("run_id", self.run_id)
        rng = state["rng"]
        if len(rng) != self.world:
            raise ValueError(f"{path} was written by {len(rng)} processes; resume it with the same number "
                             f"(this run has {self.world})")
        set_rng_state(rng[self.rank])
        self.last_checkpoint = path
        self.logger.drop_after(self.step)  # the steps after the checkpoint are run again: their log lines go

    def _check_resumed_config(self, path: Path, state: dict[str, Any]) -> None:
        """Refuse a resume whose method or trajectory settings differ from the checkpoint's; name the settings
        that change and are applied."""
        stored, now = state["config"], self.config.to_dict()
        method = type(self.method).__name__
        if state.get("method", method) != method:
            raise ValueError(f"{path} was written by {state['method']}, not {method}: resume with the same method, "
                             "or start a new run in another folder")
        fixed = {k: (stored.get(k), now[k]) for k in TrainConfig.FIXED_ON_RESUME
                 if k in stored and _normal(stored[k]) != _normal(now[k])}
        if fixed:
            listed = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in fixed.items())
            raise ValueError(f"cannot resume {path} with other settings than it was trained with ({listed}); use the "
                             "checkpoint's values, or start a new run in another folder")
        changed = {k: (stored[k], now[k]) for k in now
                   if k in stored and k not in TrainConfig.OPERATIONAL and _normal(stored[k]) != _normal(now[k])}
        if changed and self.is_main:
            _report("resume: applying changed settings: "
                    + ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in changed.items()))
        self.resume_changes = changed

    def _apply_changed_rates(self, stored: dict[str, Any]) -> None:
        """The optimizer state carries the checkpoint's learning rate and weight decay: put the config's in, and the
        rate this run's schedule gives the next step."""
        if stored["lr"] != self.config.lr:
            factor = self.config.lr / stored["lr"]
            self.scheduler.base_lrs = [lr * factor for lr in self.scheduler.base_lrs]
            for group in self.optimizer.param_groups:
                group["lr"] *= factor
                group["initial_lr"] = group.get("initial_lr", group["lr"]) * factor
        # the learning rate of the next step, from this run's schedule (its length may have changed)
        for group, base, rule in zip(self.optimizer.param_groups, self.scheduler.base_lrs, self.scheduler.lr_lambdas,
                                     strict=True):
            group["lr"] = base * rule(self.scheduler.last_epoch)
        if stored["weight_decay"] != self.config.weight_decay:
            for group in self.optimizer.param_groups:
                if group.get("weight_decay") == stored["weight_decay"]:
                    group["weight_decay"] = self.config.weight_decay

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self) -> Path | None:
        """Write a checkpoint of the current step (rank 0 writes; every rank's RNG state is kept)."""
        rng = [rng_state()]
        if self.distributed:
            rng = [None] * self.world
            dist.all_gather_object(rng, rng_state())
        path = None
        if self.is_main:
            state = {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                     "nonfinite_skipped": self.nonfinite_skipped, "optimizer": self.optimizer.state_dict(),
                     "scheduler": self.scheduler.state_dict(), "rng": rng, "config": self.config.to_dict(),
                     "method": type(self.method).__name__, "run_id": self.run_id}
            path = ckpt.save_checkpoint(self.output_dir, self.step, self.method.state_dict(), state,
                                        keep=self.config.keep_checkpoints, run_id=self.run_id)
            self.last_checkpoint = path
        distributed.barrier()
        return path

    # ------------------------------------------------------------------ training
    def _forward_backward(self, batch: Any, sync: bool) -> tuple[torch.Tensor, dict[str, float], bool]:
        no_sync = self.model.no_sync if self.distributed and not sync else contextlib.nullcontext
        self.activation_error = None
        with no_sync():
            batch = _to_device(batch, self.device)
            try:
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                    out = self.model(batch)
            except NonFiniteValuesError as err:  # an objective met NaN/inf activations: not a data problem
                self.activation_error = f"{err}; {self._blame(batch)}"
                out = {"loss": torch.tensor(float("nan"), device=self.device)}
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

    @staticmethod
    def _blame(batch: Any) -> str:
        bad = nonfinite_inputs(batch)
        return (f"the batch holds {bad} non-finite input values (bad data)" if bad else
                "the batch's inputs are finite, so the model diverged")

    def _where(self) -> str:
        return (f"at step {self.step + 1} (epoch {self.epoch}, batch {self.batch_in_epoch - 1} of the epoch, "
                "counting from 0)")

    def _non_finite(self, what: str, value: float | str) -> None:
        cfg = self.config
        if cfg.on_nonfinite == "raise":
            raise NonFiniteLossError(
                f"non-finite {what} ({value}) {self._where()}; no checkpoint was written for it. Lower the learning "
                f"rate (now {cfg.lr:g}), set clip_grad_norm, check the inputs, or pass on_nonfinite='skip'")
        self.nonfinite_skipped += 1
        if self.nonfinite_skipped > cfg.max_nonfinite_fraction * self.total_steps:
            raise NonFiniteLossError(
                f"{self.nonfinite_skipped} steps were skipped for non-finite values (the last: {what} {value} "
                f"{self._where()}), more than max_nonfinite_fraction={cfg.max_nonfinite_fraction:g} of the run's "
                f"{self.total_steps} steps allows: the training diverged. Lower the learning rate (now {cfg.lr:g}) "
                "or set clip_grad_norm")

    def _check_weights(self) -> None:
        """After an optimizer step: stop if a parameter or buffer is no longer finite or has blown up."""
        found = first_diverged(self.method)
        if found is None:
            return
        name, value = found
        last = f"the last checkpoint is {self.last_checkpoint}" if self.last_checkpoint else "no checkpoint was written"
        raise NonFiniteLossError(
            f"the training diverged {self._where()}: {name!r} is {value:.3g} after the optimizer step; nothing was "
            f"saved from it ({last}). Lower the learning rate (now {self.config.lr:g}), set clip_grad_norm or "
            "warmup_steps")

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
                if self.activation_error:
                    self._non_finite("activations", self.activation_error)
                else:
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
        if ok:
            self._check_weights()
        loss = torch.stack(losses).float().mean()
        if self.distributed:
            dist.all_reduce(loss)
            loss /= self.world
        return {"loss": float(loss), **logs, "applied": ok}

    def fit(self) -> dict[str, Any]:
        """Train to ``total_steps``; returns the summary. The output folder is released when it ends."""
        try:
            return self._fit()
        finally:
            self.close()

    def _fit(self) -> dict[str, Any]:
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
