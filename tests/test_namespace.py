"""The selfsup namespace stays PEP 420: no distribution ships selfsup/__init__.py."""

from pathlib import Path

import selfsup
import selfsup.core

ROOT = Path(__file__).resolve().parents[1]


def test_no_source_tree_ships_a_namespace_init():
    trees = [ROOT / "shared_core", *sorted((ROOT / "packages").glob("*"))]
    offenders = [str(t / "src/selfsup/__init__.py") for t in trees if (t / "src/selfsup/__init__.py").exists()]
    assert not offenders
    assert (ROOT / "shared_core/src/selfsup/core/__init__.py").exists()


def test_selfsup_is_a_namespace_package():
    assert getattr(selfsup, "__file__", None) is None
    assert any(Path(p).name == "selfsup" for p in selfsup.__path__)
    assert selfsup.core.__version__
