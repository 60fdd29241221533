"""Vision suite: pretrain each method on the unlabeled train images, freeze, probe on the test images.

    selfsup bench vision [--preset smoke|default|full|gpu] [--methods simclr,byol,...] [--data-root DIR] [--output DIR]

``--data-root`` picks the data: a folder with ``cifar10_jpeg.npz`` (the CIFAR-10 JPEG pack),
``cifar-10-batches-py``/``cifar-100-python`` (official CIFAR), Fashion-MNIST idx files, or class
sub-folders (ImageFolder); without it, scikit-learn's digits (embedded). Every row: kNN
(cosine, temperature-weighted) and linear-probe accuracy on the test split, RankMe, pretraining wall
time, images/s and peak memory; baselines on the same split: each encoder at random init and the raw
pixels. Writes ``results.json`` (``rows``), ``results.md`` and ``results.png`` under ``--output``.
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from selfsup.core.bench import (
    add_pretraining_flags,
    bar_chart,
    checkpoint_folder,
    parse_methods,
    run_suite,
    suite_parser,
)
from selfsup.core.bench.versus import VERSUS, markdown_table
from selfsup.core.eval import knn_accuracy, linear_probe, rankme
from selfsup.core.train import TrainConfig, Trainer
from selfsup.vision.augment import prepare_images, set_normalization
from selfsup.vision.build import METHODS, VIT_METHODS, build_encoder, build_method
from selfsup.vision.datasets import (
    ImageArray,
    ImageDataset,
    load_cifar,
    load_cifar10_jpeg,
    load_digits_images,
    load_fashion_mnist,
    load_image_folder,
)

_ADAMW = {"cnn": {"optimizer": "adamw", "lr": 2e-3, "weight_decay": 1e-4},
          "vit": {"optimizer": "adamw", "lr": 1.5e-3, "weight_decay": 0.05}}
# lr is given for batch 256 and scaled linearly; the gpu preset's CNN recipe is lightly's CIFAR-10 benchmark
# (SGD, momentum 0.9, lr 0.06 per 128 images, weight decay 5e-4, cosine)
# "epochs" = (two-view CNN methods, ViT methods) on --data-root data, "method_epochs" overrides it per method
# (the EMA/predictor methods and MAE climb more slowly than the contrastive ones on a CPU budget); the
# embedded digits (1,200 images) get "embedded_epochs" so that a run takes a comparable number of steps
PRESETS = {
    "smoke": {"cnn": "resnet_mini", "vit": "vit_mini_patch4", "epochs": (1, 1), "embedded_epochs": (1, 1),
              "batch_size": 128, "train_limit": 1200, "probe_epochs": 10, "optim": _ADAMW, "ema_momentum": 0.96},
    # the main job's share of 15 minutes on 2 CPU cores: one contrastive and one masked method, 3 seeds
    "default": {"cnn": "resnet_mini", "vit": "vit_mini_patch4", "epochs": (2, 3), "embedded_epochs": (5, 5),
                "methods": ("simclr", "mae"), "seeds": 3, "batch_size": 128, "train_limit": None,
                "probe_epochs": 30, "optim": _ADAMW, "ema_momentum": 0.96},
    "full": {"cnn": "resnet_mini", "vit": "vit_mini_patch4", "epochs": (2, 3), "embedded_epochs": (15, 15),
             "method_epochs": {"byol": 6, "simsiam": 6, "dino": 5, "mae": 10},
             "batch_size": 128, "train_limit": None, "probe_epochs": 30, "optim": _ADAMW, "ema_momentum": 0.96},
    "gpu": {"cnn": "resnet18", "vit": "vit_tiny_patch4", "epochs": (100, 200), "embedded_epochs": (200, 200),
            "batch_size": 512, "train_limit": None, "probe_epochs": 100, "ema_momentum": 0.99,
            "optim": {"cnn": {"optimizer": "sgd", "lr": 0.12, "weight_decay": 5e-4}, "vit": _ADAMW["vit"]}},
}
METHOD_KWARGS = {"dino": {"out_dim": 1024, "hidden_dim": 1024}, "byol": {"hidden_dim": 2048}}


def load_data(data_root: Path | None, seed: int = 0) -> tuple[ImageArray, ImageArray]:
    """(train, test) from ``data_root`` (format detected from its files) or the embedded digits."""
    if data_root is None:
        return load_digits_images("train", seed=seed), load_digits_images("test", seed=seed)
    if (data_root / "cifar10_jpeg.npz").is_file():
        return load_cifar10_jpeg(data_root, "train"), load_cifar10_jpeg(data_root, "test")
    if (data_root / "cifar-10-batches-py").is_dir():
        return load_cifar(data_root, "cifar10", "train"), load_cifar(data_root, "cifar10", "test")
    if (data_root / "cifar-100-python").is_dir():
        return load_cifar(data_root, "cifar100", "train"), load_cifar(data_root, "cifar100", "test")
    if any(data_root.glob("train-images-idx3-ubyte*")) or (data_root / "FashionMNIST").is_dir():
        return load_fashion_mnist(data_root, "train"), load_fashion_mnist(data_root, "test")
    if (data_root / "train").is_dir() and (data_root / "test").is_dir():
        return load_image_folder(data_root / "train"), load_image_folder(data_root / "test")
    raise FileNotFoundError(f"--data-root {data_root}: found none of cifar10_jpeg.npz, cifar-10-batches-py/, "
                            "cifar-100-python/, Fashion-MNIST idx files, or train/ and test/ image folders")


@torch.no_grad()
def extract(encoder: nn.Module, data: ImageArray, mean, std, device: torch.device, batch: int = 1024) -> torch.Tensor:
    """``(N, out_dim)`` frozen features of the un-augmented images (eval mode, bf16 autocast on CUDA)."""
    encoder.eval().to(device)
    out = []
    for start in range(0, len(data), batch):
        x = prepare_images(data.images[start : start + batch].to(device), mean, std)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out.append(encoder(x).float().cpu())
    return torch.cat(out)


def evaluate(train_f: torch.Tensor, test_f: torch.Tensor, train: ImageArray, test: ImageArray,
             probe_epochs: int) -> dict:
    probe = linear_probe(train_f, train.labels, test_f, test.labels, backend="torch", epochs=probe_epochs,
                         batch_size=512, lr=0.01, weight_decay=1e-4)
    return {"rankme": round(rankme(train_f), 2),
            "knn_acc": knn_score(train_f, test_f, train, test),
            "probe_acc": round(probe.accuracy, 4)}


def preset_epochs(name: str, preset: dict, args) -> int:
    """Pretraining epochs of one method: ``--epochs``, else the preset's (per method on real data)."""
    if args.epochs:
        return args.epochs
    if args.data_root is None:
        return preset["embedded_epochs"][int(name in VIT_METHODS)]
    return preset.get("method_epochs", {}).get(name, preset["epochs"][int(name in VIT_METHODS)])


class KnnCurve:
    """Trainer hook: every ``every`` epochs, the frozen encoder's kNN test accuracy appended to ``points``;
    ``seconds`` is the time it took (taken out of the pretraining wall time)."""

    def __init__(self, encoder: nn.Module, train: ImageArray, test: ImageArray, mean, std, device: torch.device,
                 every: int) -> None:
        self.encoder, self.train, self.test, self.mean, self.std, self.device = encoder, train, test, mean, std, device
        self.every, self.points, self.seconds = every, [], 0.0

    def __call__(self, trainer, record: dict) -> None:
        if trainer.step % (trainer.steps_per_epoch * self.every) and trainer.step != trainer.total_steps:
            return
        start, was_training = time.perf_counter(), self.encoder.training
        features = [extract(self.encoder, d, self.mean, self.std, self.device) for d in (self.train, self.test)]
        self.encoder.train(was_training)
        self.points.append({"epoch": round(trainer.step / trainer.steps_per_epoch, 2),
                            "knn_acc": knn_score(*features, self.train, self.test)})
        self.seconds += time.perf_counter() - start
        print(f"  epoch {self.points[-1]['epoch']}: knn={self.points[-1]['knn_acc']:.4f}", flush=True)


def knn_score(train_f: torch.Tensor, test_f: torch.Tensor, train: ImageArray, test: ImageArray) -> float:
    k = 200 if len(train) >= 10000 else 20  # lightly's CIFAR protocol: k=200, t=0.1
    return round(knn_accuracy(train_f, train.labels, test_f, test.labels, k=k, temperature=0.1), 4)


def pretrain(name: str, encoder: nn.Module, train: ImageArray, preset: dict, args, mean, std,
             device: torch.device, test: ImageArray | None = None) -> dict:
    vit = name in VIT_METHODS
    kwargs = dict(METHOD_KWARGS.get(name, {}))
    if not vit:
        kwargs["image_size"] = train.size
    method = set_normalization(build_method(name, encoder, **kwargs), mean, std)
    batch = args.batch_size or preset["batch_size"]
    family = preset["optim"]["vit" if vit else "cnn"]
    epochs = preset_epochs(name, preset, args)
    pretrain_set = train if not preset["train_limit"] else train.subset(range(min(len(train), preset["train_limit"])))
    steps_per_epoch = len(pretrain_set) // batch
    curve = None
    if args.knn_every and test is not None:
        curve = KnnCurve(encoder, train, test, mean, std, device, args.knn_every)
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(**checkpoint_folder(args, tmp, name, f"seed{args.seed}"), epochs=epochs, batch_size=batch,
                             optimizer=family["optimizer"], lr=family["lr"] * batch / 256,
                             weight_decay=family["weight_decay"], warmup_steps=max(1, steps_per_epoch * epochs // 10),
                             ema_momentum=preset["ema_momentum"], seed=args.seed, log_every=20, keep_checkpoints=1,
                             checkpoint_every=10**9, device=str(device), progress=not args.quiet)
        summary = Trainer(method, ImageDataset(pretrain_set), config, hooks=[curve] if curve else []).fit()
    wall = summary["wall_s"] - (curve.seconds if curve else 0.0)
    extra = {"knn_curve": curve.points} if curve else {}
    return {**extra, "epochs": epochs, "wall_s": round(wall, 1),
            "images_per_s": round(summary["samples_per_s"] * summary["wall_s"] / wall, 1),
            "s_per_epoch": round(wall / max(1, epochs), 2),
            "peak_memory_mib": round(summary["peak_memory_mib"], 1), "final_loss": round(summary["final_loss"], 4)}


def run(args) -> tuple[list[dict], dict]:
    preset = dict(PRESETS[args.preset])
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed input shapes: let cuDNN pick its fastest kernels
    start = time.perf_counter()
    train, test = load_data(args.data_root, args.seed)
    if preset["train_limit"] and args.data_root is not None:
        test = test.subset(range(0, len(test), max(1, len(test) // 2000)))  # smoke: a strided 2,000-image test split
    mean, std = train.channel_stats()
    data = f"{train.name.removesuffix(' train')} ({len(train)} train / {len(test)} test)"
    print(f"data: {data}, loaded in {time.perf_counter() - start:.1f} s", flush=True)
    methods = parse_methods(args.methods, METHODS, preset.get("methods"))
    encoders = {"cnn": args.encoder or preset["cnn"], "vit": args.vit_encoder or preset["vit"]}
    common = {"data": data, "preset": args.preset}
    rows = [] if args.no_baselines else _baseline_rows(methods, encoders, train, test, preset, args, mean, std,
                                                        device, common)
    rows += _pretrain_rows(methods, encoders, train, test, preset, args, mean, std, device, common)
    return rows, _meta(args, device, start)


def _baseline_rows(methods, encoders, train, test, preset, args, mean, std, device, common) -> list[dict]:
    """Raw pixels, and each encoder family the methods use at random init, on the same split."""
    pixels_train = prepare_images(train.images, mean, std).flatten(1)
    pixels_test = prepare_images(test.images, mean, std).flatten(1)
    rows = [{"method": "raw pixels (baseline)", "encoder": f"none ({pixels_train.shape[1]} values)", "epochs": 0,
             **common, **evaluate(pixels_train, pixels_test, train, test, preset["probe_epochs"])}]
    del pixels_train, pixels_test
    for family in sorted({"vit" if m in VIT_METHODS else "cnn" for m in methods}):
        torch.manual_seed(args.seed)
        encoder = make_encoder(encoders[family], family, train)
        rows.append({"method": "random init (baseline)", "encoder": encoders[family], "epochs": 0, **common,
                     **evaluate(extract(encoder, train, mean, std, device), extract(encoder, test, mean, std, device),
                                train, test, preset["probe_epochs"])})
        print(f"random init {encoders[family]:16s} knn={rows[-1]['knn_acc']:.4f} probe={rows[-1]['probe_acc']:.4f}",
              flush=True)
    return rows


def _pretrain_rows(methods, encoders, train, test, preset, args, mean, std, device, common) -> list[dict]:
    rows = []
    for name in methods:
        family = "vit" if name in VIT_METHODS else "cnn"
        torch.manual_seed(args.seed)
        encoder = make_encoder(encoders[family], family, train)
        stats = pretrain(name, encoder, train, preset, args, mean, std, device, test)
        scores = evaluate(extract(encoder, train, mean, std, device), extract(encoder, test, mean, std, device),
                          train, test, preset["probe_epochs"])
        rows.append({"method": name, "encoder": encoders[family], **stats, **common, **scores})
        print(f"{name:14s} knn={scores['knn_acc']:.4f} probe={scores['probe_acc']:.4f} rankme={scores['rankme']:.1f} "
              f"({stats['wall_s']} s, {stats['images_per_s']} img/s)", flush=True)
    return rows


def _meta(args, device: torch.device, start: float) -> dict:
    return {"preset": args.preset, "device": torch.cuda.get_device_name(device) if device.type == "cuda" else
            f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)", "torch": torch.__version__,
            "seed": args.seed, "total_s": round(time.perf_counter() - start, 1)}


def make_encoder(name: str, family: str, train: ImageArray) -> nn.Module:
    kwargs = {"in_chans": train.channels, "image_size": train.size}
    if family == "vit":
        kwargs["pool"] = "mean"  # the patch-token average: what MAE and I-JEPA probe
    return build_encoder(name, **kwargs)


def write_outputs(rows: list[dict], meta: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    cols = ["method", "encoder", "epochs", "wall_s", "s_per_epoch", "images_per_s", "peak_memory_mib", "rankme",
            "knn_acc", "probe_acc", VERSUS]
    lines = [f"Data: {rows[0]['data']}; preset {meta['preset']}; device {meta['device']}; seed {meta['seed']}; "
             f"{VERSUS.replace('_', ' ')}: linear-probe accuracy minus the best baseline's (± its spread over seeds).",
             "", *markdown_table(rows, cols)]
    (output / "results.md").write_text("\n".join(lines) + "\n")
    bar_chart(rows, [("knn_acc", "kNN"), ("probe_acc", "linear probe")], xlabel="test accuracy",
              title=f"selfsup vision, {rows[0]['data']}, preset {meta['preset']}", path=output / "results.png")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = suite_parser("vision", __doc__, PRESETS, methods_help=f"comma-separated, from {list(METHODS)}",
                          data_root_help="CIFAR-10 JPEG pack, CIFAR, Fashion-MNIST or train/ + test/ image folders")
    parser.add_argument("--encoder", default=None, help="CNN encoder of the two-view methods (preset's by default)")
    parser.add_argument("--vit-encoder", default=None, help="ViT encoder of MAE and I-JEPA")
    parser.add_argument("--knn-every", type=int, default=0, metavar="EPOCHS",
                        help="also record the kNN test accuracy every EPOCHS epochs of pretraining (learning curve)")
    add_pretraining_flags(parser, baselines="the raw-pixel and random-init rows")
    return run_suite(parser, argv, run, write_outputs, presets=PRESETS, metrics=("rankme", "knn_acc", "probe_acc"),
                     headline=("probe_acc", True))


if __name__ == "__main__":
    main()
