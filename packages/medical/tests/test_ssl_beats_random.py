"""On MNI152 pseudo-subjects, SwinUNETR's pretraining recipe (rotation + contrast + inpainting) must give a U-Net
whose frozen features predict the tissue fractions better than the same U-Net at random init (ridge probe,
cross-validated R^2), averaged over two seeds.

The subjects here keep the template's tissue contrast (``varied_contrast=False``): on subjects of varied contrast the
recipe does not beat random init on this probe, in this test (R^2 -0.29 / -0.50 vs -0.13 / 0.16) or in the benchmark
(``benchmarks/results/medical-mni-swin-ssl-voco-default-cpu.md``: 0.092 vs 0.349), and neither Models Genesis (0.05 /
-0.43 here) nor any other method does so at every seed; that is reported, not tested."""

import tempfile

import torch

from selfsup.core.train import TrainConfig, Trainer
from selfsup.medical import VolumeDataset, build_encoder, build_method, embed_volumes, mni_pseudo_subjects
from selfsup.medical.probes import ridge_probe_cv


def test_swin_recipe_beats_random_init_on_tissue_fractions():
    volumes = mni_pseudo_subjects(16, size=64, seed=5, varied_contrast=False)
    random_scores, ssl_scores = [], []
    for seed in range(2):
        torch.manual_seed(seed)
        encoder = build_encoder("unet3d_tiny")
        random_scores.append(ridge_probe_cv(embed_volumes(encoder, volumes.images), volumes.targets, seed=seed))
        with tempfile.TemporaryDirectory() as tmp:
            config = TrainConfig(output_dir=tmp, max_steps=120, epochs=30, batch_size=4, lr=1e-3, weight_decay=0.01,
                                 warmup_steps=6, seed=seed, progress=False, checkpoint_every=10**9)
            Trainer(build_method("swin_ssl", encoder, crop=32), VolumeDataset(volumes), config).fit()
        ssl_scores.append(ridge_probe_cv(embed_volumes(encoder, volumes.images), volumes.targets, seed=seed))
    assert sum(ssl_scores) / 2 > sum(random_scores) / 2 + 0.1, (random_scores, ssl_scores)
