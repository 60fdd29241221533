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


# The names of selfsup.audio.build's ENCODERS and METHODS, registered without importing them (a test checks
# they agree): `selfsup --help` and `selfsup list` then load no audio library.
ENCODER_NAMES = (
    'audio_vit_mini_patch', 'audio_vit_mini_frame', 'audio_vit_tiny_patch', 'audio_vit_tiny_frame',
    'audio_vit_small_patch', 'audio_vit_small_frame', 'audio_vit_base_patch', 'audio_vit_base_frame', 'audio_cnn',
    'audio_cnn_small',
)
METHOD_NAMES = ('ssast', 'audio_mae', 'byol_a', 'eat', 'hubert')


def register() -> None:
    """Register the audio encoders, methods, suite, own-data entry and export format."""
    from selfsup.core.registry import lazy, lazy_entries, register_package

    register_package(encoders=lazy_entries("selfsup.audio.build:ENCODERS", ENCODER_NAMES),
                     methods=lazy_entries("selfsup.audio.build:METHODS", METHOD_NAMES),
                     method_prefix="audio_", bench=("audio", _bench),
                     transfer=("audio", _transfer), domain=("audio", _own_data),
                     exporters={"ast": lazy("selfsup.audio.export:export_ast", default_name="ast")},
                     example=("audio", lazy("selfsup.audio.export:example_spectrograms")))
