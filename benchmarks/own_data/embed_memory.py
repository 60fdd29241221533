"""Peak memory of ``selfsup embed tabular`` on a generated table, for one or more checkouts (interleaved).

    python benchmarks/own_data/embed_memory.py --rows 1000000 --checkout NEW=. --checkout OLD=/tmp/old-worktree

A run pretrains a few steps once (with the first checkout), then ``selfsup embed tabular`` runs in a fresh process
per checkout and repeat (``PYTHONPATH`` set to the checkout's ``shared_core/src`` and ``packages/*/src``); peak
memory is the RSS of the process and its DataLoader workers sampled every 0.1 s."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_own_data import machine, tree_rss_peak, write_table


def pythonpath(checkout: Path) -> str:
    return os.pathsep.join([str(checkout / "shared_core" / "src"),
                            *(str(p) for p in sorted((checkout / "packages").glob("*/src")))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--checkout", action="append", required=True, help="NAME=PATH of a checkout")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    checkouts = dict(c.split("=", 1) for c in args.checkout)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        table = write_table(Path(tmp) / "table.csv", args.rows)
        first = Path(next(iter(checkouts.values()))).resolve()
        env = {**os.environ, "PYTHONPATH": pythonpath(first)}
        subprocess.run([sys.executable, "-m", "selfsup.core", "pretrain", "tabular", str(table), "--output",
                        str(Path(tmp) / "run"), "--max-steps", "5", "--no-progress", "--num-workers", "1"],
                       check=True, env=env, capture_output=True)
        for repeat in range(args.repeats):
            for name, path in checkouts.items():
                env = {**os.environ, "PYTHONPATH": pythonpath(Path(path).resolve())}
                out = Path(tmp) / f"emb-{name}-{repeat}.parquet"
                peak, wall, _ = tree_rss_peak([sys.executable, "-m", "selfsup.core", "embed", "tabular", str(table),
                                               "--encoder-dir", str(Path(tmp) / "run" / "encoder"), "--output",
                                               str(out), "--no-progress", "--num-workers", "1"], env=env)
                rows.append((name, repeat, round(peak, 1), round(wall, 1), round(out.stat().st_size / 2**20, 1)))
                print(rows[-1], flush=True)
    print(f"\nselfsup embed tabular, {args.rows:,} rows (128-d embeddings), 1 worker; {machine()}\n")
    print("| checkout | repeat | peak RSS (MiB, process + workers) | wall s | parquet MiB |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")


if __name__ == "__main__":
    main()
