"""Finding a collection's items on disk and checking each one cheaply (size, header) before training starts, in
parallel threads with a progress bar. What a check rejects becomes a skip record, named, never an abort."""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm.auto import tqdm

Check = Callable[[Path], dict[str, int]]


def progress_interval() -> float:
    """Seconds between progress-bar refreshes: 0.1 on a terminal, 10 when stderr is a file or a pipe (a log file
    then gains a line every 10 s, not one per update)."""
    return 0.1 if sys.stderr.isatty() else 10.0


def find_files(root: str | Path, suffixes: Sequence[str], *,
               series: Callable[[Path, list[str]], bool] | None = None) -> tuple[list[str], list[dict]]:
    """``(relative paths, skip records)`` of the files under ``root`` (searched recursively, symlinked folders not
    followed, sorted) whose suffix is one of ``suffixes`` (lower case, with the dot; matched case-insensitively).
    ``series(folder, file names)``, when given, marks folders that are one item as a whole (a DICOM series): such a
    folder is listed (``"."`` for ``root`` itself) in place of its files. Names that are not valid UTF-8 or that
    hold a line break are skip records, not items."""
    root = Path(root)
    found, skipped = [], []

    def add(rel: str) -> None:
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            skipped.append(scan_skip(rel.encode("utf-8", "backslashreplace").decode(), "file name is not UTF-8"))
            return
        if "\n" in rel or "\r" in rel:
            skipped.append(scan_skip(repr(rel), "file name holds a line break"))
            return
        found.append(rel)

    for folder, _, files in os.walk(root, followlinks=False):
        if series is not None and series(Path(folder), files):
            add(os.path.relpath(folder, root))
            continue
        for name in files:
            if os.path.splitext(name)[1].lower() in suffixes:
                add(os.path.relpath(os.path.join(folder, name), root))
    return sorted(found), skipped


def read_list_file(path: str | Path) -> tuple[list[str], list[str] | None]:
    """``(paths, labels or None)`` from a list of files: ``.txt`` (one path a line), ``.csv`` (a ``path`` column, or
    the first; an optional ``label`` column) or ``.parquet`` (same columns; needs pandas + pyarrow). Relative paths
    are taken relative to the list file's folder by the caller."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            import pandas as pd
        except ImportError as err:
            raise ValueError(f"{path}: reading a Parquet list needs pandas and pyarrow (pip install pandas pyarrow)") \
                from err
        frame = pd.read_parquet(path)
        rows = [frame.columns.tolist(), *frame.astype(str).values.tolist()]
    elif suffix in (".csv", ".tsv"):
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter="\t" if suffix == ".tsv" else ","))
    else:
        with open(path, encoding="utf-8") as handle:
            lines = [line.rstrip("\r\n") for line in handle]
        return [line for line in lines if line.strip() and not line.startswith("#")], None
    if not rows:
        raise ValueError(f"{path}: the list is empty")
    header = [h.strip().lower() for h in rows[0]]
    column = header.index("path") if "path" in header else 0
    body = rows[1:] if "path" in header or "label" in header else rows
    paths = [row[column] for row in body if row and row[column].strip()]
    if "label" in header:
        return paths, [row[header.index("label")] for row in body if row and row[column].strip()]
    return paths, None


def scan_skip(item: str, reason: str) -> dict:
    return {"item": item, "reason": reason, "stage": "scan"}


def skip_reason(err: BaseException, path: str | Path) -> str:
    """A skip record's reason: the exception's type and text, the file's path shown as ``<file>`` (the record names
    the item already), at most 300 characters."""
    return f"{type(err).__name__}: {err}".replace(str(path), "<file>")[:300]


def check_files(root: Path, items: Sequence[str], check: Check, *, workers: int = 16,
                progress: bool = True) -> tuple[list[int], list[dict[str, int]], list[dict]]:
    """Run ``check(root / item)`` on every item in ``workers`` threads: ``(kept positions, their check results,
    skip records)``. A check returns the item's integer facts (e.g. frames, sample rate) or raises for a file that
    cannot be used; the exception's text is the skip reason. Empty files are skipped without a check."""

    def one(item: str):
        path = root / item
        try:
            if path.stat().st_size == 0:
                return None, "empty file (0 bytes)"
            return check(path), None
        except Exception as err:  # a check of a stranger's file may raise anything: it becomes a reason
            return None, skip_reason(err, path)

    kept, facts, skipped = [], [], []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(one, items, chunksize=64)
        bar = tqdm(results, total=len(items), desc="scan", unit="file", disable=not progress,
                   mininterval=progress_interval())
        for position, (result, reason) in enumerate(bar):
            if reason is None:
                kept.append(position)
                facts.append(result)
            else:
                skipped.append(scan_skip(items[position], reason))
    return kept, facts, skipped
