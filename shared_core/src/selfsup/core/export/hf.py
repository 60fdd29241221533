"""``--format hf``: the Hugging Face folder (``config.json`` + ``model.safetensors``, what ``load_pretrained`` reads,
locally or from a Hub repo id) with a model card written from the run: the encoder, the method, the data, the
training settings and results, and how to load it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from torch import nn

from selfsup.core.export.base import Exported, compare_reloaded, domain_of, encoder_kwargs, encoder_name
from selfsup.core.hub import load_pretrained, save_pretrained

TRAINING_KEYS = ("method", "method_args", "recipe", "epochs", "max_steps", "batch_size", "optimizer", "lr",
                 "weight_decay", "warmup_steps", "seed")


def run_record(encoder_dir: Path | None) -> dict[str, Any]:
    """``{"config": ..., "summary": ...}`` of the run that saved ``encoder_dir`` (``RUN/encoder``), read from the run
    folder's ``config.yaml`` and ``summary.json`` when they are there; empty otherwise."""
    record: dict[str, Any] = {"config": {}, "summary": {}}
    if encoder_dir is None:
        return record
    run = Path(encoder_dir).parent
    try:
        record["config"] = yaml.safe_load((run / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        pass
    try:
        record["summary"] = json.loads((run / "summary.json").read_text())
    except (OSError, ValueError):
        pass
    return record


def model_card(encoder: nn.Module, record: dict[str, Any], repo_id: str | None = None) -> str:
    """The README.md of the folder: front matter for the Hub, then what was trained on what, how, with what result,
    and the loading lines."""
    name, kwargs, domain = encoder_name(encoder), encoder_kwargs(encoder), domain_of(encoder)
    config, summary = record.get("config") or {}, record.get("summary") or {}
    params = sum(p.numel() for p in encoder.parameters())
    tags = ["self-supervised", "selfsup", domain]
    lines = ["---", "library_name: selfsup", "tags:", *[f"- {t}" for t in tags], "---", "",
             f"# selfsup {domain} encoder: {name}", "",
             f"A `{name}` encoder ({params:,} parameters; arguments `{json.dumps(kwargs, sort_keys=True)}`) "
             f"pretrained with self-supervised learning by selfsup. It maps "
             f"an input to a `{getattr(encoder, 'out_dim', '?')}`-dimensional feature vector.", ""]
    if config:
        what = summary.get("items") or summary.get("files")
        data = f"{what:,} items of " if isinstance(what, int) else ""
        lines += ["## Training", "",
                  f"- data: {data}the user's own {config.get('domain', domain)} files "
                  f"(`selfsup pretrain {config.get('domain', domain)} PATH`)"
                  + (f", {summary['items_skipped']} unreadable items skipped" if summary.get("items_skipped") else "")]
        lines += [f"- {key}: `{json.dumps(config[key]) if isinstance(config[key], dict | list) else config[key]}`"
                  for key in TRAINING_KEYS if config.get(key) not in (None, {}, [])]
        lines.append("")
    if summary:
        results = {k: summary[k] for k in ("steps", "final_loss", "wall_s") if k in summary}
        results.update({k: v for k, v in summary.items() if k.startswith(("probe", "knn", "linear"))})
        lines += ["## Results", "", "| | |", "|---|---|",
                  *[f"| {k} | {round(v, 4) if isinstance(v, float) else v} |" for k, v in results.items()], ""]
    source = repo_id or "PATH/TO/THIS/FOLDER"
    lines += ["## Use", "", "```python", "from selfsup.core.hub import load_pretrained", "",
              f'encoder = load_pretrained("{source}")  # a local folder or a Hub repo id; strict, eval mode',
              "features = encoder(inputs)", "```", "",
              f"`selfsup export --encoder-dir {source} --format onnx --output encoder.onnx` writes it for ONNX Runtime;"
              f" `selfsup export --help` lists the other formats.", ""]
    return "\n".join(lines)


def export_hf(encoder: nn.Module, output: Path, *, encoder_dir: Path | None = None,
              push_to_hub: str | None = None, **_) -> Exported:
    """Write the folder ``output`` (safetensors, config, model card), load it back with ``load_pretrained`` and
    compare outputs; with ``push_to_hub="user/name"``, then upload it there (the card's snippet names the repo)."""
    from selfsup.core import hub

    output, repo_id = Path(output), push_to_hub
    encoder_name(encoder)  # NotExportable for an encoder that records no name
    save_pretrained(encoder, output)
    (output / "README.md").write_text(model_card(encoder, run_record(encoder_dir), repo_id), encoding="utf-8")
    diff = compare_reloaded(encoder, load_pretrained(output), f"hf {output}")
    if repo_id:
        print(f"hf: uploaded to {hub.push_to_hub(output, repo_id)}")
    snippet = (f'from selfsup.core.hub import load_pretrained\nencoder = load_pretrained("{repo_id or output}")\n'
               "features = encoder(inputs)")
    return Exported("hf", output, snippet, diff)
