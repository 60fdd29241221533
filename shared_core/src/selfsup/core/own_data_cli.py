"""``selfsup pretrain DOMAIN PATH`` and ``selfsup embed DOMAIN PATH``: a user's own collection, one command each.

Settings come from, in order of precedence: the flags given, ``--config FILE`` (YAML/JSON with the flags' names),
on ``--resume auto`` the run folder's own ``config.yaml``, then the defaults (the domain's method and encoder, data
shapes inferred from the files). The resolved settings are written to ``OUTPUT/config.yaml`` before training."""

from __future__ import annotations

import argparse
import difflib
import json
import os
from pathlib import Path
from typing import Any

import torch

from selfsup.core import distributed, registry
from selfsup.core.data.own_data import OwnData
from selfsup.core.data.skips import SkipLog, TooManyBadItems
from selfsup.core.extras import require
from selfsup.core.run_config import read_config, write_config

TRAIN_FLAGS = {"epochs": int, "max-steps": int, "batch-size": int, "lr": float, "weight-decay": float,
               "optimizer": str, "warmup-steps": int, "grad-accum": int, "clip-grad-norm": float, "amp": str,
               "checkpoint-every": int, "seed": int, "num-workers": int, "on-nonfinite": str, "log-every": int,
               "max-bad-fraction": float, "max-nonfinite-fraction": float, "min-lr-ratio": float,
               "ema-momentum": float}
TRAIN_HELP = {"epochs": "passes over the collection (default 10, or as many as --max-steps needs)",
              "max-steps": "optimizer steps: the run's length, or with --epochs a cap on it",
              "batch-size": "global batch (default: 256, or the collection's size if smaller)",
              "num-workers": "DataLoader processes that read and decode (default: CPU cores - 1, at most 8)",
              "max-bad-fraction": "stop when more than this share of the items seen cannot be read (default 0.01)",
              "amp": "auto (bf16 on CUDA), bf16 or off", "seed": "seed of the run (default 0)",
              "on-nonfinite": "raise (default) or skip a step whose loss or gradients are not finite",
              "max-nonfinite-fraction": "with --on-nonfinite skip: stop when more than this share of the steps were "
                                        "skipped (default 0.1)",
              "min-lr-ratio": "the cosine schedule's last rate over --lr (1.0: a constant rate)",
              "ema-momentum": "EMA teacher momentum at the start (methods with a teacher)"}
#: Settings that define what a run learns: a resumed run must keep them (with the domain's data options).
IDENTITY = ("path", "method", "encoder", "method_args", "encoder_args")
DATA_CONFIG = "data_config.json"  # beside the saved encoder: the domain and its resolved data options


def default_workers() -> int:
    """DataLoader processes when ``--num-workers`` is not given: one core left to the training step, at most 8."""
    return min(8, max(1, (os.cpu_count() or 2) - 1))


def own_data(domain: str) -> OwnData:
    """The installed domain's entry, or a one-line error listing the installed ones."""
    try:
        return registry.get("domain", domain)()
    except ValueError:
        names = registry.available("domain")
        close = difflib.get_close_matches(domain, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown domain {domain!r}{hint}: installed are {', '.join(names) or 'none'} "
                         f"(pip install selfsup-<domain>)") from None


def json_object_arg(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON: {text!r} ({err.msg})") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def comma_list(kind: type = str):
    """An argparse ``type``: ``"a, b,c"`` -> ``[kind("a"), kind("b"), kind("c")]`` (empty entries dropped), for the
    domains' list flags (``--fanout 10,10``, ``--spacing 1.5,1.5,2``, ``--drop id,notes``)."""

    def parse(text: str) -> list:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]

    parse.__name__ = kind.__name__  # argparse names it in "invalid int value: 'x'"
    return parse


def add_pretrain_arguments(parser: argparse.ArgumentParser, domain: OwnData | None) -> None:
    """Every flag defaults to ``argparse.SUPPRESS``: the namespace holds only what was given."""
    S = argparse.SUPPRESS
    parser.add_argument("--method", default=S, help="SSL method (default: the domain's, see its README)")
    parser.add_argument("--encoder", default=S, help="encoder (default: the domain's)")
    parser.add_argument("--method-args", type=json_object_arg, default=S, help="JSON object of method arguments")
    parser.add_argument("--encoder-args", type=json_object_arg, default=S, help="JSON object of encoder arguments")
    parser.add_argument("--config", default=S, help="YAML or JSON file of these flags' values (flags override it); "
                                                    "a run's config.yaml is one")
    parser.add_argument("--recipe", default=S, help="a published recipe of the domain (selfsup recipes lists them; "
                                                    "--config and flags override it)")
    parser.add_argument("--output", type=Path, default=S, help="run folder (default runs/DOMAIN-METHOD)")
    parser.add_argument("--resume", default=S, help="'auto': continue from the newest checkpoint in --output that "
                                                    "verifies; a checkpoint folder: continue from it")
    parser.add_argument("--overwrite", action="store_true", default=S,
                        help="replace the run already in --output (without it, a non-empty --output is refused)")
    parser.add_argument("--no-progress", action="store_true", default=S, help="no progress bars")
    parser.add_argument("--export", type=comma_list(str), default=S,
                        help="formats to write the trained encoder in, into OUTPUT/exports/ (selfsup export --help)")
    train = parser.add_argument_group("training")
    for flag, kind in TRAIN_FLAGS.items():
        train.add_argument(f"--{flag}", type=kind, default=S, help=TRAIN_HELP.get(flag, f"TrainConfig.{flag}"))
    train.add_argument("--tensorboard", action="store_true", default=S,
                       help="also write TensorBoard scalars to OUTPUT/tensorboard (selfsup-core[tensorboard])")
    if domain is not None:
        group = parser.add_argument_group(f"{domain.name} data (inferred from the files when not given)")
        domain.add_arguments(group)


def _settings(args: argparse.Namespace, domain: OwnData) -> dict[str, Any]:
    given = {k: v for k, v in vars(args).items()
             if k not in ("command", "domain_name", "path", "dataset", "dataset_args")}
    known = {"domain", "path", "method", "encoder", "method_args", "encoder_args", "output", "recipe",
             *(f.replace("-", "_") for f in TRAIN_FLAGS), "tensorboard", *domain.data_options}
    settings: dict[str, Any] = {"domain": domain.name, "method": domain.default_method,
                                "encoder": domain.default_encoder, "method_args": {}, "encoder_args": {},
                                **domain.data_options}
    if args.path is not None:
        settings.update(domain.defaults_for(args.path))
    if "recipe" in given:
        settings.update(_recipe_settings(domain.name, given["recipe"], known))
    if "config" in given:
        settings.update(read_config(given.pop("config"), known))
    output = given.get("output") or settings.get("output")
    if args.path is not None:
        given["path"] = str(args.path)
    if given.get("resume") and output and (Path(output) / "config.yaml").is_file():
        stored = read_config(Path(output) / "config.yaml", known)
        _refuse_other_run(Path(output), stored, given, (*IDENTITY, *domain.data_options))
        settings.update(stored)
    settings.update({k: v for k, v in given.items() if k not in ("resume", "no_progress", "overwrite", "export")})
    if not settings.get("path"):
        raise ValueError("no PATH given (a folder or list file of your data, or 'path:' in --config)")
    settings.setdefault("output", f"runs/{domain.name}-{settings['method']}")
    return settings


def _recipe_settings(domain: str, name: str, known: set[str]) -> dict[str, Any]:
    """A recipe's flag values (its description and source left out), each a flag of the domain."""
    from selfsup.core.recipes import META, load_recipe

    values = {k.replace("-", "_"): v for k, v in load_recipe(domain, name).items() if k not in META}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"recipe {name!r} sets {unknown}, which are no flags of selfsup pretrain {domain}")
    return {**values, "recipe": name}


def _refuse_other_run(output: Path, stored: dict[str, Any], given: dict[str, Any], keys: tuple[str, ...]) -> None:
    """A resume that names another method, encoder, collection or data option than the run it continues."""
    differ = [k for k in keys if k in given and k in stored and given[k] != stored[k]]
    if differ:
        listed = ", ".join(f"{k} {stored[k]!r} -> {given[k]!r}" for k in differ)
        raise ValueError(f"cannot resume {output} with other settings than it was trained with ({listed}): drop "
                         "those flags to continue it, or start a new run in another --output")


def _train_config(settings: dict[str, Any], n_items: int, resume: str | None, progress: bool, overwrite: bool,
                  max_workers: int | None = None):
    from selfsup.core.train import TrainConfig

    values = {k: settings[k] for k in (*(f.replace("-", "_") for f in TRAIN_FLAGS), "tensorboard") if k in settings}
    values.setdefault("num_workers", default_workers() if max_workers is None else min(max_workers, default_workers()))
    values.setdefault("batch_size", min(256, n_items))
    return TrainConfig.from_dict({**values, "output_dir": str(settings["output"]), "resume": resume,
                                  "progress": progress, "overwrite": overwrite})


def cmd_pretrain(args: argparse.Namespace) -> int:
    from selfsup.core.train.run_folder import claim_on_rank0

    domain = own_data(args.domain_name)
    settings = _settings(args, domain)
    resume, overwrite = getattr(args, "resume", None), getattr(args, "overwrite", False)
    unknown = set(getattr(args, "export", [])) - set(registry.available("exporter"))
    if unknown:  # before training, not after
        raise ValueError(f"unknown --export format {', '.join(sorted(unknown))}; installed formats: "
                         f"{', '.join(registry.available('exporter'))}")
    if settings.get("tensorboard"):  # before the scan and the run, not after
        require("torch.utils.tensorboard", extra="tensorboard", package="selfsup-core", purpose="--tensorboard")
    distributed.init_from_env()
    folder = claim_on_rank0(settings["output"], resume=bool(resume), overwrite=overwrite)
    try:
        return _pretrain(args, domain, settings, resume, overwrite)
    finally:
        if folder is not None:
            folder.release()


def _pretrain(args: argparse.Namespace, domain: OwnData, settings: dict[str, Any], resume: str | None,
              overwrite: bool) -> int:
    from selfsup.core.hub import save_pretrained
    from selfsup.core.train import Trainer, seed_everything

    progress = not getattr(args, "no_progress", False)
    output = Path(settings["output"])
    main = distributed.is_main_process()
    options = {k: settings[k] for k in domain.data_options}
    seed = settings.get("seed", 0)
    opened = None
    if main:  # rank 0 scans and caches the index; the others read the cache
        opened = domain.open(settings["path"], options, cache=output / "index.npz", seed=seed, replace_bad=True,
                             progress=progress)
    distributed.barrier()
    if not main:
        opened = domain.open(settings["path"], options, cache=output / "index.npz", seed=seed, replace_bad=True,
                             progress=False)
    source, options, scan_skipped = opened
    settings.update(options)
    config = _train_config(settings, len(source), resume, progress, overwrite, source.max_workers)
    scan_bad = source.index.meta.get("scan_skipped", 0)
    skips = SkipLog(output / "skipped.jsonl", config.max_bad_fraction, seen_before=len(source) + scan_bad)
    if main:
        skips.add(scan_skipped)
    files = source.readable_units() + scan_bad  # items may be parts of files (audio segments): the scan counts files
    if scan_bad > config.max_bad_fraction * files:
        examples = "; ".join(f"{r['item']} ({r['reason']})" for r in scan_skipped[:3])
        raise TooManyBadItems(f"{scan_bad} of the {files} {domain.what} under {settings['path']} cannot "
                              f"be read, more than --max-bad-fraction {config.max_bad_fraction:g} allows"
                              + (f"; e.g. {examples}" if examples else "")
                              + f"; all are listed in {skips.path} (a larger --max-bad-fraction trains on the rest)")
    seed_everything(config.seed)  # before anything draws: the same --seed gives the same weights
    encoder, method = domain.build(options, settings["method"], settings["encoder"], settings["method_args"],
                                   settings["encoder_args"])
    if main:
        write_config(output / "config.yaml", {**settings, "batch_size": config.batch_size,
                                              "num_workers": config.num_workers})
    trainer = Trainer(method, source, config, collate_fn=source.collate, skips=skips)
    summary = trainer.fit()
    if main:
        save_pretrained(encoder, output / "encoder")
        (output / "encoder" / DATA_CONFIG).write_text(json.dumps({"domain": domain.name, "data": options}, indent=2))
        summary.update(items=len(source), files=source.readable_units(), skip_reasons=skips.reasons,
                       encoder=str(output / "encoder"))
        (output / "summary.json").write_text(json.dumps(summary, indent=2))
        _print_summary(summary, output, domain.what)
        if getattr(args, "export", None):
            from selfsup.core.export import export_encoder
            from selfsup.core.hub import load_pretrained

            for done in export_encoder(load_pretrained(output / "encoder"), args.export, output / "exports",
                                       encoder_dir=output / "encoder", overwrite=True):
                print(done.report())
    return 0


def _print_summary(summary: dict[str, Any], output: Path, what: str) -> None:
    data = f"{summary['files']} {what}"
    if summary["items"] != summary["files"]:
        data += f" ({summary['items']} items an epoch)"
    rows = [("steps", summary["steps"]), ("final loss", f"{summary['final_loss']:.4f}"), ("data", data),
            ("items/s", f"{summary['samples_per_s']:.1f}"),
            ("waiting for data", f"{summary['data_wait_s']:.1f} s of {summary['wall_s']:.1f} s"),
            ("skipped", f"{summary['items_skipped']} (listed in {output / 'skipped.jsonl'})"
             if summary["items_skipped"] else "0"),
            ("encoder", summary["encoder"])]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))


def add_embed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder-dir", type=Path, required=True, help="a run's encoder/ folder")
    parser.add_argument("--output", type=Path, required=True, help="FILE.parquet (id, label, embedding) or FILE.npy "
                                                                    "(embeddings; ids in FILE.ids.txt)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--num-workers", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")


def read_data_config(encoder_dir: str | Path) -> dict[str, Any]:
    """``{"domain": ..., "data": {...}}``: what ``selfsup pretrain DOMAIN PATH`` saved beside its encoder
    (:data:`DATA_CONFIG`), for ``embed`` and the exports that prepare inputs as the run did. FileNotFoundError
    naming the file when ``encoder_dir`` is not a run's ``encoder/`` folder."""
    data_config = Path(encoder_dir) / DATA_CONFIG
    if not data_config.is_file():
        raise FileNotFoundError(f"{data_config}: not found; --encoder-dir must be a run's encoder/ folder")
    return json.loads(data_config.read_text())


def cmd_embed(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from selfsup.core.data.embedding_writer import EmbeddingWriter
    from selfsup.core.data.scan import progress_interval
    from selfsup.core.hub import load_pretrained

    domain = own_data(args.domain_name)
    EmbeddingWriter.check_path(args.output)  # before anything is read
    saved = read_data_config(args.encoder_dir)
    if saved["domain"] != domain.name:
        raise ValueError(f"{args.encoder_dir} was trained on {saved['domain']} data, not {domain.name}")
    source, options, scan_skipped = domain.open(args.path, saved["data"], cache=None, seed=0, replace_bad=False,
                                                progress=not args.no_progress)
    encoder = load_pretrained(args.encoder_dir).eval()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    encoder.to(device)
    workers = args.num_workers if args.num_workers is not None else default_workers()
    loader = torch.utils.data.DataLoader(source, batch_size=args.batch_size, num_workers=workers,
                                         collate_fn=source.collate, pin_memory=device.type == "cuda")
    writer, skipped = EmbeddingWriter(args.output, source.index.classes), list(scan_skipped)
    try:
        with torch.no_grad():
            for batch in tqdm(loader, desc="embed", disable=args.no_progress, mininterval=progress_interval()):
                skipped += batch.pop("skipped")
                if not batch:
                    continue
                batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
                features = domain.embed(encoder, batch, options).float().cpu().numpy()
                writer.add([source.item_id(int(i)) for i in batch["index"]], batch["label"].tolist(), features)
        if writer.rows == 0:
            raise ValueError(f"{args.path}: none of the {domain.what} could be read")
        rows = writer.close()
    except BaseException:
        writer.abort()
        raise
    print(f"{rows} embeddings of dimension {writer.dim} written to {args.output}; {len(skipped)} "
          f"{domain.what} skipped" + (f", e.g. {skipped[0]['item']} ({skipped[0]['reason']})" if skipped else ""))
    return 0
