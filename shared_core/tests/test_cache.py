"""One cache folder for every package: ``$SELFSUP_CACHE``, read at each call, by default ``~/.cache/selfsup``."""

from pathlib import Path

from selfsup.core.bench import timings
from selfsup.core.cache import cache_dir


def test_cache_dir_follows_the_environment_at_each_call(monkeypatch, tmp_path):
    monkeypatch.setenv("SELFSUP_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path and cache_dir("graph", "tu-download") == tmp_path / "graph" / "tu-download"
    assert timings.local_path() == tmp_path / "bench-times.json"
    assert not (tmp_path / "graph").exists()  # nothing is created
    monkeypatch.delenv("SELFSUP_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir("medical") == Path(tmp_path / "home" / ".cache" / "selfsup" / "medical")
