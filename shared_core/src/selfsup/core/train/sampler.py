"""Batch sampler over a rank's shard that can start mid-epoch, for exact resume."""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Dataset, DistributedSampler, Sampler


class ResumableBatchSampler(Sampler[list[int]]):
    """Batches of a ``DistributedSampler`` shard (one rank or many), skipping ``start_batch`` batches.

    The order depends only on ``(seed, epoch)``: ``set_epoch(epoch, start_batch)`` before iterating
    reproduces the batches of an interrupted epoch from where it stopped. Under DDP the union of the
    ranks' batches at a step equals the single-process batch of ``world * batch_size`` samples.
    """

    def __init__(self, dataset: Dataset, batch_size: int, *, rank: int = 0, world_size: int = 1,
                 seed: int = 0, drop_last: bool = True) -> None:
        self.shard = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True,
                                        seed=seed, drop_last=drop_last)
        self.batch_size, self.drop_last, self.start_batch = batch_size, drop_last, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.shard.set_epoch(epoch)
        self.start_batch = start_batch

    def __len__(self) -> int:
        n = len(self.shard)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        indices = list(self.shard)
        for b in range(self.start_batch, len(self)):
            yield indices[b * self.batch_size : (b + 1) * self.batch_size]
