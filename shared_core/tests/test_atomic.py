"""Text files replaced in one step (config.yaml, the metrics log after a resume, bench times, table metadata)."""

from selfsup.core import atomic


def test_write_text_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("old")
    assert atomic.write_text(path, "névé: 1\n") == path
    assert path.read_text(encoding="utf-8") == "névé: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]
