"""Core objectives benchmark: SSL pretraining on scikit-learn's digits (embedded, no download).

Every objective of ``selfsup.core.objectives`` pretrains the same small MLP encoder on the
unlabeled train split (1,200 images, 8x8) with batched augmentations; the frozen encoder is
then evaluated with kNN, a linear probe and RankMe on the 597 held-out images, next to the
baselines on the same split: raw pixels, the random-init encoder, and supervised training.

    python benchmarks/core/digits_objectives.py --preset smoke|default --output DIR [--methods a,b]

Writes ``results.json`` (``rows``), ``results.md`` and ``results.png`` under ``--output``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from tqdm import tqdm

from selfsup.core import objectives as obj
from selfsup.core.eval import knn_accuracy, linear_probe, rankme

PRESETS = {"smoke": {"epochs": 4}, "default": {"epochs": 150}}
BATCH, FEATURES, LR = 256, 128, 2e-3


def load_split(seed: int = 0):
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0  # (1797, 1, 8, 8)
    y = torch.tensor(digits.target)
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=597, stratify=y, random_state=seed)
    return x[idx_train], y[idx_train], x[idx_test], y[idx_test]


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Batched random affine (rotation, scale, shift), contrast, noise and erasing of ``(B, 1, 8, 8)``."""
    b = x.shape[0]
    angle = (torch.rand(b, generator=gen) - 0.5) * math.radians(30)
    scale = 0.9 + 0.2 * torch.rand(b, generator=gen)
    shift = (torch.rand(b, 2, generator=gen) - 0.5) * 0.5
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    out = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False)
    out = out * (0.7 + 0.6 * torch.rand(b, 1, 1, 1, generator=gen))
    out = out + 0.1 * torch.randn(out.shape, generator=gen)
    corner = torch.randint(0, 6, (b, 2), generator=gen)
    rows, cols = torch.arange(8)[None, :], torch.arange(8)[None, :]
    erase = ((rows >= corner[:, :1]) & (rows < corner[:, :1] + 3))[:, :, None] & (
        (cols >= corner[:, 1:]) & (cols < corner[:, 1:] + 3))[:, None, :]
    erase &= (torch.rand(b, 1, 1, generator=gen) < 0.5)
    return out.masked_fill(erase[:, None], 0.0)


def make_encoder() -> nn.Module:
    """MLP ``(B, 1, 8, 8) -> (B, 128)``; the frozen features that every row evaluates."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.BatchNorm1d(256), nn.ReLU(),
                         nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, FEATURES))


def mlp(dim_in: int, hidden: int, dim_out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(dim_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, dim_out))


class TwoView(nn.Module):
    """Encoder + projector trained with a symmetric two-view objective ``loss(z1, z2)``."""

    def __init__(self, loss: Callable, proj_dim: int = 128, hidden: int = 256) -> None:
        super().__init__()
        self.encoder, self.projector, self.loss = make_encoder(), mlp(FEATURES, hidden, proj_dim), loss

    def forward(self, v1, v2, labels):
        z = self.projector(self.encoder(torch.cat([v1, v2])))
        return self.loss(*z.chunk(2))


class SupCon(TwoView):
    def forward(self, v1, v2, labels):
        z = self.projector(self.encoder(torch.cat([v1, v2])))
        return obj.supcon(torch.stack(z.chunk(2), 1), labels, 0.1)


class SimSiam(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder, self.projector = make_encoder(), mlp(FEATURES, 256, 128)
        self.predictor = mlp(128, 64, 128)

    def forward(self, v1, v2, labels):
        z1, z2 = self.projector(self.encoder(torch.cat([v1, v2]))).chunk(2)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        return 0.5 * (obj.negative_cosine(p1, z2) + obj.negative_cosine(p2, z1))


class Distillation(nn.Module):
    """Student encoder + head with an EMA teacher: BYOL (negative cosine) or DINO (prototypes)."""

    def __init__(self, kind: str, momentum: float = 0.99) -> None:
        super().__init__()
        self.kind, self.momentum = kind, momentum
        self.encoder = make_encoder()
        out = 256 if kind == "dino" else 128
        self.head = mlp(FEATURES, 256, out)
        self.predictor = mlp(128, 64, 128) if kind == "byol" else nn.Identity()
        self.teacher = nn.ModuleDict({"encoder": copy.deepcopy(self.encoder), "head": copy.deepcopy(self.head)})
        self.teacher.requires_grad_(False)
        self.dino = obj.DINOLoss(out, teacher_temp=0.04, student_temp=0.1) if kind == "dino" else None

    def forward(self, v1, v2, labels):
        views = torch.cat([v1, v2])
        student = self.predictor(self.head(self.encoder(views))).chunk(2)
        with torch.no_grad():
            teacher = self.teacher["head"](self.teacher["encoder"](views)).chunk(2)
        if self.kind == "dino":
            return self.dino(torch.stack(student), torch.stack(teacher))
        return 0.5 * (obj.negative_cosine(student[0], teacher[1]) + obj.negative_cosine(student[1], teacher[0]))

    @torch.no_grad()
    def after_step(self) -> None:
        for t, s in zip(self.teacher.parameters(), [*self.encoder.parameters(), *self.head.parameters()],
                        strict=True):
            t.lerp_(s, 1 - self.momentum)
        for t, s in zip(self.teacher.buffers(), [*self.encoder.buffers(), *self.head.buffers()], strict=True):
            t.copy_(s)


class MaskedAutoencoder(nn.Module):
    """Masks 50% of the 16 2x2 patches; a linear decoder reconstructs them from the features."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder, self.decoder = make_encoder(), nn.Linear(FEATURES, 64)
        self.gen = torch.Generator().manual_seed(1)

    def forward(self, v1, v2, labels):
        patches = v1.reshape(-1, 4, 2, 4, 2).permute(0, 1, 3, 2, 4).reshape(-1, 16, 4)  # (B, 16, 4)
        mask = torch.rand(patches.shape[:2], generator=self.gen).argsort(1).argsort(1) < 8
        visible = patches.masked_fill(mask[..., None], 0.0)
        image = visible.reshape(-1, 4, 4, 2, 2).permute(0, 1, 3, 2, 4).reshape(-1, 1, 8, 8)
        pred = self.decoder(self.encoder(image)).reshape(-1, 16, 4)
        return obj.masked_reconstruction(pred, patches, mask, normalize_target=False)


class Supervised(nn.Module):
    """Baseline: the same encoder trained with labels (cross-entropy on a linear head)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder, self.head = make_encoder(), nn.Linear(FEATURES, 10)

    def forward(self, v1, v2, labels):
        return F.cross_entropy(self.head(self.encoder(v1)), labels)


METHODS: dict[str, Callable[[], nn.Module]] = {
    "simclr (nt_xent)": lambda: TwoView(lambda a, b: obj.nt_xent(a, b, 0.2)),
    "clip-style (info_nce sym)": lambda: TwoView(lambda a, b: obj.info_nce(a, b, 0.2, symmetric=True)),
    "dcl": lambda: TwoView(lambda a, b: obj.dcl(a, b, 0.2)),
    "dclw": lambda: TwoView(lambda a, b: obj.dclw(a, b, 0.2)),
    "barlow_twins": lambda: TwoView(lambda a, b: obj.barlow_twins(a, b, 5e-3), 512, 512),
    "vicreg": lambda: TwoView(lambda a, b: obj.vicreg(a, b), 512, 512),
    "simsiam (negative_cosine)": SimSiam,
    "byol (negative_cosine + EMA)": lambda: Distillation("byol"),
    "dino": lambda: Distillation("dino"),
    "mae (masked_reconstruction)": MaskedAutoencoder,
}
LABELED = {"supcon (labels)": lambda: SupCon(None), "supervised (labels)": Supervised}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@torch.no_grad()
def features(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    encoder.eval()
    return encoder(x)


def evaluate(name, encoder_desc, train_f, y_train, test_f, y_test, **extra) -> dict:
    return {
        "method": name, "encoder": encoder_desc, "data": "sklearn digits 1200/597",
        **extra,
        "rankme": round(rankme(train_f), 2),
        "knn_acc": round(knn_accuracy(train_f, y_train, test_f, y_test, k=20, temperature=0.07), 4),
        "probe_acc": round(linear_probe(train_f, y_train, test_f, y_test, max_iter=2000).accuracy, 4),
    }


def pretrain(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> dict:
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=LR, weight_decay=1e-4)
    steps = epochs * (x.shape[0] // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LR, total_steps=steps, pct_start=0.1)
    start, seen, last = time.perf_counter(), 0, float("nan")
    for _ in tqdm(range(epochs), desc=name, leave=False):
        model.train()
        order = torch.randperm(x.shape[0], generator=gen)
        for i in range(x.shape[0] // BATCH):
            idx = order[i * BATCH : (i + 1) * BATCH]
            loss = model(augment(x[idx], gen), augment(x[idx], gen), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if hasattr(model, "after_step"):
                model.after_step()
            seen, last = seen + idx.shape[0], loss.item()
    wall = time.perf_counter() - start
    return {"epochs": epochs, "wall_s": round(wall, 1), "samples_per_s": round(seen / wall, 1),
            "peak_rss_mib": round(peak_rss_mib(), 1), "final_loss": round(last, 4)}


def write_outputs(rows: list[dict], output: Path, preset: str) -> None:
    output.mkdir(parents=True, exist_ok=True)
    meta = {"preset": preset, "torch": torch.__version__, "machine": platform.machine(),
            "threads": torch.get_num_threads()}
    (output / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    cols = ["method", "encoder", "data", "epochs", "wall_s", "samples_per_s", "peak_rss_mib",
            "rankme", "knn_acc", "probe_acc"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "-")) for c in cols) + " |" for r in rows]
    (output / "results.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    ypos = np.arange(len(rows))
    ax.barh(ypos - 0.2, [r["knn_acc"] for r in rows], 0.4, label="kNN (k=20)")
    ax.barh(ypos + 0.2, [r["probe_acc"] for r in rows], 0.4, label="linear probe")
    ax.set_yticks(ypos, [r["method"] for r in rows])
    ax.set_xlim(0.5, 1.0)
    ax.set_xlabel("test accuracy (597 held-out digits)")
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    ax.set_title(f"selfsup.core objectives on sklearn digits ({preset} preset)")
    fig.tight_layout()
    fig.savefig(output / "results.png", dpi=120)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default")
    parser.add_argument("--methods", default="all", help="comma-separated names (prefixes) or 'all'")
    parser.add_argument("--output", type=Path, default=Path("out/bench-core"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = PRESETS[args.preset]["epochs"]
    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_split(args.seed)
    encoder_desc = "MLP 64-256-256-128"

    rows = [evaluate("raw pixels (baseline)", "none (64 pixels)", x_train.flatten(1), y_train,
                     x_test.flatten(1), y_test, epochs=0)]
    random_encoder = make_encoder()
    rows.append(evaluate("random init (baseline)", encoder_desc, features(random_encoder, x_train), y_train,
                         features(random_encoder, x_test), y_test, epochs=0))
    chosen = {**METHODS, **LABELED}
    if args.methods != "all":
        wanted = [m.strip() for m in args.methods.split(",")]
        chosen = {k: v for k, v in chosen.items() if any(k.startswith(w) for w in wanted)}
        if not chosen:
            parser.error(f"--methods matched nothing; choose from {sorted({**METHODS, **LABELED})}")
    for i, (name, build) in enumerate(chosen.items()):
        torch.manual_seed(args.seed + i)
        model = build()
        stats = pretrain(name, model, x_train, y_train, epochs, args.seed + i)
        rows.append(evaluate(name, encoder_desc, features(model.encoder, x_train), y_train,
                             features(model.encoder, x_test), y_test, **stats))
        print(f"{name:32s} knn={rows[-1]['knn_acc']:.4f} probe={rows[-1]['probe_acc']:.4f} "
              f"rankme={rows[-1]['rankme']:.1f} ({stats['wall_s']} s)", flush=True)
    write_outputs(rows, args.output, args.preset)
    print((args.output / "results.md").read_text())
    return rows


if __name__ == "__main__":
    main()
