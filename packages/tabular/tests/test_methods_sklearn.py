"""Tabular methods train, the scikit-learn transformer works in a Pipeline and passes estimator checks."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from selfsup.core import registry
from selfsup.tabular import SelfSupervisedEncoder, TablePreprocessor, build_encoder, build_method, load_embedded


def _mixed_frame(n=80, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.exponential(size=n),
                         "c": rng.choice(["x", "y", "z"], size=n), "d": rng.choice(["u", "v"], size=n)})


@pytest.mark.parametrize(("method", "encoder"), [("scarf", "mlp"), ("vime", "mlp"), ("subtab", "mlp"),
                                                 ("dae", "mlp"), ("tjepa", "ft_transformer"),
                                                 ("scarf", "ft_transformer")])
def test_each_method_lowers_its_loss(method, encoder):
    frame = _mixed_frame()
    prep = TablePreprocessor().fit(frame)
    table = prep.transform(frame)
    torch.manual_seed(0)
    model = build_method(method, build_encoder(encoder, prep), prep)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for _ in range(30):
        torch.manual_seed(1)  # the same corruption every step: the loss must go down
        loss = model(table)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if hasattr(model, "update_teacher"):
            model.update_teacher(0.99)
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses


def test_tjepa_needs_the_feature_tokenizer():
    prep = TablePreprocessor().fit(_mixed_frame())
    with pytest.raises(TypeError, match="ft_transformer"):
        build_method("tjepa", build_encoder("mlp", prep), prep)
    with pytest.raises(ValueError, match="unknown tabular method"):
        build_method("byol", build_encoder("mlp", prep), prep)


def test_pipeline_pandas_output_and_ssl_features_classify():
    x, y = load_embedded()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    encoder = SelfSupervisedEncoder(method="scarf", epochs=5, out_dim=32).set_output(transform="pandas")
    features = encoder.fit_transform(x_train)
    assert isinstance(features, pd.DataFrame) and list(features.columns) == [f"ssl{i}" for i in range(32)]
    assert list(encoder.get_feature_names_out()) == list(features.columns)
    pipe = make_pipeline(SelfSupervisedEncoder(method="scarf", epochs=5, out_dim=32),
                         LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    assert pipe.score(x_test, y_test) > 0.9
    again = SelfSupervisedEncoder(method="scarf", epochs=5, out_dim=32).fit(x_train).transform(x_test)
    np.testing.assert_allclose(again, encoder.transform(x_test).to_numpy())  # same seed, same features


def test_mixed_types_and_wrong_columns():
    frame = _mixed_frame()
    model = SelfSupervisedEncoder(method="vime", epochs=1, out_dim=8).fit(frame)
    assert model.transform(frame).shape == (80, 8)
    with pytest.raises(ValueError, match="n_samples = 1"):
        SelfSupervisedEncoder(epochs=1).fit(frame.iloc[:1])
    with pytest.raises(ValueError, match="feature names"):
        model.transform(frame.rename(columns={"a": "zz"}))


def test_plugin_registers_tabular_entries():
    assert {"tabular_mlp", "tabular_ft_transformer"} <= set(registry.available("encoder"))
    assert {"tabular_scarf", "tabular_tjepa"} <= set(registry.available("method"))
    assert "tabular" in registry.available("bench")


@parametrize_with_checks([SelfSupervisedEncoder(epochs=1, out_dim=4, batch_size=32)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
