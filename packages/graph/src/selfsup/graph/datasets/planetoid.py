"""Planetoid citation graphs (Cora, CiteSeer, PubMed) from their published ``ind.<name>.*`` files."""

from __future__ import annotations

from pathlib import Path

from torch_geometric.data import Data
from torch_geometric.datasets import Planetoid

from selfsup.graph.datasets._files import cache_dir, find_raw_dir, working_copy
from selfsup.graph.datasets.checks import check_graph

PLANETOID_NAMES = ("Cora", "CiteSeer", "PubMed")
_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def load_planetoid(root: str | Path | None, name: str = "Cora", *, download: bool = False) -> Data:
    """One Planetoid graph with its public split (``train_mask`` 20 per class, ``val_mask`` 500,
    ``test_mask`` 1000) through ``torch_geometric.datasets.Planetoid``.

    ``root`` holds the eight raw files (``root/Cora/raw/ind.cora.x`` ...; ``root/raw`` or ``root`` itself
    also work); they are copied to ``$SELFSUP_CACHE/graph/planetoid`` and processed there. With
    ``download=True`` and no files, torch-geometric downloads them into that cache.
    """
    match = [n for n in PLANETOID_NAMES if n.lower() == name.lower()]
    if not match:
        raise ValueError(f"unknown Planetoid graph {name!r}; choose from {PLANETOID_NAMES}")
    name = match[0]
    files = [f"ind.{name.lower()}.{s}" for s in _SUFFIXES]
    how = (f"get them from the Planetoid repository (data/ind.{name.lower()}.*) or call "
           f"load_planetoid(root, {name!r}, download=True)")
    if root is None and not download:
        raise FileNotFoundError(f"{name}: no root given; {how}")
    try:
        raw_dir = find_raw_dir(Path(root), name, files, how) if root is not None else None
    except FileNotFoundError:
        if not download:
            raise
        raw_dir = None
    if raw_dir is None:
        work = cache_dir("planetoid-download")
        return check_graph(Planetoid(str(work), name)[0], f"{name} (downloaded)")
    work = working_copy(raw_dir, files, "planetoid", name)
    # Planetoid(root, name) reads root/name/raw: give it the parent of our copy
    return check_graph(Planetoid(str(work.parent), name)[0], str(raw_dir))
