"""Tiny NIfTI files written by the tests (no data is downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from monai.data import create_test_image_3d


def _write_nifti(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(array, np.eye(4)), str(path))
    return path


@pytest.fixture
def write_nifti():
    """``write_nifti(path, array)``: a NIfTI file with an identity affine (folders created)."""
    return _write_nifti


@pytest.fixture
def nifti_folder(tmp_path: Path) -> Path:
    """``imagesTr/case_{i}.nii.gz`` + ``labelsTr/case_{i}.nii.gz``: 3 spheres volumes of 24^3 made by MONAI's
    ``create_test_image_3d`` (labels 0-2)."""
    for i in range(3):
        image, label = create_test_image_3d(24, 24, 24, num_objs=3, rad_max=6, num_seg_classes=2,
                                            random_state=np.random.RandomState(i))
        _write_nifti(tmp_path / "imagesTr" / f"case_{i}.nii.gz", image.astype(np.float32))
        _write_nifti(tmp_path / "labelsTr" / f"case_{i}.nii.gz", label.astype(np.uint8))
    return tmp_path


@pytest.fixture
def decathlon_root(nifti_folder: Path) -> Path:
    """The NIfTI folder laid out as the Decathlon task ``Task04_Hippocampus`` with its ``dataset.json``."""
    task = nifti_folder / "Task04_Hippocampus"
    task.mkdir()
    for folder in ("imagesTr", "labelsTr"):
        (nifti_folder / folder).rename(task / folder)
    files = sorted(p.name for p in (task / "imagesTr").iterdir())
    meta = {"name": "Hippocampus", "description": "test files", "reference": "-", "licence": "-",
            "tensorImageSize": "3D", "modality": {"0": "MRI"},
            "labels": {"0": "background", "1": "Anterior", "2": "Posterior"},
            "numTraining": len(files), "numTest": 0,
            "training": [{"image": f"./imagesTr/{f}", "label": f"./labelsTr/{f}"} for f in files], "test": []}
    (task / "dataset.json").write_text(json.dumps(meta))
    return nifti_folder
