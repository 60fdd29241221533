"""Optional dependencies: a feature whose extra is missing stops with one line naming the extra."""

from __future__ import annotations

import sys

import pytest

from selfsup.core.cli import main
from selfsup.core.extras import pyplot, require
from selfsup.core.train.run_logger import RunLogger


def test_a_missing_module_names_its_extra_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(ImportError) as caught:
        pyplot("selfsup-vision")
    message = str(caught.value)
    assert "\n" not in message and "pip install 'selfsup-vision[bench]'" in message and "matplotlib" in message
    with pytest.raises(ImportError, match=r"pip install 'selfsup-medical\[demo\]'"):
        require("no_such_module_xyz", extra="demo", package="selfsup-medical", purpose="the demo subjects")


def test_tensorboard_scalars_are_written_when_installed(tmp_path):
    pytest.importorskip("tensorboard")
    logger = RunLogger(tmp_path, enabled=True, tensorboard=True)
    logger.log({"step": 1, "loss": 0.5})
    logger.close()
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_tensorboard_flag_without_tensorboard_is_one_line_before_the_run(tmp_path, monkeypatch, capsys):
    pytest.importorskip("selfsup.tabular")
    import pandas as pd

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    table = tmp_path / "t.csv"
    pd.DataFrame({"a": range(40), "b": [i % 3 for i in range(40)]}).to_csv(table, index=False)
    code = main(["pretrain", "tabular", str(table), "--output", str(tmp_path / "run"), "--tensorboard"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "pip install 'selfsup-core[tensorboard]'" in err
    assert not (tmp_path / "run").exists()  # refused before the run folder was claimed
