"""A user's table as the dataset ``selfsup pretrain tabular`` trains on: the rows of a CSV/Parquet file (or folder of
parts), prepared once and read a batch at a time in DataLoader workers, memory bounded by the fit sample and the
batch, never by the table.

Two streaming passes, both in batches of rows (:mod:`selfsup.tabular.datasets.table_files`):

1. sample: a uniform sample of ``fit_rows`` rows (each row gets a random key; the smallest keys are kept), on which
   the column kinds (:class:`~selfsup.tabular.schema.TableSchema`) are inferred and the
   :class:`~selfsup.tabular.preprocessing.TablePreprocessor` is fitted;
2. prepare: every readable row, preprocessed, appended to ``rows.bin``: fixed-width records (float32 numeric
   features, int32 category codes, int32 label, int32 part, int64 row number), so that any row is one ``pread``
   away. ``meta.json``, written last, says which files, sizes, times and preprocessing the records come from: a
   resumed run (or another DDP rank) reuses them instead of reading the table again.

A row with a wrong number of fields is skipped at the prepare pass and listed; a stray string in a numeric column is
a missing value of that row, counted per column."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from selfsup.core import atomic
from selfsup.core.data import FileSource, ItemIndex
from selfsup.core.data.scan import progress_interval
from selfsup.tabular.datasets.table_files import header, read_part
from selfsup.tabular.preprocessing import TablePreprocessor
from selfsup.tabular.schema import TableSchema

RECORDS, META, IDS = "rows.bin", "meta.json", "ids.bin"


def _bar(progress: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(desc=desc, unit=" rows", unit_scale=True, disable=not progress, mininterval=progress_interval())


def _part_names(root: Path, parts: list[Path]) -> list[str]:
    return [str(p.relative_to(root)) if p != root else p.name for p in parts]


def signature(root: Path, parts: list[Path]) -> list[list]:
    """``[[name, bytes, mtime_ns], ...]``: what the prepared records are only valid for."""
    names = _part_names(root, parts)
    return [[name, (s := p.stat()).st_size, s.st_mtime_ns] for name, p in zip(names, parts, strict=True)]


def sample_rows(root: Path, parts: list[Path], fit_rows: int, seed: int, progress: bool) -> pd.DataFrame:
    """A uniform sample of ``fit_rows`` readable rows of the table (all of them if it has fewer), in table order."""
    rng = np.random.default_rng(seed)
    kept: list[pd.DataFrame] = []
    keys = np.zeros(0)
    with _bar(progress, "sample") as bar:
        for name, part in zip(_part_names(root, parts), parts, strict=True):
            for batch in read_part(part, name):
                frame = batch.frame.reset_index(drop=True)
                new = rng.random(len(frame))
                if len(keys) >= fit_rows:  # only keys under the current cut-off can enter
                    cut = np.partition(keys, fit_rows - 1)[fit_rows - 1]
                    frame, new = frame[new < cut], new[new < cut]
                kept.append(frame)
                keys = np.concatenate([keys, new])
                if len(keys) > 2 * fit_rows:
                    kept, keys = _smallest(kept, keys, fit_rows)
                bar.update(len(batch.frame))
    kept, keys = _smallest(kept, keys, fit_rows)
    return kept[0] if kept else pd.DataFrame()


def _smallest(frames: list[pd.DataFrame], keys: np.ndarray, k: int) -> tuple[list[pd.DataFrame], np.ndarray]:
    if not frames:
        return frames, keys
    frame = pd.concat(frames, ignore_index=True)
    keep = np.sort(np.argsort(keys, kind="stable")[:k])  # in table order
    return [frame.iloc[keep].reset_index(drop=True)], keys[keep]


def record_dtype(num_numeric: int, num_categorical: int) -> np.dtype:
    return np.dtype([("numeric", "<f4", (num_numeric,)), ("categorical", "<i4", (num_categorical,)),
                     ("label", "<i4"), ("part", "<i4"), ("row", "<i8")])


def prepare_rows(root: Path, parts: list[Path], schema: TableSchema, preprocessor: TablePreprocessor,
                 classes: list[str], folder: Path, progress: bool) -> dict[str, Any]:
    """Write ``folder/rows.bin`` (and ``ids.bin`` with an id column) and return what ``meta.json`` records:
    ``rows_per_part``, ``bad`` (skip records), ``stray`` (column -> values that were not numbers)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META).unlink(missing_ok=True)
    dtype = record_dtype(preprocessor.num_numeric, len(preprocessor.categorical_))
    label_of = {c: i for i, c in enumerate(classes)}
    counts, bad, stray, id_offsets = [0] * len(parts), [], {}, [0]
    with (open(folder / RECORDS, "wb") as out, open(folder / IDS, "wb") as ids, _bar(progress, "prepare") as bar):
        for p, (name, part) in enumerate(zip(_part_names(root, parts), parts, strict=True)):
            for batch in read_part(part, name, columns=schema.columns):
                bad += batch.bad
                if not len(batch.frame):
                    continue
                features, found = schema.expand(batch.frame)
                for column, count in found.items():
                    stray[column] = stray.get(column, 0) + count
                table = preprocessor.transform(features)
                records = np.zeros(len(features), dtype=dtype)
                records["numeric"], records["categorical"] = table.numeric.numpy(), table.categorical.numpy()
                records["part"], records["row"] = p, batch.rows
                if schema.target:
                    target = batch.frame[schema.target].astype("string").str.strip()
                    records["label"] = target.map(label_of).fillna(-1).to_numpy(dtype=np.int32)
                else:
                    records["label"] = -1
                out.write(records.tobytes())
                if schema.id_column:
                    encoded = [str(v).encode("utf-8") for v in batch.frame[schema.id_column].tolist()]
                    ids.write(b"".join(encoded))
                    id_offsets += (id_offsets[-1] + np.cumsum([len(e) for e in encoded])).tolist()
                counts[p] += len(records)
                bar.update(len(records))
    np.save(folder / "id_offsets.npy", np.asarray(id_offsets, dtype=np.int64))
    return {"rows_per_part": counts, "bad": bad, "stray": stray}


class TableRowsSource(FileSource):
    """The rows of a prepared table. ``index``: the table's parts (``"rows"`` column: readable rows of each);
    ``len(source)``: readable rows. A sample (:meth:`__getitems__`, what the DataLoader asks for) is a block of rows:
    ``numeric (B, Fn)`` float32, ``categorical (B, Fc)`` int64, ``label (B,)`` (-1 = none), ``index (B,)``, and
    :meth:`collate` joins blocks. ``item_id(i)``: the id column's value, else the row number in its part (0 = the
    first data row, bad rows counted), prefixed by the part's name when there are several."""

    domain = "tabular"

    def __init__(self, root: Path, index: ItemIndex, folder: Path, num_numeric: int, num_categorical: int,
                 has_ids: bool, **kwargs) -> None:
        super().__init__(root, index, **kwargs)
        self.folder, self.has_ids = folder, has_ids
        self.dtype = record_dtype(num_numeric, num_categorical)
        self.rows = int(index.column("rows").sum())
        if self.rows == 0:
            raise ValueError(f"{root}: no readable rows")
        size = (folder / RECORDS).stat().st_size
        if size != self.rows * self.dtype.itemsize:
            raise ValueError(f"{folder / RECORDS}: {size} bytes, expected {self.rows} rows of {self.dtype.itemsize}; "
                             "delete the folder to prepare the table again")
        self._files: dict[str, Any] = {}

    def __len__(self) -> int:
        return self.rows

    def readable_units(self) -> int:
        return self.rows

    def _fd(self, name: str) -> int:
        if self._files.get("pid") != os.getpid():  # a DataLoader worker opens its own
            self._files = {"pid": os.getpid()}
        if name not in self._files:
            self._files[name] = os.open(self.folder / name, os.O_RDONLY)
        return self._files[name]

    def _id_offsets(self) -> np.ndarray:
        """``(N + 1,)`` byte offsets of the ids in ``ids.bin``, memory-mapped once per process (embed asks per row)."""
        self._fd(IDS)  # resets the per-process handles after a fork
        if "offsets" not in self._files:
            self._files["offsets"] = np.load(self.folder / "id_offsets.npy", mmap_mode="r")
        return self._files["offsets"]

    def records(self, indices) -> np.ndarray:
        """``(B,)`` records of rows ``indices``, read in runs of consecutive rows."""
        indices = np.asarray(indices, dtype=np.int64)
        order = np.argsort(indices, kind="stable")
        wanted = indices[order]
        if len(wanted) and (wanted[0] < 0 or wanted[-1] >= self.rows):
            raise IndexError(f"row {wanted[0] if wanted[0] < 0 else wanted[-1]} of {self.rows}")
        breaks = np.flatnonzero(np.diff(wanted) != 1) + 1
        size, fd, chunks = self.dtype.itemsize, self._fd(RECORDS), []
        for run in np.split(wanted, breaks):
            if len(run):
                chunks.append(os.pread(fd, size * len(run), int(run[0]) * size))
        found = np.frombuffer(b"".join(chunks), dtype=self.dtype)
        out = np.empty_like(found)
        out[order] = found
        return out

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        records = self.records(indices)
        return [{"numeric": torch.from_numpy(records["numeric"].copy()),
                 "categorical": torch.from_numpy(records["categorical"].astype(np.int64)),
                 "label": torch.from_numpy(records["label"].astype(np.int64)),
                 "index": torch.as_tensor(indices, dtype=torch.int64), "skipped": []}]

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.__getitems__([i])[0]

    @staticmethod
    def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
        """Blocks of rows joined into one batch (``"skipped"``: empty, bad rows were skipped when preparing)."""
        batch = {k: torch.cat([s[k] for s in samples]) for k in ("numeric", "categorical", "label", "index")}
        batch["skipped"] = [r for s in samples for r in s["skipped"]]
        return batch

    def file_of(self, item: int) -> int:
        return int(self.records([item])["part"][0])

    def item_id(self, item: int) -> str:
        if self.has_ids:
            offsets = self._id_offsets()
            start, end = int(offsets[item]), int(offsets[item + 1])
            return os.pread(self._fd(IDS), end - start, start).decode("utf-8")
        record = self.records([item])[0]
        row = str(int(record["row"]))
        return row if len(self.index) == 1 else f"{self.index.id(int(record['part']))}:{row}"


def open_table(root: Path, parts: list[Path], schema: TableSchema, preprocessor: TablePreprocessor,
               classes: list[str], folder: Path | None, *, seed: int, replace_bad: bool,
               progress: bool) -> tuple[TableRowsSource, list[dict], dict[str, int]]:
    """``(source, skip records, stray values per column)``: the table prepared in ``folder`` (reused when its
    ``meta.json`` matches these files and this preprocessing; a temporary folder, removed with the source, when
    ``folder`` is None)."""
    temporary = folder is None
    folder = Path(tempfile.mkdtemp(prefix="selfsup-table-")) if temporary else folder
    state = {"schema": schema.to_dict(), "preprocessor": preprocessor.to_state(), "classes": classes}
    key = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    files = signature(root, parts)
    meta_path = folder / META
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    if meta.get("files") != files or meta.get("preprocessing") != key:
        began = time.perf_counter()
        found = prepare_rows(root, parts, schema, preprocessor, classes, folder, progress)
        meta = {"files": files, "preprocessing": key, **found, "prepare_s": round(time.perf_counter() - began, 2)}
        atomic.write_text(meta_path, json.dumps(meta))
    index = ItemIndex(_part_names(root, parts), {"rows": meta["rows_per_part"]}, classes=classes,
                      meta={"source": str(root), "scan_skipped": len(meta["bad"])})
    source = TableRowsSource(root, index, folder, preprocessor.num_numeric, len(preprocessor.categorical_),
                             bool(schema.id_column), seed=seed, replace_bad=replace_bad)
    if temporary:
        weakref.finalize(source, shutil.rmtree, folder, True)
    return source, meta["bad"], meta["stray"]


def check_columns(root: Path, parts: list[Path], columns: list[str]) -> None:
    """Every part holds ``columns``; else one line naming the part and what it lacks."""
    for name, part in zip(_part_names(root, parts), parts, strict=True):
        lacking = [c for c in columns if c not in header(part)]
        if lacking:
            raise ValueError(f"{name} lacks the columns {lacking} (every part of a table needs the same columns)")
