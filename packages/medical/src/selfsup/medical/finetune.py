"""Few-label segmentation: train a segmenter on a handful of labelled volumes (encoder frozen or fine-tuned)
and measure Dice on held-out volumes with MONAI's sliding-window inference."""

from __future__ import annotations

import copy
import math
import time

import torch
from monai.inferers import sliding_window_inference
from monai.losses import DiceCELoss
from monai.metrics import DiceMetric
from torch import nn
from tqdm.auto import tqdm

from selfsup.core.data.scan import progress_interval
from selfsup.medical.augment import ClassBalancedCrops, crop_at, random_crop_corners
from selfsup.medical.datasets.volumes import VolumeSet
from selfsup.medical.encoders.base import VolumeEncoder


def segmentation_loss(batch_dice: bool = True) -> nn.Module:
    """MONAI's Dice + cross-entropy on ``logits (B, K, X, Y, Z)`` against ``labels (B, 1, X, Y, Z)``.

    ``batch_dice=True`` pools each class's Dice over the whole batch of crops: a class absent from one crop (CSF
    is ~1% of a brain volume) then costs nothing when the network rightly predicts none of it there. Per-crop
    Dice (``False``) scores such a crop near 1 for any soft prediction, a loss the network can never remove.
    """
    return DiceCELoss(to_onehot_y=True, softmax=True, batch=batch_dice)


def train_segmenter(encoder: VolumeEncoder, labelled: VolumeSet, *, steps: int = 100, batch_size: int = 2,
                    crop: int = 32, lr: float = 1e-3, weight_decay: float = 1e-5, freeze_encoder: bool = False,
                    crop_sampling: str = "balanced", batch_dice: bool = True, seed: int = 0,
                    device: str | torch.device = "cpu", progress: bool = False) -> nn.Module:
    """A segmenter built on a *copy* of ``encoder`` (so one pretrained encoder serves several runs), trained
    for ``steps`` AdamW steps (linear warm-up over the first 10%, then cosine decay) on random ``crop``^3
    crops of ``labelled`` with Dice + cross-entropy. ``crop_sampling="balanced"`` centres each crop on a voxel of
    a class drawn uniformly (:class:`ClassBalancedCrops`), ``"uniform"`` places it anywhere; ``batch_dice`` see
    :func:`segmentation_loss`.

    ``freeze_encoder=True`` is the frozen-encoder probe: the encoder's parameters stay fixed and the decoder
    is trained from a fresh initialisation. bf16 autocast on CUDA. Returns the segmenter in eval mode.
    """
    if labelled.labels is None:
        raise ValueError(f"{labelled.name}: segmentation needs labels")
    if crop_sampling not in ("balanced", "uniform"):
        raise ValueError(f"crop_sampling must be 'balanced' or 'uniform', got {crop_sampling!r}")
    device = torch.device(device)
    torch.manual_seed(seed)
    segmenter = copy.deepcopy(encoder).segmenter(labelled.num_classes).to(device)
    if freeze_encoder:
        segmenter.reset_decoder()
        for p in segmenter.encoder.encoder_parameters():
            p.requires_grad_(False)
    params = [p for p in segmenter.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    warmup = max(1, steps // 10)  # a linear warm-up keeps the first large steps from wrecking pretrained weights
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: (step + 1) / warmup if step < warmup else
        0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup))))
    loss_fn = segmentation_loss(batch_dice)
    generator = torch.Generator().manual_seed(seed)
    images, labels = labelled.images, labelled.labels[:, None].float()
    if crop_sampling == "balanced":
        sample_corners = ClassBalancedCrops(labelled.labels, labelled.num_classes, crop, seed)
    else:
        def sample_corners(pick: torch.Tensor) -> torch.Tensor:
            return random_crop_corners(len(pick), images.shape[2:], crop, generator)
    segmenter.train()
    for _ in tqdm(range(steps), desc="fine-tune", disable=not progress, leave=False,
                  mininterval=progress_interval()):
        pick = torch.randint(0, len(labelled), (batch_size,), generator=generator)
        corners = sample_corners(pick)
        x = crop_at(images[pick], corners, crop).to(device)
        y = crop_at(labels[pick], corners, crop).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = segmenter(x)
        loss = loss_fn(logits.float(), y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"segmentation loss became {float(loss)}; lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return segmenter.eval()


@torch.no_grad()
def dice_scores(segmenter: nn.Module, volumes: VolumeSet, *, crop: int = 32, overlap: float = 0.5,
                device: str | torch.device = "cpu") -> dict[str, float]:
    """Mean Dice over ``volumes`` per foreground class (``volumes.class_names``) and their mean (``"mean"``),
    from sliding-window predictions (``crop``^3 windows, Gaussian blending)."""
    if volumes.labels is None:
        raise ValueError(f"{volumes.name}: Dice needs labels")
    device = torch.device(device)
    metric = DiceMetric(include_background=False, reduction="none")
    k = volumes.num_classes
    for i in range(len(volumes)):
        x = volumes.images[i:i + 1].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = sliding_window_inference(x, (crop,) * 3, 4, segmenter, overlap=overlap, mode="gaussian")
        pred = nn.functional.one_hot(logits.argmax(1), k).permute(0, 4, 1, 2, 3)
        truth = nn.functional.one_hot(volumes.labels[i:i + 1].to(device), k).permute(0, 4, 1, 2, 3)
        metric(pred, truth)
    per_volume = metric.aggregate().cpu()  # (N, K - 1)
    names = volumes.class_names or tuple(f"class {c}" for c in range(1, k))
    scores = {name: float(per_volume[:, c].nanmean()) for c, name in enumerate(names)}
    scores["mean"] = float(per_volume.nanmean())
    return scores


def few_label_dice(encoder: VolumeEncoder, labelled_pool: VolumeSet, test: VolumeSet, num_labelled: int, *,
                   freeze_encoder: bool, seed: int, device="cpu", overlap: float = 0.5, **train_kwargs) -> dict:
    """Train on ``num_labelled`` volumes drawn (by ``seed``) from ``labelled_pool``, Dice on ``test``."""
    if num_labelled > len(labelled_pool):
        raise ValueError(f"asked for {num_labelled} labelled volumes, the pool has {len(labelled_pool)}")
    pick = torch.randperm(len(labelled_pool), generator=torch.Generator().manual_seed(1000 + seed))[:num_labelled]
    start = time.perf_counter()
    segmenter = train_segmenter(encoder, labelled_pool.subset(pick), freeze_encoder=freeze_encoder, seed=seed,
                                device=device, **train_kwargs)
    scores = dice_scores(segmenter, test, crop=train_kwargs.get("crop", 32), overlap=overlap, device=device)
    return {"dice": scores["mean"], "dice_per_class": scores, "train_s": round(time.perf_counter() - start, 1)}
