from __future__ import annotations

import pytest
import torch
from torch import nn

from selfsup.medical import VolumeSet, build_encoder, dice_scores, train_segmenter
from selfsup.medical.datasets import mni_pseudo_subjects
from selfsup.medical.finetune import segmentation_loss


class _Oracle(nn.Module):
    """Logits that put each voxel in the class its intensity encodes (image = label / 3)."""

    def forward(self, x):
        label = (x[:, 0] * 3).round().long()
        return nn.functional.one_hot(label, 4).permute(0, 4, 1, 2, 3).float() * 10


def _volumes() -> VolumeSet:
    labels = torch.randint(0, 4, (2, 32, 32, 32))
    return VolumeSet(labels[:, None].float() / 3, labels, class_names=("a", "b", "c"))


def test_dice_is_one_for_a_perfect_and_zero_for_an_empty_segmentation():
    volumes = _volumes()
    scores = dice_scores(_Oracle(), volumes, crop=16, overlap=0.25)
    assert scores["mean"] == 1.0 and set(scores) == {"a", "b", "c", "mean"}
    background = lambda x: torch.cat([torch.ones_like(x), torch.zeros_like(x).repeat(1, 3, 1, 1, 1)], 1)  # noqa: E731
    assert dice_scores(background, volumes, crop=16)["mean"] == 0.0


def test_frozen_probe_keeps_the_encoder_and_fine_tuning_copies_it():
    torch.manual_seed(0)
    volumes = mni_pseudo_subjects(2, size=32, seed=3)
    encoder = build_encoder("unet3d_tiny")
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    frozen = train_segmenter(encoder, volumes, steps=2, crop=32, freeze_encoder=True)
    for name, value in frozen.encoder.state_dict().items():
        if name.startswith(("net.conv_0", "net.down_")):
            assert torch.equal(value, before[name]), name
    assert not torch.equal(frozen.encoder.state_dict()["net.upcat_1.convs.conv_0.conv.weight"],
                           before["net.upcat_1.convs.conv_0.conv.weight"])
    tuned = train_segmenter(encoder, volumes, steps=2, crop=32)
    assert not torch.equal(tuned.encoder.state_dict()["net.conv_0.conv_0.conv.weight"],
                           before["net.conv_0.conv_0.conv.weight"])
    for name, value in encoder.state_dict().items():  # the encoder passed in is untouched
        assert torch.equal(value, before[name])


def test_unknown_crop_sampling_is_refused():
    with pytest.raises(ValueError, match="crop_sampling"):
        train_segmenter(build_encoder("unet3d_tiny"), _volumes(), steps=1, crop=16, crop_sampling="foreground")


def test_batch_dice_does_not_charge_a_crop_for_a_class_it_rightly_lacks():
    torch.manual_seed(0)
    labels = torch.randint(0, 4, (2, 1, 8, 8, 8))
    labels[0][labels[0] == 3] = 2  # class 3 absent from the first crop only
    logits = nn.functional.one_hot(labels[:, 0], 4).permute(0, 4, 1, 2, 3).float() * 8  # near-perfect
    assert float(segmentation_loss(batch_dice=True)(logits, labels)) < 0.01
    assert float(segmentation_loss(batch_dice=False)(logits, labels)) > 0.1  # 1 of 8 (crop, class) terms near 1
    wrong = logits.roll(1, dims=1)
    assert float(segmentation_loss()(wrong, labels)) > 1.0
