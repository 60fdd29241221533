"""The own-data contract of the core: the item index, the scan, skip records and their bound, the file source that
replaces or drops bad items, and the trainer that logs them and stops past the bound."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from selfsup.core.data import FileSource, ItemIndex, SkipLog, TooManyBadItems, find_files, index_collection
from selfsup.core.train import TrainConfig, Trainer
from selfsup.core.train.sampler import ResumableBatchSampler


def _number_check(path: Path) -> dict[str, int]:
    text = path.read_text()
    if not text.strip().isdigit():
        raise ValueError(f"not a number: {text[:10]!r}")
    return {"value": int(text)}


class NumberFiles(FileSource):
    """Each file holds a number; ``{"x": float tensor (1,)}``."""

    def read(self, i: int) -> dict[str, torch.Tensor]:
        text = self.path(i).read_text()
        return {"x": torch.tensor([float(int(text))])}


def _write_numbers(root: Path, n: int, bad: tuple[int, ...] = ()) -> Path:
    for i in range(n):
        folder = root / ("odd" if i % 2 else "even")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"n{i:03d}.num").write_text("oops" if i in bad else str(i))
    return root


def test_the_index_round_trips_ids_columns_and_classes(tmp_path):
    ids = ["a.png", "sub/ü ñ.jpg", "x" * 300]
    index = ItemIndex(ids, {"label": [0, 1, -1], "size": [5, 6, 7]}, classes=["cat", "dog"], meta={"root": "/r"})
    loaded = ItemIndex.load(index.save(tmp_path / "index.npz"))
    assert loaded.ids() == ids and loaded.classes == ["cat", "dog"] and loaded.meta == {"root": "/r"}
    assert loaded.column("size").tolist() == [5, 6, 7] and loaded.column("label").tolist() == [0, 1, -1]
    with pytest.raises(KeyError, match="no column 'width'"):
        loaded.column("width")
    with pytest.raises(ValueError, match="column 'label' has 2 values for 3 items"):
        ItemIndex(ids, {"label": [0, 1]})


def test_find_files_recurses_sorts_and_names_hostile_names(tmp_path):
    (tmp_path / "b" / "c").mkdir(parents=True)
    for name in ("b/c/z.NUM", "a.num", "b/x.num", "b/readme.txt", "bad\nname.num"):
        (tmp_path / name).write_text("1")
    found, skipped = find_files(tmp_path, (".num",))
    assert found == ["a.num", "b/c/z.NUM", "b/x.num"]
    assert [r["reason"] for r in skipped] == ["file name holds a line break"]


def test_index_collection_scans_labels_skips_and_caches(tmp_path):
    root = _write_numbers(tmp_path / "data", 10, bad=(3,))
    (root / "even" / "empty.num").write_text("")
    cache = tmp_path / "run" / "index.npz"
    found_root, index, skipped = index_collection(root, suffixes=(".num",), check=_number_check, what="numbers",
                                                  cache=cache, progress=False)
    assert found_root == root and len(index) == 9 and index.classes == ["even", "odd"]
    assert sorted((r["item"], r["stage"]) for r in skipped) == [("even/empty.num", "scan"), ("odd/n003.num", "scan")]
    assert "empty file" in {r["item"]: r["reason"] for r in skipped}["even/empty.num"]
    assert index.column("label").tolist() == [0] * 5 + [1] * 4 and index.meta["scan_skipped"] == 2
    (root / "odd" / "n001.num").unlink()  # a cached index is reused as it is: no rescan on a restart
    _, again, skipped_again = index_collection(root, suffixes=(".num",), check=_number_check, what="numbers",
                                               cache=cache, progress=False)
    assert again.ids() == index.ids() and skipped_again == []


def test_index_collection_reads_list_files_and_says_what_is_wrong(tmp_path):
    root = _write_numbers(tmp_path, 4)
    (tmp_path / "list.csv").write_text("path,label\neven/n000.num,a\nodd/n001.num,b\nmissing.num,a\n")
    _, index, skipped = index_collection(tmp_path / "list.csv", suffixes=(".num",), check=_number_check,
                                         what="numbers", progress=False)
    assert index.ids() == ["even/n000.num", "odd/n001.num"] and index.classes == ["a", "b"]
    assert [r["item"] for r in skipped] == ["missing.num"] and "FileNotFoundError" in skipped[0]["reason"]
    (tmp_path / "list.txt").write_text("# my numbers\neven/n002.num\n\nodd/n003.num\n")
    _, index, _ = index_collection(tmp_path / "list.txt", suffixes=(".num",), check=_number_check, what="numbers",
                                   progress=False)
    assert index.ids() == ["even/n002.num", "odd/n003.num"] and not index.has_column("label")
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        index_collection(root / "nope", suffixes=(".num",), check=_number_check, what="numbers")
    with pytest.raises(ValueError, match=r"no numbers found \(looked for .png\)"):
        index_collection(root, suffixes=(".png",), check=_number_check, what="numbers")
    for i in range(4):
        (root / ("odd" if i % 2 else "even") / f"n{i:03d}.num").write_text("x")
    with pytest.raises(ValueError, match=r"none of the 4 numbers could be read, e\.g\. even/n000\.num"):
        index_collection(root, suffixes=(".num",), check=_number_check, what="numbers", progress=False)


def _source(root: Path, **kwargs) -> NumberFiles:
    ids = sorted(str(p.relative_to(root)) for p in root.rglob("*.num"))
    return NumberFiles(root, ItemIndex(ids), **kwargs)


def test_a_bad_item_is_replaced_in_training_and_dropped_in_embedding(tmp_path):
    root = _write_numbers(tmp_path, 6)
    source = _source(root)
    (root / "even" / "n002.num").write_text("gone bad after the scan")
    sample = source[1]  # even/n002.num is position 1: the next readable one answers
    assert sample["x"].item() == 4.0 and sample["index"] == 2 and sample["label"] == -1
    assert sample["skipped"][0]["item"] == "even/n002.num" and sample["skipped"][0]["stage"] == "decode"
    batch = FileSource.collate([source[0], source[1]])
    assert batch["x"].shape == (2, 1) and [r["item"] for r in batch["skipped"]] == ["even/n002.num"]
    embedding = _source(root, replace_bad=False)
    batch = FileSource.collate([embedding[i] for i in range(len(embedding))])
    assert batch["index"].tolist() == [0, 2, 3, 4, 5] and len(batch["skipped"]) == 1
    assert FileSource.collate([embedding[1]]) == {"skipped": batch["skipped"]}


def test_the_skip_log_counts_each_item_once_and_stops_past_the_bound(tmp_path):
    log = SkipLog(tmp_path / "skipped.jsonl", max_bad_fraction=0.01, seen_before=1000)
    log.add([{"item": "a.jpg", "reason": "ValueError: truncated", "stage": "decode"}] * 3)
    assert log.count == 1 and not log.over()
    lines = (tmp_path / "skipped.jsonl").read_text().splitlines()
    assert [json.loads(line)["item"] for line in lines] == ["a.jpg"]
    log.add([{"item": f"{i}.jpg", "reason": "OSError: broken", "stage": "decode"} for i in range(10)])
    assert log.over() and not log.over(read=2000)
    with pytest.raises(TooManyBadItems, match=r"11 of 1000 items \(1.1%\) could not be used.*e.g. a.jpg"):
        log.check()


def test_ranks_and_workers_read_every_item_once_per_epoch(tmp_path):
    """Two ranks' shards, each read by two DataLoader workers: every item exactly once over the epoch."""
    source = _source(_write_numbers(tmp_path, 24))
    seen = []
    for rank in range(2):
        sampler = ResumableBatchSampler(source, 3, rank=rank, world_size=2, seed=5, drop_last=False)
        sampler.set_epoch(1)
        loader = DataLoader(source, batch_sampler=sampler, num_workers=2, collate_fn=source.collate)
        seen += [int(i) for batch in loader for i in batch["index"]]
    assert sorted(seen) == list(range(24))


@pytest.mark.parametrize(("n", "world", "drop_last"), [(10, 3, True), (10, 3, False), (37, 2, True), (64, 1, False)])
def test_the_sampler_keeps_distributed_samplers_order_in_a_tensor(n, world, drop_last):
    """The order and shards of torch's DistributedSampler (padded or cut), held as int32 instead of a Python list
    (about 36 bytes an item, 360 MB for a 10 M-row table)."""
    from torch.utils.data import DistributedSampler

    items = list(range(n))
    for rank in range(world):
        reference = DistributedSampler(items, num_replicas=world, rank=rank, seed=5, drop_last=drop_last)
        reference.set_epoch(3)
        sampler = ResumableBatchSampler(items, 4, rank=rank, world_size=world, seed=5, drop_last=drop_last)
        sampler.set_epoch(3)
        assert sampler.shard().dtype == torch.int32 and sampler.shard().tolist() == list(reference)
        assert [i for batch in sampler for i in batch] == list(reference)[: len(sampler) * 4]


class Mean(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, batch):
        return {"loss": ((batch["x"] * self.w - 1) ** 2).mean()}


def test_the_trainer_logs_decode_skips_and_stops_past_the_bound(tmp_path):
    root = _write_numbers(tmp_path / "data", 20)
    source = _source(root)
    (root / "odd" / "n005.num").write_text("corrupt")
    config = TrainConfig(output_dir=str(tmp_path / "run"), epochs=1, batch_size=5, progress=False,
                         max_bad_fraction=0.1)
    summary = Trainer(Mean(), source, config, collate_fn=source.collate).fit()
    assert summary["items_skipped"] == 1 and summary["steps"] == 4
    records = [json.loads(line) for line in (tmp_path / "run" / "skipped.jsonl").read_text().splitlines()]
    assert [(r["item"], r["stage"]) for r in records] == [("odd/n005.num", "decode")]
    for i in (1, 3, 7):
        (root / "odd" / f"n{i:03d}.num").write_text("corrupt")
    config = TrainConfig(output_dir=str(tmp_path / "run2"), epochs=1, batch_size=5, progress=False,
                         max_bad_fraction=0.1)
    with pytest.raises(TooManyBadItems, match=r"could not be used, more than --max-bad-fraction 0\.1"):
        Trainer(Mean(), source, config, collate_fn=source.collate).fit()


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_embeddings_are_written_a_batch_at_a_time_and_read_back(tmp_path, suffix):
    """Three batches streamed to disk read back as one array with the ids (and labels) in order; a failed run
    leaves no file."""
    from selfsup.core.data.embedding_writer import EmbeddingWriter

    pd = pytest.importorskip("pandas") if suffix == ".parquet" else None
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(n, 5)).astype(np.float32) for n in (4, 3, 2)]
    ids = [[f"item{i}-{k}" for k in range(len(b))] for i, b in enumerate(batches)]
    writer = EmbeddingWriter(tmp_path / f"out{suffix}", classes=["cat", "dog"])
    for b, i in zip(batches, ids, strict=True):
        writer.add(i, [k % 2 if k else -1 for k in range(len(b))], b)
    assert writer.close() == 9
    expected = np.concatenate(batches)
    flat_ids = [x for i in ids for x in i]
    if suffix == ".npy":
        assert np.array_equal(np.load(tmp_path / "out.npy"), expected)
        assert (tmp_path / "out.ids.txt").read_text().split() == flat_ids
    else:
        frame = pd.read_parquet(tmp_path / "out.parquet")
        assert frame["id"].tolist() == flat_ids and frame["label"].isna().tolist()[:2] == [True, False]
        assert frame["label"].iloc[1] == "dog"
        assert np.array_equal(np.stack(frame["embedding"]), expected)
    failed = EmbeddingWriter(tmp_path / f"failed{suffix}")
    failed.add(["a"], [-1], batches[0][:1])
    failed.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out.npy", "out.ids.txt"] if suffix == ".npy" else ["out.parquet"])
