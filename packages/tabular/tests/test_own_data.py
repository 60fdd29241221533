"""``selfsup pretrain tabular PATH`` and ``selfsup embed tabular PATH``: column kinds inferred from a sample, bad rows
skipped and named, ids kept, Parquet parts, exact resume, and memory bounded by the batch, not the table."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from selfsup.core import cli
from selfsup.core.testing import checkpoint_weights, cut_after
from selfsup.tabular import TablePreprocessor, TableSchema
from selfsup.tabular.preprocessing import infer_column_types


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    return pd.DataFrame({
        "id": [f"u{i:05d}" for i in range(n)],
        "height": rng.normal(170 + 5 * group, 8).round(1),
        "visits": rng.poisson(2 + group),
        "colour": np.array(["red", "green", "blue"])[(group + (rng.random(n) < 0.2)) % 3],
        "member": np.where(rng.random(n) < 0.5, "yes", "no"),
        "joined": pd.date_range("2021-03-01", periods=n, freq="13h").strftime("%Y-%m-%dT%H:%M:%S"),
        "constant": 7,
        "group": group,
    })


def _pretrain(path: Path, output: Path, *extra: str) -> int:
    return cli.main(["pretrain", "tabular", str(path), "--output", str(output), "--batch-size", "32",
                     "--num-workers", "2", "--no-progress", "--fit-rows", "500", *extra])


def test_a_stray_string_leaves_a_numeric_column_numeric():
    frame = pd.DataFrame({"price": [str(v) for v in np.linspace(1, 99, 60)] + ["n/a", "12 kg", ""],
                          "city": ["a", "b", "c"] * 21})
    schema = TableSchema.infer(frame)
    assert schema.kinds == {"price": "numeric", "city": "categorical"}
    features, stray = schema.expand(frame)
    assert stray == {"price": 1}  # "n/a" and "" are missing values, "12 kg" is a stray one
    assert features["price"].isna().sum() == 3 and features["price"].iloc[0] == 1.0
    assert infer_column_types(frame) == (["price"], ["city"])  # the scikit-learn path, same rule


def test_column_kinds_parts_and_left_out_columns():
    frame = _table(300).assign(empty="", free_text=[f"note {i}" for i in range(300)],
                               day=pd.date_range("2022-01-01", periods=300, freq="2D").strftime("%Y-%m-%d"))
    schema = TableSchema.infer(frame, drop=["group"], id_column="id")
    assert schema.kinds == {"height": "numeric", "visits": "numeric", "colour": "categorical", "member": "boolean",
                            "joined": "datetime", "day": "datetime"}
    assert set(schema.dropped) == {"constant", "empty", "free_text"}
    assert "id or free text" in schema.dropped["free_text"]
    assert schema.date_parts["day"] == ["year", "month", "day", "weekday"]  # no hour: always 0
    assert schema.numeric_names[:3] == ["height", "visits", "member"] and "joined.hour" in schema.numeric_names
    features, _ = schema.expand(frame)
    assert set(features["member"].unique()) == {0.0, 1.0} and features["day.weekday"].iloc[0] == 5  # a Saturday
    forced = TableSchema.infer(frame, categorical=["visits"], drop=["free_text", "day", "joined"])
    assert forced.kinds["visits"] == "categorical" and "day" not in forced.kinds
    with pytest.raises(ValueError, match=r"no column 'weight'.*it has id, height"):
        TableSchema.infer(frame, numeric=["weight"])


@pytest.mark.parametrize("scaling", ["quantile", "standard"])
def test_a_fitted_preprocessor_round_trips_through_json(scaling):
    frame = _table(400).drop(columns=["id", "joined"])
    frame.loc[3, "height"] = np.nan
    fitted = TablePreprocessor(["height", "visits", "constant"], ["colour", "member"], scaling=scaling).fit(frame)
    again = TablePreprocessor.from_state(json.loads(json.dumps(fitted.to_state())))
    new = _table(50, seed=1).drop(columns=["id", "joined"]).assign(colour="purple")  # an unseen level
    a, b = fitted.transform(new), again.transform(new)
    assert torch.allclose(a.numeric, b.numeric, atol=0) and torch.equal(a.categorical, b.categorical)
    assert a.numeric.std() > 0.5 and (b.categorical[:, 0] == 1).all()  # unknown level code


def _write_messy_csv(path: Path, n: int = 240) -> tuple[list[str], list[int]]:
    """A semicolon CSV of ``_table(n)`` with a quoted field holding a line break, a stray string in a numeric
    column and two rows with the wrong number of fields; returns the good rows' ids and the bad rows' numbers."""
    frame = _table(n)
    frame.loc[4, "colour"] = "dark\nred"
    frame["height"] = frame["height"].astype(str)
    frame.loc[10, "height"] = "tall"
    frame.to_csv(path, sep=";", index=False)
    lines = path.read_text().split("\n")
    # line 0 is the header; data row 4 spans two lines, so data row k (k > 4) is on line k + 2
    lines.insert(20 + 2, "u_bad1;1;2")
    lines.insert(50 + 2, "u_bad2;1;2;3;4;5;6;7;8;9;10")
    path.write_text("\n".join(lines))
    ids = frame["id"].tolist()
    return ids, [20, 50]


def test_pretrain_and_embed_a_csv_skipping_bad_rows(tmp_path, capsys):
    ids, bad = _write_messy_csv(tmp_path / "people.csv")
    run = tmp_path / "run"
    assert _pretrain(tmp_path / "people.csv", run, "--max-steps", "3", "--target", "group", "--id-column", "id") == 0
    err = capsys.readouterr().err
    assert "column 'constant' left out: one distinct value" in err and "'height': 1 values are not numbers" in err
    skipped = [json.loads(line) for line in (run / "skipped.jsonl").read_text().splitlines()]
    assert [r["item"] for r in skipped] == [f"people.csv row {k}" for k in bad]
    assert "3 fields where the header has 8" in skipped[0]["reason"]
    config = (run / "config.yaml").read_text()
    assert "member: boolean" in config and "joined: datetime" in config
    out = tmp_path / "emb.parquet"
    assert cli.main(["embed", "tabular", str(tmp_path / "people.csv"), "--encoder-dir", str(run / "encoder"),
                     "--output", str(out), "--no-progress", "--num-workers", "2"]) == 0
    embedded = pd.read_parquet(out)
    assert embedded["id"].tolist() == ids  # every good row once, in order, by its id
    assert embedded["label"].tolist() == [str(g) for g in _table(240)["group"]]
    assert np.stack(embedded["embedding"]).shape == (240, 128)
    new = _table(30, seed=5).drop(columns=["group", "id"])  # new rows without the label and id columns
    new.to_parquet(tmp_path / "new.parquet")
    assert cli.main(["embed", "tabular", str(tmp_path / "new.parquet"), "--encoder-dir", str(run / "encoder"),
                     "--output", str(tmp_path / "new.npy"), "--no-progress", "--num-workers", "0"]) == 0
    assert np.load(tmp_path / "new.npy").shape == (30, 128)
    assert (tmp_path / "new.ids.txt").read_text().split() == [str(i) for i in range(30)]


def test_a_folder_of_parquet_parts_names_rows_by_part(tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    frame = _table(90)
    frame.iloc[:50].to_parquet(parts / "part-0.parquet")
    frame.iloc[50:].to_parquet(parts / "part-1.parquet")
    run = tmp_path / "run"
    assert _pretrain(parts, run, "--max-steps", "2", "--encoder", "tabular_ft_transformer", "--method", "tjepa",
                     "--encoder-args", '{"dim": 16, "depth": 1, "heads": 2}') == 0
    assert json.loads((run / "summary.json").read_text())["items"] == 90
    assert cli.main(["embed", "tabular", str(parts), "--encoder-dir", str(run / "encoder"), "--output",
                     str(tmp_path / "e.parquet"), "--no-progress", "--num-workers", "0"]) == 0
    ids = pd.read_parquet(tmp_path / "e.parquet")["id"].tolist()
    assert ids == [f"part-0.parquet:{i}" for i in range(50)] + [f"part-1.parquet:{i}" for i in range(40)]


def test_one_line_errors_for_a_table_that_cannot_train(tmp_path, capsys):
    (tmp_path / "notes.json").write_text("{}")
    assert _pretrain(tmp_path / "notes.json", tmp_path / "a") == 2
    assert "not a table" in capsys.readouterr().err
    pd.DataFrame({"x": [1, 1, 1], "y": ["", "", ""]}).to_csv(tmp_path / "flat.csv", index=False)
    assert _pretrain(tmp_path / "flat.csv", tmp_path / "b") == 2
    assert "no usable feature column" in capsys.readouterr().err
    _table(40).to_csv(tmp_path / "t.csv", index=False)
    assert _pretrain(tmp_path / "t.csv", tmp_path / "c", "--target", "score") == 2
    assert "the table has no column 'score'" in capsys.readouterr().err


def test_resume_on_a_table_matches_the_uninterrupted_run(tmp_path):
    _write_messy_csv(tmp_path / "t.csv", n=150)  # 150 good rows and 2 bad, batches of 32: 4 steps an epoch
    flags = ("--max-steps", "6", "--checkpoint-every", "1", "--seed", "3", "--method", "vime",
             "--max-bad-fraction", "0.05")
    assert _pretrain(tmp_path / "t.csv", tmp_path / "straight", *flags) == 0
    cut = tmp_path / "cut"  # cut after step 5: mid-epoch (4 steps an epoch)
    cut_after(tmp_path / "straight", cut, step=5, last=6)
    assert _pretrain(tmp_path / "t.csv", cut, *flags, "--resume", "auto") == 0
    straight, resumed = (checkpoint_weights(run, 6) for run in (tmp_path / "straight", cut))
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


MEMORY_SCRIPT = textwrap.dedent("""
    import sys, json
    from pathlib import Path
    import numpy as np, pandas as pd, torch
    from selfsup.tabular import TablePreprocessor
    from selfsup.tabular.own_data import TabularOwnData
    path, how = Path(sys.argv[1]), sys.argv[2]
    def peak_kib():  # VmHWM: this process image's peak (ru_maxrss keeps the forking parent's across exec)
        return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
    TablePreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))  # warm the libraries up
    before = peak_kib()
    rows = 0
    if how == "stream":
        domain = TabularOwnData()
        options = {**domain.data_options, "fit_rows": 5000}
        source, _, _ = domain.open(path, options, cache=path.parent / "run" / "index.npz", seed=0,
                                   replace_bad=True, progress=False)
        loader = torch.utils.data.DataLoader(source, batch_size=256, shuffle=True, collate_fn=source.collate)
        rows = sum(len(batch["index"]) for batch in loader)
    else:
        rows = len(TablePreprocessor().fit_transform(pd.read_csv(path)))  # the table loaded whole, as in memory
    after = peak_kib()
    print(json.dumps({"rows": rows, "grew_kib": after - before}))
""")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmHWM from /proc")
def test_a_table_of_200k_rows_trains_in_memory_bounded_by_the_batch(tmp_path):
    """The streamed preparation and an epoch of shuffled batches grow the peak RSS by well under what loading the
    same CSV whole (and preprocessing it) does: half of it here; the benchmark measures 100 k to 10 M rows."""
    rng = np.random.default_rng(0)
    n = 200_000
    frame = pd.DataFrame({f"x{j}": rng.normal(size=n).round(4) for j in range(8)})
    for j in range(4):
        frame[f"c{j}"] = np.array([f"level-{k}" for k in range(40)])[rng.integers(0, 40, n)]
    frame.to_csv(tmp_path / "big.csv", index=False)
    grew = {}
    for how in ("stream", "whole"):
        out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path / "big.csv"), how],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["rows"] == n
        grew[how] = result["grew_kib"]
    assert grew["stream"] < 0.5 * grew["whole"], grew


def test_the_scarf_recipe_trains_as_published_through_the_command(tmp_path):
    """``--recipe scarf-bahri2022``: its values reach config.yaml and the model (4 linear layers of 256 in the
    encoder, a 256-wide head); ``--epochs`` overrides the recipe's 1000."""
    import yaml

    from selfsup.core.recipes import load_recipe

    _table(300).to_csv(tmp_path / "t.csv", index=False)
    run = tmp_path / "run"
    assert cli.main(["pretrain", "tabular", str(tmp_path / "t.csv"), "--output", str(run), "--recipe",
                     "scarf-bahri2022", "--epochs", "1", "--no-progress", "--num-workers", "0"]) == 0
    recipe, config = load_recipe("tabular", "scarf-bahri2022"), yaml.safe_load((run / "config.yaml").read_text())
    for key in ("method_args", "encoder_args", "batch_size", "lr", "optimizer", "weight_decay", "min_lr_ratio"):
        assert config[key] == recipe[key], key
    assert config["epochs"] == 1 and recipe["epochs"] == 1000
    weights = load_file(run / "encoder" / "model.safetensors")
    linear = sorted(k for k, v in weights.items() if k.endswith(".weight") and v.ndim == 2 and "embeddings" not in k)
    assert [weights[k].shape[0] for k in linear] == [256, 256, 256, 256]
