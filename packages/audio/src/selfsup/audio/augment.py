"""BYOL-A's batched spectrogram augmentations (Niizumi et al. 2021/2023), on normalised log-mel
``(B, F, T)`` batches on the training device: log-mixup-exp with other clips of the batch, random
resize crop (on a virtual canvas, one affine grid per clip), random linear fader; plus SpecAugment."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.audio.features import SpecAugment


def log_mixup_exp(spec: torch.Tensor, ratio: float = 0.4) -> torch.Tensor:
    """``log((1 - l) exp(x) + l exp(y))`` with ``y`` another clip of the batch and ``l ~ U(0, ratio)``
    per clip: mixing in the linear power domain, as background sound adds."""
    lam = torch.rand(spec.shape[0], 1, 1, device=spec.device, dtype=spec.dtype) * ratio
    other = spec[torch.randperm(spec.shape[0], device=spec.device)]
    return torch.logaddexp(spec + torch.log1p(-lam), other + lam.clamp_min(1e-12).log())


def random_resize_crop(spec: torch.Tensor, freq_scale: tuple[float, float] = (0.6, 1.5),
                       time_scale: tuple[float, float] = (0.6, 1.5), virtual: float = 1.5) -> torch.Tensor:
    """Crop a region of random size (a share of the clip's bins/frames in ``*_scale``) at a random place of a
    canvas ``virtual`` times wider in time (padding = 0, the normalised mean) and resize it back (bilinear)."""
    b, f, t = spec.shape
    dev, dt = spec.device, spec.dtype

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.empty(b, device=dev, dtype=dt).uniform_(lo, hi)

    sf, st = uniform(*freq_scale), uniform(*time_scale)
    # centres in normalised coordinates: anywhere the crop stays inside the canvas (itself inside for freq)
    cf = (1 - sf).clamp_min(0) * uniform(-1, 1)
    ct = (virtual - st).clamp_min(0) * uniform(-1, 1)
    theta = torch.zeros(b, 2, 3, device=dev, dtype=dt)
    theta[:, 0, 0], theta[:, 0, 2] = st, ct  # x = time
    theta[:, 1, 1], theta[:, 1, 2] = sf, cf  # y = frequency
    grid = F.affine_grid(theta, [b, 1, f, t], align_corners=False)
    return F.grid_sample(spec[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]


def linear_fader(spec: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Add a linear ramp over time from ``a`` to ``b`` (both ``U(-gain, gain)``) per clip: BYOL-A v2's fade."""
    b, _, t = spec.shape
    ends = (torch.rand(b, 2, device=spec.device, dtype=spec.dtype) * 2 - 1) * gain
    ramp = ends[:, :1] + (ends[:, 1:] - ends[:, :1]) * torch.linspace(0, 1, t, device=spec.device, dtype=spec.dtype)
    return spec + ramp[:, None, :]


class BYOLAAugment(nn.Module):
    """``(B, F, T) -> [view1, view2]``: mixup -> resize crop -> fader (-> SpecAugment if ``spec_augment``),
    drawn independently per view; computed in float32."""

    def __init__(self, mixup: float = 0.4, fader: float = 1.0, spec_augment: bool = False) -> None:
        super().__init__()
        self.mixup, self.fader = mixup, fader
        self.spec_augment = SpecAugment() if spec_augment else None

    def view(self, spec: torch.Tensor) -> torch.Tensor:
        x = random_resize_crop(log_mixup_exp(spec, self.mixup))
        x = linear_fader(x, self.fader)
        return self.spec_augment(x) if self.spec_augment is not None else x

    def forward(self, spec: torch.Tensor) -> list[torch.Tensor]:
        with torch.autocast(spec.device.type, enabled=False):
            x = spec.float()
            return [self.view(x), self.view(x)]
