"""Kill a real training process with SIGKILL, resume it, and get the same weights bit for bit."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

SCRIPT = Path(__file__).with_name("train_script.py")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "final.safetensors")


def _assert_bitwise_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"


@pytest.fixture(scope="module")
def straight_weights(tmp_path_factory) -> dict[str, torch.Tensor]:
    """Final weights of the uninterrupted run (same checkpoint cadence)."""
    folder = tmp_path_factory.mktemp("straight")
    straight = _run("--output", str(folder))
    assert straight.returncode == 0, straight.stderr
    return _weights(folder)


def test_sigkill_mid_epoch_then_resume_matches_straight_run(tmp_path, straight_weights):

    killed = _run("--output", str(tmp_path / "killed"), "--kill-at", "10")
    assert killed.returncode == -9, killed.stderr  # SIGKILL: no cleanup ran
    assert not (tmp_path / "killed" / "final.safetensors").exists()
    assert (tmp_path / "killed" / "latest").read_text() == "checkpoint-00000009"

    resumed = _run("--output", str(tmp_path / "killed"), "--resume", "auto")
    assert resumed.returncode == 0, resumed.stderr
    _assert_bitwise_equal(straight_weights, _weights(tmp_path / "killed"))


def test_sigkill_while_writing_a_checkpoint_leaves_the_previous_one(tmp_path, straight_weights):

    killed = _run("--output", str(tmp_path / "killed"), "--kill-in-save", "9")
    assert killed.returncode == -9, killed.stderr
    run_dir = tmp_path / "killed"
    assert (run_dir / "latest").read_text() == "checkpoint-00000006"
    assert not (run_dir / "checkpoint-00000009").exists()
    assert list(run_dir.glob(".tmp-checkpoint-*")), "the half-written checkpoint should stay a temporary folder"

    resumed = _run("--output", str(run_dir), "--resume", "auto")
    assert resumed.returncode == 0, resumed.stderr
    _assert_bitwise_equal(straight_weights, _weights(run_dir))
