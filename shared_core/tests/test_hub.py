"""save_pretrained / load_pretrained: a trained encoder loads in one line in another program."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from selfsup.core.hub import load_pretrained, save_pretrained
from selfsup.core.registry import create_encoder


def test_encoder_round_trips_through_a_local_folder_in_another_process(tmp_path):
    torch.manual_seed(3)
    encoder = create_encoder("mlp", in_dim=12, hidden_dim=20, out_dim=5, norm="layer")
    for p in encoder.parameters():  # not the initial weights
        p.data.add_(torch.randn_like(p))
    folder = save_pretrained(encoder, tmp_path / "enc")
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    x = torch.randn(7, 12, generator=torch.Generator().manual_seed(0))
    torch.save(x, tmp_path / "x.pt")
    expected = encoder.eval()(x)
    code = ("import torch; from selfsup.core.hub import load_pretrained; "
            f"enc = load_pretrained({str(folder)!r}); "
            f"torch.save(enc(torch.load({str(tmp_path / 'x.pt')!r})), {str(tmp_path / 'y.pt')!r})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"HF_HUB_OFFLINE": "1", **__import__("os").environ})
    assert out.returncode == 0, out.stderr
    torch.testing.assert_close(torch.load(tmp_path / "y.pt"), expected, rtol=0, atol=0)
    assert torch.equal(load_pretrained(folder)(x), expected)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="create_encoder"):
        save_pretrained(nn.Linear(3, 3), tmp_path / "x")
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        load_pretrained(tmp_path / "missing")
