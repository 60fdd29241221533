"""Items that could not be used: each one a record ``{"item", "reason", "stage"}`` appended to ``skipped.jsonl`` in
the run's folder as it happens, counted, and a bound on their share past which the run stops naming examples."""

from __future__ import annotations

import json
import os
from pathlib import Path


class TooManyBadItems(RuntimeError):
    """More than ``max_bad_fraction`` of the items seen could not be used."""


class SkipLog:
    """Collects skip records, once per item (a bad file met again in a later epoch is not counted twice). ``path``
    (``skipped.jsonl``) gets one JSON line each, written with one ``write`` to a file opened for appending, so
    several processes (DDP ranks) can share it.

    The bound: :meth:`check` raises :class:`TooManyBadItems` once the skipped items exceed ``max_bad_fraction`` of
    the items seen: the items read so far, but at least ``seen_before`` (the collection's size as scanned, so one
    bad file early in a large collection does not stop the run at its first batch)."""

    def __init__(self, path: str | Path | None, max_bad_fraction: float = 0.01, seen_before: int = 0) -> None:
        if not 0 <= max_bad_fraction <= 1:
            raise ValueError(f"max_bad_fraction must lie in [0, 1], got {max_bad_fraction}")
        self.path, self.max_bad_fraction = (Path(path) if path else None), max_bad_fraction
        self.seen_before, self.count, self.examples, self.reasons = seen_before, 0, [], {}
        self._items: set[str] = set()

    def add(self, records: list[dict]) -> None:
        for record in records:
            if record["item"] in self._items:
                continue
            self._items.add(record["item"])
            self.count += 1
            if len(self.examples) < 5:
                self.examples.append(record)
            key = record["reason"].split(":")[0][:60]
            self.reasons[key] = self.reasons.get(key, 0) + 1
            if self.path is not None:
                line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)

    def over(self, read: int = 0) -> bool:
        return self.count > self.max_bad_fraction * max(1, self.seen_before, read)

    def check(self, read: int = 0) -> None:
        seen = max(1, self.seen_before, read)
        if self.over(read):
            examples = "; ".join(f"{r['item']} ({r['reason']})" for r in self.examples[:3])
            raise TooManyBadItems(
                f"{self.count} of {seen} items ({100 * self.count / seen:.1f}%) could not be used, more than "
                f"--max-bad-fraction {self.max_bad_fraction:g} allows; e.g. {examples}"
                + (f"; all are listed in {self.path}" if self.path else ""))

    def summary(self) -> dict:
        return {"skipped": self.count, "reasons": self.reasons}
