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


def register() -> None:
    from selfsup.core.registry import lazy, register_package
    from selfsup.vision.build import ENCODERS, METHODS

    exporters = {"torchvision": lazy("selfsup.vision.export:export_torchvision", default_name="torchvision.pt"),
                 "timm": lazy("selfsup.vision.export:export_timm", default_name="timm.safetensors")}
    register_package(encoders=ENCODERS, methods=METHODS, method_prefix="vision_", bench=("vision", _bench),
                     transfer=("vision", _transfer), domain=("vision", _own_data), exporters=exporters,
                     example=("vision", lazy("selfsup.vision.export:example_images")))
