"""``selfsup pretrain medical PATH`` and ``selfsup embed medical PATH``: a folder of NIfTI volumes of different sizes
with bad files among them, random sub-volumes per step, spacing and modality inferred, one embedding per volume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

nib = pytest.importorskip("nibabel")

from selfsup.core import cli  # noqa: E402

BAD = {"flat.nii": "a 2D image", "multi.nii.gz": "a 4D file of 3 volumes", "nan.nii.gz": "1 voxels are NaN",
       "cut.nii": "truncated or damaged"}


def _save(path: Path, voxels: np.ndarray, zooms=(1.5, 1.5, 2.0)) -> None:
    nib.save(nib.Nifti1Image(voxels.astype(np.float32), np.diag([*zooms, 1.0])), str(path))


def write_scans(root: Path, background: float = 0.0, tissue: float = 500.0) -> list[str]:
    """Three good volumes of different sizes (one in a sub-folder) and the four of ``BAD``; returns the good ids."""
    rng = np.random.default_rng(0)
    (root / "sub").mkdir(parents=True)
    good = ["a.nii.gz", "sub/b.nii.gz", "c.nii.gz"]
    for name, shape in zip(good, [(40, 48, 36), (52, 44, 40), (36, 36, 36)], strict=True):
        voxels = np.full(shape, background)
        voxels[5:-5, 5:-5, 5:-5] = rng.normal(tissue, 100, tuple(s - 10 for s in shape))
        _save(root / name, voxels)
    _save(root / "flat.nii", rng.normal(size=(40, 40, 1)))
    _save(root / "multi.nii.gz", rng.normal(size=(30, 30, 30, 3)))
    nan = rng.normal(tissue, 100, (40, 40, 40))
    nan[3, 3, 3] = np.nan
    _save(root / "nan.nii.gz", nan)
    _save(root / "cut.nii", rng.normal(tissue, 100, (40, 40, 40)))
    (root / "cut.nii").write_bytes((root / "cut.nii").read_bytes()[:2000])
    return good


def _pretrain(path: Path, output: Path, *extra: str) -> int:
    return cli.main(["pretrain", "medical", str(path), "--output", str(output), "--encoder", "unet3d_tiny",
                     "--batch-size", "2", "--num-workers", "1", "--no-progress", "--max-bad-fraction", "0.9",
                     "--sample-size", "40", *extra])


def test_pretrain_and_embed_a_folder_of_volumes_skipping_the_bad_ones(tmp_path, capsys):
    good = write_scans(tmp_path / "scans")
    run = tmp_path / "run"
    assert _pretrain(tmp_path / "scans", run, "--epochs", "1", "--batch-size", "1") == 0  # every file read once
    skipped = {json.loads(line)["item"]: json.loads(line)["reason"]
               for line in (run / "skipped.jsonl").read_text().splitlines()}
    assert set(skipped) == set(BAD) and all(BAD[k] in skipped[k] for k in BAD)
    config = (run / "config.yaml").read_text()
    assert "spacing: [1.5, 1.5, 2.0]" in config and "modality: mr" in config
    capsys.readouterr()
    out = tmp_path / "volumes.parquet"
    assert cli.main(["embed", "medical", str(tmp_path / "scans"), "--encoder-dir", str(run / "encoder"),
                     "--output", str(out), "--no-progress", "--num-workers", "1", "--batch-size", "2"]) == 0
    embedded = pd.read_parquet(out)
    assert sorted(embedded["id"]) == sorted(good)
    features = np.stack(embedded["embedding"])
    assert features.shape == (3, 64) and np.isfinite(features).all() and not np.allclose(features[0], features[1])


def test_ct_is_detected_windowed_and_cut_into_repeatable_sub_volumes(tmp_path):
    from selfsup.medical.own_data import MedicalOwnData

    write_scans(tmp_path / "ct", background=-1000.0, tissue=40.0)
    domain = MedicalOwnData()
    options = {**domain.data_options, "sample_size": 24, "samples": 3, "crop": 16}
    source, resolved, skipped = domain.open(tmp_path / "ct", options, cache=None, seed=5, replace_bad=True,
                                            progress=False)
    assert resolved["modality"] == "ct" and len(skipped) == 2  # the 2D and 4D files fail at the scan
    first = source.read(0)["image"]
    assert first.shape == (3, 1, 24, 24, 24) and 0.0 <= first.min() and first.max() <= 1.0
    assert torch.equal(first, source.read(0)["image"])  # the same crops for the same (seed, epoch, item)
    source.set_epoch(1)
    assert not torch.equal(first, source.read(0)["image"])
    volume = source.prepare(0)  # the air (-1000 HU, the window's bottom: 0) cropped away as background
    assert volume.shape[1:] == (30, 38, 26) and abs(volume.median().item() - (40 + 1000) / 2000) < 0.02


def test_resume_on_volumes_matches_the_uninterrupted_run(tmp_path):
    """Cut after step 3 (mid-epoch: 5 files pass the scan, 2 steps of 2 an epoch) and resumed: step 4's weights equal,
    the random sub-volumes and the bad files met on both sides of the cut alike."""
    from selfsup.core.testing import checkpoint_weights, cut_after

    write_scans(tmp_path / "scans")
    flags = ("--max-steps", "4", "--checkpoint-every", "1", "--seed", "2", "--samples", "1")
    assert _pretrain(tmp_path / "scans", tmp_path / "straight", *flags) == 0
    cut = tmp_path / "cut"
    cut_after(tmp_path / "straight", cut, step=3, last=4)
    assert _pretrain(tmp_path / "scans", cut, *flags, "--resume", "auto") == 0
    straight, resumed = (checkpoint_weights(run, 4) for run in (tmp_path / "straight", cut))
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def test_prepared_volumes_are_cached_as_npy_and_remade_when_damaged(tmp_path):
    from selfsup.medical.own_data import MedicalOwnData

    good = write_scans(tmp_path / "scans")
    domain = MedicalOwnData()
    options = {**domain.data_options, "sample_size": 24, "crop": 16, "cache_volumes": True}

    def crops():
        source, _, _ = domain.open(tmp_path / "scans", options, cache=tmp_path / "run" / "index.npz", seed=1,
                                   replace_bad=True, progress=False)
        return [source.read(i)["image"] for i in range(len(source)) if source.item_id(i) in good]

    first = crops()
    cached = sorted((tmp_path / "run" / "volumes").glob("*.npy"))
    assert len(cached) == 3
    cached[0].write_bytes(cached[0].read_bytes()[:100])  # cut: made again, same values
    again = crops()
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert np.load(cached[0]).dtype == np.float32 and len(list((tmp_path / "run" / "volumes").glob("*.npy"))) == 3


@pytest.mark.parametrize(("name", "sample"), [("swin_ssl-tang2022", "32"), ("voco-wu2024", "64")])
def test_the_published_volume_recipes_build_and_reach_the_run(tmp_path, name, sample):
    """Each medical recipe builds its model as written (SwinUNETR feature_size 48 with the method's arguments), and
    through the command its data and optimiser settings reach config.yaml while flags override the rest (a tiny
    encoder and 32^3 crops, one step, on a CPU; VoCo's 2^3 base grid needs 64^3 samples)."""
    import yaml

    from selfsup.core.recipes import load_recipe
    from selfsup.medical.own_data import MedicalOwnData

    recipe = load_recipe("medical", name)
    domain = MedicalOwnData()
    encoder, model = domain.build({**domain.data_options, **{k: recipe[k] for k in domain.data_options if k in recipe}},
                                  recipe["method"], recipe["encoder"], recipe.get("method_args", {}),
                                  recipe["encoder_args"])
    assert encoder.feature_size == 48 and sum(p.numel() for p in model.parameters()) > 1e7
    write_scans(tmp_path / "scans", background=-1000.0, tissue=40.0)
    run = tmp_path / "run"
    assert _pretrain(tmp_path / "scans", run, "--recipe", name, "--encoder-args", "{}", "--sample-size", sample,
                     "--crop", "32", "--max-steps", "1", "--batch-size", "1") == 0
    config = yaml.safe_load((run / "config.yaml").read_text())
    for key in ("method", "modality", "ct_window", "spacing", "samples", "warmup_steps", "lr", "weight_decay",
                "optimizer", "min_lr_ratio"):
        assert config[key] == recipe[key], key
    assert config["encoder"] == "unet3d_tiny" and config["max_steps"] == 1
