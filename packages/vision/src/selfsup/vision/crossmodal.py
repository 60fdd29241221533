"""The image side of ``selfsup bench crossmodal``: a ViT (patch tokens + core trunk), its MAE, and the
vision suite's frozen kNN and linear probes."""

from __future__ import annotations

from pathlib import Path

import torch

from selfsup.core.bench.transfer import TransferTask
from selfsup.vision.augment import set_normalization
from selfsup.vision.bench import PRESETS, evaluate, extract, load_data, make_encoder
from selfsup.vision.build import build_method
from selfsup.vision.datasets import ImageDataset

# trunk sizes agree across the domains' tasks (mini: 128 wide, 4 blocks; tiny: ViT-Ti)
RECIPES = {"smoke": {"vit": "vit_mini_patch4", "epochs": 1, "embedded_epochs": 1, "train_limit": 256},
           "default": {"vit": "vit_mini_patch4", "epochs": 3, "embedded_epochs": 15, "train_limit": None},
           "gpu": {"vit": "vit_tiny_patch4", "epochs": 100, "embedded_epochs": 200, "train_limit": None}}


def vision_task(preset: str = "default", data_root: Path | None = None, seed: int = 0) -> TransferTask:
    """MAE on ``data_root``'s images (any format the vision suite reads) or the embedded digits; scored by
    kNN and linear-probe accuracy on the test split."""
    recipe, suite = RECIPES[preset], PRESETS[preset]
    train, test = load_data(data_root, seed)
    pretrain_set = train if not recipe["train_limit"] else train.subset(range(min(len(train), recipe["train_limit"])))
    mean, std = train.channel_stats()

    def make_method(encoder):
        return set_normalization(build_method("mae", encoder), mean, std)

    def score(encoder, device: torch.device) -> dict[str, float]:
        features = [extract(encoder, split, mean, std, device) for split in (train, test)]
        return evaluate(*features, train, test, suite["probe_epochs"])

    return TransferTask(domain="vision", data=f"{train.name.removesuffix(' train')} ({len(pretrain_set)} pretraining"
                        f" / {len(test)} test images)", make_encoder=lambda: make_encoder(recipe["vit"], "vit", train),
                        make_method=make_method, train_set=ImageDataset(pretrain_set), evaluate=score,
                        metrics=("probe_acc", "knn_acc"),
                        epochs=recipe["epochs"] if data_root is not None else recipe["embedded_epochs"],
                        batch_size=suite["batch_size"], lr=suite["optim"]["vit"]["lr"],
                        weight_decay=suite["optim"]["vit"]["weight_decay"])
