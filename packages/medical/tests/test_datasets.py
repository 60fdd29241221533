from __future__ import annotations

import numpy as np
import pytest
import torch

from selfsup.medical import (
    TISSUES,
    VolumeDataset,
    VolumeSet,
    check_volume,
    load_decathlon,
    load_nifti_folder,
    mni_pseudo_subjects,
)


@pytest.fixture(scope="module")
def subjects() -> VolumeSet:
    return mni_pseudo_subjects(3, size=32, seed=1)


def test_pseudo_subjects_shapes_labels_and_fractions(subjects):
    assert subjects.images.shape == (3, 1, 32, 32, 32)
    assert subjects.labels.shape == (3, 32, 32, 32) and subjects.labels.dtype == torch.long
    assert set(subjects.labels.unique().tolist()) == {0, 1, 2, 3}
    assert subjects.class_names == TISSUES and subjects.num_classes == 4
    assert 0.0 <= float(subjects.images.min()) and float(subjects.images.max()) <= 1.0
    expected = torch.stack([(subjects.labels == k).float().mean(dim=(1, 2, 3)) for k in (1, 2, 3)], dim=1)
    torch.testing.assert_close(subjects.targets, expected)
    assert "synthetic" in subjects.name


def test_pseudo_subjects_differ_and_repeat_by_seed(subjects):
    assert not torch.equal(subjects.labels[0], subjects.labels[1])
    again = mni_pseudo_subjects(2, size=32, seed=1)
    torch.testing.assert_close(again.images, subjects.images[:2])


def test_tissue_labels_match_t1_contrast(subjects):
    """On a T1 image white matter is brighter than grey matter, grey matter brighter than CSF: the labels were
    warped with the image."""
    image, label = subjects.images[:, 0], subjects.labels
    means = [float(image[label == k].mean()) for k in (1, 2, 3)]
    assert means[2] > means[1] > means[0]


def test_varied_contrast_changes_the_tissue_intensities_not_the_anatomy():
    """Each subject's own intensity curve spreads its tissues' mean intensities across subjects (the few-label
    protocol then has contrasts to generalise to); the warps, and so the labels, are the same as without it."""
    varied = mni_pseudo_subjects(6, size=32, seed=2)
    fixed = mni_pseudo_subjects(6, size=32, seed=2, varied_contrast=False)
    assert torch.equal(varied.labels, fixed.labels) and varied.name != fixed.name

    def tissue_means(v: VolumeSet) -> torch.Tensor:  # (subjects, 3)
        return torch.tensor([[float(v.images[i, 0][v.labels[i] == k].mean()) for k in (1, 2, 3)]
                             for i in range(len(v))])

    assert (tissue_means(varied).std(0) > 2 * tissue_means(fixed).std(0)).all()


def test_volume_set_validates_and_subsets(subjects):
    with pytest.raises(ValueError, match="images must be"):
        VolumeSet(torch.zeros(2, 8, 8, 8))
    with pytest.raises(ValueError, match="labels must be"):
        VolumeSet(torch.zeros(2, 1, 8, 8, 8), labels=torch.zeros(2, 4, 4, 4, dtype=torch.long))
    part = subjects.subset([2, 0])
    assert part.ids == [subjects.ids[2], subjects.ids[0]] and torch.equal(part.labels[0], subjects.labels[2])
    item = VolumeDataset(part, with_labels=True)[1]
    assert item["image"].shape == (1, 32, 32, 32) and item["label"].shape == (32, 32, 32)


def test_check_volume_names_the_problem():
    with pytest.raises(ValueError, match=r"scan\.nii: expected a 3D volume"):
        check_volume(np.zeros((4, 4)), "scan.nii")
    bad = np.zeros((4, 4, 4), dtype=np.float32)
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"scan\.nii: 1 voxels are NaN"):
        check_volume(bad, "scan.nii")


def test_nifti_folder_loads_images_and_labels(nifti_folder):
    volumes = load_nifti_folder(nifti_folder, size=16, class_names=("a", "b"))
    assert volumes.images.shape == (3, 1, 16, 16, 16) and volumes.labels.shape == (3, 16, 16, 16)
    assert float(volumes.images.min()) >= 0.0 and float(volumes.images.max()) <= 1.0
    assert set(volumes.labels.unique().tolist()) <= {0, 1, 2} and int(volumes.labels.max()) > 0
    assert volumes.ids[0].endswith("case_0.nii.gz")


def test_nifti_folder_errors_name_the_file(tmp_path, nifti_folder, write_nifti):
    with pytest.raises(FileNotFoundError, match="no NIfTI files"):
        load_nifti_folder(tmp_path / "empty")
    (nifti_folder / "labelsTr" / "case_2.nii.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"no label for case_2\.nii\.gz"):
        load_nifti_folder(nifti_folder)
    broken = tmp_path / "broken" / "imagesTr"
    broken.mkdir(parents=True)
    (broken / "scan.nii.gz").write_bytes(b"not a nifti file")
    with pytest.raises(ValueError, match=r"scan\.nii\.gz: unreadable NIfTI header"):
        load_nifti_folder(broken.parent, labels=None)
    flat = write_nifti(tmp_path / "flat" / "slice.nii.gz", np.zeros((8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"slice\.nii\.gz: expected a 3D volume"):
        load_nifti_folder(flat.parent, labels=None)
    nan = np.random.default_rng(0).random((8, 8, 8)).astype(np.float32)
    nan[1, 2, 3] = np.nan
    write_nifti(tmp_path / "nan" / "scan.nii.gz", nan)
    with pytest.raises(ValueError, match=r"scan\.nii\.gz: .*NaN"):
        load_nifti_folder(tmp_path / "nan", labels=None, size=None)


def test_decathlon_task_loads_offline(decathlon_root):
    volumes = load_decathlon(decathlon_root, "Task04_Hippocampus", "training", size=16, val_frac=0.0)
    assert volumes.images.shape == (3, 1, 16, 16, 16) and volumes.labels is not None
    assert volumes.class_names == ("Anterior", "Posterior")


def test_decathlon_missing_task_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Task09_Spleen.dataset\.json"):
        load_decathlon(tmp_path, "Task09_Spleen")


def test_subjects_made_in_worker_processes_equal_the_serial_ones():
    serial = mni_pseudo_subjects(3, size=32, seed=4)
    parallel = mni_pseudo_subjects(3, size=32, seed=4, workers=2)
    assert torch.equal(serial.images, parallel.images) and torch.equal(serial.labels, parallel.labels)
    assert torch.equal(serial.targets, parallel.targets) and serial.ids == parallel.ids
    with pytest.raises(ValueError, match="workers"):
        mni_pseudo_subjects(2, size=32, workers=0)


def test_a_script_without_a_main_guard_gets_told_why_the_workers_died(tmp_path):
    """Spawned workers import the main module again; an unguarded script makes them fail at start-up, which
    concurrent.futures reports only as a broken pool."""
    import subprocess
    import sys

    script = tmp_path / "make_subjects.py"
    script.write_text("from selfsup.medical import mni_pseudo_subjects\nmni_pseudo_subjects(2, size=32, workers=2)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "a worker process died" in out.stderr and "__main__" in out.stderr, out.stderr[-2000:]
