"""Did SSL help? Seeds merged into mean ± std, and each row against the strongest baseline of the suite.

Row convention of every suite: ``row[metric]`` is the mean over seeds, ``row[f"{metric}_std"]`` their standard
deviation and ``row[f"{metric}_per_seed"]`` the values; a row is a baseline when ``row["baseline"]`` is true (or,
without that key, when its method names ``(baseline)`` or ``(labels)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

VERSUS = "vs_best_baseline"


def is_baseline(row: dict) -> bool:
    if "baseline" in row:
        return bool(row["baseline"])
    method = str(row.get("method", ""))
    return "(baseline)" in method or "(labels)" in method


def sample_std(values: Sequence[float]) -> float:
    """The sample standard deviation (n - 1) of ``values``, 0 for fewer than two: every suite's ± over seeds."""
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def merge_seeds(runs: list[list[dict]], metrics: Sequence[str],
                key: Sequence[str] = ("method", "encoder")) -> list[dict]:
    """One row per ``key`` from the rows of several seeds' runs (each the same suite with another seed), in the
    first run's order: each of ``metrics`` becomes mean, ``_std`` (sample standard deviation) and ``_per_seed``;
    other numbers (times, memory) are averaged; anything else is the first run's."""
    groups: dict[tuple, list[dict]] = {}
    for rows in runs:
        for row in rows:
            groups.setdefault(tuple(row.get(k) for k in key), []).append(row)
    merged = []
    for same in groups.values():
        row = dict(same[0])
        for column, value in same[0].items():
            values = [r[column] for r in same if isinstance(r.get(column), (int, float)) and r[column] is not None]
            if column in metrics and values:
                row[column] = round(sum(values) / len(values), 4)
                row[f"{column}_std"] = round(sample_std(values), 4)
                row[f"{column}_per_seed"] = values
            elif isinstance(value, float) and values:
                row[column] = round(sum(values) / len(values), 2)
        row["seeds"] = len(same)
        merged.append(row)
    return merged


def _spread(row: dict, best: dict, metric: str) -> float:
    """The seeds' spread of ``row[metric] - best[metric]``: the standard deviation of the per-seed differences when
    both rows ran the same seeds, else ``sqrt(std_row^2 + std_best^2)``."""
    a, b = row.get(f"{metric}_per_seed"), best.get(f"{metric}_per_seed")
    if a and b and len(a) == len(b) and len(a) > 1:
        return sample_std([x - y for x, y in zip(a, b, strict=True)])
    return math.hypot(row.get(f"{metric}_std") or 0.0, best.get(f"{metric}_std") or 0.0)


def versus_best_baseline(rows: list[dict], metric: str, *, higher_is_better: bool = True,
                         where=lambda row: True) -> dict | None:
    """Add ``row["vs_best_baseline"]`` to the rows ``where`` selects: for an SSL row ``"+0.0123 ± 0.0040"`` (its
    ``metric`` minus the best baseline's, with the spread over seeds), ``"best baseline"`` on that baseline, ``"-"``
    on the others. Returns the headline ``{"metric", "ssl": row, "baseline": row, "difference", "spread"}`` (best SSL
    row against the best baseline), or None without both kinds of rows (rows without the metric are left out)."""
    chosen = [r for r in rows if where(r) and isinstance(r.get(metric), (int, float))]
    sign = 1.0 if higher_is_better else -1.0
    baselines = [r for r in chosen if is_baseline(r)]
    methods = [r for r in chosen if not is_baseline(r)]
    for r in rows:
        if where(r):
            r.setdefault(VERSUS, "-")
    if not baselines or not methods:
        return None
    best = max(baselines, key=lambda r: sign * r[metric])
    best[VERSUS] = "best baseline"
    for r in methods:
        r[VERSUS] = f"{r[metric] - best[metric]:+.4f} ± {_spread(r, best, metric):.4f}"
    top = max(methods, key=lambda r: sign * r[metric])
    return {"metric": metric, "higher_is_better": higher_is_better, "ssl": _name(top), "ssl_value": top[metric],
            "baseline": _name(best), "baseline_value": best[metric], "difference": round(top[metric] - best[metric], 4),
            "spread": round(_spread(top, best, metric), 4),
            "seeds": top.get("seeds") or len(top.get(f"{metric}_per_seed") or [top[metric]])}


def _name(row: dict) -> str:
    parts = [str(row.get("method", "?"))] + [str(row[k]) for k in ("encoder", "probe", "labels")
                                             if row.get(k) not in (None, "", "-")]
    return " / ".join(parts)


def cell(row: dict, column: str) -> str:
    """A table cell: ``mean ± std`` for a metric with a spread, the value otherwise (``-`` when missing)."""
    value = row.get(column)
    if value is None:
        return "-"
    if isinstance(value, float) and row.get(f"{column}_std") is not None:
        return f"{value:.4f} ± {row[f'{column}_std']:.4f}"
    return str(value)


def markdown_table(rows: list[dict], columns: Sequence[str]) -> list[str]:
    """The lines of a Markdown table of ``rows`` (cells by :func:`cell`); ``vs_best_baseline`` reads
    ``vs best baseline``."""
    header = [c.replace("_", " ") if c == VERSUS else c for c in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(cell(r, c) for c in columns) + " |" for r in rows]
