"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for images."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.vision.bench import main

    return main(argv)


def _transfer(**kwargs):
    from selfsup.vision.crossmodal import vision_task

    return vision_task(**kwargs)


def _own_data():
    from selfsup.vision.own_data import VisionOwnData

    return VisionOwnData()


# The names of selfsup.vision.build's ENCODERS and METHODS, registered without importing them (a test checks
# they agree): `selfsup --help` and `selfsup list` then load no vision library.
ENCODER_NAMES = (
    'resnet18', 'resnet34', 'resnet50', 'resnet_mini', 'vit_mini_patch4', 'vit_tiny_patch4', 'vit_small_patch4',
    'vit_tiny_patch16', 'vit_small_patch16', 'vit_base_patch16',
)
METHOD_NAMES = ('simclr', 'byol', 'simsiam', 'barlow_twins', 'vicreg', 'dcl', 'dino', 'mae', 'ijepa')


def register() -> None:
    """Register the image encoders, methods, suite, own-data entry and export formats."""
    from selfsup.core.registry import lazy, lazy_entries, register_package

    exporters = {"torchvision": lazy("selfsup.vision.export:export_torchvision", default_name="torchvision.pt"),
                 "timm": lazy("selfsup.vision.export:export_timm", default_name="timm.safetensors")}
    register_package(encoders=lazy_entries("selfsup.vision.build:ENCODERS", ENCODER_NAMES),
                     methods=lazy_entries("selfsup.vision.build:METHODS", METHOD_NAMES),
                     method_prefix="vision_", bench=("vision", _bench),
                     transfer=("vision", _transfer), domain=("vision", _own_data), exporters=exporters,
                     example=("vision", lazy("selfsup.vision.export:example_images")))
