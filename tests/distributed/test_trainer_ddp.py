"""A 2-process gloo run under torchrun reaches the weights of 1 process with the same global batch."""

import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file

SCRIPT = Path(__file__).with_name("ddp_train_script.py")


def test_two_gloo_processes_match_one_process(tmp_path):
    single = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "one")], capture_output=True, text=True,
                            timeout=300)
    assert single.returncode == 0, single.stderr
    multi = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                            str(SCRIPT), str(tmp_path / "two")], capture_output=True, text=True, timeout=300)
    assert multi.returncode == 0, multi.stderr
    assert "steps 12 world 2" in multi.stdout and "steps 12 world 1" in single.stdout
    one, two = load_file(tmp_path / "one" / "final.safetensors"), load_file(tmp_path / "two" / "final.safetensors")
    assert one.keys() == two.keys()
    gap = max(float((two[k] - one[k]).abs().max()) for k in one)
    print(f"max |w_2proc - w_1proc| = {gap:.2e}")
    assert gap < 1e-5


def test_a_folder_rank_0_cannot_claim_stops_every_rank(tmp_path):
    """Rank 0 refuses a non-empty output folder; rank 1 must stop too, not wait for rank 0 forever."""
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "log.jsonl").write_text('{"step": 1}\n')
    multi = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                            str(SCRIPT), str(tmp_path / "two")], capture_output=True, text=True, timeout=120)
    assert multi.returncode != 0
    assert "is not empty" in multi.stderr and "rank 0 could not take the output folder" in multi.stderr
