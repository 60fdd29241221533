"""DICOM series as volumes. A folder holding the slices of one series (``.dcm``/``.dicom`` files, or files without a
suffix that carry DICOM's ``DICM`` preamble) is one item of ``selfsup pretrain medical``, beside NIfTI files: its
header is checked here with pydicom (pixels not read) and its voxels are read by MONAI's ``PydicomReader`` (slices
ordered by ``InstanceNumber``, ``RescaleSlope``/``RescaleIntercept`` applied, LPS turned to RAS). pydicom comes with
the ``dicom`` extra: ``pip install selfsup-medical[dicom]``."""

from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path

import numpy as np

MICRONS = 1000.0  # spacings are index columns (integers): micrometres
DICOM_SUFFIXES = (".dcm", ".dicom")
_HEADER_TAGS = ["SeriesInstanceUID", "InstanceNumber", "Rows", "Columns", "PixelSpacing", "ImagePositionPatient",
                "ImageOrientationPatient", "SliceThickness", "SpacingBetweenSlices", "NumberOfFrames",
                "SamplesPerPixel"]


def require_pydicom():
    """pydicom, or one line naming the extra. pydicom's own warnings about damaged slices are silenced (process
    wide, from the first call): a slice it cannot use fails its series' check, which names it in the skip log."""
    try:
        import pydicom
    except ImportError:
        raise ImportError("reading DICOM series needs pydicom: pip install selfsup-medical[dicom]") from None
    warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom(\.|$)")
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    return pydicom


def is_dicom_file(path: Path) -> bool:
    """A ``.dcm``/``.dicom`` file, or a file without a suffix whose bytes 128-131 are ``DICM`` (the Part 10
    preamble; many scanners write slices with no suffix at all)."""
    suffix = path.suffix.lower()
    if suffix in DICOM_SUFFIXES:
        return True
    if suffix:
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(132)[128:] == b"DICM"
    except OSError:
        return False


def dicom_files(folder: Path) -> list[Path]:
    """The DICOM files directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and is_dicom_file(p))


def holds_dicom(folder: Path, names: list[str]) -> bool:
    """Whether ``folder`` (with files ``names``) directly holds DICOM slices: one series, one item."""
    return any(is_dicom_file(folder / name) for name in names)


def dicom_series_header(folder: Path) -> dict[str, int]:
    """The scan's check of one series folder, from the slices' headers (no pixels decoded): ``{"x", "y", "z",
    "sx", "sy", "sz"}`` (columns, rows, slices; spacings in micrometres). A ValueError naming the problem for a
    folder the methods cannot take: an unreadable slice or one without ``SeriesInstanceUID``, ``InstanceNumber``,
    ``Rows`` or ``Columns``; several series; a single slice; a multi-frame file; colour slices; slices of different
    sizes; no ``PixelSpacing``; slices at one position."""
    pydicom = require_pydicom()
    files = dicom_files(folder)
    if not files:
        raise ValueError("no DICOM files in the folder")
    headers = []
    for file in files:
        try:
            headers.append(pydicom.dcmread(file, stop_before_pixels=True, specific_tags=_HEADER_TAGS))
        except Exception as err:  # pydicom raises several types for damaged files
            raise ValueError(f"unreadable DICOM slice {file.name} ({type(err).__name__}: {err})") from None
    for file, header in zip(files, headers, strict=True):
        missing = [tag for tag in ("SeriesInstanceUID", "InstanceNumber", "Rows", "Columns") if tag not in header]
        if missing:
            raise ValueError(f"DICOM slice {file.name} has no {', '.join(missing)}: damaged, or not an image slice")
    uids = {str(h.SeriesInstanceUID) for h in headers}
    if len(uids) > 1:
        raise ValueError(f"{len(uids)} DICOM series in one folder: one series per sub-folder is expected")
    if int(getattr(headers[0], "NumberOfFrames", 1) or 1) > 1:
        raise ValueError("a multi-frame DICOM file: one file per slice is expected")
    if len(headers) < 2:
        raise ValueError("a single DICOM slice (a 2D image), not a 3D volume")
    if any(int(getattr(h, "SamplesPerPixel", 1) or 1) != 1 for h in headers):
        raise ValueError("colour DICOM slices: one channel is expected")
    sizes = {(int(h.Rows), int(h.Columns)) for h in headers}
    if len(sizes) != 1:
        raise ValueError(f"slices of different sizes (rows x columns: {sorted(sizes)})")
    if "PixelSpacing" not in headers[0]:
        raise ValueError("no PixelSpacing: the voxel size is unknown")
    rows, columns = sizes.pop()
    row_spacing, column_spacing = (float(v) for v in headers[0].PixelSpacing)
    return {"x": columns, "y": rows, "z": len(headers),
            "sx": max(1, round(column_spacing * MICRONS)), "sy": max(1, round(row_spacing * MICRONS)),
            "sz": max(1, round(_slice_spacing(headers) * MICRONS))}


def _slice_spacing(headers) -> float:
    """The median distance between neighbouring slices along the slice normal (from ``ImagePositionPatient`` and
    ``ImageOrientationPatient``), else ``SpacingBetweenSlices``, else ``SliceThickness``."""
    if all("ImagePositionPatient" in h for h in headers):
        orientation = np.asarray(getattr(headers[0], "ImageOrientationPatient", [1, 0, 0, 0, 1, 0]), dtype=float)
        normal = np.cross(orientation[:3], orientation[3:])
        depths = np.sort([float(np.dot(normal, np.asarray(h.ImagePositionPatient, dtype=float))) for h in headers])
        gaps = np.diff(depths)
        if gaps.size and float(np.median(gaps)) > 1e-6:
            return float(np.median(gaps))
        raise ValueError("the slices share one position (ImagePositionPatient): repeated slices, not a volume")
    for tag in ("SpacingBetweenSlices", "SliceThickness"):
        if tag in headers[0] and float(headers[0].get(tag)) > 0:
            return float(headers[0].get(tag))
    raise ValueError("no ImagePositionPatient, SpacingBetweenSlices or SliceThickness: the slice spacing is unknown")


def series_sample(folder: Path, step: int = 4) -> np.ndarray:
    """Raw intensities (rescale applied, float32) of every ``step``-th voxel a side of the series: what the modality
    check looks at, read slice by slice without stacking the volume."""
    pydicom = require_pydicom()
    slices = []
    for file in dicom_files(folder)[::step]:
        ds = pydicom.dcmread(file)
        pixels = np.asarray(ds.pixel_array, dtype=np.float32)[::step, ::step]
        slices.append(pixels * float(getattr(ds, "RescaleSlope", 1.0)) + float(getattr(ds, "RescaleIntercept", 0.0)))
    return np.stack(slices)


def series_stamp(folder: Path) -> str:
    """A digest of the names, sizes and modification times of the files in the series folder: changes when any slice
    does (the volume cache's key, taken on every read; a folder's own time changes only when files are added or
    removed). Every file counts, so no slice's preamble is read to tell it from another file."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
