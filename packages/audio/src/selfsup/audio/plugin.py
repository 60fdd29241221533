"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for audio."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.audio.bench import main

    return main(argv)


def _transfer(**kwargs):
    from selfsup.audio.crossmodal import audio_task

    return audio_task(**kwargs)


def _own_data():
    from selfsup.audio.own_data import AudioOwnData

    return AudioOwnData()


def register() -> None:
    from selfsup.audio.build import ENCODERS, METHODS
    from selfsup.core.registry import lazy, register_package

    register_package(encoders=ENCODERS, methods=METHODS, method_prefix="audio_", bench=("audio", _bench),
                     transfer=("audio", _transfer), domain=("audio", _own_data),
                     exporters={"ast": lazy("selfsup.audio.export:export_ast", default_name="ast")},
                     example=("audio", lazy("selfsup.audio.export:example_spectrograms")))
