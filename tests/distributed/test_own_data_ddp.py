"""Own data under DDP: 2 gloo ranks x 2 DataLoader workers each read every item of a folder exactly once an epoch;
an item that fails to decode is replaced in its batch (the ranks keep equal batches) and logged once."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("ddp_own_data_script.py")


def test_two_ranks_with_two_workers_each_see_every_item_once_per_epoch(tmp_path):
    data = tmp_path / "data"
    for i in range(36):
        (data / f"part{i % 3}").mkdir(parents=True, exist_ok=True)
        (data / f"part{i % 3}" / f"n{i:02d}.num").write_text(str(i))
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(SCRIPT), str(data), str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in range(2)]
    assert all(r["steps"] == 6 for r in ranks)  # 36 items, global batch 6: 6 steps of 3 items a rank
    seen = ranks[0]["seen"] + ranks[1]["seen"]
    assert sorted(seen) == list(range(36)) and not set(ranks[0]["seen"]) & set(ranks[1]["seen"])


def test_a_bad_item_is_replaced_and_logged_once_under_two_ranks(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(36):
        (data / f"n{i:02d}.num").write_text(str(i))
    (data / "n07.num").write_text("corrupt")  # passes the (empty) scan check, fails in read
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(SCRIPT), str(data), str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in range(2)]
    seen = ranks[0]["seen"] + ranks[1]["seen"]
    assert len(seen) == 36 and 7 not in seen and seen.count(8) == 2  # n07 answered by the next readable item
    lines = (tmp_path / "run" / "skipped.jsonl").read_text().splitlines()
    assert [json.loads(line)["item"] for line in lines] == ["n07.num"]
    assert sum(r["items_skipped"] for r in ranks) == 1


def test_two_ranks_see_every_row_of_a_table_once_per_epoch(tmp_path):
    pytest.importorskip("selfsup.tabular")
    rows = "\n".join(f"{i},{i % 5},c{i % 3}" for i in range(36))
    (tmp_path / "t.csv").write_text(f"x,y,z\n{rows}\n")
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(SCRIPT), str(tmp_path / "t.csv"), str(tmp_path / "run")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in range(2)]
    assert all(r["steps"] == 6 for r in ranks)
    seen = ranks[0]["seen"] + ranks[1]["seen"]
    assert sorted(seen) == list(range(36)) and not set(ranks[0]["seen"]) & set(ranks[1]["seen"])
