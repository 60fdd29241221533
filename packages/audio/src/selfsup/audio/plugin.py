"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for audio."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.audio.bench import main

    return main(argv)


def register() -> None:
    from selfsup.audio.build import ENCODERS, METHODS
    from selfsup.audio.datasets import (
        load_audio_folder,
        load_esc50,
        load_fsdd,
        load_speech_commands,
        synthesize_words,
    )
    from selfsup.core.registry import register_bench, register_dataset, register_encoder, register_method

    for name, factory in ENCODERS.items():
        register_encoder(name, factory)
    for name, factory in METHODS.items():
        register_method(f"audio_{name}", factory)
    for name, loader in {"fsdd": load_fsdd, "speech_commands": load_speech_commands, "esc50": load_esc50,
                         "audio_folder": load_audio_folder, "spoken_words": synthesize_words}.items():
        register_dataset(name, loader)
    register_bench("audio", _bench)
