"""Loaders on tiny files the tests write: official CIFAR pickles, idx files, image folders, the JPEG pack."""

import gzip
import io
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from selfsup.vision.datasets import (
    ImageArray,
    ImageDataset,
    load_cifar,
    load_cifar10_jpeg,
    load_digits_images,
    load_fashion_mnist,
    load_image_folder,
    read_idx,
)


def _write_cifar(root, rng):
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, 4).tolist()
        (folder / name).write_bytes(pickle.dumps({"data": data, "labels": labels}))
        batches[name] = (data, labels)
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    return batches


def test_cifar_reads_official_layout(tmp_path):
    batches = _write_cifar(tmp_path, np.random.default_rng(0))
    train = load_cifar(tmp_path, "cifar10", "train", verify=False)
    assert train.images.shape == (20, 3, 32, 32) and train.images.dtype == torch.uint8
    np.testing.assert_array_equal(train.images[:4].numpy().reshape(4, -1), batches["data_batch_1"][0])
    assert train.labels[:4].tolist() == batches["data_batch_1"][1]
    assert train.classes[3] == "c3"
    test = load_cifar(tmp_path, "cifar10", "test", verify=False)
    assert len(test) == 4
    with pytest.raises(ValueError, match="MD5"):
        load_cifar(tmp_path, "cifar10", "train", verify=True)


def test_cifar_missing_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar-100-python.*train.*cifar-100-python.tar.gz"):
        load_cifar(tmp_path, "cifar100", "train")


def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape) + array.tobytes()


def test_fashion_mnist_idx_plain_and_gzip(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 5).astype(np.uint8)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(labels))
    data = load_fashion_mnist(tmp_path, "train")
    assert data.images.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(data.images[:, 0].numpy(), images)
    assert data.labels.tolist() == labels.tolist() and data.classes[9] == "Ankle boot"
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte.*dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path, "test")
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not a uint8 idx file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(_idx(images)[:-10])
    with pytest.raises(ValueError, match="header says"):
        read_idx(tmp_path / "short")


def test_image_folder_decodes_resizes_and_names_broken_files(tmp_path):
    for cls, colour in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.new("RGB", (40 + 10 * i, 30), colour).save(tmp_path / cls / f"{i}.png")
    data = load_image_folder(tmp_path, size=16, progress=False)
    assert data.images.shape == (4, 3, 16, 16) and data.classes == ["cats", "dogs"]
    assert data.labels.tolist() == [0, 0, 1, 1]
    assert int(data.images[0, 0].float().mean()) == 255 and int(data.images[2, 2].float().mean()) == 255
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"broken\.png"):
        load_image_folder(tmp_path, size=16, progress=False)


def test_cifar10_jpeg_pack_decodes_caches_and_splits(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFSUP_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(2)
    pixels = [np.full((32, 32, 3), 40 * i, dtype=np.uint8) + rng.integers(0, 3, (32, 32, 3), dtype=np.uint8)
              for i in range(5)]
    blobs = []
    for p in pixels:
        buffer = io.BytesIO()
        Image.fromarray(p).save(buffer, format="JPEG", quality=95)
        blobs.append(np.frombuffer(buffer.getvalue(), dtype=np.uint8))
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    np.savez(tmp_path / "cifar10_jpeg.npz", data=np.concatenate(blobs), offsets=offsets,
             labels=np.array([3, 1, 4, 1, 5], dtype=np.int16), split=np.array(["train", "test", "train", "train",
                                                                                 "test"]))
    train = load_cifar10_jpeg(tmp_path, "train")
    assert train.images.shape == (3, 3, 32, 32) and train.labels.tolist() == [3, 4, 1]
    assert abs(float(train.images[1].float().mean()) - 81) < 3  # JPEG is lossy; the level survives
    assert list((tmp_path / "cache").glob("cifar10_jpeg-*.npz"))
    test = load_cifar10_jpeg(tmp_path, "test")  # from the cache
    assert test.labels.tolist() == [1, 5]
    with pytest.raises(FileNotFoundError, match=r"cifar10_jpeg\.npz"):
        load_cifar10_jpeg(tmp_path / "elsewhere", "train")


def test_digits_and_arrays():
    train, test = load_digits_images("train"), load_digits_images("test")
    assert train.images.shape == (1200, 1, 32, 32) and len(test) == 597
    mean, std = train.channel_stats()
    assert len(mean) == 1 and 0 < mean[0] < 1 and std[0] > 0
    item = ImageDataset(train)[0]
    assert item["image"].shape == (1, 32, 32) and item["image"].dtype == torch.uint8
    with pytest.raises(ValueError, match="uint8"):
        ImageArray(torch.zeros(2, 1, 4, 4), torch.zeros(2))
    with pytest.raises(ValueError, match="labels of shape"):
        ImageArray(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3))
