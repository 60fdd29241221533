"""The index of a collection on disk: one id per item (a path relative to the root, or a list file's entry), packed
as UTF-8 bytes with offsets so a DataLoader worker's copy costs no reference counts (a Python list of a million
strings would be copied page by page into every worker), plus integer columns (labels, sample counts, ...)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np


class ItemIndex:
    """``len(index)`` items; ``index.id(i)`` their ids (str), ``index.column(name)`` int64 arrays ``(N,)``;
    ``classes`` names the values of a ``"label"`` column (-1 = no label). Saved as one ``.npz`` (no pickle)."""

    def __init__(self, ids: Sequence[str], columns: dict[str, Iterable[int]] | None = None,
                 classes: Sequence[str] = (), meta: dict | None = None) -> None:
        encoded = [i.encode("utf-8") for i in ids]
        self._offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=self._offsets[1:])
        self._bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.zeros(0, np.uint8)
        self._columns = {k: np.asarray(list(v) if not isinstance(v, np.ndarray) else v, dtype=np.int64)
                         for k, v in (columns or {}).items()}
        for name, values in self._columns.items():
            if values.shape != (len(encoded),):
                raise ValueError(f"column {name!r} has {values.shape[0]} values for {len(encoded)} items")
        self.classes, self.meta = list(classes), dict(meta or {})

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def id(self, i: int) -> str:
        return self._bytes[self._offsets[i]: self._offsets[i + 1]].tobytes().decode("utf-8")

    def ids(self) -> list[str]:
        return [self.id(i) for i in range(len(self))]

    def column(self, name: str) -> np.ndarray:
        if name not in self._columns:
            raise KeyError(f"the index has no column {name!r} (it has {sorted(self._columns)})")
        return self._columns[name]

    def has_column(self, name: str) -> bool:
        return name in self._columns

    def save(self, path: str | Path) -> Path:
        """Atomic write (a temporary file renamed into place)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.npz")
        np.savez(tmp, bytes=self._bytes, offsets=self._offsets,
                 header=np.frombuffer(json.dumps({"classes": self.classes, "meta": self.meta,
                                                  "columns": sorted(self._columns)}).encode(), dtype=np.uint8),
                 **{f"column_{k}": v for k, v in self._columns.items()})
        os.replace(tmp, path)
        return path

    @classmethod
    def cached(cls, cache: str | Path | None, source: str) -> ItemIndex | None:
        """The index saved at ``cache`` if there is one and it was made from ``source`` (its ``meta["source"]``)."""
        if cache is None or not Path(cache).is_file():
            return None
        index = cls.load(cache)
        return index if index.meta.get("source") == source else None

    @classmethod
    def load(cls, path: str | Path) -> ItemIndex:
        with np.load(path, allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes().decode())
            index = cls([], classes=header["classes"], meta=header["meta"])
            index._bytes, index._offsets = npz["bytes"], npz["offsets"]
            index._columns = {k: npz[f"column_{k}"] for k in header["columns"]}
        return index
