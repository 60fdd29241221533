"""A user's collection as an :class:`ItemIndex`: a folder searched recursively or a list file, scanned once (checked
in parallel) and cached, so a restart or ``--resume auto`` reads the same items in the same order without a rescan."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from selfsup.core.data.item_index import ItemIndex
from selfsup.core.data.scan import Check, check_files, find_files, read_list_file

LIST_SUFFIXES = (".txt", ".csv", ".tsv", ".parquet")


def _class_labels(items: Sequence[str]) -> tuple[list[int], list[str]] | None:
    """Class sub-folders: every item one folder down or deeper and at least two first-level folders."""
    firsts = [Path(i).parts[0] if len(Path(i).parts) > 1 else None for i in items]
    if not items or None in firsts or len(set(firsts)) < 2:
        return None
    classes = sorted(set(firsts))
    lookup = {c: k for k, c in enumerate(classes)}
    return [lookup[f] for f in firsts], classes


def index_collection(path: str | Path, *, suffixes: Sequence[str], check: Check, what: str,
                     cache: str | Path | None = None, workers: int | None = None, progress: bool = True,
                     find: Callable[[Path], tuple[list[str], list[dict]]] | None = None,
                     ) -> tuple[Path, ItemIndex, list[dict]]:
    """``(root, index, scan skip records)`` for ``path``: a folder (files with ``suffixes`` under it, or the items
    ``find(folder)`` lists: ``(relative paths, skip records)``) or a list file (``.txt``/``.csv``/``.tsv``/
    ``.parquet``, paths relative to its folder). Every item passes ``check`` (its results become the index's
    columns); class sub-folders or a list's ``label`` column become a ``label`` column.

    ``cache``: an ``.npz`` path; when it exists and was made from the same ``path``, it is loaded instead of
    scanning (skip records of the scan are then not repeated). Raises ``FileNotFoundError`` / ``ValueError`` with
    one line naming the problem (no such path, no files of the kind, none readable)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    source = str(path.resolve())
    index = ItemIndex.cached(cache, source)
    if index is not None:
        return Path(index.meta["root"]), index, []
    labels, classes = None, []
    if path.is_dir():
        root = path
        items, skipped = find(root) if find is not None else find_files(root, suffixes)
        found = _class_labels(items)
        if found:
            labels, classes = found
    elif path.suffix.lower() in LIST_SUFFIXES:
        root = path.parent
        items, raw_labels = read_list_file(path)
        skipped = []
        if raw_labels is not None:
            classes = sorted(set(raw_labels))
            labels = [classes.index(v) for v in raw_labels]
    else:
        raise ValueError(f"{path}: expected a folder of {what} or a list file ({', '.join(LIST_SUFFIXES)})")
    if not items:
        raise ValueError(f"{path}: no {what} found (looked for {', '.join(suffixes)})")
    kept, facts, scan_skipped = check_files(root, items, check, workers=workers or min(32, 4 * (os.cpu_count() or 1)),
                                            progress=progress)
    skipped += scan_skipped
    if not kept:
        examples = "; ".join(f"{r['item']} ({r['reason']})" for r in skipped[:3])
        raise ValueError(f"{path}: none of the {len(items)} {what} could be read, e.g. {examples}")
    columns = {key: [f[key] for f in facts] for key in facts[0]}
    if labels is not None:
        columns["label"] = [labels[k] for k in kept]
    index = ItemIndex([items[k] for k in kept], columns, classes,
                      meta={"source": source, "root": str(root), "scan_skipped": len(skipped)})
    if cache is not None:
        index.save(cache)
    return root, index, skipped
