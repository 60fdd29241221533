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


# The names of selfsup.medical.build's ENCODERS and METHODS, registered without importing them (a test checks
# they agree): `selfsup --help` and `selfsup list` then load no medical library.
ENCODER_NAMES = (
    'unet3d', 'unet3d_small', 'unet3d_small16', 'unet3d_tiny', 'vit3d_mini', 'vit3d_small', 'vit3d_base',
    'swin_unetr', 'resnet3d_10', 'resnet3d_18',
)
METHOD_NAMES = ('swin_ssl', 'voco', 'models_genesis', 'mae3d')


def register() -> None:
    """Register the volume encoders, methods, suite, own-data entry and export format."""
    from selfsup.core.registry import lazy, lazy_entries, register_package

    register_package(encoders=lazy_entries("selfsup.medical.build:ENCODERS", ENCODER_NAMES),
                     methods=lazy_entries("selfsup.medical.build:METHODS", METHOD_NAMES),
                     method_prefix="medical_", bench=("medical", _bench),
                     transfer=("medical", _transfer), domain=("medical", _own_data),
                     exporters={"monai": lazy("selfsup.medical.export:export_monai", default_name="monai.pt")},
                     example=("medical", lazy("selfsup.medical.export:example_volumes")))
