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


# The names of selfsup.tabular.build's ENCODERS and METHODS, registered without importing them (a test checks
# they agree): `selfsup --help` and `selfsup list` then load no tabular library.
ENCODER_NAMES = ('mlp', 'ft_transformer')
METHOD_NAMES = ('scarf', 'vime', 'subtab', 'dae', 'tjepa')


def register() -> None:
    """Register the table encoders, methods, suite, own-data entry and export format."""
    from selfsup.core.registry import lazy, lazy_entries, register_package

    register_package(encoders=lazy_entries("selfsup.tabular.build:ENCODERS", ENCODER_NAMES),
                     methods=lazy_entries("selfsup.tabular.build:METHODS", METHOD_NAMES),
                     encoder_prefix="tabular_", method_prefix="tabular_",
                     bench=("tabular", _bench),
                     transfer=("tabular", _transfer), domain=("tabular", _own_data),
                     exporters={"sklearn": lazy("selfsup.tabular.export:export_sklearn", default_name="encoder.skops")},
                     example=("tabular", lazy("selfsup.tabular.export:example_tables")))
