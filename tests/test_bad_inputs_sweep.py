"""A sweep of hostile and broken inputs through every loader and public entry point.

Each case writes one bad input (zero-byte, truncated, wrong rank, NaN/inf, empty, huge values, wrong dtype, a
crafted pickle, a unicode path) and states what must happen: in a collection read for training, the item is
skipped and named (``skipped``); anywhere else, one error that names the file or column (``error``); or it loads
correctly (``loads``). Never a traceback from deep inside a library, never a silent NaN."""

from __future__ import annotations

import gzip
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("selfsup.vision")
pytest.importorskip("selfsup.audio")
pytest.importorskip("selfsup.graph")
pytest.importorskip("selfsup.tabular")
pytest.importorskip("selfsup.medical")

UNICODE = "données ünïcødé 画像"


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _error(call, *names: str) -> str:
    """``call()`` raises a ValueError/FileNotFoundError whose message names every one of ``names``."""
    with pytest.raises((ValueError, FileNotFoundError, OSError)) as info:
        call()
    message = str(info.value)
    for name in names:
        assert name in message, f"{name!r} not named in: {message}"
    return message


def _skipped_names(domain: str, folder: Path) -> tuple[set[str], int]:
    """The items a training read of ``folder`` skips (scan and decode), and how many it reads."""
    from selfsup.core.own_data_cli import own_data

    entry = own_data(domain)
    source, _, scan = entry.open(folder, dict(entry.data_options), cache=None, seed=0, replace_bad=False,
                                 progress=False)
    skipped = {r["item"] for r in scan}
    good = 0
    for i in range(len(source)):
        item = source[i]
        skipped |= {r["item"] for r in item["skipped"]}
        good += len(item) > 1
    return skipped, good


# ----------------------------------------------------------------------------- images
def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    good = {f"{UNICODE}.png", "gray.png", "rgba.png", "sixteen_bit.png", "tiny.jpg"}
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(tmp_path / f"{UNICODE}.png")
    Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8)).save(tmp_path / "gray.png")
    Image.fromarray(rng.integers(0, 255, (40, 40, 4), dtype=np.uint8)).save(tmp_path / "rgba.png")
    Image.fromarray(rng.integers(0, 65535, (40, 40), dtype=np.uint16)).save(tmp_path / "sixteen_bit.png")
    Image.fromarray(rng.integers(0, 255, (3, 3, 3), dtype=np.uint8)).save(tmp_path / "tiny.jpg")
    (tmp_path / "zero.jpg").write_bytes(b"")
    jpeg = (tmp_path / "tiny.jpg").read_bytes()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "full.jpg")
    (tmp_path / "truncated.jpg").write_bytes((tmp_path / "full.jpg").read_bytes()[:300])
    (tmp_path / "full.jpg").unlink()
    (tmp_path / "text.png").write_text("not an image")
    # a PNG header claiming 100000 x 100000 pixels: a decompression bomb, refused before decoding
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 100000, 100000, 8, 2,
                                                                                     0, 0, 0)
    (tmp_path / "bomb.png").write_bytes(header + jpeg[:64])
    skipped, loaded = _skipped_names("vision", tmp_path)
    assert skipped == {"zero.jpg", "truncated.jpg", "text.png", "bomb.png"}
    assert loaded == len(good)


def test_cifar_batches(tmp_path):
    from selfsup.vision.datasets.cifar import load_cifar

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    marker = tmp_path / "pwned"
    names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]
    for name in names:
        entry = {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]}
        (folder / name).write_bytes(pickle.dumps(entry))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": _Payload(marker)}))
    _error(lambda: load_cifar(tmp_path, split="train", verify=False), "batches.meta", "refused")
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    assert len(load_cifar(tmp_path, split="train", verify=False)) == 10
    _error(lambda: load_cifar(tmp_path, split="train", verify=True), "data_batch_1", "MD5")
    (folder / "data_batch_2").write_bytes(pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}))
    _error(lambda: load_cifar(tmp_path, split="train", verify=False), "data_batch_2", "3072")
    (folder / "data_batch_2").write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.uint8)})[:40])
    _error(lambda: load_cifar(tmp_path, split="train", verify=False), "data_batch_2")
    (folder / "data_batch_2").write_bytes(b"")
    _error(lambda: load_cifar(tmp_path, split="train", verify=False), "data_batch_2")
    assert not marker.exists()


# ----------------------------------------------------------------------------- audio
def test_audio_folder(tmp_path):
    import soundfile as sf

    rate = 8000
    wave = (0.3 * np.sin(np.arange(rate) / 5)).astype(np.float32)
    sf.write(tmp_path / f"{UNICODE}.wav", wave, rate)
    sf.write(tmp_path / "int16.wav", (wave * 30000).astype(np.int16), rate, subtype="PCM_16")
    sf.write(tmp_path / "loud.wav", wave * 1e30, rate, subtype="FLOAT")
    nan = wave.copy()
    nan[100:200] = np.nan
    sf.write(tmp_path / "nan.wav", nan, rate, subtype="FLOAT")
    (tmp_path / "zero.wav").write_bytes(b"")
    sf.write(tmp_path / "full.flac", wave, rate)
    (tmp_path / "truncated.flac").write_bytes((tmp_path / "full.flac").read_bytes()[:200])
    (tmp_path / "full.flac").unlink()
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), rate)
    skipped, loaded = _skipped_names("audio", tmp_path)
    assert {"nan.wav", "zero.wav", "truncated.flac", "empty.wav", "loud.wav"} <= skipped
    assert f"{UNICODE}.wav" not in skipped and "int16.wav" not in skipped and loaded >= 2


# ----------------------------------------------------------------------------- graphs
def _planetoid(raw: Path, labels_seed: int = 0) -> None:
    import scipy.sparse as sp

    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n_all, n_test, f, classes = 520, 4, 5, 3
    allx = sp.csr_matrix(rng.integers(0, 2, (n_all, f)).astype(np.float32))
    tx = sp.csr_matrix(rng.integers(0, 2, (n_test, f)).astype(np.float32))
    ally = np.eye(classes)[np.random.default_rng(labels_seed).integers(0, classes, n_all)]
    ty = np.eye(classes)[rng.integers(0, classes, n_test)]
    n = n_all + n_test
    objects = {"x": allx[:6], "y": ally[:6], "allx": allx, "ally": ally, "tx": tx, "ty": ty,
               "graph": {i: [(i + 1) % n] for i in range(n)}}
    for key, value in objects.items():
        (raw / f"ind.cora.{key}").write_bytes(pickle.dumps(value))
    (raw / "ind.cora.test.index").write_text("".join(f"{n_all + i}\n" for i in range(n_test)))


def test_planetoid_files(tmp_path, monkeypatch):
    from selfsup.graph.datasets import load_planetoid

    monkeypatch.setenv("SELFSUP_CACHE", str(tmp_path / "cache"))
    raw = tmp_path / "a" / "Cora" / "raw"
    _planetoid(raw)
    first = load_planetoid(tmp_path / "a", "Cora")
    # another Cora with files of the same sizes but other labels: read anew (no cache keyed by size)
    _planetoid(tmp_path / "b" / "Cora" / "raw", labels_seed=1)
    assert all((tmp_path / "b" / "Cora" / "raw" / p.name).stat().st_size == p.stat().st_size for p in raw.iterdir())
    assert not torch.equal(load_planetoid(tmp_path / "b", "Cora").y, first.y)
    marker = tmp_path / "pwned"
    (raw / "ind.cora.graph").write_bytes(pickle.dumps({0: [1], 1: _Payload(marker)}))
    _error(lambda: load_planetoid(tmp_path / "a", "Cora"), "ind.cora.graph", "refused")
    assert not marker.exists()
    (raw / "ind.cora.graph").write_bytes(b"")
    _error(lambda: load_planetoid(tmp_path / "a", "Cora"), "ind.cora.graph")
    _planetoid(raw)
    (raw / "ind.cora.tx").write_bytes(pickle.dumps(np.zeros(5)))  # wrong rank
    _error(lambda: load_planetoid(tmp_path / "a", "Cora"), "ind.cora.tx", "2-D")
    _planetoid(raw)
    (raw / "ind.cora.test.index").write_text("abc\n")
    _error(lambda: load_planetoid(tmp_path / "a", "Cora"), "ind.cora.test.index")
    _planetoid(raw)
    allx = pickle.loads((raw / "ind.cora.allx").read_bytes()).toarray()
    allx[3, 2] = np.nan
    (raw / "ind.cora.allx").write_bytes(pickle.dumps(allx))
    _error(lambda: load_planetoid(tmp_path / "a", "Cora"), "Cora/raw", "NaN or inf")


def test_tu_and_ogb_files(tmp_path):
    from selfsup.graph.datasets import load_ogb_node, load_tu

    raw = tmp_path / "TOY" / "raw"
    raw.mkdir(parents=True)
    (raw / "TOY_A.txt").write_text("1, 2\n2, 1\n3, 4\n4, 3\n")
    (raw / "TOY_graph_indicator.txt").write_text("1\n1\n2\n2\n")
    (raw / "TOY_graph_labels.txt").write_text("0\n1\n")
    assert len(load_tu(tmp_path, "TOY")) == 2
    (raw / "TOY_A.txt").write_text("")
    _error(lambda: load_tu(tmp_path, "TOY"), "TOY")
    (raw / "TOY_A.txt").write_text("1, 9\n")  # an edge to a node no graph holds
    _error(lambda: load_tu(tmp_path, "TOY"), "TOY")
    folder = tmp_path / "ogbn_toy"
    (folder / "raw").mkdir(parents=True)
    (folder / "split" / "time").mkdir(parents=True)
    for name, text in {"edge.csv.gz": "0,1\n1,2\n", "node-feat.csv.gz": "0.1,nan\n0.2,0.3\n0.4,0.5\n",
                       "node-label.csv.gz": "0\n1\n0\n"}.items():
        (folder / "raw" / name).write_bytes(gzip.compress(text.encode()))
    for name in ("train", "valid", "test"):
        (folder / "split" / "time" / f"{name}.csv.gz").write_bytes(gzip.compress(b"0\n"))
    _error(lambda: load_ogb_node(tmp_path, "ogbn-toy"), "ogbn_toy", "NaN or inf")


# ----------------------------------------------------------------------------- tables
@pytest.mark.parametrize("scaling", ["standard", "quantile"])
def test_table_values(scaling):
    import pandas as pd

    from selfsup.tabular.preprocessing import TablePreprocessor

    frame = pd.DataFrame({"x": [1.0, np.inf, 3.0, -np.inf, 5.0, 2.0], "s": ["1", "2", "oops", "4", "5", "6"],
                          "all_nan": [np.nan] * 6, "c": ["a", "b", None, "a", "b", "a"]})
    batch = TablePreprocessor(numeric=["x", "s", "all_nan"], categorical=["c"], scaling=scaling).fit_transform(frame)
    assert bool(torch.isfinite(batch.numeric).all())  # inf and stray strings are missing values, never NaN features
    huge = pd.DataFrame({"big": [1e308, 1.5e308, -1e308, 1.7e308]})
    try:  # finite features, or one error naming the column: never NaN features
        assert bool(torch.isfinite(TablePreprocessor(scaling=scaling).fit_transform(huge).numeric).all())
    except ValueError as err:
        assert "'big'" in str(err) and "too large" in str(err)
    _error(lambda: TablePreprocessor().fit(frame.iloc[:0]), "empty")
    _error(lambda: TablePreprocessor(numeric=["nope"]).fit(frame), "nope")


# ----------------------------------------------------------------------------- volumes
def _nifti(path: Path, array: np.ndarray) -> None:
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(array, np.eye(4)), str(path))


@pytest.mark.parametrize("case", ["label_shape", "blank", "truncated", "cut_voxels", "zero_byte", "two_d", "nan",
                                  "four_d", "unicode"])
def test_nifti_folder(tmp_path, case):
    from selfsup.medical.datasets.nifti import load_nifti_folder

    rng = np.random.default_rng(0)
    image = rng.random((12, 12, 12)).astype(np.float32)
    name = {"unicode": f"{UNICODE}.nii.gz", "cut_voxels": "scan.nii"}.get(case, "scan.nii.gz")
    path = tmp_path / "imagesTr" / name
    _nifti(tmp_path / "imagesTr" / "other.nii.gz", image)
    _nifti(path, image)
    if case == "label_shape":
        _nifti(tmp_path / "labelsTr" / "other.nii.gz", (image > 0.5).astype(np.uint8))
        _nifti(tmp_path / "labelsTr" / name, np.zeros((6, 12, 12), np.uint8))
        _error(lambda: load_nifti_folder(tmp_path, size=8), f"labelsTr/{name}", "(6, 12, 12)")
        return
    if case == "unicode":
        assert load_nifti_folder(tmp_path, size=8).images.shape[0] == 2
        return
    if case == "blank":
        _nifti(path, np.zeros((12, 12, 12), np.float32))
    elif case == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif case == "cut_voxels":  # the header intact, most voxels missing
        path.write_bytes(path.read_bytes()[:2000])
    elif case == "zero_byte":
        path.write_bytes(b"")
    elif case == "two_d":
        _nifti(path, image[0])
    elif case == "nan":
        image[2, 3, 4] = np.nan
        _nifti(path, image)
    elif case == "four_d":
        _nifti(path, np.stack([image, image], axis=-1))
    _error(lambda: load_nifti_folder(tmp_path, size=8), name)


# ----------------------------------------------------------------------------- saved encoders, configs, checkpoints
@pytest.mark.parametrize("damage", ["zero_byte", "truncated", "not_json"])
def test_saved_encoder_folder(tmp_path, damage):
    from selfsup.core.hub import load_pretrained, save_pretrained
    from selfsup.core.registry import create_encoder

    folder = save_pretrained(create_encoder("mlp", in_dim=4, hidden_dim=8, out_dim=4), tmp_path / "enc")
    weights = folder / "model.safetensors"
    if damage == "zero_byte":
        weights.write_bytes(b"")
    elif damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        (folder / "config.json").write_text("{not json")
    _error(lambda: load_pretrained(folder), "config.json" if damage == "not_json" else "model.safetensors")


def test_run_config_file(tmp_path):
    from selfsup.core.run_config import read_config

    bad = tmp_path / "c.yaml"
    bad.write_text("lr: [unclosed")
    _error(lambda: read_config(bad, {"lr"}), "c.yaml")
    bad.write_text("!!python/object/apply:os.system ['echo pwned']")
    _error(lambda: read_config(bad, {"lr"}), "c.yaml")
    bad.write_text(json.dumps(["a", "list"]))
    _error(lambda: read_config(bad, {"lr"}), "c.yaml", "mapping")


def test_checkpoint_folder(tmp_path):
    from selfsup.core.train import checkpoint as ckpt

    path = ckpt.save_checkpoint(tmp_path, 1, {"w": torch.randn(3)}, {"step": 1})
    (path / ckpt.META_FILE).write_text("{")
    _error(lambda: ckpt.load_checkpoint(path), "meta.json")
    path = ckpt.save_checkpoint(tmp_path, 2, {"w": torch.randn(3)}, {"step": 2})
    (path / ckpt.MODEL_FILE).write_bytes(b"")
    _error(lambda: ckpt.load_checkpoint(path), "model.safetensors")
    with pytest.raises(ValueError, match="not finite"):
        ckpt.save_checkpoint(tmp_path, 3, {"w": torch.tensor([1.0, float("nan")])}, {"step": 3})
