"""The repository's conftest fails a test that runs past SELFSUP_TEST_TIME_LIMIT, naming it and the phase."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SLOW_TESTS = '''
import time

import pytest


@pytest.fixture
def slow_fixture():
    time.sleep(0.6)


def test_quick():
    pass


def test_slow_call():
    time.sleep(0.6)


def test_slow_setup(slow_fixture):
    pass


def test_slow_and_failing():
    time.sleep(0.6)
    assert False, "its own failure"
'''


def _run(folder: Path, limit: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SELFSUP_TEST_TIME_LIMIT"}
    if limit is not None:
        env["SELFSUP_TEST_TIME_LIMIT"] = limit
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(folder)],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def _folder(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_timing.py").write_text(SLOW_TESTS)
    return tmp_path


def test_a_test_over_the_limit_fails_and_is_named(tmp_path):
    result = _run(_folder(tmp_path), "0.3")
    out = result.stdout
    assert result.returncode == 1, out
    assert "2 failed, 1 passed, 1 error" in out, out
    assert "test_timing.py::test_slow_call: its call took" in out and "over the 0.3 s a test may take" in out
    assert "test_timing.py::test_slow_setup: its setup took" in out
    assert "its own failure" in out  # a test that fails by itself keeps its own report


def test_under_the_default_limit_and_with_the_check_off_every_test_passes_but_the_failing_one(tmp_path):
    folder = _folder(tmp_path)
    for limit in (None, "0"):
        out = _run(folder, limit).stdout
        assert "1 failed, 3 passed" in out, out


def test_a_limit_that_is_not_a_number_is_a_usage_error(tmp_path):
    result = _run(_folder(tmp_path), "two minutes")
    assert result.returncode == 4 and "'two minutes' is not a number of seconds" in result.stderr, result.stderr
