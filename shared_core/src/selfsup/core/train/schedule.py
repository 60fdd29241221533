"""Learning-rate and momentum schedules as functions of the optimizer step."""

from __future__ import annotations

import math


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, min_ratio: float = 0.0) -> float:
    """LR multiplier: linear warm-up from 0 over ``warmup_steps``, then cosine decay to ``min_ratio``."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def cosine_momentum(step: int, total_steps: int, base: float, end: float = 1.0) -> float:
    """EMA-teacher momentum rising from ``base`` to ``end`` along a half cosine (BYOL, DINO)."""
    progress = min(1.0, step / max(1, total_steps))
    return end - (end - base) * 0.5 * (1 + math.cos(math.pi * progress))
