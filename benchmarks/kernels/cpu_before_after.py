"""The chunked CPU path before and after a change, interleaved on one machine: each selfsup row of
``cpu_bench.py`` run by the worker of two checkouts in turn (A, B, A, B, ...), every run its own process, and the
median time and peak RSS of each side with the ratio B / A. A machine shared with other work drifts; interleaving
spreads the drift over both sides.

    git worktree add /tmp/before REV
    python benchmarks/kernels/cpu_before_after.py --before /tmp/before [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = [  # (table, kind, variant, worker arguments)
    ("contrastive", "symmetric InfoNCE", "selfsup chunked (kernels.info_nce)", [4096, 128]),
    ("contrastive", "SimCLR NT-Xent (2N form)", "selfsup chunked (kernels.nt_xent)", [4096, 128]),
    ("contrastive", "symmetric InfoNCE", "selfsup chunked (kernels.info_nce)", [16384, 128]),
    ("contrastive", "SimCLR NT-Xent (2N form)", "selfsup chunked (kernels.nt_xent)", [16384, 128]),
    ("temperature", "symmetric InfoNCE, T=0.01", "selfsup chunked (kernels.info_nce)", [4096, 128, 10]),
    ("heads", "prototype head, soft (DINO/iBOT)", "selfsup chunked", [4096, 256, 8192]),
    ("heads", "prototype head, hard labels", "selfsup chunked", [4096, 256, 8192]),
]


def run(checkout: Path, row) -> dict:
    table, kind, variant, args = row
    env = {**os.environ, "PYTHONPATH": str(checkout / "shared_core" / "src")}
    out = subprocess.run([sys.executable, str(checkout / "benchmarks" / "kernels" / "cpu_bench.py"), "--worker",
                          table, kind, variant, *map(str, args)], capture_output=True, text=True, env=env,
                         cwd=checkout / "benchmarks" / "kernels", check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="the checkout of the earlier revision")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| loss | shape | before: s | after: s | after / before | before: MiB | after: MiB |")
    print("|---|---|---|---|---|---|---|")
    for row in ROWS:
        sides = {"before": [], "after": []}
        for _ in range(args.rounds):
            for side, checkout in (("before", args.before), ("after", ROOT)):
                sides[side].append(run(checkout, row))
        t = {s: statistics.median(r["median_s"] for r in runs) for s, runs in sides.items()}
        m = {s: statistics.median(r["peak_rss_mib"] for r in runs) for s, runs in sides.items()}
        print(f"| {row[1]} | {' '.join(map(str, row[3]))} | {t['before']:.3f} | {t['after']:.3f} | "
              f"{t['after'] / t['before']:.2f} | {m['before']:.1f} | {m['after']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
