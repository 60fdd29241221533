"""Medical suite: pretrain each method on unlabelled volumes, then frozen probes and few-label segmentation.

    selfsup bench medical [--preset smoke|default|full|gpu] [--methods swin_ssl,voco,...] [--data-root DIR]

Data: without ``--data-root``, the embedded MNI152 pseudo-subjects (one real template warped at random, each
subject with its own tissue contrast, with exact CSF/GM/WM labels: synthetic, and every report says so); with
``--data-root DIR --task TaskXX_Name``, a Medical Segmentation Decathlon task on disk; with ``--data-root DIR`` alone,
a NIfTI folder (imagesTr/labelsTr).
The last ``--test`` volumes are held out; pretraining sees the others without labels.

Per pretraining seed (``--seeds``): (1) a ridge probe of volume-level targets (the tissue fractions) on
frozen features, 5-fold cross-validated R^2 over all volumes; (2) frozen-encoder segmentation: the encoder's
decoder trained from scratch on ``frozen_labels`` labelled volumes; (3) fine-tuning the whole network on 1, 2
and 5 labelled volumes (drawn by the seed), Dice on the held-out volumes (the classes' mean ``dice_k``, and each
class's ``dice_k_<class>`` in results.json). Baselines: an intensity histogram for (1); the same network at
random init for (1) and (2) and trained from scratch for (3).
Writes ``results.json`` (``rows``), ``results.md`` and ``results.png`` under ``--output``.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from selfsup.core.bench import (
    add_pretraining_flags,
    bar_chart,
    checkpoint_folder,
    parse_methods,
    run_suite,
    suite_parser,
)
from selfsup.core.bench.versus import VERSUS, markdown_table, sample_std
from selfsup.core.eval import rankme
from selfsup.core.train import TrainConfig, Trainer
from selfsup.medical.build import METHODS, build_encoder, build_method
from selfsup.medical.datasets import VolumeDataset, VolumeSet, load_decathlon, load_nifti_folder, mni_pseudo_subjects
from selfsup.medical.finetune import few_label_dice
from selfsup.medical.probes import embed_volumes, intensity_histogram, ridge_probe_cv

# encoder: (registry name, kwargs) per family; "cnn" methods use the U-Net, "vit" ones the 3D ViT.
# pretrain_steps per family, or per method where a method's name is a key: on CPU a 3D MAE step (a quarter of the
# ViT's tokens) costs ~0.25 s, SwinUNETR's recipe on the U-Net ~0.3 s, VoCo and Models Genesis 0.5-2.5 s, so
# 1,000 MAE steps and 600 swin_ssl steps take about the wall time of 150 VoCo or Models Genesis steps.
# finetune_steps per family: the U-Net (unet3d_small16, ~0.1 s a fine-tuning step at one thread) gets 600, the ViT
# (~0.28 s, its head 32 channels wide) 300. The U-Net's last up-sampling block must be wide enough for 4 classes (the
# figures that follow are from the pseudo-subjects before each had its own contrast, ``varied_contrast=False``):
# with 4 channels (unet3d_tiny) it never predicted CSF, even on its own training volume; with 8 (unet3d_small) it
# learned CSF for one seed in three (1 label, 600 steps: mean Dice 0.76 for seed 0, 0.56 and 0.58 for seeds 1 and 2
# with CSF Dice 0.01 and 0.00; about the same at 2 and 5 labels), so its fine-tuning rows measured the seed, not the
# label budget or the pretraining; with 16 (unet3d_small16) every seed and label count tried learned it (1 label:
# CSF 0.58 / 0.59 / 0.65 for seeds 0 / 1 / 2; seed 1 at 2 labels 0.52, seed 2 at 5 labels 0.54).
PRESETS = {
    "smoke": {"subjects": 6, "test": 2, "size": 64, "crop": 32, "seeds": 1, "pretrain_steps": {"cnn": 2, "vit": 2},
              "batch_size": 2, "finetune_steps": {"cnn": 2, "vit": 2}, "finetune_batch": 2, "labels": (1,),
              "frozen_labels": 1, "lr": 1e-3, "finetune_lr": {"cnn": 1e-3, "vit": 1e-3}, "overlap": 0.0,
              "voco_random": 2,
              "cnn": ("unet3d_tiny", {}), "vit": ("vit3d_mini", {"volume_size": 32, "patch_size": 8})},
    # the main job's share of 15 minutes on 2 CPU cores: 3D MAE on the 3D ViT, 3 seeds (the U-Net methods need the
    # full preset's steps: at 60 fine-tuning steps the small U-Net's Dice stayed at 0.10 from any start)
    "default": {"subjects": 10, "test": 3, "size": 64, "crop": 32, "seeds": 3, "methods": ("mae3d",),
                "pretrain_steps": {"cnn": 60, "vit": 150}, "batch_size": 4, "finetune_steps": {"cnn": 40, "vit": 40},
                "finetune_batch": 2, "labels": (1,), "frozen_labels": 2, "lr": 1e-3,
                "finetune_lr": {"cnn": 3e-3, "vit": 3e-3}, "overlap": 0.0, "voco_random": 2,
                "cnn": ("unet3d_tiny", {}), "vit": ("vit3d_mini", {"volume_size": 32, "patch_size": 8})},
    "full": {"subjects": 24, "test": 6, "size": 64, "crop": 32, "seeds": 3,
                "pretrain_steps": {"cnn": 150, "vit": 1000, "swin_ssl": 600}, "batch_size": 4,
                "finetune_steps": {"cnn": 600, "vit": 300},
                "finetune_batch": 2, "labels": (1, 2, 5), "frozen_labels": 2, "lr": 1e-3,
                "finetune_lr": {"cnn": 3e-3, "vit": 3e-3}, "overlap": 0.0, "voco_random": 2,
                "cnn": ("unet3d_small16", {}), "vit": ("vit3d_mini", {"volume_size": 32, "patch_size": 4})},
    # batch_size_per_method: VoCo's batch of 4 volumes is 4 x (8 base + 4 random) = 48 crops of 96^3 per step; the
    # Swin-ViT of SwinUNETR (feature_size 48) took 2.9 GB per 96^3 crop for forward + backward (measured on a CPU
    # under bf16 autocast; 2.1 GB with gradient checkpointing), so 48 would need ~140 GB, 12 (one volume) ~35 GB.
    "gpu": {"subjects": 64, "test": 16, "size": 192, "crop": 96, "seeds": 3,
            "pretrain_steps": {"cnn": 2000, "vit": 2000}, "batch_size": 4, "batch_size_per_method": {"voco": 1},
            "finetune_steps": {"cnn": 500, "vit": 500},
            "finetune_batch": 2, "labels": (1, 2, 5), "frozen_labels": 2, "lr": 2e-4,
            "finetune_lr": {"cnn": 5e-4, "vit": 5e-4}, "overlap": 0.5, "voco_random": 4,
            "cnn": ("swin_unetr", {"feature_size": 48}), "vit": ("vit3d_small", {"volume_size": 96, "patch_size": 16})},
}
METHOD_FAMILY = {"swin_ssl": "cnn", "voco": "cnn", "models_genesis": "cnn", "mae3d": "vit"}


def load_data(args, preset: dict) -> VolumeSet:
    if args.data_root is None:
        # above 64^3 (the gpu preset: 64 subjects of 192^3, ~12 s each on one thread) the subjects are made in
        # parallel; a worker's start-up (imports, template) costs ~15 s, so this pays only for many large ones
        workers = (os.cpu_count() or 1) if preset["size"] > 64 else 1
        return mni_pseudo_subjects(preset["subjects"], preset["size"], seed=args.seed, workers=workers)
    if args.task:
        return load_decathlon(args.data_root, args.task, "training", size=preset["size"], val_frac=0.0)
    return load_nifti_folder(args.data_root, size=preset["size"])


def held_out_split(volumes: VolumeSet, wanted: int, labelled: int) -> tuple[np.ndarray, VolumeSet]:
    """``(test_idx, pretraining set)``: the last ``wanted`` volumes held out (fewer if ``labelled`` volumes must
    stay for training); the others, labels unused, for pretraining."""
    n_test = min(wanted, len(volumes) - labelled)
    if n_test < 1:
        raise ValueError(f"{len(volumes)} volumes are too few for {labelled} labelled + held-out ones")
    test_idx = np.arange(len(volumes) - n_test, len(volumes))
    return test_idx, volumes.subset(np.arange(len(volumes) - n_test), "pretraining (unlabelled)")


def make_encoder(family: str, preset: dict):
    name, kwargs = preset[family]
    return build_encoder(name, **kwargs), name


def method_kwargs(method: str, preset: dict) -> dict:
    crop = preset["crop"]
    if method == "voco":
        return {"crop": crop, "grid": preset["size"] // crop, "num_random": preset["voco_random"]}
    return {} if method == "mae3d" else {"crop": crop}


def pretrain_steps(preset: dict, method: str) -> int:
    """The preset's pretraining steps for ``method``: its own entry if it has one, else its family's."""
    steps = preset["pretrain_steps"]
    return steps.get(method, steps[METHOD_FAMILY[method]])


def pretrain_batch_size(preset: dict, method: str) -> int:
    """The preset's pretraining batch (volumes) for ``method``: its entry in ``batch_size_per_method``, if any."""
    return preset.get("batch_size_per_method", {}).get(method, preset["batch_size"])


def pretrain(method_name: str, encoder, train: VolumeSet, preset: dict, args, seed: int, device) -> dict:
    method = build_method(method_name, encoder, **method_kwargs(method_name, preset))
    batch = min(args.batch_size or pretrain_batch_size(preset, method_name), len(train))
    steps = args.epochs or pretrain_steps(preset, method_name)
    epochs = -(-steps // (len(train) // batch))  # the Trainer drops the last partial batch of each epoch
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(**checkpoint_folder(args, tmp, method_name, f"seed{seed}"), epochs=epochs, max_steps=steps,
                             batch_size=batch,
                             optimizer="adamw", lr=preset["lr"], weight_decay=0.01, warmup_steps=max(1, steps // 10),
                             seed=seed, log_every=20, keep_checkpoints=1, checkpoint_every=10**9,
                             device=str(device), progress=not args.quiet)
        summary = Trainer(method, VolumeDataset(train), config).fit()
    return {"steps": summary["steps"], "wall_s": summary["wall_s"], "volumes_per_s": summary["samples_per_s"],
            "peak_memory_mib": summary["peak_memory_mib"], "final_loss": summary["final_loss"]}


def fraction_r2(features: torch.Tensor, volumes: VolumeSet, seed: int) -> float | None:
    if volumes.targets is None:
        return None
    return ridge_probe_cv(features, volumes.targets, folds=5, seed=seed)


def evaluate(encoder, family: str, volumes: VolumeSet, test_idx: np.ndarray, preset: dict, seed: int, device,
             args) -> dict:
    """Frozen probes and few-label segmentation of one encoder (pretrained or at random init)."""
    train_idx = np.setdiff1d(np.arange(len(volumes)), test_idx)
    pool, test = volumes.subset(train_idx, "labelled pool"), volumes.subset(test_idx, "held-out")
    ft = {"steps": preset["finetune_steps"][family], "batch_size": preset["finetune_batch"], "crop": preset["crop"],
          "lr": preset["finetune_lr"][family],
          "overlap": preset["overlap"], "device": device, "progress": not args.quiet}
    features = embed_volumes(encoder, volumes.images, crop=preset["crop"], device=device)
    out = {"rankme": float(rankme(features[train_idx])), "fraction_r2": fraction_r2(features, volumes, seed)}
    if volumes.labels is None:
        return out
    out["frozen_dice"] = few_label_dice(encoder, pool, test, preset["frozen_labels"], freeze_encoder=True, seed=seed,
                                        **ft)["dice"]
    for k in preset["labels"]:
        tuned = few_label_dice(encoder, pool, test, k, freeze_encoder=False, seed=seed, **ft)
        out[f"dice_{k}"] = tuned["dice"]
        out.update({f"dice_{k}_{name}": v for name, v in tuned["dice_per_class"].items() if name != "mean"})
    return out


def _summarise(per_seed: list[dict]) -> dict:
    out = {}
    for key in per_seed[0]:
        values = [s[key] for s in per_seed if s.get(key) is not None]
        if values:
            out[key] = round(float(np.mean(values)), 4)
            out[f"{key}_std"] = round(sample_std(values), 4)
            if key in ("fraction_r2", "frozen_dice") or key.startswith("dice_"):
                out[f"{key}_per_seed"] = [round(v, 4) for v in values]
    return out


def _report(row: dict) -> None:
    keys = [k for k in ("fraction_r2", "frozen_dice", *sorted(k for k in row if k.startswith("dice_") and
                                                              k.count("_") == 1)) if k in row]
    scores = " ".join(f"{k}={row[k]:.4f}±{row[k + '_std']:.4f}" for k in keys)
    print(f"{row['method']:34s} {row['encoder']:14s} {scores}", flush=True)


def run(args) -> tuple[list[dict], dict]:
    preset = PRESETS[args.preset]
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    start = time.perf_counter()
    methods = parse_methods(args.methods, METHODS, preset.get("methods"))
    volumes = load_data(args, preset)
    test_idx, train = held_out_split(volumes, args.test or preset["test"], max(preset["labels"]))
    n_test = len(test_idx)
    data = f"{volumes.name}: {len(volumes)} volumes of {tuple(volumes.images.shape[2:])}, {n_test} held out"
    print(f"data: {data}; loaded in {time.perf_counter() - start:.1f} s", flush=True)
    seeds = list(range(args.seed, args.seed + (args.seeds or preset["seeds"])))
    common = {"data": data, "preset": args.preset, "crop": preset["crop"]}
    rows = []
    if not args.no_baselines:
        if volumes.targets is not None:
            hist = intensity_histogram(volumes.images)
            rows.append({"method": "intensity histogram (baseline)", "encoder": "none (32 bins)", "steps": 0,
                         **common, **_summarise([{"fraction_r2": fraction_r2(hist, volumes, s)} for s in seeds])})
            _report(rows[-1])
        for family in dict.fromkeys(METHOD_FAMILY[m] for m in methods):
            per_seed = []
            for seed in seeds:
                torch.manual_seed(seed)
                encoder, name = make_encoder(family, preset)
                per_seed.append(evaluate(encoder, family, volumes, test_idx, preset, seed, device, args))
            rows.append({"method": "random init / from scratch (baseline)", "encoder": name, "steps": 0, **common,
                         **_summarise(per_seed)})
            _report(rows[-1])
    for method in methods:
        per_seed, stats = [], []
        for seed in seeds:
            torch.manual_seed(seed)
            encoder, name = make_encoder(METHOD_FAMILY[method], preset)
            stats.append(pretrain(method, encoder, train, preset, args, seed, device))
            per_seed.append(evaluate(encoder, METHOD_FAMILY[method], volumes, test_idx, preset, seed, device, args))
        mean = lambda k: round(float(np.mean([s[k] for s in stats])), 2)  # noqa: E731
        rows.append({"method": method, "encoder": name, "steps": stats[0]["steps"], **common,
                     "wall_s": mean("wall_s"), "volumes_per_s": mean("volumes_per_s"),
                     "peak_memory_mib": round(max(s["peak_memory_mib"] for s in stats), 1),
                     "final_loss": mean("final_loss"), **_summarise(per_seed)})
        _report(rows[-1])
    meta = {"preset": args.preset, "seeds": seeds, "torch": torch.__version__, "labels": list(preset["labels"]),
            "frozen_labels": preset["frozen_labels"], "finetune_steps": preset["finetune_steps"],  # per family
            "family_encoders": {family: preset[family][0] for family in preset["finetune_steps"]},
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else
            f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)",
            "total_s": round(time.perf_counter() - start, 1)}
    return rows, meta


def _per_family(value: dict, encoders: dict) -> str:
    """``{"cnn": 600, "vit": 300}, {"cnn": "unet3d_small16", ...} -> "600 (unet3d_small16) / 300 (vit3d_mini)"``; a
    family without an encoder name (results.json written before they were recorded) is shown by its key."""
    return " / ".join(f"{v} ({encoders.get(k, k)})" for k, v in value.items())


def write_outputs(rows: list[dict], meta: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    dice = [f"dice_{k}" for k in meta["labels"]]
    finetune_steps = _per_family(meta["finetune_steps"], meta.get("family_encoders", {}))
    columns = ["method", "encoder", "steps", "wall_s", "volumes_per_s", "peak_memory_mib", "rankme", "fraction_r2",
               "frozen_dice", *dice, VERSUS]
    lines = [f"Data: {rows[0]['data']}; preset {meta['preset']}; device {meta['device']}; mean ± std over seeds "
             f"{meta['seeds']}. fraction_r2: ridge probe of the CSF/GM/WM fractions on frozen features (5-fold CV "
             f"R²); frozen_dice: decoder trained on {meta['frozen_labels']} labelled volumes over the frozen encoder; "
             f"dice_k: whole network fine-tuned on k labelled volumes ({finetune_steps} steps); "
             "mean Dice of the foreground classes on the held-out volumes. Baseline rows: the same network at random "
             f"init (frozen columns) and trained from scratch (dice_k). {VERSUS.replace('_', ' ')}: frozen_dice minus "
             "the best baseline's (± the spread of the per-seed differences).", "", *markdown_table(rows, columns)]
    (output / "results.md").write_text("\n".join(lines) + "\n")
    scores = ("fraction_r2", "frozen_dice", *dice)
    plot_rows = [r for r in rows if any(k in r for k in scores[1:])] or rows  # the histogram row has only an R²
    series = [(k, k) for k in scores if all(k in r for r in plot_rows)]
    if series:
        bar_chart(plot_rows, series, xlabel="R² / Dice", title=f"selfsup medical, preset {meta['preset']}",
                  path=output / "results.png")
    else:  # rows without a common score (e.g. no labels): plot what each row has
        bar_chart(rows, [("rankme", "RankMe")], xlabel="RankMe", title="selfsup medical", path=output / "results.png")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = suite_parser("medical", __doc__, PRESETS, methods_help=f"comma-separated, from {list(METHODS)}",
                          data_root_help="a NIfTI folder (imagesTr/labelsTr) or, with --task, a Decathlon root")
    parser.add_argument("--task", default=None, help="Decathlon task folder under --data-root, e.g. Task04_Hippocampus")
    parser.add_argument("--seeds", type=int, default=None, help="pretraining seeds (preset's by default)")
    parser.add_argument("--test", type=int, default=None, help="held-out volumes (preset's by default)")
    add_pretraining_flags(parser, baselines="the histogram and random-init/scratch rows")
    parser.set_defaults()
    return run_suite(parser, argv, run, write_outputs, headline=("frozen_dice", True))


if __name__ == "__main__":
    main()
