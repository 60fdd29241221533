"""Audio encoders for the Hugging Face ecosystem: ``--format ast`` writes a patch-token spectrogram transformer as a
``transformers.ASTModel`` folder (with an ``ASTFeatureExtractor`` holding the run's spectrogram mean and std, when
the encoder comes from a ``selfsup pretrain audio`` run), loads it back with ``ASTModel.from_pretrained`` and compares
its pooled ``last_hidden_state`` with the encoder's features."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from selfsup.audio.encoders import SpectrogramTransformer
from selfsup.core.export import Exported, NotExportable, compare, encoder_name, example_input


def example_spectrograms(encoder: nn.Module, batch: int) -> torch.Tensor:
    """``(batch, mel bins, frames)`` standard-normal spectrograms at the encoder's size (96 frames for the CNN)."""
    tokenizer = getattr(encoder, "tokenizer", None)
    frames = tokenizer.frames if tokenizer is not None else 96
    return torch.randn(batch, encoder.num_mel_bins if tokenizer is None else tokenizer.num_mel_bins, frames)


def _run_stats(encoder_dir: Path | None):
    """The spectrogram mean and std the run normalised with (``encoder/data_config.json``), or None."""
    from selfsup.audio.features import SpectrogramStats
    from selfsup.core.own_data_cli import read_data_config

    if encoder_dir is None:
        return None
    try:
        data = read_data_config(encoder_dir)["data"]
        return SpectrogramStats(float(data["stats_mean"]), float(data["stats_std"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def export_ast(encoder: nn.Module, output: Path, *, encoder_dir: Path | None = None, **_) -> Exported:
    """``output``: an ``ASTModel`` folder (safetensors + config, and the feature extractor when the run's statistics
    are known), reloaded with ``from_pretrained`` and compared."""
    from selfsup.audio.export_ast import save_ast

    if not isinstance(encoder, SpectrogramTransformer) or encoder.tokens != "patch":
        raise NotExportable(f"--format ast takes the patch-token spectrogram transformers (audio_vit_*_patch), not "
                            f"{encoder_name(encoder)!r}; --format hf or onnx take it")
    import transformers

    transformers.utils.logging.disable_progress_bar()  # its shard-writing and weight-loading bars, per export
    stats = _run_stats(encoder_dir)
    try:
        save_ast(encoder, output, stats)
    except ValueError as err:  # a shape ASTModel cannot hold (non-square patches, other prefix tokens)
        raise NotExportable(f"--format ast: {err}") from None
    model = transformers.ASTModel.from_pretrained(str(output)).eval()
    spec = example_input(encoder)
    with torch.no_grad():
        hidden = model(input_values=spec.transpose(1, 2)).last_hidden_state
        theirs = hidden[:, 0] if encoder.pool == "cls" else hidden[:, 2:].mean(dim=1)
        diff = compare(encoder.eval()(spec), theirs, f"ast {output}")
    pooled = "hidden[:, 0]" if encoder.pool == "cls" else "hidden[:, 2:].mean(dim=1)  # the patch tokens' mean"
    extractor = (f'extractor = transformers.ASTFeatureExtractor.from_pretrained("{output}")  # 16 kHz waveforms\n'
                 if stats is not None else "")
    snippet = (f'import transformers\nmodel = transformers.ASTModel.from_pretrained("{output}")\n{extractor}'
               f"hidden = model(input_values=spectrograms.transpose(1, 2)).last_hidden_state\n"
               f"features = {pooled}")
    return Exported("ast", output, snippet, diff)
