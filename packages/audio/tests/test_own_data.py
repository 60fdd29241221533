"""``selfsup pretrain audio PATH`` and ``selfsup embed audio PATH`` on a folder of recordings of every rate, channel
count, length and format, with bad ones among them; crops of a 3-hour file read from disk, not the whole file."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from selfsup.audio.datasets.audio_files import AudioFiles, audio_header, read_span
from selfsup.core import cli
from selfsup.core.data import ItemIndex

BAD = {"zero.wav", "corrupt.flac", "nested/text.ogg"}
# (name, sample rate, channels, seconds): 0.2 s word to a few seconds, 8 to 48 kHz, mono to 3 channels
GOOD = [("tone.wav", 8000, 1, 0.2), ("nested/stereo.flac", 16000, 2, 1.5), ("nested/deep/song.ogg", 22050, 1, 3.0),
        ("hifi.wav", 44100, 2, 0.7), ("speech.mp3", 48000, 1, 2.0), ("odd.wav", 11025, 3, 1.0)]


def write_audio_folder(root: Path) -> set[str]:
    rng = np.random.default_rng(0)
    for k, (name, rate, channels, seconds) in enumerate(GOOD):
        t = np.arange(int(rate * seconds)) / rate
        wave = 0.3 * np.sin(2 * np.pi * (200 + 60 * k) * t)[:, None] + 0.01 * rng.standard_normal((len(t), channels))
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / name, wave.astype(np.float32), rate)
    (root / "zero.wav").write_bytes(b"")
    (root / "corrupt.flac").write_bytes(b"fLaC" + bytes(200))
    (root / "nested" / "text.ogg").write_text("a text file with a sound's name")
    (root / "notes.txt").write_text("not a sound file name: ignored")
    return {name for name, *_ in GOOD}


def write_long_silent_wav(path: Path, seconds: int, rate: int = 8000) -> int:
    """A 16-bit mono WAV of ``seconds`` of silence, written as a header and a sparse file (no data written)."""
    samples = seconds * rate
    data = 2 * samples
    header = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, 2 * rate,
                                                                              2, 16) + b"data" + struct.pack("<I", data)
    with open(path, "wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + data)
    return samples


@pytest.fixture
def audio_folder(tmp_path) -> tuple[Path, set[str]]:
    return tmp_path / "recordings", write_audio_folder(tmp_path / "recordings")


def test_pretrain_and_embed_a_folder_of_mixed_recordings_skipping_the_bad_ones(audio_folder, tmp_path, capsys):
    folder, good = audio_folder
    run = tmp_path / "run"
    assert cli.main(["pretrain", "audio", str(folder), "--output", str(run), "--max-steps", "2", "--batch-size", "3",
                     "--num-workers", "2", "--max-bad-fraction", "0.5", "--no-progress"]) == 0
    skipped = [json.loads(line) for line in (run / "skipped.jsonl").read_text().splitlines()]
    assert {r["item"] for r in skipped} == BAD and len(skipped) == len(BAD)
    config = (run / "config.yaml").read_text()
    assert "frames: 128" in config and "clip_seconds: 1.28" in config and "stats_std:" in config  # median 1.25 s
    out = tmp_path / "embeddings.npy"  # .npy needs no pandas: selfsup-audio alone writes it
    assert cli.main(["embed", "audio", str(folder), "--encoder-dir", str(run / "encoder"), "--output", str(out),
                     "--num-workers", "0", "--no-progress"]) == 0
    ids = (tmp_path / "embeddings.ids.txt").read_text().splitlines()
    features = np.load(out, allow_pickle=False)
    assert set(ids) == good and len(ids) == len(good) == features.shape[0] and np.isfinite(features).all()


def test_too_many_bad_recordings_stop_with_one_line(audio_folder, tmp_path, capsys):
    folder, _ = audio_folder
    assert cli.main(["pretrain", "audio", str(folder), "--output", str(tmp_path / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "3 of the 9 audio files" in err and "corrupt.flac" in err


def test_any_rate_and_channel_count_gives_the_same_spectrogram_shape(audio_folder):
    folder, good = audio_folder
    names = sorted(good)
    index = ItemIndex(names, {k: [audio_header(folder / n)[k] for n in names] for k in ("samples", "rate")})
    source = AudioFiles(folder, index, clip_seconds=0.96, frames=96)
    specs = [source[i]["spec"] for i in range(len(source))]
    assert all(s.shape == (128, 96) and torch.isfinite(s).all() for s in specs)
    windows = AudioFiles(folder, index, clip_seconds=0.96, frames=96, windows=4, replace_bad=False)
    assert windows[0]["spec"].shape == (4, 128, 96)


def test_a_three_hour_recording_is_read_by_crops_not_whole(tmp_path):
    path = tmp_path / "long.wav"
    samples = write_long_silent_wav(path, 3 * 3600)
    assert audio_header(path) == {"samples": samples, "rate": 8000, "channels": 1}
    start = time.perf_counter()
    crop = read_span(path, samples - 8000, 8000)  # the last second, with a seek
    assert time.perf_counter() - start < 1.0 and crop.shape == (1, 8000) and crop.abs().max() == 0
    index = ItemIndex(["long.wav", "word.wav"], {"samples": [samples, 1600], "rate": [8000, 8000]})
    windows = AudioFiles(tmp_path, index, clip_seconds=1.0, frames=96, windows=3, replace_bad=False)
    assert len(windows) == 2 and windows.starts(0) == [0, (samples - 8000) // 2, samples - 8000]
    assert windows[0]["spec"].shape == (3, 128, 96)
    training = AudioFiles(tmp_path, index, clip_seconds=1.0, frames=96)  # an epoch: every second of the audio
    assert len(training) == 3 * 3600 + 1 and training.file_of(10800) == 1 and training.item_id(10799) == "long.wav"
    assert 5000 * 8000 <= training.starts(5000)[0] < 5001 * 8000 and training.starts(10800) == [0]


def test_random_crops_depend_on_seed_epoch_and_item_only(audio_folder):
    folder, good = audio_folder
    names = sorted(good)
    index = ItemIndex(names, {k: [audio_header(folder / n)[k] for n in names] for k in ("samples", "rate")})
    first, second = (AudioFiles(folder, index, clip_seconds=0.5, frames=48, seed=1) for _ in range(2))
    assert [first.starts(i) for i in range(6)] == [second.starts(i) for i in range(6)]
    second.set_epoch(1)
    assert [first.starts(i) for i in range(6)] != [second.starts(i) for i in range(6)]
