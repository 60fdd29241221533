"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for tables."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.tabular.bench import main

    return main(argv)


def _transfer(**kwargs):
    from selfsup.tabular.crossmodal import table_task

    return table_task(**kwargs)


def _own_data():
    from selfsup.tabular.own_data import TabularOwnData

    return TabularOwnData()


def register() -> None:
    from selfsup.core.registry import lazy, register_package
    from selfsup.tabular.build import ENCODERS, METHODS

    register_package(encoders=ENCODERS, methods=METHODS, encoder_prefix="tabular_", method_prefix="tabular_",
                     bench=("tabular", _bench),
                     transfer=("tabular", _transfer), domain=("tabular", _own_data),
                     exporters={"sklearn": lazy("selfsup.tabular.export:export_sklearn", default_name="encoder.skops")},
                     example=("tabular", lazy("selfsup.tabular.export:example_tables")))
