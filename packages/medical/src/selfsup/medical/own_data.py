"""``selfsup pretrain medical PATH``: a folder (searched recursively) or list file of NIfTI volumes (``.nii``,
``.nii.gz``) and DICOM series (a folder of slices each; the ``dicom`` extra); a label folder is never needed.

Defaults: the SwinUNETR pretraining recipe (rotation, contrastive coding and inpainting; ``swin_ssl``) on a small
3D U-Net on a CPU, on SwinUNETR's encoder on a GPU. The spacing is the collection's median voxel spacing (from the
headers, per axis), the modality CT when the sampled volumes reach below -500 (air is about -1000 HU), else MR; both
recorded. Each step takes ``--samples`` random ``--sample-size``^3 sub-volumes of each volume of the batch, from
which the method cuts its ``--crop``^3 views; ``embed`` averages the pooled features of the ``--crop``^3 tiles that
cover each volume (the input size the encoder was trained on), one row per volume."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from torch import nn

from selfsup.core import registry
from selfsup.core.data import OwnData, index_collection
from selfsup.core.own_data_cli import comma_list
from selfsup.medical.build import build_method
from selfsup.medical.datasets.volume_files import (
    CT_WINDOW,
    MICRONS,
    VolumeFiles,
    find_volumes,
    volume_header,
    volume_statistics,
)


class MedicalOwnData(OwnData):
    """``selfsup pretrain medical PATH``: NIfTI volumes and DICOM series."""
    name = "medical"
    what = "volumes"
    default_method = "swin_ssl"
    default_encoder = "unet3d_small16"
    data_options = {"spacing": None, "modality": None, "ct_window": list(CT_WINDOW),  # noqa: RUF012
                    "sample_size": 64, "samples": 2, "crop": 32, "cache_volumes": False}

    def __init__(self) -> None:
        if torch.cuda.is_available():
            self.default_encoder = "swin_unetr"
            self.data_options = {**self.data_options, "sample_size": 128, "crop": 96}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        S = argparse.SUPPRESS
        parser.add_argument("--spacing", type=comma_list(float), default=S,
                            help="voxel spacing in mm, x,y,z (default: the collection's median)")
        parser.add_argument("--modality", choices=("ct", "mr"), default=S,
                            help="ct: a Hounsfield window to [0, 1]; mr: percentiles 0.5-99.5 (default: detected)")
        parser.add_argument("--ct-window", type=comma_list(float), default=S,
                            help="CT's window in HU (default -1000,1000)")
        parser.add_argument("--sample-size", type=int, default=S,
                            help="edge of the random sub-volumes read per volume (default 64; 128 on a GPU)")
        parser.add_argument("--samples", type=int, default=S, help="sub-volumes per volume per step (default 2)")
        parser.add_argument("--crop", type=int, default=S,
                            help="edge of the method's views and of embed's tiles (default 32; 96 on a GPU)")
        parser.add_argument("--cache-volumes", action="store_true", default=S,
                            help="keep each prepared volume in OUTPUT/volumes/ (.npy, read memory-mapped): later "
                                 "epochs skip decoding and resampling; costs disk, not memory")

    def open(self, path, options, *, cache, seed, replace_bad, progress):
        root, index, skipped = index_collection(path, suffixes=(".nii", ".nii.gz", "DICOM series folders"),
                                                find=find_volumes, check=volume_header, what="volumes",
                                                cache=cache, progress=progress)
        options = dict(options)
        if options["crop"] > options["sample_size"]:
            raise ValueError(f"--crop {options['crop']} is larger than --sample-size {options['sample_size']}")
        if options.get("spacing") is None:
            options["spacing"] = [round(float(np.median(index.column(f"s{a}"))) / MICRONS, 3) for a in "xyz"]
        kwargs = {"spacing": options["spacing"], "sample_size": options["sample_size"], "samples": options["samples"],
                  "tile": options["crop"], "embed": not replace_bad, "ct_window": options["ct_window"], "seed": seed,
                  "replace_bad": replace_bad,
                  "cache_dir": cache.parent / "volumes" if cache is not None and options["cache_volumes"] else None}
        if options.get("modality") is None:
            stats = volume_statistics(VolumeFiles(root, index, modality="mr", **kwargs))
            options["modality"] = "ct" if stats["low"] < -500 else "mr"
        return VolumeFiles(root, index, modality=options["modality"], **kwargs), options, skipped

    def build(self, options, method, encoder, method_args, encoder_args) -> tuple[nn.Module, nn.Module]:
        method = method.removeprefix("medical_")
        if encoder.startswith("vit3d"):  # the 3D ViT's grid is the input's: the method's crop, or MAE's whole sample
            size = options["sample_size"] if method == "mae3d" else options["crop"]
            encoder_args = {"volume_size": size, **encoder_args}
        net = registry.create_encoder(encoder, **encoder_args)
        cropped = {} if method == "mae3d" else {"crop": options["crop"]}  # MAE masks the whole sample instead
        return net, build_method(method, net, **{**cropped, **method_args})

    def embed(self, encoder: nn.Module, batch: dict[str, Any], options: dict[str, Any]) -> torch.Tensor:
        features = torch.cat([encoder(part) for part in batch["image"].split(8)])  # 8 tiles at a time
        return torch.stack([f.mean(0) for f in features.split(batch["tiles"].tolist())])
