"""``selfsup embed``'s output, written a batch at a time so memory holds a batch and one Parquet row group (up to
65,536 rows), not the collection's embeddings (10 M table rows x 128 floats would be 5 GB): ``FILE.parquet`` (``id``,
``label`` when the data has classes, ``embedding``) through pyarrow's ``ParquetWriter``, or ``FILE.npy`` (float32
``(N, D)``) with the ids in ``FILE.ids.txt``. Everything goes to temporary names beside the output, renamed into place
by :meth:`close`; a run that fails leaves no partial file (:meth:`abort`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

ROW_GROUP = 65_536  # rows of a Parquet row group: 32 MiB of 128-d float32 embeddings held at most

class EmbeddingWriter:
    """Writes ``selfsup embed``'s rows batch by batch to Parquet (or ``.npy`` + ids), renamed into place when done."""

    def __init__(self, path: str | Path, classes: list[str] | None = None) -> None:
        self.path = self.check_path(path)
        self.suffix = self.path.suffix.lower()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.classes, self.rows, self.dim = list(classes or []), 0, None
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._ids_tmp = self.path.with_name(f".{self.path.name}.ids.{os.getpid()}.tmp")
        self._writer = self._data = self._ids = None
        self._pending: list = []

    @staticmethod
    def check_path(path: str | Path) -> Path:
        """``path`` if it can be written (``.parquet`` with pyarrow installed, or ``.npy``); else one line why not."""
        path = Path(path)
        if path.suffix.lower() not in (".parquet", ".npy"):
            raise ValueError(f"--output {path}: write .parquet or .npy")
        if path.suffix.lower() == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ValueError("writing .parquet needs pyarrow (pip install pyarrow), or write .npy") from None
        return path

    def add(self, ids: list[str], labels: list[int], features: np.ndarray) -> None:
        """One batch: ``features (B, D)``, its ``ids`` and ``labels`` (class indices, -1 = none)."""
        features = np.ascontiguousarray(features, dtype=np.float32)
        if features.ndim != 2 or len(features) != len(ids):
            raise ValueError(f"expected features (B={len(ids)}, D), got {features.shape}")
        if self.dim is None:
            self.dim = features.shape[1]
        elif features.shape[1] != self.dim:
            raise ValueError(f"embeddings changed width from {self.dim} to {features.shape[1]}")
        if self.suffix == ".npy":
            if self._data is None:
                self._data, self._ids = open(self._tmp, "wb"), open(self._ids_tmp, "w", encoding="utf-8")
            self._data.write(features.tobytes())
            self._ids.write("".join(f"{i}\n" for i in ids))
        else:
            self._write_parquet(ids, labels, features)
        self.rows += len(ids)

    def _write_parquet(self, ids: list[str], labels: list[int], features: np.ndarray) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        offsets = np.arange(0, features.size + 1, self.dim, dtype=np.int32)
        columns = {"id": pa.array(ids, pa.string())}
        if self.classes:
            columns["label"] = pa.array([self.classes[k] if k >= 0 else None for k in labels], pa.string())
        columns["embedding"] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(features.reshape(-1)))
        table = pa.table(columns)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, table.schema)
        self._pending.append(table)
        if sum(t.num_rows for t in self._pending) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        """One Parquet row group of the batches held (a row group per batch would bloat the file by half)."""
        import pyarrow as pa

        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending))
            self._pending = []

    def close(self) -> int:
        """Finish the file(s) and move them into place; the number of rows written."""
        if self.suffix == ".npy":
            self._data.close()
            self._ids.close()
            with open(self._tmp, "rb") as data, open(self._tmp.with_suffix(".npy.tmp"), "wb") as out:
                np.lib.format.write_array_header_1_0(out, {"descr": "<f4", "fortran_order": False,
                                                          "shape": (self.rows, self.dim)})
                shutil.copyfileobj(data, out, 1 << 22)
            os.replace(self._tmp.with_suffix(".npy.tmp"), self.path)
            os.replace(self._ids_tmp, self.path.with_suffix(".ids.txt"))
            self._tmp.unlink(missing_ok=True)
        else:
            self._flush()
            self._writer.close()
            os.replace(self._tmp, self.path)
        return self.rows

    def abort(self) -> None:
        """Drop what was written (no partial output)."""
        for handle in (self._writer, self._data, self._ids):
            if handle is not None:
                handle.close()
        for path in (self._tmp, self._ids_tmp, self._tmp.with_suffix(".npy.tmp")):
            path.unlink(missing_ok=True)
