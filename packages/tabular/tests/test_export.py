"""A table encoder of a ``selfsup pretrain tabular`` run exported as a scikit-learn transformer (skops, trusting one
class, no pickle) that gives ``selfsup embed tabular``'s embeddings from the table's own columns; ONNX and hf take
both table encoders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from selfsup.core import cli
from selfsup.core.export import export_encoder
from selfsup.core.hub import load_pretrained

sio = pytest.importorskip("skops.io")


def _table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    group = rng.integers(0, 3, n)
    return pd.DataFrame({"id": [f"u{i}" for i in range(n)], "height": rng.normal(170 + 5 * group, 8).round(1),
                         "colour": np.array(["red", "green", "blue"])[group], "member": rng.random(n) < 0.5,
                         "joined": pd.date_range("2021-03-01", periods=n, freq="13h").strftime("%Y-%m-%d"),
                         "visits": rng.poisson(2 + group)})


@pytest.mark.parametrize("encoder", ["tabular_mlp", "tabular_ft_transformer"])
def test_the_run_becomes_a_skops_transformer_equal_to_embed(tmp_path, capsys, encoder):
    _table(120).to_csv(tmp_path / "t.csv", index=False)
    run = tmp_path / "run"
    extra = ["--encoder-args", '{"dim": 16, "depth": 1}'] if encoder == "tabular_ft_transformer" else []
    assert cli.main(["pretrain", "tabular", str(tmp_path / "t.csv"), "--output", str(run), "--encoder", encoder,
                     *extra, "--epochs", "1", "--batch-size", "32", "--num-workers", "0", "--no-progress",
                     "--id-column", "id", "--export", "sklearn,onnx"]) == 0
    assert "sklearn: " in capsys.readouterr().out
    assert sio.get_untrusted_types(file=run / "exports" / "encoder.skops") == \
        ["selfsup.tabular.sklearn_api.SelfSupervisedEncoder"]
    model = sio.load(run / "exports" / "encoder.skops",
                     trusted=["selfsup.tabular.sklearn_api.SelfSupervisedEncoder"])
    assert cli.main(["embed", "tabular", str(tmp_path / "t.csv"), "--encoder-dir", str(run / "encoder"),
                     "--output", str(tmp_path / "e.parquet"), "--no-progress", "--num-workers", "0"]) == 0
    embedded = pd.read_parquet(tmp_path / "e.parquet")
    table = pd.read_csv(tmp_path / "t.csv")
    ours = model.transform(table.drop(columns=["id"]))  # the table's own columns, as a user holds them
    np.testing.assert_allclose(ours, np.stack(embedded["embedding"]), atol=1e-4)
    assert ours.shape == (120, load_pretrained(run / "encoder").out_dim)


def test_a_fitted_selfsupervised_encoder_round_trips_through_skops(tmp_path):
    from selfsup.tabular import SelfSupervisedEncoder

    frame = _table(80).drop(columns=["id", "joined"])
    fitted = SelfSupervisedEncoder(epochs=1, batch_size=32, out_dim=8).fit(frame)
    sio.dump(fitted, tmp_path / "m.skops")
    loaded = sio.load(tmp_path / "m.skops", trusted=["selfsup.tabular.sklearn_api.SelfSupervisedEncoder"])
    np.testing.assert_array_equal(loaded.transform(frame), fitted.transform(frame))


def test_onnx_takes_the_two_prepared_tensors(tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from selfsup.core.registry import create_encoder
    from selfsup.tabular.export import example_tables

    encoder = create_encoder("tabular_mlp", num_numeric=5, cardinalities=[4, 3]).eval()
    (done,) = export_encoder(encoder, ["onnx"], tmp_path / "t.onnx")
    assert '"numeric": numeric, "categorical": categorical' in done.snippet
    numeric, categorical = example_tables(encoder, 7)
    session = ort.InferenceSession(str(tmp_path / "t.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"numeric": numeric.numpy(), "categorical": categorical.numpy()})[0]
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(got), encoder(numeric, categorical), rtol=1e-5, atol=1e-5)
