"""Images in WebDataset tar shards (``shards-{000000..000099}.tar``, the brace pattern expanded by braceexpand as
webdataset does): every image member of every shard is an item, read by its byte offset, so the shards are a
map-style collection like a folder (the trainer's sampler shards and resumes it exactly; a bad member is skipped
alone). Members are grouped by key as in webdataset (``key.jpg``, ``key.cls``, ...): the first image member of a
key is its image; a ``.cls`` member, when present, its label."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
from braceexpand import braceexpand
from PIL import Image
from tqdm.auto import tqdm

from selfsup.core.data import ItemIndex
from selfsup.core.data.scan import progress_interval, scan_skip, skip_reason
from selfsup.vision.datasets.image_files import GRAY_MODES, IMAGE_SUFFIXES, ImageFiles

_HEADER_BYTES = 1 << 16  # enough of an image member for Pillow to read its size and mode


def is_shard_spec(path: str | Path) -> bool:
    """Whether ``path`` names WebDataset tar shards (a ``.tar`` file or a brace pattern of them)."""
    return str(path).endswith(".tar") or ("{" in str(path) and ".tar" in str(path))


def expand_shards(spec: str | Path) -> list[Path]:
    """``"data/shards-{000000..000002}.tar"`` -> the three paths; each must exist."""
    shards = [Path(p).expanduser() for p in braceexpand(str(spec))]
    missing = [str(p) for p in shards if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of {len(shards)} shards do not exist, e.g. {missing[0]}")
    return shards


def _member_header(handle, member: tarfile.TarInfo) -> dict[str, int]:
    handle.seek(member.offset_data)
    with Image.open(io.BytesIO(handle.read(min(member.size, _HEADER_BYTES)))) as image:
        width, height = image.size
        gray = image.mode in GRAY_MODES
    if width < 1 or height < 1 or (Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS):
        raise ValueError(f"image of {width} x {height} pixels")
    return {"width": width, "height": height, "gray": int(gray)}


def index_shards(spec: str | Path, *, cache: Path | None = None,
                 progress: bool = True) -> tuple[Path, ItemIndex, list[dict]]:
    """``(root, index, scan skip records)``: one item per image member, ids ``shard/member``, columns ``shard``,
    ``offset``, ``size`` (the member's bytes), ``width``, ``height``, ``gray`` (and ``label`` from ``.cls``)."""
    shards = expand_shards(spec)
    source = ";".join(str(p.resolve()) for p in shards)
    index = ItemIndex.cached(cache, source)
    if index is not None:
        return Path(index.meta["root"]), index, []
    root = Path(os.path.commonpath([str(p.parent.resolve()) for p in shards]))
    ids, rows, labels, skipped = [], [], {}, []
    for number, shard in enumerate(tqdm(shards, desc="scan shards", unit="shard", disable=not progress,
                                        mininterval=progress_interval())):
        rel = os.path.relpath(shard.resolve(), root)
        seen_keys = set()
        try:
            with open(shard, "rb") as handle, tarfile.open(fileobj=handle, mode="r:") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    folder, _, base = member.name.rpartition("/")
                    stem, _, suffix = base.partition(".")  # webdataset: the key ends at the basename's first dot
                    key = f"{folder}/{stem}" if folder else stem
                    if suffix.lower() == "cls":
                        handle.seek(member.offset_data)
                        labels[(number, key)] = handle.read(min(member.size, 64)).decode("utf-8", "replace").strip()
                        continue
                    if f".{suffix.lower().rsplit('.', 1)[-1]}" not in IMAGE_SUFFIXES or (number, key) in seen_keys:
                        continue
                    seen_keys.add((number, key))
                    item = f"{rel}/{member.name}"
                    if member.size == 0:
                        skipped.append(scan_skip(item, "empty file (0 bytes)"))
                        continue
                    try:
                        facts = _member_header(handle, member)
                    except Exception as err:  # a stranger's member may make Pillow raise anything
                        skipped.append(scan_skip(item, skip_reason(err, shard)))
                        continue
                    ids.append(item)
                    rows.append((number, member.offset_data, member.size, facts["width"], facts["height"],
                                 facts["gray"], key))
        except (tarfile.TarError, OSError) as err:
            skipped.append(scan_skip(rel, f"the shard cannot be read past this point: {type(err).__name__}: {err}"))
    if not ids:
        raise ValueError(f"{spec}: no readable image members in {len(shards)} shard(s)")
    columns = {name: [r[k] for r in rows] for k, name in enumerate(("shard", "offset", "size", "width", "height",
                                                                     "gray"))}
    classes: list[str] = []
    if labels:
        classes = sorted(set(labels.values()))
        columns["label"] = [classes.index(labels[(r[0], r[6])]) if (r[0], r[6]) in labels else -1 for r in rows]
    meta = {"source": source, "root": str(root), "scan_skipped": len(skipped),
            "shards": [os.path.relpath(p.resolve(), root) for p in shards]}
    index = ItemIndex(ids, columns, classes, meta=meta)
    if cache is not None:
        index.save(cache)
    return root, index, skipped


class ImageShards(ImageFiles):
    """:class:`ImageFiles` whose items are tar members: the bytes are read at their offset in their shard."""

    def encoded(self, i: int) -> tuple[np.ndarray, str]:
        shard = self.root / self.index.meta["shards"][int(self.index.column("shard")[i])]
        with open(shard, "rb") as handle:
            handle.seek(int(self.index.column("offset")[i]))
            data = handle.read(int(self.index.column("size")[i]))
        return np.frombuffer(data, dtype=np.uint8).copy(), Path(self.index.id(i)).suffix
