"""The in-memory path the folder path is compared with: the CIFAR-10 JPEG pack decoded into one uint8 tensor
(ImageArray), SimCLR through the Trainer with the same encoder, batch and steps as ``selfsup pretrain vision``.

    python in_memory_pretrain.py PACK OUTPUT IMAGES STEPS BATCH ENCODER"""

from __future__ import annotations

import sys

from selfsup.core import registry
from selfsup.core.train import TrainConfig, Trainer
from selfsup.vision import ImageDataset, build_method, load_cifar10_jpeg
from selfsup.vision.augment import set_normalization

pack, output, images, steps, batch, encoder_name = sys.argv[1:7]
train = load_cifar10_jpeg(pack, "train").subset(range(int(images)))  # decoded once, cached
mean, std = train.channel_stats()
encoder = registry.create_encoder(encoder_name, image_size=32, in_chans=3)
method = set_normalization(build_method("simclr", encoder, image_size=32), mean, std)
config = TrainConfig(output_dir=output, max_steps=int(steps), epochs=100, batch_size=int(batch), log_every=1,
                     progress=False)
Trainer(method, ImageDataset(train), config).fit()
