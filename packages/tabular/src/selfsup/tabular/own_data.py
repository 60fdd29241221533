"""``selfsup pretrain tabular PATH``: the rows of a CSV, TSV, Parquet file or folder of Parquet parts.

Defaults: SCARF (contrastive, random feature corruption from the marginals) on the tabular MLP, the method that
needs no tuning per table. Column kinds are inferred from a uniform sample of ``--fit-rows`` rows (100,000) by
:mod:`selfsup.tabular.schema`'s rules, and the preprocessor (quantile scaling, medians for missing values,
categorical levels) is fitted on the same sample; both are recorded in ``config.yaml`` and beside the encoder, so
``embed`` prepares new rows exactly as the training rows. The rows themselves are prepared once into
``OUTPUT/table/`` (fixed-width records; see :mod:`selfsup.tabular.datasets.table_rows`) and read a batch at a time.
``embed`` writes one row per readable input row: the ``--id-column`` value, else the row number."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from selfsup.core import registry
from selfsup.core.data import OwnData
from selfsup.core.own_data_cli import comma_list
from selfsup.tabular.build import build_method
from selfsup.tabular.datasets.table_files import table_parts
from selfsup.tabular.datasets.table_rows import check_columns, open_table, sample_rows, signature
from selfsup.tabular.preprocessing import TableBatch, TablePreprocessor
from selfsup.tabular.schema import TableSchema

FLAGS = ("numeric", "categorical", "drop", "target", "id_column", "fit_rows", "scaling")
MAX_CLASSES = 1000  # a target with more distinct values in the sample is not written as a label by embed
FITTED = "fitted.json"



class TabularOwnData(OwnData):
    """``selfsup pretrain tabular PATH``: CSV, TSV or Parquet tables of any size."""
    name = "tabular"
    what = "rows"
    default_method = "scarf"
    default_encoder = "tabular_mlp"
    data_options = {"numeric": None, "categorical": None, "drop": None, "target": None,  # noqa: RUF012
                    "id_column": None, "fit_rows": 100_000, "scaling": "quantile", "schema": None,
                    "preprocessor": None, "classes": None}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        S = argparse.SUPPRESS
        parser.add_argument("--numeric", type=comma_list(str), default=S,
                            help="comma-separated columns read as numbers")
        parser.add_argument("--categorical", type=comma_list(str), default=S,
                            help="comma-separated columns read as categories")
        parser.add_argument("--drop", type=comma_list(str), default=S, help="comma-separated columns left out")
        parser.add_argument("--target", default=S,
                            help="a label column: kept out of the features, written by embed as the label")
        parser.add_argument("--id-column", default=S, help="the column embed names rows by (default: row numbers)")
        parser.add_argument("--fit-rows", type=int, default=S,
                            help="rows sampled to infer the columns and fit the scaling (default 100000)")
        parser.add_argument("--scaling", choices=("quantile", "standard"), default=S,
                            help="numeric scaling (default quantile: to a normal distribution)")

    def open(self, path, options, *, cache, seed, replace_bad, progress):
        root, parts = table_parts(path)
        options = dict(options)
        folder = cache.parent / "table" if cache is not None else None
        if options.get("preprocessor") is None or options.get("schema") is None:
            options.update(self._fitted(root, parts, options, folder, seed, progress))
        schema = TableSchema.from_dict(options["schema"])
        preprocessor = TablePreprocessor.from_state(options["preprocessor"])
        if not replace_bad:  # embedding new rows: their label and id columns are optional
            from selfsup.tabular.datasets.table_files import header

            have = header(parts[0])
            schema.target = schema.target if schema.target in have else None
            schema.id_column = schema.id_column if schema.id_column in have else None
        check_columns(root, parts, schema.columns)
        source, bad, stray = open_table(root, parts, schema, preprocessor, options["classes"] or [], folder,
                                        seed=seed, replace_bad=replace_bad, progress=progress)
        for column, count in stray.items():
            print(f"note: column {column!r}: {count} values are not numbers/dates, read as missing", file=sys.stderr)
        return source, options, bad

    def _fitted(self, root: Path, parts: list[Path], options: dict[str, Any], folder: Path | None, seed: int,
                progress: bool) -> dict[str, Any]:
        """Schema, preprocessor and classes fitted on a sample; reused from ``folder`` when the same files and flags
        made them (a DDP rank after rank 0, a run restarted)."""
        flags = {k: options.get(k) for k in FLAGS}
        key = {"files": signature(root, parts), "flags": flags, "seed": seed}
        saved = folder / FITTED if folder is not None else None
        if saved is not None and saved.is_file():
            stored = json.loads(saved.read_text())
            if stored.get("key") == json.loads(json.dumps(key)):
                return stored["options"]
        began = time.perf_counter()
        sample = sample_rows(root, parts, int(flags["fit_rows"] or 100_000), seed, progress)
        if sample.empty:
            raise ValueError(f"{root}: no readable rows")
        schema = TableSchema.infer(sample, numeric=flags["numeric"] or (), categorical=flags["categorical"] or (),
                                   drop=flags["drop"] or (), target=flags["target"], id_column=flags["id_column"])
        for column, why in schema.dropped.items():
            print(f"note: column {column!r} left out: {why}", file=sys.stderr)
        features, _ = schema.expand(sample)
        preprocessor = TablePreprocessor(schema.numeric_names, schema.categorical_names,
                                         scaling=flags["scaling"] or "quantile").fit(features)
        classes = []
        if schema.target:
            levels = sample[schema.target].astype("string").str.strip().dropna().unique()
            classes = sorted(map(str, levels)) if len(levels) <= MAX_CLASSES else []
        fitted = {"schema": schema.to_dict(), "preprocessor": preprocessor.to_state(), "classes": classes}
        if saved is not None:
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(json.dumps({"key": key, "options": fitted,
                                         "fit_s": round(time.perf_counter() - began, 2)}))
        return fitted

    def build(self, options, method, encoder, method_args, encoder_args) -> tuple[nn.Module, nn.Module]:
        preprocessor = TablePreprocessor.from_state(options["preprocessor"])
        net = registry.create_encoder(encoder, **{"num_numeric": preprocessor.num_numeric,
                                                  "cardinalities": preprocessor.cardinalities, **encoder_args})
        return net, build_method(method.removeprefix("tabular_"), net, preprocessor, **method_args)

    def embed(self, encoder: nn.Module, batch: dict[str, Any], options: dict[str, Any]) -> torch.Tensor:
        return encoder(TableBatch.of(batch))
