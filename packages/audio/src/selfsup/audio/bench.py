"""Audio suite: pretrain each method on the unlabeled training clips, freeze, probe digits and speakers.

    selfsup bench audio [--preset smoke|default|full|gpu] [--methods ssast,audio_mae,...] [--data-root DIR]

``--data-root`` holds the Free Spoken Digit Dataset (``recordings/``); without it the embedded data
are spoken digit words synthesised with eSpeak NG (``selfsup-audio[bench]``), the voices standing in for
speakers. Pretraining uses the training clips without labels (FSDD: takes 5-49 of every speaker).
Probes (logistic regression on frozen, standardised features): digit on the official split (FSDD
takes 0-4), digit leave-one-speaker-out (mean over the 6 speakers), speaker identity on the official
split. Baselines on the same splits: log-mel mean+std pooled features and each encoder at random init.
Writes ``results.json`` (``rows``), ``results.md`` and ``results.png`` under ``--output``.
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from selfsup.audio.build import METHOD_TOKENS, METHODS, build_encoder, build_method
from selfsup.audio.datasets import AudioClips, SpectrogramDataset, fsdd_takes, load_fsdd, synthesize_words
from selfsup.audio.features import SpectrogramStats
from selfsup.audio.probes import logmel_stats_features, probe_suite
from selfsup.core.bench import (
    add_pretraining_flags,
    bar_chart,
    checkpoint_folder,
    parse_methods,
    run_suite,
    suite_parser,
)
from selfsup.core.bench.versus import VERSUS, markdown_table
from selfsup.core.eval import rankme
from selfsup.core.train import TrainConfig, Trainer

FRAMES = 96  # 0.96 s at a 10 ms shift: 99% of FSDD clips are shorter
# lr is given for batch 256 and scaled linearly; "epochs" per method, else "default_epochs" (EAT's steps
# cost 4 masked copies per clip and BYOL-A's two CNN views several times a ViT step on a CPU)
PRESETS = {
    "smoke": {"vit": "mini", "cnn": "audio_cnn_small", "epochs": {}, "default_epochs": 1, "batch_size": 64,
              "train_limit": 256, "lr": 1.5e-3, "weight_decay": 0.05, "ema_momentum": 0.99,
              "spoken_words": {"rates": (150, 200), "pitches": (40, 60)}},  # 320 clips
    # the main job's share of 15 minutes on 2 CPU cores: the frame and the patch Transformer methods, 3 seeds
    "default": {"vit": "mini", "cnn": "audio_cnn_small", "epochs": {}, "default_epochs": 5, "batch_size": 64,
                "methods": ("ssast", "audio_mae"), "seeds": 3,
                "spoken_words": {"rates": (150, 200), "pitches": (30, 45, 60, 75)},  # 640 clips
                "train_limit": None, "lr": 1.5e-3, "weight_decay": 0.05, "ema_momentum": 0.99},
    "full": {"vit": "mini", "cnn": "audio_cnn_small", "epochs": {"eat": 10, "byol_a": 6}, "default_epochs": 20,
             "batch_size": 64, "train_limit": None, "lr": 1.5e-3, "weight_decay": 0.05, "ema_momentum": 0.99},
    "gpu": {"vit": "tiny", "cnn": "audio_cnn", "epochs": {}, "default_epochs": 200, "batch_size": 128,
            "train_limit": None, "lr": 1.5e-3, "weight_decay": 0.05, "ema_momentum": 0.996},
}
METHOD_KWARGS = {"byol_a": {"hidden_dim": 2048}}


def load_data(data_root: Path | None, seed: int = 0, spoken_words: dict | None = None
              ) -> tuple[AudioClips, np.ndarray]:
    """``(clips, test_mask)``: FSDD from ``data_root`` (test = takes 0-4) or the embedded spoken words
    (``synthesize_words(**spoken_words)``; test = a seeded 20% of the clips)."""
    if data_root is not None:
        clips = load_fsdd(data_root, "all", frames=FRAMES)
        return clips, np.asarray(fsdd_takes(clips)) < 5
    clips = synthesize_words(frames=FRAMES, **(spoken_words or {}))
    test = np.zeros(len(clips), dtype=bool)
    test[np.random.default_rng(seed).permutation(len(clips))[: len(clips) // 5]] = True
    return clips, test


def pretraining_indices(test_mask: np.ndarray, preset: dict, seed: int) -> np.ndarray:
    """Sorted indices of the clips outside the test split, a seeded ``preset["train_limit"]`` of them if set."""
    pretrain_idx = np.flatnonzero(~test_mask)
    if preset["train_limit"]:
        pretrain_idx = pretrain_idx[np.random.default_rng(seed).permutation(len(pretrain_idx))]
        pretrain_idx = np.sort(pretrain_idx[: preset["train_limit"]])
    return pretrain_idx


def encoder_name(family: str, preset: dict, args) -> str:
    """The suite's encoder for a token family (``patch``, ``frame``, ``cnn``); ``--tokens`` overrides the
    Transformer methods' token kind."""
    if family == "cnn":
        return preset["cnn"]
    return f"audio_vit_{args.vit_size or preset['vit']}_{args.tokens or family}"


def make_encoder(name: str) -> nn.Module:
    return build_encoder(name, num_mel_bins=128, frames=FRAMES)


@torch.no_grad()
def extract(encoder: nn.Module, clips: AudioClips, stats: SpectrogramStats, device: torch.device,
            batch: int = 256) -> torch.Tensor:
    """``(N, out_dim)`` frozen features of the normalised clips (eval mode)."""
    encoder.eval().to(device)
    out = []
    for start in range(0, len(clips), batch):
        spec = stats(clips.specs[start : start + batch]).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out.append(encoder(spec).float().cpu())
    return torch.cat(out)


def evaluate(features: torch.Tensor, clips: AudioClips, test_mask: np.ndarray, pretrain: np.ndarray) -> dict:
    return {"rankme": round(rankme(features[pretrain]), 2), **probe_suite(features, clips, test_mask)}


def pretrain(name: str, encoder: nn.Module, train: AudioClips, stats: SpectrogramStats, preset: dict, args,
             device: torch.device) -> dict:
    method = build_method(name, encoder, **METHOD_KWARGS.get(name, {}))
    if hasattr(method, "fit_targets"):
        method.fit_targets(stats(train.specs), seed=args.seed)
    batch = min(args.batch_size or preset["batch_size"], len(train))
    epochs = args.epochs or preset["epochs"].get(name, preset["default_epochs"])
    steps_per_epoch = len(train) // batch
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(**checkpoint_folder(args, tmp, name, f"seed{args.seed}"), epochs=epochs, batch_size=batch,
                             optimizer="adamw", lr=preset["lr"] * batch / 256, weight_decay=preset["weight_decay"],
                             warmup_steps=max(1, steps_per_epoch * epochs // 10), ema_momentum=preset["ema_momentum"],
                             seed=args.seed, log_every=20, keep_checkpoints=1, checkpoint_every=10**9,
                             device=str(device), progress=not args.quiet)
        summary = Trainer(method, SpectrogramDataset(train, stats), config).fit()
    return {"epochs": epochs, "wall_s": round(summary["wall_s"], 1), "clips_per_s": round(summary["samples_per_s"], 1),
            "peak_memory_mib": round(summary["peak_memory_mib"], 1), "final_loss": round(summary["final_loss"], 4)}


def run(args) -> tuple[list[dict], dict]:
    preset = PRESETS[args.preset]
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    start = time.perf_counter()
    clips, test_mask = load_data(args.data_root, args.seed, preset.get("spoken_words"))
    pretrain_idx = pretraining_indices(test_mask, preset, args.seed)
    train = clips.subset(pretrain_idx, name=f"{clips.name} pretraining")
    stats = train.stats()
    data = f"{clips.name} ({len(clips)} clips, {int(test_mask.sum())} official test, {len(set(clips.groups))} speakers)"
    print(f"data: {data}, features in {time.perf_counter() - start:.1f} s", flush=True)
    methods = parse_methods(args.methods, METHODS, preset.get("methods"))
    common = {"data": data, "preset": args.preset}
    rows = []
    if not args.no_baselines:
        rows.append({"method": "log-mel mean+std (baseline)", "encoder": "none (256 values)", "epochs": 0, **common,
                     **evaluate(logmel_stats_features(clips), clips, test_mask, pretrain_idx)})
        for name in dict.fromkeys(encoder_name(METHOD_TOKENS[m], preset, args) for m in methods):
            torch.manual_seed(args.seed)
            rows.append({"method": "random init (baseline)", "encoder": name, "epochs": 0, **common,
                         **evaluate(extract(make_encoder(name), clips, stats, device), clips, test_mask,
                                    pretrain_idx)})
            _report(rows[-1])
    for method in methods:
        name = encoder_name(METHOD_TOKENS[method], preset, args)
        torch.manual_seed(args.seed)
        encoder = make_encoder(name)
        stats_row = pretrain(method, encoder, train, stats, preset, args, device)
        rows.append({"method": method, "encoder": name, **stats_row, **common,
                     **evaluate(extract(encoder, clips, stats, device), clips, test_mask, pretrain_idx)})
        _report(rows[-1])
    meta = {"preset": args.preset, "seed": args.seed, "torch": torch.__version__,
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else
            f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)",
            "total_s": round(time.perf_counter() - start, 1)}
    return rows, meta


def _report(row: dict) -> None:
    print(f"{row['method']:28s} {row['encoder']:22s} digit official={row['label_official']:.4f} "
          f"loso={row['label_loso']:.4f} speaker={row['group_official']:.4f} rankme={row['rankme']:.1f}", flush=True)


METRICS = ("rankme", "label_official", "label_loso", "label_loso_min", "group_official")
COLUMNS = ["method", "encoder", "epochs", "wall_s", "clips_per_s", "peak_memory_mib", *METRICS, VERSUS]


def write_outputs(rows: list[dict], meta: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [f"Data: {rows[0]['data']}; preset {meta['preset']}; device {meta['device']}; seed {meta['seed']}. "
             "label = spoken digit; loso = leave-one-speaker-out (mean, min over speakers); group = speaker; "
             f"{VERSUS.replace('_', ' ')}: label_loso minus the best baseline's (± its spread over seeds).", "",
             *markdown_table(rows, COLUMNS)]
    (output / "results.md").write_text("\n".join(lines) + "\n")
    bar_chart(rows, [("label_official", "digit, official split"), ("label_loso", "digit, leave-one-speaker-out"),
                     ("group_official", "speaker, official split")], xlabel="probe accuracy",
              title=f"selfsup audio, {rows[0]['data']}, preset {meta['preset']}", path=output / "results.png")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = suite_parser("audio", __doc__, PRESETS, methods_help=f"comma-separated, from {list(METHODS)}",
                          data_root_help="folder with the Free Spoken Digit Dataset's recordings/")
    parser.add_argument("--vit-size", default=None, help="mini, tiny, small or base (preset's by default)")
    parser.add_argument("--tokens", choices=("patch", "frame"), default=None,
                        help="one token kind for every Transformer method (default: each method's own)")
    add_pretraining_flags(parser, baselines="the log-mel and random-init rows")
    return run_suite(parser, argv, run, write_outputs, presets=PRESETS, metrics=METRICS,
                     headline=("label_loso", True))


if __name__ == "__main__":
    main()
