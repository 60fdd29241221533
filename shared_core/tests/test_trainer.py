"""Trainer behaviour: accumulation, schedules, optimizers, non-finite guard, logs, EMA, config errors."""

import json
import math

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from selfsup.core import registry
from selfsup.core.data import DigitsViews
from selfsup.core.eval import knn_accuracy, linear_probe
from selfsup.core.train import (
    LARS,
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    build_optimizer,
    cosine_momentum,
    latest_checkpoint,
    load_checkpoint,
    parameter_groups,
    warmup_cosine,
)


class Regression(nn.Module):
    """A linear model with a mean-squared loss: batch means make accumulation exactly equal to a big batch."""

    def __init__(self, nan_at_call: int | None = None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(6, 1)
        self.calls, self.nan_at_call = 0, nan_at_call

    def forward(self, batch):
        x, y = batch
        self.calls += 1
        loss = ((self.linear(x).squeeze(1) - y) ** 2).mean()
        if self.calls == self.nan_at_call:
            loss = loss * float("nan")
        return {"loss": loss, "mean_prediction": self.linear(x).mean()}


def _regression_data(n=64):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(n, 6, generator=gen)
    return TensorDataset(x, x @ torch.arange(6.0) + 0.1 * torch.randn(n, generator=gen))


def _config(tmp_path, **kw):
    base = dict(output_dir=str(tmp_path), epochs=3, batch_size=16, lr=0.05, optimizer="sgd", weight_decay=0.0,
                progress=False, log_every=1)
    return TrainConfig(**{**base, **kw})


def test_gradient_accumulation_equals_the_large_batch(tmp_path):
    big = Regression()
    Trainer(big, _regression_data(), _config(tmp_path / "a", batch_size=16)).fit()
    small = Regression()
    Trainer(small, _regression_data(), _config(tmp_path / "b", batch_size=8, grad_accum=2)).fit()
    for a, b in zip(big.parameters(), small.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_logs_hold_loss_lr_throughput_time_and_memory(tmp_path):
    summary = Trainer(Regression(), _regression_data(), _config(tmp_path, warmup_steps=2)).fit()
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 13))
    for key in ("loss", "lr", "samples_per_s", "step_time_s", "peak_memory_mib", "mean_prediction", "epoch"):
        assert key in records[-1]
    assert records[0]["lr"] == pytest.approx(0.05 * warmup_cosine(1, 12, 2))
    assert records[-1]["loss"] < records[0]["loss"]
    assert summary["steps"] == 12 and summary["samples_per_s"] > 0
    assert summary["checkpoint"].endswith("checkpoint-00000012")


def test_non_finite_loss_stops_with_step_and_batch_and_no_poisoned_checkpoint(tmp_path):
    method = Regression(nan_at_call=7)  # 4 steps per epoch: the 7th batch is step 7, epoch 1, batch 2
    config = _config(tmp_path, checkpoint_every=2)
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss \(nan\) at step 7 \(epoch 1, batch 2 "):
        Trainer(method, _regression_data(), config).fit()
    newest = latest_checkpoint(tmp_path)
    assert newest.name == "checkpoint-00000006"
    weights, state = load_checkpoint(newest)
    assert all(torch.isfinite(w).all() for w in weights.values()) and state["step"] == 6


def test_non_finite_loss_can_be_skipped_and_counted(tmp_path):
    method = Regression(nan_at_call=3)
    summary = Trainer(method, _regression_data(), _config(tmp_path, on_nonfinite="skip")).fit()
    assert summary["nonfinite_skipped"] == 1 and summary["steps"] == 12
    assert all(torch.isfinite(p).all() for p in method.parameters())


def test_warmup_cosine_and_momentum_schedules():
    assert warmup_cosine(0, 100, 10) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine(55, 100, 10) == pytest.approx(0.5)
    assert warmup_cosine(100, 100, 10, min_ratio=0.1) == pytest.approx(0.1)
    assert cosine_momentum(0, 100, 0.996) == pytest.approx(0.996)
    assert cosine_momentum(50, 100, 0.996) == pytest.approx(0.998)
    assert cosine_momentum(100, 100, 0.996) == pytest.approx(1.0)


def test_parameter_groups_leave_norms_and_biases_undecayed():
    model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2))
    decay, no_decay = parameter_groups(model, 0.05)
    assert {p.ndim for p in decay["params"]} == {2} and len(decay["params"]) == 2
    assert {p.ndim for p in no_decay["params"]} == {1} and no_decay["weight_decay"] == 0.0
    adamw = build_optimizer(model, "adamw", 1e-3, 0.05)
    assert [g["weight_decay"] for g in adamw.param_groups] == [0.05, 0.0]


def test_adam_puts_weight_decay_in_the_gradient_and_adamw_decouples_it():
    # zero gradient: Adam's L2 term w * wd becomes the gradient (normalised step of size lr);
    # AdamW shrinks the weight by lr * wd and takes no gradient step
    steps = {}
    for name in ("adam", "adamw"):
        weight = nn.Parameter(torch.full((1, 3), 2.0))
        opt = build_optimizer(nn.ParameterList([weight]), name, 0.1, 0.5)
        weight.grad = torch.zeros_like(weight)
        opt.step()
        steps[name] = weight.detach()
    torch.testing.assert_close(steps["adam"], torch.full((1, 3), 2.0 - 0.1), atol=1e-6, rtol=0)
    torch.testing.assert_close(steps["adamw"], torch.full((1, 3), 2.0 * (1 - 0.1 * 0.5)), atol=1e-6, rtol=0)


def test_lars_scales_updates_by_the_trust_ratio():
    weight = nn.Parameter(torch.full((4,), 2.0))
    bias = nn.Parameter(torch.full((4,), 2.0))
    opt = LARS([{"params": [weight], "lars_exclude": False}, {"params": [bias], "lars_exclude": True}],
               lr=1.0, momentum=0.0, trust_coefficient=0.01)
    weight.grad, bias.grad = torch.ones(4), torch.ones(4)
    opt.step()
    # ||w|| = 4, ||g|| = 2: trust = 0.01 * 4 / 2 = 0.02 for the weight; the bias takes the plain step
    torch.testing.assert_close(weight.detach(), torch.full((4,), 2.0 - 0.02))
    torch.testing.assert_close(bias.detach(), torch.full((4,), 1.0))


def test_ema_teacher_moves_towards_the_student(tmp_path):
    train = DigitsViews("train")
    torch.manual_seed(0)
    method = registry.create_method("byol", registry.create_encoder("mlp", in_dim=64))
    before = [p.clone() for p in method.teacher.parameters()]
    Trainer(method, train, _config(tmp_path, epochs=1, batch_size=128, optimizer="adamw", lr=1e-3,
                                   ema_momentum=0.9), collate_fn=train.collate).fit()
    moved = [not torch.equal(b, a) for b, a in zip(before, method.teacher.parameters(), strict=True)]
    assert all(moved)
    student = dict(method.encoder.named_parameters())
    assert any(not torch.equal(t, student[n]) for n, t in method.teacher["encoder"].named_parameters())


def test_bf16_autocast_on_cpu_trains(tmp_path):
    summary = Trainer(Regression(), _regression_data(), _config(tmp_path, amp="bf16", epochs=1)).fit()
    assert math.isfinite(summary["final_loss"])


def test_ssl_beats_a_random_encoder_on_digits(tmp_path):
    train, test = DigitsViews("train"), DigitsViews("test", augment=False)
    torch.manual_seed(0)
    random_encoder = registry.create_encoder("mlp", in_dim=64)
    torch.manual_seed(0)
    encoder = registry.create_encoder("mlp", in_dim=64)
    method = registry.create_method("simclr", encoder, temperature=0.2)
    Trainer(method, train, _config(tmp_path, epochs=8, batch_size=256, optimizer="adamw", lr=2e-3,
                                   weight_decay=1e-4, warmup_steps=4), collate_fn=train.collate).fit()

    def scores(enc):
        enc.eval()
        with torch.no_grad():
            a, b = enc(train.images), enc(test.images)
        return (knn_accuracy(a, train.labels, b, test.labels),
                linear_probe(a, train.labels, b, test.labels).accuracy)

    ssl_knn, ssl_probe = scores(encoder)
    random_knn, random_probe = scores(random_encoder)
    assert ssl_knn > random_knn + 0.01 and ssl_probe > random_probe + 0.005, (ssl_knn, random_knn, ssl_probe,
                                                                              random_probe)


class _Empty(Dataset):
    def __len__(self):
        return 0


def test_bad_configuration_fails_at_start_with_what_to_change(tmp_path):
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        TrainConfig(output_dir=str(tmp_path), batch_size=0)
    with pytest.raises(ValueError, match="optimizer must be"):
        TrainConfig(output_dir=str(tmp_path), optimizer="adagrad")
    with pytest.raises(ValueError, match=r"unknown TrainConfig fields \['bacth_size'\]"):
        TrainConfig.from_dict({"output_dir": "x", "bacth_size": 4})
    with pytest.raises(ValueError, match=r"batch_size=128 is larger than the dataset \(64 samples\).*<= 64"):
        Trainer(Regression(), _regression_data(), _config(tmp_path, batch_size=128))
    with pytest.raises(ValueError, match="lower grad_accum"):
        Trainer(Regression(), _regression_data(), _config(tmp_path, batch_size=32, grad_accum=4))
    with pytest.raises(ValueError, match="dataset is empty"):
        Trainer(Regression(), _Empty(), _config(tmp_path))
    with pytest.raises(TypeError, match="must return a dict with a 'loss'"):
        class NoLoss(Regression):
            def forward(self, batch):
                return super().forward(batch)["loss"]
        Trainer(NoLoss(), _regression_data(), _config(tmp_path)).fit()
