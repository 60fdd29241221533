"""Images: pretrain on a folder of PNG files, embed them, probe the embeddings, export the encoder to ONNX.

The folder is scikit-learn's 1,797 handwritten digits written as 8x8 PNG files, one sub-folder per digit (the
sub-folders are only used to score the probe). About a minute on 2 CPU cores:

    python examples/images.py
"""

import tempfile
from pathlib import Path

import numpy as np
from _probe import probe_accuracy, read_embeddings
from PIL import Image
from sklearn.datasets import load_digits

from selfsup.core.cli import main as selfsup

work = Path(tempfile.mkdtemp(prefix="selfsup-images-"))
digits = load_digits()
for i, (image, label) in enumerate(zip(digits.images, digits.target, strict=True)):
    (work / "digits" / str(label)).mkdir(parents=True, exist_ok=True)
    Image.fromarray((image * 255 / 16).astype(np.uint8)).save(work / "digits" / str(label) / f"{i}.png")

# the three commands of the README; a small ResNet and a few epochs so that it fits a laptop's minute
assert selfsup(["pretrain", "vision", str(work / "digits"), "--encoder", "resnet_mini", "--epochs", "8",
                "--batch-size", "128", "--output", str(work / "run"), "--no-progress"]) == 0
assert selfsup(["embed", "vision", str(work / "digits"), "--encoder-dir", str(work / "run" / "encoder"),
                "--output", str(work / "digits.parquet"), "--no-progress"]) == 0
assert selfsup(["export", "--encoder-dir", str(work / "run" / "encoder"), "--format", "onnx",
                "--output", str(work / "exports")]) == 0

ids, embeddings = read_embeddings(work / "digits.parquet")
labels = np.array([int(Path(i).parent.name) for i in ids])
pixels = np.stack([np.asarray(Image.open(work / "digits" / i), dtype=np.float32).ravel() for i in ids])
print(f"linear probe, 5-fold: SimCLR embeddings {probe_accuracy(embeddings, labels):.3f}, "
      f"raw pixels {probe_accuracy(pixels, labels):.3f} ({len(ids)} images; outputs in {work})")
