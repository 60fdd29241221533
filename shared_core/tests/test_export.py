"""``selfsup export``: hf (folder + model card, load_pretrained from a folder or a mocked Hub repo id, push), onnx
(ONNX Runtime against PyTorch), the refusal of a wrong export, and ``pretrain --export``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from selfsup.core import cli
from selfsup.core.export import NotExportable, compare, export_encoder
from selfsup.core.hub import load_pretrained, save_pretrained
from selfsup.core.registry import create_encoder


def _trained_mlp():
    torch.manual_seed(1)
    encoder = create_encoder("mlp", in_dim=12, hidden_dim=32, out_dim=8, norm="layer")
    for p in encoder.parameters():  # not the initial weights
        p.data.add_(0.3 * torch.randn_like(p))
    return encoder.eval()


def _fake_run(tmp_path: Path) -> Path:
    """A run folder as ``selfsup pretrain`` leaves it: config.yaml, summary.json, encoder/."""
    run = tmp_path / "run"
    save_pretrained(_trained_mlp(), run / "encoder")
    (run / "config.yaml").write_text("domain: core\nmethod: simclr\nepochs: 3\nbatch_size: 64\nlr: 0.001\nseed: 7\n")
    (run / "summary.json").write_text(json.dumps({"steps": 30, "final_loss": 1.2345, "items": 640,
                                                  "items_skipped": 2, "probe_acc": 0.91}))
    return run


def test_hf_export_writes_a_model_card_from_the_run_and_reloads_equal(tmp_path, capsys):
    run = _fake_run(tmp_path)
    assert cli.main(["export", "--encoder-dir", str(run / "encoder"), "--format", "hf", "--output",
                     str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "max |difference| 0.00e+00" in printed and "load_pretrained" in printed
    card = (tmp_path / "out" / "README.md").read_text()
    for expected in ("library_name: selfsup", "`mlp` encoder", "640 items", "2 unreadable items skipped",
                     "- method: `simclr`", "- lr: `0.001`", "| final_loss | 1.2345 |", "| probe_acc | 0.91 |",
                     "load_pretrained("):
        assert expected in card, expected
    assert "More Information Needed" not in card
    x = torch.randn(5, 12)
    assert torch.equal(load_pretrained(tmp_path / "out")(x), load_pretrained(run / "encoder")(x))


def test_load_pretrained_takes_a_hub_repo_id_through_a_mocked_download(tmp_path, monkeypatch):
    import huggingface_hub

    encoder = _trained_mlp()
    save_pretrained(encoder, tmp_path / "snapshot")
    asked = {}

    def fake_snapshot_download(repo_id, revision=None, allow_patterns=None):
        asked.update(repo_id=repo_id, patterns=allow_patterns)
        return str(tmp_path / "snapshot")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    loaded = load_pretrained("someone/my-encoder")
    x = torch.randn(3, 12)
    assert torch.equal(loaded(x), encoder(x))
    assert asked["repo_id"] == "someone/my-encoder" and "model.safetensors" in asked["patterns"]
    assert not any(p.endswith(".py") or p.endswith(".bin") for p in asked["patterns"])  # no code, no pickles

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(OSError, match="not a local folder and not downloadable"):
        load_pretrained("someone/other")


def test_push_to_hub_uploads_the_checked_folder(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    class FakeApi:
        def create_repo(self, repo_id, private=False, exist_ok=False):
            calls.append(("create", repo_id))
            return f"https://huggingface.co/{repo_id}"

        def upload_folder(self, folder_path, repo_id, allow_patterns=None, commit_message=None):
            calls.append(("upload", repo_id, sorted(p.name for p in Path(folder_path).iterdir())))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    run = _fake_run(tmp_path)
    assert cli.main(["export", "--encoder-dir", str(run / "encoder"), "--format", "hf", "--output",
                     str(tmp_path / "hf"), "--push-to-hub", "me/enc"]) == 0
    assert calls == [("create", "me/enc"), ("upload", "me/enc", ["README.md", "config.json", "model.safetensors"])]
    assert 'load_pretrained("me/enc")' in (tmp_path / "hf" / "README.md").read_text()


def test_onnx_export_runs_in_onnxruntime_like_pytorch(tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    encoder = _trained_mlp()
    (done,) = export_encoder(encoder, ["onnx"], tmp_path / "enc.onnx")
    assert done.max_abs_diff < 1e-5 and "InferenceSession" in done.snippet
    session = ort.InferenceSession(str(tmp_path / "enc.onnx"), providers=["CPUExecutionProvider"])
    x = torch.randn(9, 12)  # another batch size than the export's: the batch axis is dynamic
    torch.testing.assert_close(torch.from_numpy(session.run(None, {"input": x.numpy()})[0]), encoder(x),
                               rtol=1e-5, atol=1e-5)


def test_a_wrong_export_fails_loudly_and_leaves_nothing(tmp_path, monkeypatch):
    import selfsup.core.export.hf as hf

    assert compare(torch.ones(2, 3), torch.ones(2, 3) + 5e-5, "x") == pytest.approx(5e-5, rel=1e-2)  # float32
    with pytest.raises(ValueError, match="differ from the selfsup encoder's by"):
        compare(torch.ones(2, 3), torch.ones(2, 3) + 1e-3, "x")
    with pytest.raises(ValueError, match="output shape"):
        compare(torch.ones(2, 3), torch.ones(2, 4), "x")
    real = hf.load_pretrained

    def tampered(directory):
        encoder = real(directory)
        encoder.net[1].weight.data.add_(0.1 * torch.randn_like(encoder.net[1].weight))  # as a dropped key
        return encoder

    monkeypatch.setattr(hf, "load_pretrained", tampered)
    with pytest.raises(ValueError, match="the export is wrong"):
        export_encoder(_trained_mlp(), ["hf", "onnx"], tmp_path / "out")
    assert not (tmp_path / "out" / "hf").exists()


def test_export_errors_are_one_line(tmp_path, capsys):
    run = _fake_run(tmp_path)
    base = ["export", "--encoder-dir", str(run / "encoder"), "--output", str(tmp_path / "x")]
    assert cli.main([*base, "--format", "tensorflow"]) == 2
    assert cli.main([*base, "--format", "hf"]) == 0
    assert cli.main([*base, "--format", "hf"]) == 2  # exists: refused without --overwrite
    assert cli.main([*base, "--format", "onnx", "--push-to-hub", "me/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "unknown export format 'tensorflow'" in err[0] and "exists" in err[1]
    assert "add hf to --format" in err[2]
    with pytest.raises(NotExportable):
        export_encoder(torch.nn.Linear(2, 2), ["hf"], tmp_path / "y")
