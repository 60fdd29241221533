"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for audio."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.audio.bench import main

    return main(argv)


def _transfer(**kwargs):
    from selfsup.audio.crossmodal import audio_task

    return audio_task(**kwargs)


def register() -> None:
    from selfsup.audio import datasets
    from selfsup.audio.build import ENCODERS, METHODS
    from selfsup.core.registry import register_package

    register_package(encoders=ENCODERS, methods=METHODS, method_prefix="audio_", bench=("audio", _bench),
                     transfer=("audio", _transfer),
                     datasets={"fsdd": datasets.load_fsdd, "speech_commands": datasets.load_speech_commands,
                               "esc50": datasets.load_esc50, "audio_folder": datasets.load_audio_folder,
                               "spoken_words": datasets.synthesize_words})
