"""Audio: pretrain SSAST on a folder of WAV recordings, embed them, probe the embeddings, export to transformers.

The folder holds 640 spoken digit words that eSpeak NG says in 8 voices at 2 rates and 4 pitches
(``selfsup-audio[bench]``), one sub-folder per word (used only to score the probe). About a minute on 2 CPU cores:

    python examples/audio.py
"""

import tempfile
from pathlib import Path

import numpy as np
import soundfile
from _probe import probe_accuracy, read_embeddings

from selfsup.audio import speak_words
from selfsup.core.cli import main as selfsup

work = Path(tempfile.mkdtemp(prefix="selfsup-audio-"))
for waveform, rate, word, voice, speed, pitch in speak_words(rates=(150, 200), pitches=(30, 45, 60, 75)):
    (work / "words" / word).mkdir(parents=True, exist_ok=True)
    soundfile.write(work / "words" / word / f"{voice}-{speed}-{pitch}.wav", waveform[0].numpy(), rate)

# patch tokens, so that the encoder loads into transformers' ASTModel
assert selfsup(["pretrain", "audio", str(work / "words"), "--encoder", "audio_vit_mini_patch", "--epochs", "10",
                "--batch-size", "64", "--output", str(work / "run"), "--no-progress"]) == 0
assert selfsup(["embed", "audio", str(work / "words"), "--encoder-dir", str(work / "run" / "encoder"),
                "--output", str(work / "words.parquet"), "--no-progress"]) == 0
assert selfsup(["export", "--encoder-dir", str(work / "run" / "encoder"), "--format", "ast",
                "--output", str(work / "ast")]) == 0

ids, embeddings = read_embeddings(work / "words.parquet")
labels = np.array([Path(i).parent.name for i in ids])
print(f"linear probe, 5-fold: SSAST embeddings {probe_accuracy(embeddings, labels):.3f} ({len(ids)} recordings; "
      f"outputs in {work}; the ast/ folder loads with transformers.ASTModel.from_pretrained)")
