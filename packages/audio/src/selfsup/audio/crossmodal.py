"""The audio side of ``selfsup bench crossmodal``: a spectrogram Transformer on 16x16 patches (AST's
tokens; the trunk is the same as the image ViT's), Audio-MAE, and the audio suite's frozen probes."""

from __future__ import annotations

from pathlib import Path

import torch

from selfsup.audio.bench import PRESETS, evaluate, extract, load_data, make_encoder, pretraining_indices
from selfsup.audio.build import build_method
from selfsup.audio.datasets import SpectrogramDataset
from selfsup.core.bench.transfer import TransferTask

# trunk sizes agree across the domains' tasks (mini: 128 wide, 4 blocks; tiny: ViT-Ti)
RECIPES = {"smoke": {"size": "mini", "epochs": 1}, "default": {"size": "mini", "epochs": 10},
           "gpu": {"size": "tiny", "epochs": 100}}


def audio_task(preset: str = "default", data_root: Path | None = None, seed: int = 0) -> TransferTask:
    """Audio-MAE on the training clips of FSDD (``data_root``) or the embedded spoken words; scored by the
    digit probe on the official split, leave-one-speaker-out, and the speaker probe."""
    recipe, suite = RECIPES[preset], PRESETS[preset]
    clips, test_mask = load_data(data_root, seed, suite.get("spoken_words"))
    pretrain_idx = pretraining_indices(test_mask, suite, seed)
    train = clips.subset(pretrain_idx, name=f"{clips.name} pretraining")
    stats = train.stats()

    def score(encoder, device: torch.device) -> dict[str, float]:
        return evaluate(extract(encoder, clips, stats, device), clips, test_mask, pretrain_idx)

    return TransferTask(domain="audio", data=f"{clips.name} ({len(train)} pretraining clips, {int(test_mask.sum())} "
                        f"official test, {len(set(clips.groups))} speakers), 16x16 patches",
                        make_encoder=lambda: make_encoder(f"audio_vit_{recipe['size']}_patch"),
                        make_method=lambda encoder: build_method("audio_mae", encoder),
                        train_set=SpectrogramDataset(train, stats), evaluate=score,
                        metrics=("label_official", "label_loso", "group_official"), epochs=recipe["epochs"],
                        batch_size=suite["batch_size"], lr=suite["lr"], weight_decay=suite["weight_decay"])
