"""DICOM series beside NIfTI files in ``selfsup pretrain medical PATH``: one series a folder, its header checked with
pydicom, its voxels read by MONAI's ``PydicomReader``; bad series skipped and named; ``embed`` names series by
folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

pydicom = pytest.importorskip("pydicom")
nib = pytest.importorskip("nibabel")

from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid  # noqa: E402

from selfsup.core import cli  # noqa: E402

SPACING = (0.8, 0.7, 2.5)  # x (between columns), y (between rows), z (between slices), mm


def write_series(folder: Path, hu: np.ndarray, *, suffix: str = ".dcm", series_uid: str | None = None,
                 spacing=SPACING, first: int = 0) -> None:
    """``hu`` (x, y, z) Hounsfield units as one axial CT series: slice k at z = k * spacing, identity orientation
    (LPS), stored as int16 with intercept -1024, files ``slice{k}{suffix}``."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    for k in range(hu.shape[2]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID, ds.Modality, ds.InstanceNumber = series_uid, "CT", first + k + 1
        ds.Rows, ds.Columns = hu.shape[1], hu.shape[0]
        ds.PixelSpacing = [spacing[1], spacing[0]]  # DICOM: between rows, between columns
        ds.SliceThickness = spacing[2]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0.0, 0.0, (first + k) * spacing[2]]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1.0, -1024.0
        ds.PixelData = np.round(hu[:, :, k] + 1024).astype(np.int16).T.tobytes()  # rows (y) x columns (x)
        ds.save_as(folder / f"slice{first + k:03d}{suffix}", enforce_file_format=True)


def _body(shape, rng) -> np.ndarray:
    """Air (-1000 HU) around a block of soft tissue (40 +- 60 HU), whole HU (as DICOM stores them)."""
    hu = np.full(shape, -1000.0)
    z = shape[2] // 4
    hu[4:-4, 4:-4, z:shape[2] - z] = rng.normal(40, 60, (shape[0] - 8, shape[1] - 8, shape[2] - 2 * z))
    return hu.round()


BAD = {"mixed": "2 DICOM series in one folder", "single": "a single DICOM slice",
       "broken": "DICOM slice slice002.dcm has no"}


def write_collection(root: Path) -> list[str]:
    """Two good series (one with suffix-less files), a NIfTI CT volume, and the three bad folders of ``BAD``;
    returns the good ids."""
    rng = np.random.default_rng(0)
    write_series(root / "p1" / "ct", _body((36, 40, 16), rng))
    write_series(root / "p2" / "ct", _body((40, 36, 18), rng), suffix="")
    vox = _body((36, 36, 16), rng).astype(np.float32)
    nib.save(nib.Nifti1Image(vox, np.diag([-SPACING[0], -SPACING[1], SPACING[2], 1.0])), str(root / "extra.nii.gz"))
    write_series(root / "mixed", _body((20, 20, 4), rng))
    write_series(root / "mixed", _body((20, 20, 4), rng), first=4)  # a second series in the same folder
    write_series(root / "single", _body((20, 20, 1), rng))
    write_series(root / "broken", _body((20, 20, 4), rng))
    (root / "broken" / "slice002.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00" * 7)
    return ["extra.nii.gz", "p1/ct", "p2/ct"]


def test_dicom_header_gives_the_grid_and_spacing_without_pixels(tmp_path):
    from selfsup.medical.datasets.volume_files import find_volumes, volume_header

    write_collection(tmp_path)
    items, _ = find_volumes(tmp_path)
    assert items == ["broken", "extra.nii.gz", "mixed", "p1/ct", "p2/ct", "single"]
    assert volume_header(tmp_path / "p1" / "ct") == {"x": 36, "y": 40, "z": 16, "sx": 800, "sy": 700, "sz": 2500}
    assert volume_header(tmp_path / "p2" / "ct")["z"] == 18  # files without a suffix, found by their preamble


def test_a_series_reads_as_the_same_volume_as_its_nifti(tmp_path):
    """The same HU written as a DICOM series (LPS identity orientation) and as NIfTI with the matching affine:
    prepared (RAS, resampled, windowed, cropped) alike."""
    from selfsup.core.data import ItemIndex
    from selfsup.medical.datasets.volume_files import VolumeFiles

    hu = _body((30, 28, 12), np.random.default_rng(3))
    write_series(tmp_path / "series", hu)
    nib.save(nib.Nifti1Image(hu.astype(np.float32), np.diag([-SPACING[0], -SPACING[1], SPACING[2], 1.0])),
             str(tmp_path / "same.nii.gz"))
    source = VolumeFiles(tmp_path, ItemIndex(["series", "same.nii.gz"], {}), spacing=[1.0, 1.0, 2.0],
                         modality="ct", sample_size=16, samples=1, tile=16)
    series, nifti = source.prepare(0), source.prepare(1)
    assert series.shape == nifti.shape and series.shape[0] == 1
    assert torch.allclose(series, nifti, atol=1e-4) and series.std() > 0.01


def test_pretrain_and_embed_dicom_series_and_nifti_together(tmp_path, capsys):
    good = write_collection(tmp_path / "scans")
    run = tmp_path / "run"
    assert cli.main(["pretrain", "medical", str(tmp_path / "scans"), "--output", str(run), "--encoder",
                     "unet3d_tiny", "--batch-size", "1", "--num-workers", "1", "--no-progress", "--epochs", "1",
                     "--max-bad-fraction", "0.9", "--sample-size", "32", "--crop", "32"]) == 0
    skipped = {json.loads(line)["item"]: json.loads(line)["reason"]
               for line in (run / "skipped.jsonl").read_text().splitlines()}
    assert set(skipped) == set(BAD) and all(BAD[k] in skipped[k] for k in BAD)
    config = (run / "config.yaml").read_text()
    assert "spacing: [0.8, 0.7, 2.5]" in config and "modality: ct" in config  # median header spacing; HU seen
    capsys.readouterr()
    out = tmp_path / "scans.parquet"
    assert cli.main(["embed", "medical", str(tmp_path / "scans"), "--encoder-dir", str(run / "encoder"),
                     "--output", str(out), "--no-progress", "--num-workers", "1"]) == 0
    embedded = pd.read_parquet(out)
    assert sorted(embedded["id"]) == good
    assert np.isfinite(np.stack(embedded["embedding"])).all()


def test_dicom_without_pydicom_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    import builtins

    write_series(tmp_path / "scans" / "a", _body((20, 20, 4), np.random.default_rng(0)))
    real_import = builtins.__import__

    def no_pydicom(name, *args, **kwargs):
        if name == "pydicom" or name.startswith("pydicom."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pydicom)
    assert cli.main(["pretrain", "medical", str(tmp_path / "scans"), "--output", str(tmp_path / "run"),
                     "--no-progress"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install selfsup-medical[dicom]" in err[0]
