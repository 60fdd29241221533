import warnings

import pytest
import torch

from selfsup.audio.datasets import (
    SpectrogramDataset,
    fsdd_takes,
    load_audio_folder,
    load_esc50,
    load_fsdd,
    load_speech_commands,
    synthesize_words,
)
from selfsup.audio.features import SILENCE
from selfsup.audio.io import AudioReadError, read_audio


def test_read_audio_errors_name_the_file(tmp_path, write_wav, tone):
    with pytest.raises(AudioReadError, match="no such file"):
        read_audio(tmp_path / "nope.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunkjunkjunk")
    with pytest.raises(AudioReadError, match=r"bad\.wav"):
        read_audio(bad)
    stereo = write_wav(tmp_path / "st.wav", tone(440)[:, None].repeat(2, axis=1))
    wave, rate = read_audio(stereo)
    assert wave.shape == (1, 3200) and rate == 8000


def test_fsdd_splits_and_metadata(fsdd_root):
    train, test = load_fsdd(fsdd_root, "train", frames=48), load_fsdd(fsdd_root, "test", frames=48)
    assert len(train) == 2 * 3 * 2 and len(test) == 2 * 3 * 5
    assert sorted(set(fsdd_takes(test))) == [0, 1, 2, 3, 4] and sorted(set(fsdd_takes(train))) == [5, 6]
    assert train.specs.shape == (12, 128, 48) and set(train.groups) == {"ann", "bob", "cid"}
    assert sorted(train.labels.unique().tolist()) == [0, 1] and train.classes[:2] == ["0", "1"]
    # the clips' energy sits at their tone: digit 1 (1.2 kHz) above digit 0 (300 Hz)
    peak = train.specs.mean(dim=2).argmax(dim=1)
    assert (peak[train.labels == 1].float().mean() > peak[train.labels == 0].float().mean())
    assert (train.lengths <= 48).all() and (train.lengths > 20).all()
    short = int(train.lengths.argmin())
    assert (train.specs[short, :, int(train.lengths[short]):] == SILENCE).all()  # padded with silence
    item = SpectrogramDataset(train, train.stats())[0]
    assert item["spec"].shape == (128, 48)


def test_fsdd_reports_bad_files_and_missing_folder(fsdd_root, tmp_path):
    (fsdd_root / "recordings" / "1_dan_9.wav").write_bytes(b"not audio at all")
    (fsdd_root / "recordings" / "0_dan_8.wav").write_bytes(b"")
    with pytest.warns(UserWarning, match="skipped 2 unusable") as record:
        clips = load_fsdd(fsdd_root, "train", frames=48)
    assert "1_dan_9.wav" in str(record[0].message) and len(clips) == 12
    assert {p.rsplit("/", 1)[-1] for p, _ in clips.skipped} == {"1_dan_9.wav", "0_dan_8.wav"}
    with pytest.raises(FileNotFoundError, match="recordings"):
        load_fsdd(tmp_path / "empty")


def test_speech_commands_layout(tmp_path, write_wav, tone):
    for word, freq in (("yes", 400), ("no", 1500)):
        for i, speaker in enumerate(("aa11", "bb22", "cc33")):
            write_wav(tmp_path / word / f"{speaker}_nohash_0.wav", tone(freq + i, 0.5), rate=16000)
    write_wav(tmp_path / "_background_noise_" / "noise.wav", tone(50, 0.5), rate=16000)
    (tmp_path / "validation_list.txt").write_text("yes/bb22_nohash_0.wav\n")
    (tmp_path / "testing_list.txt").write_text("yes/cc33_nohash_0.wav\nno/cc33_nohash_0.wav\n")
    train = load_speech_commands(tmp_path, "train", frames=32)
    test = load_speech_commands(tmp_path, "test", frames=32)
    assert train.classes == ["no", "yes"] and len(train) == 3 and len(test) == 2
    assert set(test.groups) == {"cc33"}
    with pytest.raises(FileNotFoundError, match=r"validation_list\.txt"):
        load_speech_commands(tmp_path / "yes")


def test_esc50_folds(tmp_path, write_wav, tone):
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for i in range(4):
        name = f"{i + 1}-100-A-{i % 2}.wav"
        write_wav(tmp_path / "audio" / name, tone(300 * (i + 1), 0.5), rate=16000)
        rows.append(f"{name},{i + 1},{i % 2},{'dog' if i % 2 == 0 else 'rain'},False,100,A")
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    clips = load_esc50(tmp_path, folds=(1, 2), frames=40)
    assert len(clips) == 2 and clips.classes == ["dog", "rain"] and clips.groups == ["1", "2"]
    with pytest.raises(FileNotFoundError, match=r"esc50\.csv"):
        load_esc50(tmp_path / "audio")


def test_audio_folder(tmp_path, write_wav, tone):
    write_wav(tmp_path / "bird" / "a.wav", tone(2000))
    write_wav(tmp_path / "bird" / "sub" / "b.flac", tone(2100))
    write_wav(tmp_path / "cow" / "c.wav", tone(150))
    (tmp_path / "cow" / "notes.txt").write_text("ignored")
    clips = load_audio_folder(tmp_path, frames=32)
    assert clips.classes == ["bird", "cow"] and clips.labels.tolist() == [0, 0, 1]
    empty = tmp_path / "empty"
    (empty / "x").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="audio files"):
        load_audio_folder(empty)
    (tmp_path / "cow" / "c.wav").write_bytes(b"")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert len(load_audio_folder(tmp_path, frames=32)) == 2


def test_synthesized_words_differ_by_word_and_voice():
    pytest.importorskip("espeakng_loader")
    clips = synthesize_words(("yes", "no"), ("en-us+m1", "en-us+f2"), (150,), (50,), frames=64)
    assert len(clips) == 4 and clips.labels.tolist() == [0, 0, 1, 1]
    assert clips.groups == ["en-us+m1", "en-us+f2"] * 2
    assert (clips.lengths > 10).all() and torch.isfinite(clips.specs).all()
    assert not torch.allclose(clips.specs[0], clips.specs[1]) and not torch.allclose(clips.specs[0], clips.specs[2])
    with pytest.raises(ValueError, match="no voice"):
        synthesize_words(("yes",), ("xx-nonexistent",), (150,), (50,))
