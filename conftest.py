"""Repository-wide pytest settings: a test phase (set-up, call or tear-down) that runs longer than the limit fails
where it is written, naming itself, instead of pushing CI past its time limit on a slower CPU.

``SELFSUP_TEST_TIME_LIMIT`` (seconds, default 120; 0 turns the check off) sets the limit."""

from __future__ import annotations

import os

import pytest

TIME_LIMIT_VARIABLE = "SELFSUP_TEST_TIME_LIMIT"
DEFAULT_TIME_LIMIT_S = 120.0


def time_limit_s() -> float:
    text = os.environ.get(TIME_LIMIT_VARIABLE, "")
    try:
        return float(text) if text else DEFAULT_TIME_LIMIT_S
    except ValueError:
        raise pytest.UsageError(f"{TIME_LIMIT_VARIABLE}={text!r} is not a number of seconds") from None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    limit = time_limit_s()
    if limit > 0 and report.passed and call.duration > limit:
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid}: its {call.when} took {call.duration:.1f} s, over the {limit:g} s a test "
                           f"may take ({TIME_LIMIT_VARIABLE}); shrink its shapes or steps, or move it to benchmarks/")
