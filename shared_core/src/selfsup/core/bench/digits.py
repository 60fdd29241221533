"""Core suite: SSL pretraining on scikit-learn's digits (embedded, no download) with the Trainer.

Every registered core method pretrains the same MLP encoder on the unlabeled train split (1,200
images, 8x8, two augmented views per sample); the frozen encoder is evaluated with kNN, a linear
probe and RankMe on the 597 held-out images, next to the baselines on the same split: raw pixels,
the random-init encoder, and the same encoder trained with labels.

    selfsup bench core [--preset smoke|default|full|gpu] [--methods a,b] [--output DIR]

Writes ``results.json`` (``rows``), ``results.md`` and ``results.png`` under ``--output``.
"""

from __future__ import annotations

import json
import platform
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core import objectives as obj
from selfsup.core import registry
from selfsup.core.bench.suite import bar_chart, parse_methods, run_suite, suite_parser
from selfsup.core.bench.versus import VERSUS, markdown_table
from selfsup.core.data import DigitsViews
from selfsup.core.eval import knn_accuracy, linear_probe, rankme
from selfsup.core.train import TrainConfig, Trainer

# default: the main job's share of 15 minutes on 2 CPU cores (five methods, 3 seeds); full: every method, 150 epochs
PRESETS = {"smoke": {"epochs": 3},
           "default": {"epochs": 30, "seeds": 3,
                       "methods": ("simclr", "barlow_twins", "vicreg", "byol", "mae", "supervised (labels)")},
           "full": {"epochs": 150, "seeds": 3}, "gpu": {"epochs": 300, "seeds": 3}}
ENCODER = {"in_dim": 64, "hidden_dim": 256, "out_dim": 128, "depth": 2}
METHOD_KWARGS = {"barlow_twins": {"proj_dim": 512}, "vicreg": {"proj_dim": 512},
                 "simclr": {"temperature": 0.2}, "infonce": {"temperature": 0.2},
                 "dcl": {"temperature": 0.2}, "dclw": {"temperature": 0.2}}


class MaskedPatches(nn.Module):
    """MAE-style baseline for flat encoders: half of the 16 2x2 patches are zeroed, a linear decoder
    reconstructs them from the features (:func:`masked_reconstruction` on the masked patches)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, nn.Linear(encoder.out_dim, 64)

    def forward(self, batch):
        image = batch["views"][0]
        patches = image.reshape(-1, 4, 2, 4, 2).permute(0, 1, 3, 2, 4).reshape(-1, 16, 4)
        mask = torch.rand(patches.shape[:2], device=image.device).argsort(1).argsort(1) < 8
        visible = patches.masked_fill(mask[..., None], 0.0).reshape(-1, 4, 4, 2, 2).permute(0, 1, 3, 2, 4)
        pred = self.decoder(self.encoder(visible.reshape(-1, 1, 8, 8))).reshape(-1, 16, 4)
        return {"loss": obj.masked_reconstruction(pred, patches, mask, normalize_target=False)}


class SupCon(nn.Module):
    """Supervised contrastive baseline (uses the labels)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.projector = nn.Sequential(nn.Linear(encoder.out_dim, 256), nn.ReLU(), nn.Linear(256, 128))

    def forward(self, batch):
        z = self.projector(self.encoder(torch.cat(list(batch["views"]))))
        return {"loss": obj.supcon(torch.stack(z.chunk(2), 1), batch["label"], 0.1)}


class Supervised(nn.Module):
    """Baseline: the same encoder trained with cross-entropy on the labels."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder, self.head = encoder, nn.Linear(encoder.out_dim, 10)

    def forward(self, batch):
        return {"loss": F.cross_entropy(self.head(self.encoder(batch["views"][0])), batch["label"])}


SSL_METHODS = ["simclr", "infonce", "dcl", "dclw", "barlow_twins", "vicreg", "simsiam", "byol", "dino", "mae"]
LABELED = {"supcon (labels)": SupCon, "supervised (labels)": Supervised}


def build(name: str, encoder: nn.Module) -> nn.Module:
    if name == "mae":
        return MaskedPatches(encoder)
    if name in LABELED:
        return LABELED[name](encoder)
    return registry.create_method(name, encoder, **METHOD_KWARGS.get(name, {}))


@torch.no_grad()
def features(encoder: nn.Module, images: torch.Tensor) -> torch.Tensor:
    encoder.eval()
    device = next(encoder.parameters()).device
    return encoder(images.to(device)).float().cpu()


def evaluate(name: str, encoder_desc: str, train: DigitsViews, test: DigitsViews, train_f, test_f, **extra) -> dict:
    return {"method": name, "encoder": encoder_desc, "data": "sklearn digits 1200/597", **extra,
            "rankme": round(rankme(train_f), 2),
            "knn_acc": round(knn_accuracy(train_f, train.labels, test_f, test.labels, k=20, temperature=0.07), 4),
            "probe_acc": round(linear_probe(train_f, train.labels, test_f, test.labels, max_iter=2000).accuracy, 4)}


def write_outputs(rows: list[dict], meta: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    cols = ["method", "encoder", "data", "epochs", "wall_s", "samples_per_s", "peak_memory_mib", "rankme",
            "knn_acc", "probe_acc", VERSUS]
    lines = [f"Preset {meta['preset']}; seed {meta['seed']}; {VERSUS.replace('_', ' ')}: linear-probe accuracy minus "
             "the best baseline's (± its spread over seeds; the rows trained with labels count as baselines).", "",
             *markdown_table(rows, cols)]
    (output / "results.md").write_text("\n".join(lines) + "\n")
    bar_chart(rows, [("knn_acc", "kNN (k=20)"), ("probe_acc", "linear probe")],
              xlabel="test accuracy (597 held-out digits)",
              title=f"selfsup core methods on sklearn digits ({meta['preset']} preset)", path=output / "results.png")


def run(args) -> tuple[list[dict], dict]:
    """One seed (``args.seed``) of every chosen method and the baselines."""
    chosen = parse_methods(args.methods, SSL_METHODS + list(LABELED), PRESETS[args.preset].get("methods"))
    epochs = PRESETS[args.preset]["epochs"]
    train, test = DigitsViews("train", augment=True, seed=args.seed), DigitsViews("test", augment=False, seed=args.seed)
    desc = "MLP 64-256-256-128"
    rows = [evaluate("raw pixels (baseline)", "none (64 pixels)", train, test, train.images.flatten(1),
                     test.images.flatten(1), epochs=0)]
    torch.manual_seed(args.seed)
    random_encoder = registry.create_encoder("mlp", **ENCODER)
    rows.append(evaluate("random init (baseline)", desc, train, test, features(random_encoder, train.images),
                         features(random_encoder, test.images), epochs=0))
    for i, name in enumerate(chosen):
        torch.manual_seed(args.seed * 1000 + i)
        encoder = registry.create_encoder("mlp", **ENCODER)
        method = build(name, encoder)
        with tempfile.TemporaryDirectory() as tmp:
            config = TrainConfig(output_dir=tmp, epochs=epochs, batch_size=256, lr=2e-3, weight_decay=1e-4,
                                 warmup_steps=max(1, epochs * 4 // 10), ema_momentum=0.99, seed=args.seed * 1000 + i,
                                 log_every=50, keep_checkpoints=1, checkpoint_every=10**9, progress=not args.quiet)
            summary = Trainer(method, train, config, collate_fn=train.collate).fit()
        stats = {"epochs": epochs, "wall_s": round(summary["wall_s"], 1),
                 "samples_per_s": round(summary["samples_per_s"], 1),
                 "peak_memory_mib": round(summary["peak_memory_mib"], 1), "final_loss": round(summary["final_loss"], 4)}
        rows.append(evaluate(name, desc, train, test, features(encoder, train.images), features(encoder, test.images),
                             **stats))
        print(f"{name:24s} knn={rows[-1]['knn_acc']:.4f} probe={rows[-1]['probe_acc']:.4f} "
              f"rankme={rows[-1]['rankme']:.1f} ({stats['wall_s']} s)", flush=True)
    meta = {"preset": args.preset, "seed": args.seed, "torch": torch.__version__, "machine": platform.machine(),
            "threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    return rows, meta


def main(argv: list[str] | None = None) -> list[dict]:
    parser = suite_parser("core", __doc__, PRESETS, methods_help=f"comma-separated, from {SSL_METHODS + list(LABELED)}",
                          data_root_help="unused: the digits ship with scikit-learn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return run_suite(parser, argv, run, write_outputs, presets=PRESETS, metrics=("rankme", "knn_acc", "probe_acc"),
                     headline=("probe_acc", True))


if __name__ == "__main__":
    main()
