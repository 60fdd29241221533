"""Published training settings as readable files: each domain package ships ``selfsup/<domain>/recipes/NAME.yaml``,
a mapping of ``selfsup pretrain`` flag names (``method``, ``method_args``, ``encoder_args``, ``epochs``, ``lr`` ...)
plus ``description`` and ``source`` (the paper, table or config file the values come from). The package's suite
trains with the same files, so a suite row and ``selfsup pretrain DOMAIN PATH --recipe NAME`` are the same
training; flags given on the command line override a recipe."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from selfsup.core import registry

META = ("description", "source")


def recipe_files(domain: str | None = None) -> dict[str, tuple[str, Any]]:
    """``{name: (domain, file)}`` of the recipes the installed domain packages ship (of ``domain`` only, if given)."""
    found = {}
    for name in [domain] if domain else registry.available("domain"):
        try:
            folder = resources.files(f"selfsup.{name}") / "recipes"
        except ModuleNotFoundError:
            continue
        if not folder.is_dir():
            continue
        for file in sorted(folder.iterdir(), key=lambda f: f.name):
            if file.name.endswith(".yaml"):
                found[file.name.removesuffix(".yaml")] = (name, file)
    return found


def read_recipe(file) -> dict[str, Any]:
    """A recipe file's mapping; one line naming the file when it is not one or names no source."""
    values = yaml.safe_load(file.read_text(encoding="utf-8"))
    if not isinstance(values, dict) or not values.get("source") or not values.get("method"):
        raise ValueError(f"{file}: a recipe is a mapping with at least 'method' and 'source'")
    return values


def load_recipe(domain: str, name: str) -> dict[str, Any]:
    """The recipe ``name`` of ``domain``; an unknown name lists the domain's recipes."""
    files = recipe_files(domain)
    if name not in files:
        listed = ", ".join(files) or "none"
        raise ValueError(f"no {domain} recipe {name!r} (the {domain} recipes: {listed}; selfsup recipes lists all)")
    return read_recipe(files[name][1])


def recipes_table(domain: str | None = None) -> str:
    """A Markdown table of the recipes: name, domain, method, epochs, source."""
    lines = ["| recipe | domain | method | epochs | source |", "|---|---|---|---|---|"]
    for name, (owner, file) in recipe_files(domain).items():
        recipe = read_recipe(file)
        lines.append(f"| {name} | {owner} | {recipe['method']} | {recipe.get('epochs', '-')} | {recipe['source']} |")
    return "\n".join(lines)
