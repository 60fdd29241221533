"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for tables."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.tabular.bench import main

    return main(argv)


def register() -> None:
    from selfsup.core.registry import register_bench, register_encoder, register_method
    from selfsup.tabular.build import ENCODERS, METHODS

    for name, factory in ENCODERS.items():
        register_encoder(f"tabular_{name}", factory)
    for name, factory in METHODS.items():
        register_method(f"tabular_{name}", factory)
    register_bench("tabular", _bench)
