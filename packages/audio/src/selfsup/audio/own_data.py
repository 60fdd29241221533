"""``selfsup pretrain audio PATH``: recordings of a folder or list file, clip length and statistics inferred.

Defaults: SSAST (masked frame prediction and reconstruction) on the spectrogram Transformer with frame tokens, mini
on a CPU and tiny on a GPU: the method that needs no labels, no teacher and no k-means targets, on tokens that suit
speech and sounds alike. The clip length is the collection's median duration, between 0.32 and 10 s, in frames of
10 ms rounded to a multiple of 16; 128 mel bins at 16 kHz; the spectrogram mean and std from 128 crops spread
evenly over the collection's audio. An epoch is every ``clip_seconds`` segment of every file once (a random crop
inside each). ``embed`` mean-pools the embeddings of ``--embed-windows`` (8) crops at evenly spaced starts in each
file."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from torch import nn

from selfsup.audio.build import build_method
from selfsup.audio.datasets.audio_files import AUDIO_FILE_SUFFIXES, AudioFiles, audio_header
from selfsup.audio.features import SpectrogramStats
from selfsup.core import registry
from selfsup.core.data import OwnData, index_collection

FRAME_SECONDS = 0.01  # Kaldi fbank's 10 ms shift


def frames_for(seconds: float) -> int:
    """Fbank frames of ``seconds``, rounded to a multiple of 16 (the patch tokens' width), at least 32."""
    return max(32, round(seconds / FRAME_SECONDS / 16) * 16)


def infer_frames(durations: np.ndarray) -> int:
    """Frames of the median duration (0.32 to 10 s), see :func:`frames_for`."""
    return frames_for(float(np.clip(np.median(durations), 0.32, 10.0)))


class AudioOwnData(OwnData):
    """``selfsup pretrain audio PATH``: recordings of any length, cut into clips."""
    name = "audio"
    what = "audio files"
    default_method = "ssast"
    default_encoder = "audio_vit_mini_frame"
    data_options = {"clip_seconds": None, "frames": None, "num_mel_bins": 128, "stats_mean": None,  # noqa: RUF012
                    "stats_std": None, "embed_windows": 8}

    def __init__(self) -> None:
        if torch.cuda.is_available():
            self.default_encoder = "audio_vit_tiny_frame"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        S = argparse.SUPPRESS
        parser.add_argument("--clip-seconds", type=float, default=S,
                            help="length of the crops the encoder sees (default: the median duration, 0.32-10 s)")
        parser.add_argument("--num-mel-bins", type=int, default=S, help="mel bins of the Kaldi fbank (default 128)")
        parser.add_argument("--embed-windows", type=int, default=S,
                            help="crops per file that embed averages (default 8)")

    def open(self, path, options, *, cache, seed, replace_bad, progress):
        root, index, skipped = index_collection(path, suffixes=AUDIO_FILE_SUFFIXES, check=audio_header,
                                                what="audio files", cache=cache, progress=progress)
        options = dict(options)
        durations = index.column("samples") / index.column("rate")
        if options.get("frames") is None:
            options["frames"] = infer_frames(durations) if options.get("clip_seconds") is None else \
                frames_for(options["clip_seconds"])
        if options.get("clip_seconds") is None:
            options["clip_seconds"] = round(options["frames"] * FRAME_SECONDS, 3)
        kwargs = {"clip_seconds": options["clip_seconds"], "frames": options["frames"],
                  "num_mel_bins": options["num_mel_bins"], "seed": seed, "replace_bad": replace_bad}
        if options.get("stats_mean") is None or options.get("stats_std") is None:
            stats = estimate_stats(AudioFiles(root, index, **kwargs))
            options["stats_mean"], options["stats_std"] = round(stats.mean, 5), round(stats.std, 5)
        stats = SpectrogramStats(options["stats_mean"], options["stats_std"])
        windows = 0 if replace_bad else options["embed_windows"]
        return AudioFiles(root, index, stats=stats, windows=windows, **kwargs), options, skipped

    def build(self, options, method, encoder, method_args, encoder_args) -> tuple[nn.Module, nn.Module]:
        net = registry.create_encoder(encoder, **{"num_mel_bins": options["num_mel_bins"],
                                                  "frames": options["frames"], **encoder_args})
        model = build_method(method, net, **method_args)
        if hasattr(model, "fit_targets"):
            raise ValueError(f"{method} needs k-means targets fitted on the features first: use it from Python "
                             "(selfsup.audio.build_method(...).fit_targets(...)); the command line takes ssast, "
                             "audio_mae, eat, byol_a")
        return net, model

    def embed(self, encoder: nn.Module, batch: dict[str, Any], options: dict[str, Any]) -> torch.Tensor:
        specs = batch["spec"]  # (B, W, F, T)
        b, w = specs.shape[:2]
        return encoder(specs.flatten(0, 1)).reshape(b, w, -1).mean(1)


def estimate_stats(source: AudioFiles, count: int = 128) -> SpectrogramStats:
    """Mean and std of the log-mel values of ``count`` crops spread evenly over the collection's audio (items are
    segments of the files; unreadable ones passed over)."""
    picks = np.linspace(0, len(source) - 1, min(count, len(source))).round().astype(int)
    specs = []
    for i in dict.fromkeys(picks.tolist()):
        try:
            specs.append(source.read(i)["spec"])
        except Exception:
            continue
    if not specs:
        raise ValueError(f"{source.root}: none of the sampled audio files could be read")
    return SpectrogramStats.fit(torch.stack(specs))
