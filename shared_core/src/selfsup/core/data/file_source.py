"""The dataset every domain's own data goes through: a map-style dataset over an :class:`ItemIndex` of files, read
lazily in DataLoader workers, an unusable item skipped, recorded and never fatal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from selfsup.core.data.item_index import ItemIndex
from selfsup.core.data.scan import skip_reason


class FileSource(Dataset):
    """Items ``root / index.id(i)``; a subclass reads one with :meth:`read` (a dict of tensors at the method's working
    size; it raises for a file it cannot use). Each sample also carries ``"index"`` (its position) and ``"label"``
    (-1 without one). A subclass whose items are parts of files (segments of long recordings) overrides
    ``__len__``, :meth:`file_of` and reads ``self.path(self.file_of(i))``.

    ``replace_bad=True`` (training) answers a bad item with the next readable one, so every batch keeps its size
    (DDP ranks stay in step); ``False`` (embedding) answers it with no sample. Either way the sample carries the
    skip records (``"skipped"``: ``{"item", "reason", "stage": "decode"}``) that :meth:`collate` gathers into the
    batch for the trainer's :class:`~selfsup.core.data.SkipLog`.

    Random choices inside :meth:`read` (crops of long files) draw from :meth:`rng`, seeded by ``(seed, epoch,
    index)``: the same whichever worker reads the item, and after a resume.
    """

    domain = "files"
    max_workers: int | None = None  # DataLoader workers worth starting at most (None: as many as the CLI would)

    def __init__(self, root: str | Path, index: ItemIndex, *, seed: int = 0, replace_bad: bool = True,
                 max_replacements: int = 32) -> None:
        if len(index) == 0:
            raise ValueError(f"{root}: no usable files")
        self.root, self.index, self.seed, self.epoch = Path(root), index, seed, 0
        self.replace_bad, self.max_replacements = replace_bad, max_replacements
        self.labels = index.column("label") if index.has_column("label") else None

    def __len__(self) -> int:
        return len(self.index)

    def readable_units(self) -> int:
        """What the scan counted as readable, in the units of ``index.meta["scan_skipped"]``: files here (the rows
        of a table, for a source whose scan skips rows)."""
        return len(self.index)

    def path(self, i: int) -> Path:
        """The path of file ``i`` of the index."""
        return self.root / self.index.id(i)

    def file_of(self, item: int) -> int:
        """The index position of the file that item ``item`` comes from (the item itself here)."""
        return item

    def item_id(self, item: int) -> str:
        """How skip records and embeddings name an item: its file's id."""
        return self.index.id(self.file_of(item))

    def set_epoch(self, epoch: int) -> None:
        """Called by the trainer before each epoch's loader starts its workers."""
        self.epoch = epoch

    def rng(self, i: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, i])

    def read(self, i: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """What was inferred from the data (shapes, statistics), recorded in the run's config."""
        return {}

    def __getitem__(self, i: int) -> dict[str, Any]:
        skipped = []
        for attempt in range(self.max_replacements + 1 if self.replace_bad else 1):
            j = (i + attempt) % len(self)
            try:
                sample = self.read(j)
            except Exception as err:  # a stranger's file may make a decoder raise anything
                reason = skip_reason(err, self.path(self.file_of(j)))
                skipped.append({"item": self.item_id(j), "reason": reason, "stage": "decode"})
                continue
            label = int(self.labels[self.file_of(j)]) if self.labels is not None else -1
            return {**sample, "index": j, "label": label, "skipped": skipped}
        if self.replace_bad:
            raise RuntimeError(f"{self.max_replacements + 1} items in a row from {self.item_id(i)} on could not be "
                               f"read; the last: {skipped[-1]['reason']}")
        return {"skipped": skipped}

    @staticmethod
    def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
        """Stack the readable samples; ``"skipped"``: every skip record of the batch (an empty batch holds only
        that)."""
        skipped = [record for s in samples for record in s["skipped"]]
        good = [{k: v for k, v in s.items() if k != "skipped"} for s in samples if len(s) > 1]
        batch = default_collate(good) if good else {}
        batch["skipped"] = skipped
        return batch
