"""The suite's probes on frozen clip features: digit (or word) on the official split and leave-one-
speaker-out, speaker identity on the official split; plus the log-mel mean+std baseline features."""

from __future__ import annotations

import numpy as np
import torch

from selfsup.audio.datasets import AudioClips
from selfsup.core.eval import linear_probe


def logmel_stats_features(clips: AudioClips) -> torch.Tensor:
    """``(N, 2F)``: per-bin mean and std of the log-mel frames that hold signal (padding excluded)."""
    keep = (torch.arange(clips.specs.shape[-1])[None, :] < clips.lengths[:, None]).float()[:, None, :]
    count = keep.sum(dim=-1).clamp_min(1.0)
    mean = (clips.specs * keep).sum(dim=-1) / count
    var = ((clips.specs - mean[..., None]) ** 2 * keep).sum(dim=-1) / count
    return torch.cat([mean, var.sqrt()], dim=1)


def _probe(features: torch.Tensor, labels: torch.Tensor, train: np.ndarray, test: np.ndarray) -> float:
    result = linear_probe(features[train], labels[train], features[test], labels[test], backend="sklearn",
                          c=0.5, max_iter=2000)
    return result.accuracy


def probe_suite(features: torch.Tensor, clips: AudioClips, test_mask: np.ndarray) -> dict[str, float]:
    """Accuracies of logistic-regression probes (standardised features):

    - ``label_official``: train on ``~test_mask``, test on ``test_mask`` (FSDD: takes 0-4);
    - ``label_loso``: mean over groups of training on the other groups and testing on that one;
    - ``group_official``: the group (speaker) itself on the official split.
    """
    labels = clips.labels
    groups = np.asarray(clips.groups)
    speakers = sorted(set(clips.groups))
    speaker_ids = torch.tensor([speakers.index(g) for g in clips.groups])
    train, test = np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
    folds = [_probe(features, labels, np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in speakers]
    return {"label_official": round(_probe(features, labels, train, test), 4),
            "label_loso": round(float(np.mean(folds)), 4),
            "label_loso_min": round(float(np.min(folds)), 4),
            "group_official": round(_probe(features, speaker_ids, train, test), 4)}
