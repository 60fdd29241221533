"""``selfsup pretrain vision PATH``: images of a folder, a list file or WebDataset tar shards, shapes and statistics
inferred from them.

Defaults: SimCLR on a ResNet-18 (lightly-train's default pair for unlabelled photos; contrastive two-view training
works on any image size and needs no ViT). The crop size the encoder sees is the largest of 32, 64, 96, 128, 160,
224 that the collection's median shorter side reaches, at most 64 on a CPU (224 on a GPU); one channel when every
image is grey, else three; per-channel mean and std from up to 256 images spread over the collection."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from torch import nn

from selfsup.core import registry
from selfsup.core.data import OwnData, index_collection
from selfsup.vision.augment import prepare_images, set_normalization
from selfsup.vision.build import build_method
from selfsup.vision.datasets.image_files import IMAGE_SUFFIXES, ImageFiles, decode_image_bytes, fit_square, image_header
from selfsup.vision.datasets.image_shards import ImageShards, index_shards, is_shard_spec

SIZES = (32, 64, 96, 128, 160, 224)


def infer_image_size(short_sides: np.ndarray, cap: int) -> int:
    """The largest of ``SIZES`` up to the collection's median short side (and ``cap``): the training image size."""
    median = float(np.median(short_sides))
    return max([s for s in SIZES if s <= min(median, cap)], default=SIZES[0])


class VisionOwnData(OwnData):
    """``selfsup pretrain vision PATH``: image folders, list files and WebDataset shards."""
    name = "vision"
    what = "images"
    default_method = "simclr"
    default_encoder = "resnet18"
    data_options = {"image_size": None, "work_size": None, "channels": None, "mean": None,  # noqa: RUF012
                    "std": None}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--image-size", type=int, default=argparse.SUPPRESS,
                            help="side of the crops the encoder sees (default: from the images, see the README)")
        parser.add_argument("--work-size", type=int, default=argparse.SUPPRESS,
                            help="shorter side the images are decoded to before cropping (default 8/7 image size)")
        parser.add_argument("--channels", type=int, choices=(1, 3), default=argparse.SUPPRESS,
                            help="1 (grey) or 3 (RGB); default 1 only when every image is grey")

    def open(self, path, options, *, cache, seed, replace_bad, progress):
        if is_shard_spec(path):
            root, index, skipped = index_shards(path, cache=cache, progress=progress)
            kind = ImageShards
        else:
            root, index, skipped = index_collection(path, suffixes=IMAGE_SUFFIXES, check=image_header, what="images",
                                                    cache=cache, progress=progress)
            kind = ImageFiles
        options = dict(options)
        if options.get("channels") is None:
            options["channels"] = 1 if index.column("gray").all() else 3
        if options.get("image_size") is None:
            short = np.minimum(index.column("width"), index.column("height"))
            options["image_size"] = infer_image_size(short, 224 if torch.cuda.is_available() else 64)
        if options.get("work_size") is None:
            options["work_size"] = round(options["image_size"] * 8 / 7)
        source = kind(root, index, work_size=options["work_size"], channels=options["channels"], seed=seed,
                      replace_bad=replace_bad)
        if options.get("mean") is None or options.get("std") is None:
            options["mean"], options["std"] = channel_stats(source)
        return source, options, skipped

    def build(self, options, method, encoder, method_args, encoder_args) -> tuple[nn.Module, nn.Module]:
        net = registry.create_encoder(encoder, **{"image_size": options["image_size"],
                                                  "in_chans": options["channels"], **encoder_args})
        kwargs = {} if method in ("mae", "ijepa") else {"image_size": options["image_size"]}
        model = build_method(method, net, **{**kwargs, **method_args})
        return net, set_normalization(model, options["mean"], options["std"])

    def embed(self, encoder: nn.Module, batch: dict[str, Any], options: dict[str, Any]) -> torch.Tensor:
        images = prepare_images(batch["image"], options["mean"], options["std"], size=options["image_size"])
        return encoder(images)


def channel_stats(source: ImageFiles, count: int = 256) -> tuple[list[float], list[float]]:
    """Per-channel mean and std in [0, 1] units of up to ``count`` images spread evenly over the collection
    (unreadable ones passed over; the defaults of ImageNet-like photos if none can be read)."""
    picks = np.linspace(0, len(source) - 1, min(count, len(source))).round().astype(int)
    sums, squares = (torch.zeros(source.channels, dtype=torch.float64) for _ in range(2))
    pixels = 0
    for i in dict.fromkeys(picks.tolist()):
        try:
            image = fit_square(decode_image_bytes(*source.encoded(i), source.channels), min(source.work_size, 64))
        except Exception:
            continue
        x = image.double().div(255).flatten(1)
        sums += x.sum(1)
        squares += (x * x).sum(1)
        pixels += x.shape[1]
    if not pixels:
        return [0.5] * source.channels, [0.25] * source.channels
    mean = sums / pixels
    std = (squares / pixels - mean * mean).clamp(min=1e-6).sqrt()
    return [round(v, 5) for v in mean.tolist()], [round(v, 5) for v in std.tolist()]
