"""Streaming reads of a user's table: a CSV/TSV (any delimiter, gzip/bz2 by suffix), a Parquet file, or a folder of
Parquet (or CSV) parts, in batches of rows, so no file is ever loaded whole.

CSV cells are read as text (the schema decides what is a number); a row with another number of fields than the
header is skipped and reported with its row number (0 = the first row after the header). Parquet keeps its types."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz", ".csv.bz2", ".tsv.bz2")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = ",\t;|"


def _suffix(path: Path) -> str:
    return "".join(path.suffixes[-2:]).lower() if path.suffix.lower() in (".gz", ".bz2") else path.suffix.lower()


def table_parts(path: str | Path) -> tuple[Path, list[Path]]:
    """``(root, parts)``: the file itself, or a folder's Parquet parts (or, without any, its CSV parts), sorted;
    one line naming the problem when there is nothing to read."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file():
        if _suffix(path) not in (*CSV_SUFFIXES, *PARQUET_SUFFIXES):
            raise ValueError(f"{path}: not a table (expected {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)})")
        return path.parent, [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    parts = [p for p in files if _suffix(p) in PARQUET_SUFFIXES] or [p for p in files if _suffix(p) in CSV_SUFFIXES]
    if not parts:
        raise ValueError(f"{path}: no Parquet or CSV files in this folder")
    return path, parts


def sniff_delimiter(path: Path) -> str:
    """The delimiter of a CSV: ``\\t`` for .tsv, else csv.Sniffer over the first 64 KiB among ``, TAB ; |``, else the
    one of those that the header line holds most of."""
    if _suffix(path).startswith(".tsv"):
        return "\t"
    import pyarrow as pa

    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(65536).decode("utf-8", errors="replace")
    try:
        return csv.Sniffer().sniff(head, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = head.splitlines()[0] if head else ""
        return max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","


@dataclass
class RowBatch:
    """``frame``: the readable rows of a batch (raw cells); ``rows (B,)`` int64: their data-row numbers in the part
    (0 = the first row after the header, bad rows counted); ``bad``: skip records of rows that could not be read."""

    frame: pd.DataFrame
    rows: np.ndarray
    bad: list[dict]


def read_part(part: Path, name: str, columns: list[str] | None = None, batch_rows: int = 16384) -> Iterator[RowBatch]:
    """Batches of the rows of one part (only ``columns``, if given); ``name`` is how skip records call it."""
    if _suffix(part) in PARQUET_SUFFIXES:
        yield from _read_parquet(part, columns, batch_rows)
    else:
        yield from _read_csv(part, name, columns)


def header(part: Path) -> list[str]:
    """The column names of a part."""
    if _suffix(part) in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        return list(pq.read_schema(part).names)
    import pyarrow as pa

    with pa.input_stream(str(part), compression="detect") as stream:
        head = b""
        while b"\n" not in head and (more := stream.read(65536)):
            head += more
    return _column_names(head.partition(b"\n")[0], sniff_delimiter(part))


def _column_names(first_line: bytes, delimiter: str) -> list[str]:
    """A CSV header line's names, as pandas reads (and de-duplicates) them."""
    first = first_line.decode("utf-8", errors="replace").rstrip("\r")
    return [str(c) for c in pd.read_csv(io.StringIO(first), sep=delimiter, dtype=str).columns]


def _read_parquet(part: Path, columns: list[str] | None, batch_rows: int) -> Iterator[RowBatch]:
    import pyarrow.parquet as pq

    start = 0
    with pq.ParquetFile(part) as file:
        for batch in file.iter_batches(batch_size=batch_rows, columns=columns):
            n = batch.num_rows
            yield RowBatch(batch.to_pandas(), np.arange(start, start + n, dtype=np.int64), [])
            start += n


def _read_csv(part: Path, name: str, columns: list[str] | None, block_bytes: int = 1 << 20) -> Iterator[RowBatch]:
    """Blocks of about ``block_bytes``, cut after a line break outside quotes (an even number of ``"`` before it, as
    RFC 4180 quoting doubles a quote inside a field), each parsed by pyarrow with the header in front: memory bounded
    by the block (pyarrow's own streaming reader reads a local file ahead whole). Every cell is read as text; a row
    with another number of fields than the header is skipped and recorded."""
    import pyarrow as pa

    delimiter = sniff_delimiter(part)
    with pa.input_stream(str(part), compression="detect") as stream:
        head = b""
        while b"\n" not in head:
            more = stream.read(65536)
            if not more:
                break
            head += more
        first, _, rest = head.partition(b"\n")
        names = _column_names(first, delimiter)  # from the head just read: no second open, no second sniff
        start, pending = 0, rest
        while True:
            more = stream.read(block_bytes)
            pending += more
            cut = len(pending) if not more else _last_break(pending)
            if cut <= 0 and more:
                continue
            block, pending = pending[:cut], pending[cut:]
            if block.strip():
                batch = _parse_block(first + b"\n" + block, names, delimiter, columns, name, start)
                start += len(batch.rows) + len(batch.bad)
                yield batch
            if not more:
                return


def _last_break(data: bytes) -> int:
    """The position after the last line break outside quotes (0 if none)."""
    end = len(data)
    while True:
        end = data.rfind(b"\n", 0, end)
        if end < 0:
            return 0
        if data.count(b'"', 0, end) % 2 == 0:
            return end + 1


def _parse_block(data: bytes, names: list[str], delimiter: str, columns: list[str] | None, name: str,
                 start: int) -> RowBatch:
    import pyarrow as pa
    import pyarrow.csv as pc

    bad: list[tuple[int, str]] = []

    def invalid(row) -> str:
        bad.append(((row.number or 0) - 2, f"{row.actual_columns} fields where the header has {row.expected_columns}"))
        return "skip"

    def parse(raw: bytes):
        bad.clear()
        return pc.read_csv(pa.py_buffer(raw),
                           read_options=pc.ReadOptions(use_threads=False, column_names=names, skip_rows=1),
                           parse_options=pc.ParseOptions(delimiter=delimiter, invalid_row_handler=invalid,
                                                         newlines_in_values=True),
                           convert_options=pc.ConvertOptions(column_types={c: pa.string() for c in names},
                                                             include_columns=columns, strings_can_be_null=False,
                                                             quoted_strings_can_be_null=False))

    try:
        table = parse(data)
    except pa.ArrowInvalid as err:
        if "UTF8" not in str(err) and "UTF-8" not in str(err):
            raise ValueError(f"{name}: cannot parse the rows after row {start} ({err})") from None
        table = parse(data.decode("utf-8", errors="replace").encode("utf-8"))  # bad bytes become U+FFFD
    skipped = np.asarray([k for k, _ in bad], dtype=np.int64)
    candidates = np.arange(table.num_rows + len(bad), dtype=np.int64)
    rows = start + candidates[~np.isin(candidates, skipped)]
    records = [{"item": f"{name} row {start + k}", "reason": why, "stage": "scan"} for k, why in bad]
    return RowBatch(table.to_pandas(), rows, records)
