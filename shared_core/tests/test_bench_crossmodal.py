"""The cross-modal suite's machinery on two toy domains (core only), and ``selfsup bench all``'s plan and report."""

import json

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from selfsup.core import registry
from selfsup.core.bench import all_suites
from selfsup.core.bench.crossmodal import _with_trunk, markdown, parse_data_roots, run_seed, summarise
from selfsup.core.bench.transfer import JointMethod, PairedDataset, TransferTask, pretrain, share_trunk
from selfsup.core.objectives import masked_reconstruction
from selfsup.core.trunk import MAEDecoder, TokenBatch, Trunk, mae_predict, random_mask


class Tokenizer(nn.Module):
    def __init__(self, modality: str, in_dim: int, tokens: int, dim: int) -> None:
        super().__init__()
        self.modality, self.in_dim, self.tokens = modality, in_dim, tokens
        self.proj = nn.Linear(in_dim, dim)
        self.pos = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)

    def forward(self, x: torch.Tensor) -> TokenBatch:
        return TokenBatch(self.proj(x.view(x.shape[0], self.tokens, self.in_dim)) + self.pos, modality=self.modality)


class Encoder(nn.Module):
    def __init__(self, modality: str, in_dim: int, tokens: int, dim: int = 16, registers: int = 0) -> None:
        super().__init__()
        self.tokenizer = Tokenizer(modality, in_dim, tokens, dim)
        self.trunk = Trunk(dim=dim, depth=2, heads=2, num_registers=registers)

    def forward(self, batch) -> torch.Tensor:
        x = batch[0] if isinstance(batch, list | tuple) else batch
        return self.trunk(self.tokenizer(x)).mean_pool()


class MAE(nn.Module):
    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder
        tok = encoder.tokenizer
        self.decoder = MAEDecoder(16, tok.in_dim, 16, 1, 2)
        self.register_buffer("pos", torch.zeros(1, tok.tokens, 16))

    def forward(self, batch) -> dict:
        x = batch[0]
        tokens = self.encoder.tokenizer(x)
        mask = random_mask(x.shape[0], tokens.tokens.shape[1], 0.5)
        pred = mae_predict(tokens, mask, self.encoder.trunk, self.decoder, self.pos)
        return {"loss": masked_reconstruction(pred, x.view(x.shape[0], -1, self.encoder.tokenizer.in_dim), mask)}


def toy_task(domain: str, in_dim: int, tokens: int, registers: int = 0, epochs: int = 1) -> TransferTask:
    """Two classes that differ in the mean of the inputs; probe score = nearest-class-mean accuracy."""
    generator = torch.Generator().manual_seed(hash(domain) % 1000)
    labels = torch.arange(64) % 2
    x = torch.randn(64, tokens * in_dim, generator=generator) + labels[:, None] * 1.5

    def evaluate(encoder, device):
        with torch.no_grad():
            f = encoder.eval()(x)
        centres = torch.stack([f[labels == c].mean(0) for c in (0, 1)])
        return {"acc": float((torch.cdist(f, centres).argmin(1) == labels).float().mean()), "norm": float(f.norm())}

    return TransferTask(domain=domain, data=f"toy {domain}", make_encoder=lambda: Encoder(domain, in_dim, tokens,
                        registers=registers), make_method=MAE, train_set=TensorDataset(x), evaluate=evaluate,
                        metrics=("acc",), epochs=epochs, batch_size=16, lr=1e-2)


def test_paired_dataset_cycles_the_shorter_one():
    pairs = PairedDataset(TensorDataset(torch.arange(5)), TensorDataset(torch.arange(2)))
    assert len(pairs) == 5
    assert [(int(a[0]), int(b[0])) for a, b in (pairs[i] for i in range(5))] == [(0, 0), (1, 1), (2, 0), (3, 1), (4, 0)]
    with pytest.raises(ValueError, match="non-empty"):
        PairedDataset(TensorDataset(torch.arange(0)), TensorDataset(torch.arange(2)))


def test_shared_trunk_gets_both_modality_embeddings_and_joint_training_moves_them():
    image, audio = Encoder("image", 4, 6), Encoder("audio", 3, 5, registers=1)
    trunk = share_trunk([image, audio])
    assert image.trunk is audio.trunk is trunk and set(trunk.modality_embed) == {"image", "audio"}
    task = toy_task("audio", 3, 5)
    method = JointMethod({"image": MAE(image), "audio": MAE(audio)})
    assert len(list(method.parameters())) == len({id(p) for p in method.parameters()})
    before = {k: v.clone() for k, v in trunk.state_dict().items()}
    stats = pretrain(task, method, dataset=PairedDataset(toy_task("image", 4, 6).train_set, task.train_set),
                     max_steps=3, device=torch.device("cpu"), progress=False)
    assert stats["steps"] == 3
    for name in ("modality_embed.image", "modality_embed.audio", "blocks.0.attn.qkv.weight"):
        assert not torch.equal(before[name], trunk.state_dict()[name]), name
    with pytest.raises(ValueError, match="one part per method"):
        method([torch.zeros(2, 24)])


def test_trunk_transfer_copies_weights_and_names_a_size_mismatch():
    source, target = Encoder("image", 4, 6), Encoder("audio", 3, 5, registers=1)
    state = {"config": source.trunk.config.shape(), "state": source.trunk.state_dict()}
    register_before = target.trunk.reg_token.clone()
    _with_trunk(target, state)
    torch.testing.assert_close(target.trunk.blocks[1].mlp.fc2.weight, source.trunk.blocks[1].mlp.fc2.weight)
    torch.testing.assert_close(target.trunk.reg_token, register_before)  # only the target has a register token
    with pytest.raises(ValueError, match="same trunk size"):
        _with_trunk(Encoder("audio", 3, 5, dim=24), state)


def test_run_seed_rows_and_summary_over_seeds():
    source, target = toy_task("image", 4, 6), toy_task("audio", 3, 5, registers=1)
    per_seed = [run_seed(source, [target], seed, torch.device("cpu"), False, True) for seed in (0, 1)]
    assert [(r["domain"], r["init"], r["training"]) for r in per_seed[0]] == [
        ("image", "random init", "none"), ("image", "random init", "image MAE (in-domain)"),
        ("audio", "random init", "none"), ("audio", "image MAE trunk", "none (frozen transfer)"),
        ("audio", "random init", "audio MAE (in-domain)"), ("audio", "image MAE trunk", "audio MAE (in-domain)"),
        ("audio", "random init", "joint image+audio MAE"), ("image", "random init", "joint image+audio MAE")]
    steps = [r["steps"] for r in per_seed[0]]
    assert steps == [0, 4, 0, 0, 4, 4, 4, 4]  # 1 epoch of 64 samples in batches of 16
    rows = summarise(per_seed, {"image": ("acc",), "audio": ("acc",)})
    assert rows[1]["acc_per_seed"] == [round(per_seed[0][1]["acc"], 4), round(per_seed[1][1]["acc"], 4)]
    assert all(0.0 <= r["acc"] <= 1.0 for r in rows)
    table = markdown(rows, {"source": "image", "preset": "smoke", "device": "cpu", "seeds": 2, "seed": 0,
                            "data": {"image": "toy", "audio": "toy"}, "metrics": {"image": ("acc",),
                                                                                 "audio": ("acc",)}})
    assert "### audio" in table and "| image MAE trunk | none (frozen transfer) | 0 | - |" in table


def test_data_roots_need_domain_and_an_existing_folder(tmp_path):
    assert parse_data_roots([f"audio={tmp_path}"]) == {"audio": tmp_path}
    with pytest.raises(ValueError, match="DOMAIN=DIR"):
        parse_data_roots([str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="not a folder"):
        parse_data_roots([f"audio={tmp_path / 'missing'}"])


@pytest.fixture
def fake_suites(monkeypatch):
    """Two fake domain suites in the registry: ``fake_ok`` writes a table and a plot, ``fake_bad`` fails."""
    calls = []

    def ok(argv):
        calls.append(argv)
        output = __import__("pathlib").Path(argv[argv.index("--output") + 1])
        output.mkdir(parents=True)
        (output / "results.md").write_text("| method | acc |\n|---|---|\n| fake | 0.5 |\n")
        (output / "results.png").write_bytes(b"png")
        return [{"method": "fake"}]

    def bad(argv):
        raise RuntimeError("no data here")

    monkeypatch.setattr(registry, "_PLUGINS_LOADED", True)  # only the fakes: no plugin imports
    monkeypatch.setitem(registry._REGISTRY, "bench", {"fake_ok": ok, "fake_bad": bad, "all": all_suites.main})
    monkeypatch.setitem(registry._REGISTRY, "transfer", {})
    return calls


def test_bench_all_runs_every_suite_and_reports_failures(fake_suites, tmp_path):
    with pytest.raises(SystemExit, match="fake_bad"):
        registry.get("bench", "all")(["--output", str(tmp_path), "--extra", "fake_ok=--methods a,b",
                                      "--data-root", f"fake_ok={tmp_path}"])
    assert fake_suites == [["--preset", "default", "--output", str(tmp_path / "fake_ok"), "--data-root", str(tmp_path),
                            "--methods", "a,b"]]
    report = (tmp_path / "report.md").read_text()
    assert "| fake_ok | ok |" in report and "| fake_bad | failed |" in report
    assert "| fake | 0.5 |" in report and "![fake_ok](fake_ok/results.png)" in report and "no data here" in report
    assert [r["status"] for r in json.loads((tmp_path / "runs.json").read_text())] == ["failed", "ok"]


def test_bench_all_rejects_unknown_suites(fake_suites, tmp_path):
    with pytest.raises(ValueError, match="unknown suites"):
        all_suites.main(["--suites", "nope", "--output", str(tmp_path)])
    with pytest.raises(ValueError, match="not in this run"):
        all_suites.main(["--suites", "fake_ok", "--data-root", f"fake_bad={tmp_path}", "--output", str(tmp_path)])
