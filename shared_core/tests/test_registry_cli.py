"""Registry, plugins through the selfsup.plugins entry-point group, and the selfsup command."""

import json

import pytest
import torch
from torch import nn

from selfsup.core import cli, registry


def test_unknown_names_suggest_the_closest_one():
    with pytest.raises(ValueError, match=r"unknown encoder 'mpl'\. Did you mean 'mlp'\?"):
        registry.create_encoder("mpl", in_dim=4)
    with pytest.raises(ValueError, match=r"unknown method 'simclrr'.*simclr"):
        registry.get("method", "simclrr")


def test_a_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="already registered"):
        registry.register_encoder("mlp", lambda **kw: nn.Identity())


class _EntryPoint:
    name = "toy"

    @staticmethod
    def load():
        def register():
            registry.register_encoder("toy_linear", lambda dim=3: nn.Linear(dim, dim))
        return register


def test_plugins_register_through_entry_points(monkeypatch, capsys):
    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)
    monkeypatch.setattr(registry, "entry_points", lambda group: [_EntryPoint()] if group == "selfsup.plugins" else [])
    monkeypatch.setitem(registry._REGISTRY, "encoder", dict(registry._REGISTRY["encoder"]))
    assert "toy_linear" in registry.available("encoder")
    assert isinstance(registry.create_encoder("toy_linear", dim=5), nn.Linear)
    assert cli.main(["list"]) == 0
    printed = capsys.readouterr().out
    for name in ("toy_linear", "mlp", "simclr", "dino", "digits", "core"):
        assert name in printed


def test_pretrain_then_eval_from_the_command_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["pretrain", "--method", "simclr", "--encoder", "mlp", "--encoder-args", '{"in_dim": 64}',
                     "--dataset", "digits", "--max-steps", "6", "--batch-size", "128", "--output", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 6 and (run / "encoder" / "model.safetensors").is_file()
    # resume from the saved run continues to the new cap
    assert cli.main(["pretrain", "--method", "simclr", "--encoder", "mlp", "--encoder-args", '{"in_dim": 64}',
                     "--dataset", "digits", "--max-steps", "9", "--batch-size", "128", "--output", str(run),
                     "--resume", "auto"]) == 0
    assert json.loads((run / "summary.json").read_text())["steps"] == 9


def test_eval_prints_knn_probe_and_rankme(tmp_path, capsys):
    from selfsup.core.hub import save_pretrained

    torch.manual_seed(0)
    save_pretrained(registry.create_encoder("mlp", in_dim=64), tmp_path / "enc")
    assert cli.main(["eval", "--encoder-dir", str(tmp_path / "enc"), "--dataset", "digits"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out[out.index("{"):])
    assert 0.5 < result["knn_acc"] <= 1 and 0.5 < result["probe_acc"] <= 1 and result["rankme"] > 1


def test_bench_core_smoke_writes_table_json_and_plot(tmp_path):
    assert cli.main(["bench", "core", "--preset", "smoke", "--methods", "simclr", "--output", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["raw pixels (baseline)", "random init (baseline)", "simclr"]
    for key in ("method", "encoder", "data", "epochs", "wall_s", "samples_per_s", "peak_memory_mib", "rankme",
                "probe_acc", "knn_acc"):
        assert key in rows[-1]
    table = (tmp_path / "results.md").read_text().splitlines()
    assert len(table) == 7 and table[2].endswith("| vs best baseline |") and table[-1].startswith("| simclr |")
    assert (tmp_path / "results.png").stat().st_size > 10_000


def test_bad_configuration_exits_2_with_a_message(tmp_path, capsys):
    assert cli.main(["pretrain", "--method", "simclr", "--encoder", "mlpp", "--dataset", "digits",
                     "--output", str(tmp_path)]) == 2
    assert "Did you mean 'mlp'" in capsys.readouterr().err
    assert cli.main(["pretrain", "--method", "simclr", "--encoder", "mlp", "--encoder-args", '{"in_dim": 64}',
                     "--dataset", "digits", "--batch-size", "4096", "--output", str(tmp_path)]) == 2
    assert "larger than the dataset" in capsys.readouterr().err
    assert cli.main(["bench", "core", "--data-root", str(tmp_path / "missing")]) == 2
    assert "missing is not a folder" in capsys.readouterr().err


def test_help_reaches_the_suite_and_the_domains_and_version_names_the_packages(capsys):
    assert cli.main(["bench", "core", "--help"]) == 0
    assert "--preset" in capsys.readouterr().out  # the suite's own flags, not the generic bench usage
    assert cli.main(["bench"]) == 0 and "installed suites: " in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        cli.main(["pretrain", "--help"])
    assert done.value.code == 0 and "DOMAIN" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and "selfsup-core 0.2.0" in capsys.readouterr().out


def test_pretrain_without_a_domain_or_dataset_says_what_to_give(tmp_path, capsys):
    assert cli.main(["pretrain", "--output", str(tmp_path)]) == 2
    assert "give a DOMAIN and a PATH" in capsys.readouterr().err
