"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for 3D medical volumes."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.medical.bench import main

    return main(argv)


def _transfer(**kwargs):
    from selfsup.medical.crossmodal import medical_task

    return medical_task(**kwargs)


def _own_data():
    from selfsup.medical.own_data import MedicalOwnData

    return MedicalOwnData()


def register() -> None:
    from selfsup.core.registry import lazy, register_package
    from selfsup.medical.build import ENCODERS, METHODS

    register_package(encoders=ENCODERS, methods=METHODS, method_prefix="medical_", bench=("medical", _bench),
                     transfer=("medical", _transfer), domain=("medical", _own_data),
                     exporters={"monai": lazy("selfsup.medical.export:export_monai", default_name="monai.pt")},
                     example=("medical", lazy("selfsup.medical.export:example_volumes")))
