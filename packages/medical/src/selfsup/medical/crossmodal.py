"""The volume side of ``selfsup bench crossmodal``: a 3D ViT (cube-patch tokens + core trunk, as wide as the
image and audio trunks), 3D MAE, and the medical suite's frozen probes (tissue-fraction ridge R^2 and
segmentation with a frozen encoder)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from selfsup.core.bench.transfer import TransferTask
from selfsup.medical.bench import PRESETS, fraction_r2, held_out_split
from selfsup.medical.build import build_encoder, build_method
from selfsup.medical.datasets import VolumeDataset, load_nifti_folder, mni_pseudo_subjects
from selfsup.medical.finetune import few_label_dice
from selfsup.medical.probes import embed_volumes

# trunk sizes agree across the domains' tasks (mini: 128 wide, 4 blocks, 4 heads; tiny: ViT-Ti)
RECIPES = {"smoke": {"vit": ("mini", 128), "patch": 8, "steps": 2, "segment_steps": 2},
           "default": {"vit": ("mini", 128), "patch": 4, "steps": 150, "segment_steps": 150},
           "gpu": {"vit": ("tiny", None), "patch": 16, "steps": 2000, "segment_steps": 500}}


def medical_task(preset: str = "default", data_root: Path | None = None, seed: int = 0) -> TransferTask:
    """3D MAE on the unlabelled volumes (the embedded MNI152 pseudo-subjects, or a NIfTI folder at
    ``data_root``); the medical suite's held-out split, scored by the tissue-fraction probe (when the volumes
    have fractions) and by the Dice of a decoder trained on its labelled volumes over the frozen encoder."""
    recipe, suite = RECIPES[preset], PRESETS[preset]
    volumes = (mni_pseudo_subjects(suite["subjects"], suite["size"], seed=seed) if data_root is None
               else load_nifti_folder(data_root, size=suite["size"]))
    test_idx, train = held_out_split(volumes, suite["test"], suite["frozen_labels"])
    n_test = len(test_idx)
    size, dim = recipe["vit"]
    crop = suite["crop"]

    def make_encoder():
        return build_encoder(f"vit3d_{size}", volume_size=crop, patch_size=recipe["patch"], dim=dim)

    def score(encoder, device: torch.device) -> dict[str, float]:
        out = {}
        if volumes.targets is not None:
            out["fraction_r2"] = fraction_r2(embed_volumes(encoder, volumes.images, crop=crop, device=device),
                                             volumes, seed)
        if volumes.labels is not None:
            pool = volumes.subset(np.setdiff1d(np.arange(len(volumes)), test_idx), "labelled pool")
            out["frozen_dice"] = few_label_dice(
                encoder, pool, volumes.subset(test_idx, "held-out"), suite["frozen_labels"], freeze_encoder=True,
                seed=seed, steps=recipe["segment_steps"], batch_size=suite["finetune_batch"], crop=crop,
                lr=suite["finetune_lr"]["vit"], overlap=suite["overlap"], device=device, progress=False)["dice"]
        return out

    metrics = tuple(m for m, present in (("fraction_r2", volumes.targets is not None),
                                         ("frozen_dice", volumes.labels is not None)) if present)
    if not metrics:
        raise ValueError(f"{volumes.name}: the volumes have neither tissue fractions nor labels to probe")
    batch = min(suite["batch_size"], len(train))
    # per-patch normalised targets, as the image MAE whose trunk this task takes (the suite's 3D MAE uses raw voxels)
    make_method = functools.partial(build_method, "mae3d", norm_pix=True)
    return TransferTask(domain="medical", data=f"{volumes.name} ({len(train)} pretraining / {n_test} held-out volumes "
                        f"of {tuple(volumes.images.shape[2:])}, {crop}^3 crops, {recipe['patch']}^3 patches)",
                        make_encoder=make_encoder, make_method=make_method,
                        train_set=VolumeDataset(train), evaluate=score, metrics=metrics,
                        epochs=-(-recipe["steps"] // (len(train) // batch)), batch_size=batch,
                        lr=suite["lr"] * 256 / batch, weight_decay=0.01)
