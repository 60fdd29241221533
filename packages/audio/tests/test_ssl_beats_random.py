"""SSAST pretraining makes the spectrogram Transformer's features more speaker-independent on spoken words."""

import tempfile

import numpy as np
import pytest
import torch

from selfsup.audio.bench import extract
from selfsup.audio.build import build_encoder, build_method
from selfsup.audio.datasets import VOICES, SpectrogramDataset, synthesize_words
from selfsup.audio.probes import probe_suite
from selfsup.core.train import TrainConfig, Trainer


def test_ssast_beats_the_random_encoder_leave_one_voice_out():
    pytest.importorskip("espeakng_loader")
    clips = synthesize_words(voices=VOICES[:4], rates=(130, 200), pitches=(35, 65), frames=48)  # 160 clips
    test = np.zeros(len(clips), dtype=bool)
    test[np.random.default_rng(0).permutation(len(clips))[: len(clips) // 4]] = True
    train = clips.subset(np.flatnonzero(~test))
    stats = train.stats()
    torch.manual_seed(0)
    encoder = build_encoder("audio_vit_mini_frame", frames=48)
    random_init = probe_suite(extract(encoder, clips, stats, torch.device("cpu")), clips, test)
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(output_dir=out, epochs=15, batch_size=32, lr=1e-3, progress=False, seed=0)
        Trainer(build_method("ssast", encoder), SpectrogramDataset(train, stats), config).fit()
    pretrained = probe_suite(extract(encoder, clips, stats, torch.device("cpu")), clips, test)
    # digit words of a voice never seen by the probe: measured 0.725 at random init, 0.8625 after SSAST
    assert pretrained["label_loso"] >= random_init["label_loso"] + 0.05
