"""Every installed suite in one run, and one report: ``selfsup bench all``.

    selfsup bench all [--preset smoke|default|full|gpu] [--suites vision,audio,...] [--data-root DOMAIN=DIR ...]
                      [--extra DOMAIN="--flag value ..."] [--no-crossmodal] [--output DIR]

Runs each installed domain suite (the ``bench`` registry, without the core's digits suite unless
``--suites`` names ``core``) with the chosen preset, its output under ``OUTPUT/<suite>/``, then the
cross-modal suite when two domains with transfer tasks are installed. ``--data-root vision=DIR`` gives
one suite its data (the others use their embedded data), ``--extra graph="--methods grace"`` passes flags
through. Before each suite it prints what the suite will run and how long it took last time on this kind of
machine (:mod:`.timings`); at the end, one line per suite: its best SSL row against its strongest baseline
(:mod:`.versus`). Writes ``OUTPUT/report.md``: that summary, the runs, then each suite's table and plot. A suite
that fails is reported with its error and the others still run; the command then exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
import traceback
from pathlib import Path

from selfsup.core import registry
from selfsup.core.bench import timings
from selfsup.core.bench.crossmodal import parse_data_roots

NOT_DOMAINS = ("all", "crossmodal", "core")


def plan(suites: str | None, roots: dict[str, Path], extra: dict[str, str], crossmodal: bool) -> list[str]:
    """The suites to run, in order: the domains (installed order), then ``crossmodal`` if it can run."""
    installed = [s for s in registry.available("bench") if s not in NOT_DOMAINS]
    if suites:
        chosen = [s.strip() for s in suites.split(",") if s.strip()]
        unknown = [s for s in chosen if s not in registry.available("bench") or s == "all"]
        if unknown or not chosen:
            raise ValueError(f"unknown suites {unknown or suites!r}; installed: {[*installed, 'core', 'crossmodal']}")
    else:
        chosen = installed + (["crossmodal"] if crossmodal and len(registry.available("transfer")) >= 2 else [])
    allowed = set(chosen) | (set(registry.available("transfer")) if "crossmodal" in chosen else set())
    named = (set(roots) | set(extra)) - allowed
    if named:
        raise ValueError(f"--data-root/--extra name suites that are not in this run: {sorted(named)}")
    return chosen


def suite_argv(suite: str, preset: str, output: Path, roots: dict[str, Path], extra: dict[str, str],
               transfer_roots: dict[str, Path]) -> list[str]:
    argv = ["--preset", preset, "--output", str(output / suite)]
    if suite == "crossmodal":
        argv += [a for domain, root in transfer_roots.items() for a in ("--data-root", f"{domain}={root}")]
    elif suite in roots:
        argv += ["--data-root", str(roots[suite])]
    return argv + shlex.split(extra.get(suite, ""))


def headline(output: Path) -> dict | None:
    """The suite's best SSL row against its strongest baseline, from its ``results.json`` (``meta.headline``)."""
    path = output / "results.json"
    if not path.is_file():
        return None
    return (json.loads(path.read_text()).get("meta") or {}).get("headline")


def summary_lines(runs: list[dict], output: Path) -> list[str]:
    """A Markdown table, one row per suite: did SSL help?"""
    lines = ["| suite | metric | best SSL | best baseline | SSL - baseline (± seeds' spread) | seeds |",
             "|---|---|---|---|---|---|"]
    for run in runs:
        top = headline(output / run["suite"]) if run["status"] == "ok" else None
        if top is None:
            lines.append(f"| {run['suite']} | - | {run['status']} | - | - | - |")
            continue
        lines.append(f"| {run['suite']} | {top['metric']} | {top['ssl']}: {top['ssl_value']:.4f} | {top['baseline']}: "
                     f"{top['baseline_value']:.4f} | {top['difference']:+.4f} ± {top['spread']:.4f} | {top['seeds']} |")
    return lines


def report(runs: list[dict], preset: str, output: Path) -> str:
    lines = [f"# selfsup benchmark report (preset {preset})", "", "## Did SSL help?", "",
             *summary_lines(runs, output), "", "## Runs", "",
             "| suite | status | wall_s | rows |", "|---|---|---|---|"]
    lines += [f"| {r['suite']} | {r['status']} | {r['wall_s']} | {r['rows']} |" for r in runs]
    for r in runs:
        lines += ["", f"## {r['suite']}", "", f"`selfsup bench {r['suite']} {shlex.join(r['argv'])}`", ""]
        if r["status"] != "ok":
            lines += ["```", r["error"].rstrip(), "```"]
            continue
        folder = output / r["suite"]
        lines.append((folder / "results.md").read_text().rstrip())
        lines += [f"![{r['suite']}]({png.relative_to(output)})" for png in sorted(folder.glob("*.png"))]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="selfsup bench all", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=("smoke", "default", "full", "gpu"), default="default")
    parser.add_argument("--suites", default=None, help="comma-separated (default: every installed domain suite)")
    parser.add_argument("--data-root", action="append", default=[], metavar="DOMAIN=DIR",
                        help="one suite's data folder (repeatable); also given to the cross-modal suite")
    parser.add_argument("--extra", action="append", default=[], metavar='DOMAIN="FLAGS"',
                        help="more flags for one suite (repeatable)")
    parser.add_argument("--no-crossmodal", action="store_true", help="skip the cross-modal suite")
    parser.add_argument("--output", type=Path, default=Path("out/bench-all"))
    args = parser.parse_args(argv)
    roots = parse_data_roots(args.data_root)
    extra = {}
    for pair in args.extra:
        suite, sep, flags = pair.partition("=")
        if not sep or not suite:
            parser.error(f"--extra takes SUITE=FLAGS, got {pair!r}")
        extra[suite] = flags
    suites = plan(args.suites, roots, extra, not args.no_crossmodal)
    transfer_roots = {d: r for d, r in roots.items() if d in registry.available("transfer")}
    runs = []
    times = timings.load()
    for number, suite in enumerate(suites, 1):
        suite_args = suite_argv(suite, args.preset, args.output, roots, extra, transfer_roots)
        print(f"== [{number}/{len(suites)}] selfsup bench {suite} {shlex.join(suite_args)}\n   "
              f"{timings.describe(suite, args.preset)}; "
              f"{timings.estimate(times, suite, args.preset, suite in roots or suite in extra)}", flush=True)
        start = time.perf_counter()
        try:
            rows = registry.get("bench", suite)(suite_args)
            run = {"status": "ok", "rows": len(rows or []), "error": ""}
        except (Exception, SystemExit) as error:  # argparse errors exit: report them, run the next suite
            run = {"status": "failed", "rows": 0, "error": "".join(traceback.format_exception(error))}
            print(run["error"], flush=True)
        runs.append({"suite": suite, "argv": suite_args, "wall_s": round(time.perf_counter() - start, 1), **run})
        if run["status"] == "ok" and suite not in roots and suite not in extra:  # the embedded data, as given
            timings.record(suite, args.preset, runs[-1]["wall_s"])
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "runs.json").write_text(json.dumps(runs, indent=2))
    (args.output / "report.md").write_text(report(runs, args.preset, args.output))
    total = sum(r["wall_s"] for r in runs)
    print(f"\n== did SSL help? (preset {args.preset}, {timings.duration(total)} in all)", flush=True)
    print("\n".join(summary_lines(runs, args.output)), flush=True)
    print(f"report: {args.output / 'report.md'}", flush=True)
    failed = [r["suite"] for r in runs if r["status"] != "ok"]
    if failed:
        raise SystemExit(f"suites failed: {', '.join(failed)} (see {args.output / 'report.md'})")
    return runs
