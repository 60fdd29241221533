"""The ``selfsup`` command: ``list``, ``pretrain``, ``embed``, ``eval``, ``bench`` (also ``python -m selfsup.core``).

    selfsup pretrain vision ~/photos --output runs/photos        # your own files: one command (own_data_cli.py)
    selfsup embed vision ~/photos --encoder-dir runs/photos/encoder --output photos.parquet
    selfsup list
    selfsup pretrain --method simclr --encoder mlp --encoder-args '{"in_dim": 64}' --dataset digits \\
        --epochs 20 --batch-size 256 --output runs/simclr            # a registered dataset; --resume auto continues
    selfsup eval --encoder-dir runs/simclr/encoder --dataset digits
    selfsup bench core --preset smoke                                 # selfsup bench DOMAIN --help: its flags

Multi-process: ``torchrun --nproc_per_node 4 -m selfsup.core pretrain ...`` (see the README).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from selfsup.core import registry
from selfsup.core.data.skips import TooManyBadItems
from selfsup.core.own_data_cli import (
    add_embed_arguments,
    add_pretrain_arguments,
    cmd_embed,
    comma_list,
    json_object_arg,
    own_data,
)
from selfsup.core.own_data_cli import cmd_pretrain as cmd_pretrain_own_data
from selfsup.core.train.run_folder import OutputFolderInUse
from selfsup.core.train.trainer import NonFiniteLossError


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
    if getattr(args, "dataset", None) is None:
        if args.domain_name is None:
            raise ValueError("give a DOMAIN and a PATH (selfsup pretrain vision ~/photos), or --dataset NAME; "
                             f"installed domains: {', '.join(registry.available('domain')) or 'none'}")
        return cmd_pretrain_own_data(args)
    missing = [flag for flag in ("method", "encoder", "output") if getattr(args, flag, None) is None]
    if missing:
        raise ValueError(f"--dataset needs {', '.join('--' + m for m in missing)}")
    return _pretrain_registered(args)


def _pretrain_registered(args: argparse.Namespace) -> int:
    from selfsup.core import distributed
    from selfsup.core.hub import save_pretrained
    from selfsup.core.train import TrainConfig, Trainer, seed_everything

    values = json.loads(Path(args.config).read_text()) if getattr(args, "config", None) else {}
    for key in ("epochs", "max_steps", "batch_size", "lr", "weight_decay", "optimizer", "warmup_steps",
                "grad_accum", "clip_grad_norm", "amp", "checkpoint_every", "seed", "num_workers", "resume",
                "on_nonfinite", "log_every", "max_bad_fraction", "max_nonfinite_fraction", "overwrite"):
        value = getattr(args, key, None)
        if value is not None:
            values[key] = value
    values["output_dir"] = str(args.output)
    config = TrainConfig.from_dict(values)
    seed_everything(config.seed)  # before the encoder and method draw their initial weights
    encoder = registry.create_encoder(args.encoder, **getattr(args, "encoder_args", {}))
    method = registry.create_method(args.method, encoder, **getattr(args, "method_args", {}))
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


def cmd_export(args: argparse.Namespace) -> int:
    from selfsup.core.export import export_encoder
    from selfsup.core.hub import load_pretrained

    encoder = load_pretrained(args.encoder_dir)
    local = Path(args.encoder_dir) if Path(args.encoder_dir).is_dir() else None  # else a Hub repo id
    for done in export_encoder(encoder, args.format, args.output, encoder_dir=local,
                               overwrite=args.overwrite, push_to_hub=args.push_to_hub):
        print(done.report())
    return 0


def cmd_bench(args: argparse.Namespace, rest: list[str]) -> int:
    if args.domain is None or args.domain in ("-h", "--help"):
        print("usage: selfsup bench SUITE [its flags]; selfsup bench SUITE --help lists them.\n"
              f"installed suites: {', '.join(registry.available('bench'))}")
        return 0
    try:
        registry.get("bench", args.domain)(rest)
    except SystemExit as done:  # a suite's own argparse: --help (0) or a usage error (2), already printed
        return done.code if isinstance(done.code, int) else 2
    return 0


class _Version(argparse.Action):
    """``--version``: the installed selfsup packages, torch and Python, one a line."""

    def __init__(self, option_strings, dest, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the installed packages' versions and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from selfsup.core.run_config import installed_versions

        print("\n".join(f"{name} {v}" for name, v in installed_versions().items()))
        parser.exit()


def _domain_of(argv: list[str]) -> str | None:
    """The DOMAIN word of ``pretrain``/``embed`` if it names an installed domain (its data flags are then added)."""
    words = [w for w in argv[1:] if not w.startswith("-")]
    if argv and argv[0] in ("pretrain", "embed") and words and words[0] in registry.available("domain"):
        return words[0]
    return None


def build_parser(domain: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfsup", description="Self-supervised learning across domains.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="what the installed packages offer")
    entry = own_data(domain) if domain else None
    installed = ", ".join(registry.available("domain")) or "none"

    pre = sub.add_parser("pretrain", help="pretrain an encoder on your own files (DOMAIN PATH) or a registered "
                                          "dataset (--dataset)",
                         description="Pretrain an encoder on your own data: selfsup pretrain DOMAIN PATH. "
                                     f"Installed domains: {installed}; selfsup pretrain DOMAIN --help adds the "
                                     "domain's data flags. The run folder gets checkpoints, log.jsonl, config.yaml, "
                                     "skipped.jsonl, summary.json and encoder/.")
    pre.add_argument("domain_name", nargs="?", metavar="DOMAIN", help=f"one of: {installed}")
    pre.add_argument("path", nargs="?", type=Path, metavar="PATH",
                     help="a folder (searched recursively) or a list file (.txt/.csv/.parquet) of your files")
    add_pretrain_arguments(pre, entry)
    pre.add_argument("--dataset", default=None, help="a registered dataset instead of DOMAIN PATH (selfsup list)")
    pre.add_argument("--dataset-args", type=json_object_arg, default={}, help="JSON object of the dataset's arguments")

    emb = sub.add_parser("embed", help="write one embedding per file of a folder with a trained encoder")
    emb.add_argument("domain_name", metavar="DOMAIN", help=f"one of: {installed}")
    emb.add_argument("path", type=Path, metavar="PATH", help="a folder or list file, read as pretrain reads it")
    add_embed_arguments(emb)

    rec = sub.add_parser("recipes", help="the published recipes the installed domains ship (--recipe NAME)")
    rec.add_argument("domain_name", nargs="?", metavar="DOMAIN", help=f"one of: {installed} (default: all)")

    exp = sub.add_parser("export", help="write a saved encoder for torchvision, timm, MONAI, ONNX Runtime, the Hub ...",
                         description="Write a saved encoder in other libraries' formats; each export is loaded back "
                                     "that library's way and its outputs compared with the encoder's on a random "
                                     "batch (max |difference| 1e-4, relative to outputs above 1), then a loading "
                                     "snippet is printed.")
    exp.add_argument("--encoder-dir", required=True,
                     help="a run's encoder/ folder (save_pretrained), or a Hub repo id (user/name)")
    exp.add_argument("--format", type=comma_list(str), required=True,
                     help="comma list of: " + ", ".join(registry.available("exporter")))
    exp.add_argument("--output", type=Path, required=True,
                     help="the file (one format) or a folder that gets each format's default name")
    exp.add_argument("--overwrite", action="store_true", help="replace an existing export")
    exp.add_argument("--push-to-hub", metavar="REPO", default=None,
                     help="upload the hf export to this Hugging Face Hub repo (user/name; needs a login token)")

    ev = sub.add_parser("eval", help="kNN, linear probe and RankMe of a saved encoder")
    ev.add_argument("--encoder-dir", type=Path, required=True)
    ev.add_argument("--dataset", required=True)
    ev.add_argument("--dataset-args", type=json_object_arg, default={})
    ev.add_argument("--k", type=int, default=20)

    bench = sub.add_parser("bench", help="run a domain's benchmark suite (selfsup bench SUITE --help: its flags)",
                           add_help=False)
    bench.add_argument("domain", nargs="?", metavar="SUITE")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else "selfsup"
    try:
        parser = build_parser(_domain_of(argv))
        args, rest = parser.parse_known_args(argv)
        if rest and args.command != "bench":
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        command = args.command
        if args.command == "list":
            return cmd_list(args)
        if args.command == "pretrain":
            return cmd_pretrain(args)
        if args.command == "embed":
            return cmd_embed(args)
        if args.command == "eval":
            return cmd_eval(args)
        if args.command == "export":
            return cmd_export(args)
        if args.command == "recipes":
            from selfsup.core.recipes import recipes_table

            if args.domain_name:
                own_data(args.domain_name)  # an unknown domain: one line listing the installed ones
            print(recipes_table(args.domain_name))
            return 0
        return cmd_bench(args, rest)
    except KeyboardInterrupt:
        print(f"selfsup {command}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as err:  # a user-facing command ends in one line, never a traceback (SELFSUP_DEBUG=1: raise)
        if os.environ.get("SELFSUP_DEBUG"):
            raise
        known = (ValueError, OSError, TypeError, ImportError, TooManyBadItems, NonFiniteLossError, OutputFolderInUse)
        what = "" if isinstance(err, known) else f"{type(err).__name__}: "
        print(f"selfsup {command}: error: {what}{err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
