"""The ``selfsup`` command: ``list``, ``pretrain``, ``eval``, ``bench`` (also ``python -m selfsup.core``).

    selfsup list
    selfsup pretrain --method simclr --encoder mlp --encoder-args '{"in_dim": 64}' --dataset digits \\
        --epochs 20 --batch-size 256 --output runs/simclr            # add --resume auto to continue
    selfsup eval --encoder-dir runs/simclr/encoder --dataset digits
    selfsup bench core --preset smoke

Multi-process: ``torchrun --nproc_per_node 4 -m selfsup.core pretrain ...`` (see the README).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from selfsup.core import registry


def _json_arg(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON: {text!r} ({err.msg})") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def cmd_list(args: argparse.Namespace) -> int:
    registry.load_plugins()
    for kind in registry.KINDS:
        names = registry.available(kind)
        print(f"{kind}s ({len(names)}):")
        for name in names:
            factory = registry.get(kind, name)
            origin = getattr(getattr(factory, "func", factory), "__module__", "?")
            print(f"  {name:20s} {origin}")
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from selfsup.core import distributed
    from selfsup.core.hub import save_pretrained
    from selfsup.core.train import TrainConfig, Trainer

    values = json.loads(Path(args.config).read_text()) if args.config else {}
    for key in ("epochs", "max_steps", "batch_size", "lr", "weight_decay", "optimizer", "warmup_steps",
                "grad_accum", "clip_grad_norm", "amp", "checkpoint_every", "seed", "num_workers", "resume",
                "on_nonfinite", "log_every"):
        value = getattr(args, key)
        if value is not None:
            values[key] = value
    values["output_dir"] = str(args.output)
    config = TrainConfig.from_dict(values)
    encoder = registry.create_encoder(args.encoder, **args.encoder_args)
    method = registry.create_method(args.method, encoder, **args.method_args)
    dataset = registry.create_dataset(args.dataset, **args.dataset_args)
    trainer = Trainer(method, dataset, config, collate_fn=getattr(dataset, "collate", None))
    summary = trainer.fit()
    if distributed.is_main_process():
        save_pretrained(encoder, Path(args.output) / "encoder")
        (Path(args.output) / "summary.json").write_text(json.dumps(summary, indent=2))
        print(json.dumps(summary, indent=2))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from selfsup.core.eval import knn_accuracy, linear_probe, rankme
    from selfsup.core.hub import load_pretrained

    encoder = load_pretrained(args.encoder_dir)
    splits = {}
    for split in ("train", "test"):
        dataset = registry.create_dataset(args.dataset, split=split, augment=False, **args.dataset_args)
        loader = torch.utils.data.DataLoader(dataset, batch_size=512, collate_fn=getattr(dataset, "collate", None))
        feats, labels = [], []
        with torch.no_grad():
            for batch in loader:
                feats.append(encoder(batch["views"][0]).float())
                labels.append(batch["label"])
        splits[split] = (torch.cat(feats), torch.cat(labels))
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    result = {"encoder_dir": str(args.encoder_dir), "dataset": args.dataset,
              "knn_acc": knn_accuracy(train_x, train_y, test_x, test_y, k=args.k),
              "probe_acc": linear_probe(train_x, train_y, test_x, test_y).accuracy, "rankme": rankme(train_x)}
    print(json.dumps(result, indent=2))
    return 0


def cmd_bench(args: argparse.Namespace, rest: list[str]) -> int:
    registry.get("bench", args.domain)(rest)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfsup", description="Self-supervised learning across domains.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="what the installed packages offer")

    pre = sub.add_parser("pretrain", help="pretrain an encoder with a method on a dataset")
    pre.add_argument("--method", required=True)
    pre.add_argument("--encoder", required=True)
    pre.add_argument("--dataset", required=True)
    pre.add_argument("--method-args", type=_json_arg, default={})
    pre.add_argument("--encoder-args", type=_json_arg, default={})
    pre.add_argument("--dataset-args", type=_json_arg, default={})
    pre.add_argument("--output", type=Path, required=True)
    pre.add_argument("--config", help="JSON file of TrainConfig fields (flags override it)")
    for flag, kind in (("epochs", int), ("max-steps", int), ("batch-size", int), ("lr", float),
                       ("weight-decay", float), ("optimizer", str), ("warmup-steps", int), ("grad-accum", int),
                       ("clip-grad-norm", float), ("amp", str), ("checkpoint-every", int), ("seed", int),
                       ("num-workers", int), ("resume", str), ("on-nonfinite", str), ("log-every", int)):
        pre.add_argument(f"--{flag}", type=kind, default=None)

    ev = sub.add_parser("eval", help="kNN, linear probe and RankMe of a saved encoder")
    ev.add_argument("--encoder-dir", type=Path, required=True)
    ev.add_argument("--dataset", required=True)
    ev.add_argument("--dataset-args", type=_json_arg, default={})
    ev.add_argument("--k", type=int, default=20)

    bench = sub.add_parser("bench", help="run a domain's benchmark suite (its own flags follow)")
    bench.add_argument("domain")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "bench":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        if args.command == "list":
            return cmd_list(args)
        if args.command == "pretrain":
            return cmd_pretrain(args)
        if args.command == "eval":
            return cmd_eval(args)
        return cmd_bench(args, rest)
    except (ValueError, FileNotFoundError, TypeError) as err:
        print(f"selfsup {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
