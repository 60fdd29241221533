"""NIfTI volumes through MONAI's dictionary transforms and ``CacheDataset``: a folder of images (with labels
beside them, matched by file name) or a Medical Segmentation Decathlon task folder (``DecathlonDataset``)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from selfsup.medical.datasets.checks import check_volume
from selfsup.medical.datasets.volumes import VolumeSet

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def _is_nifti(path: Path) -> bool:
    return path.is_file() and path.name.endswith(NIFTI_SUFFIXES) and not path.name.startswith(".")


def _stem(path: Path) -> str:
    name = path.name
    for suffix in NIFTI_SUFFIXES[::-1]:
        name = name.removesuffix(suffix)
    return name.removesuffix("_0000")  # nnU-Net's channel suffix


def check_nifti_file(path: Path) -> None:
    """Read the header of ``path``: a ValueError naming it when it is not a readable 3D (or 4D single-channel)
    NIfTI file."""
    import nibabel as nib

    try:
        image = nib.load(str(path))
    except Exception as err:  # nibabel raises several types for broken files
        raise ValueError(f"{path}: unreadable NIfTI header ({type(err).__name__}: {err})") from err
    shape = image.shape
    if len(shape) not in (3, 4) or (len(shape) == 4 and shape[3] != 1):
        raise ValueError(f"{path}: expected a 3D volume, the header says shape {shape}")


class NamedLoad:
    """MONAI's ``LoadImaged`` whose failures name the file: a truncated or blank file otherwise surfaces as a
    nibabel/zlib error deep inside MONAI's pipeline, with no path. A folder is read as a DICOM series with MONAI's
    ``PydicomReader``. MONAI builds every reader it knows on each ``LoadImaged``; the GPU decoder's notice that it
    is unavailable is silenced."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        self.load = _quiet_load(self.keys)
        self.load_series = None

    def __call__(self, data: dict) -> dict:
        try:
            if any(Path(str(data[k])).is_dir() for k in self.keys if k in data):
                if self.load_series is None:
                    from monai.data import PydicomReader

                    self.load_series = _quiet_load(self.keys, reader=PydicomReader())
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # MONAI warns, then skips, a slice it cannot read
                    return self.load_series(data)
            return self.load(data)
        except Exception as err:
            cause = err
            while cause.__cause__ is not None:
                cause = cause.__cause__
            files = ", ".join(str(data[k]) for k in self.keys if k in data)
            raise ValueError(f"{files}: cannot read the voxels ({type(cause).__name__}: {cause}); the file is "
                             "truncated or damaged") from None


def _quiet_load(keys: tuple[str, ...], reader=None):
    import logging

    from monai.transforms import LoadImaged

    logging.getLogger("monai.data.nvimgcodec_pydicom_plugin").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="NvImgCodecPydicomReader")
        return LoadImaged(keys, reader=reader, image_only=True, ensure_channel_first=True)


class CheckVoxels:
    """A step of a MONAI dictionary pipeline: right after loading, each volume is checked by
    :func:`check_volume` under its file name (NaN voxels would otherwise vanish in the intensity scaling), an image
    must not be blank (one value throughout), and a label must lie on its image's voxel grid (it is never resized
    or padded to fit)."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)

    def __call__(self, data: dict) -> dict:
        for key in self.keys:
            value = data[key]
            where = getattr(value, "meta", {}).get("filename_or_obj", key)
            voxels = check_volume(np.asarray(value), str(where), channel_first=True)
            if key == "image" and voxels.min() == voxels.max():
                raise ValueError(f"{where}: the volume is blank (every voxel is {voxels.flat[0]:g})")
        if "image" in self.keys and "label" in self.keys:
            image, label = (tuple(np.shape(data[k])[1:]) for k in ("image", "label"))
            if image != label:
                where = getattr(data["label"], "meta", {}).get("filename_or_obj", "the label")
                raise ValueError(f"{where}: the label has {label} voxels but its image has {image}")
        return data


def run_pipeline(build):
    """``build()`` (a MONAI dataset and its items, or one pipeline call), with the ValueError of a failed check
    surfaced: MONAI wraps errors raised inside transforms in a RuntimeError that would hide which file was bad."""
    try:
        return build()
    except RuntimeError as err:
        cause = err
        while cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, ValueError):
            raise cause from None
        raise


def volume_transforms(size: int | None, spacing: Sequence[float] | None, with_labels: bool):
    """MONAI dictionary transforms: load channel-first, RAS orientation, optional resampling to ``spacing``
    (mm), intensities to [0, 1] by the 0.5-99.5 percentiles, crop to the foreground, resize to ``size``^3."""
    from monai.transforms import (
        Compose,
        CropForegroundd,
        EnsureTyped,
        Orientationd,
        Resized,
        ScaleIntensityRangePercentilesd,
        Spacingd,
    )

    keys = ["image", "label"] if with_labels else ["image"]
    modes = ("bilinear", "nearest") if with_labels else ("bilinear",)
    steps = [NamedLoad(keys), CheckVoxels(keys),
             Orientationd(keys, axcodes="RAS", labels=(("L", "R"), ("P", "A"), ("I", "S")))]
    if spacing is not None:
        steps.append(Spacingd(keys, pixdim=tuple(spacing), mode=modes))
    steps += [ScaleIntensityRangePercentilesd("image", lower=0.5, upper=99.5, b_min=0.0, b_max=1.0, clip=True),
              CropForegroundd(keys, source_key="image", allow_smaller=True)]
    if size is not None:
        steps.append(Resized(keys, spatial_size=(size,) * 3, mode=("trilinear", "nearest")[:len(keys)]))
    steps.append(EnsureTyped(keys, track_meta=False))
    return Compose(steps)


def _to_volume_set(items: list[dict], name: str, ids: list[str], class_names: tuple[str, ...]) -> VolumeSet:
    images, labels = [], []
    for item, where in zip(items, ids, strict=True):
        images.append(torch.from_numpy(check_volume(item["image"], where, channel_first=True)))
        if "label" in item:
            labels.append(torch.as_tensor(np.asarray(item["label"])[0]).round().long())
    shapes = {tuple(i.shape) for i in images}
    if len(shapes) > 1:
        raise ValueError(f"{name}: volumes differ in shape {sorted(shapes)[:3]}...; pass size=... to resize them")
    return VolumeSet(torch.stack(images), torch.stack(labels) if labels else None, name=name,
                     class_names=class_names, ids=ids)


def load_nifti_folder(root: str | Path, *, images: str = "imagesTr", labels: str | None = "labelsTr",
                      size: int | None = 64, spacing: Sequence[float] | None = None, cache_rate: float = 1.0,
                      class_names: Sequence[str] = ()) -> VolumeSet:
    """Every NIfTI file in ``root/images`` (or ``root`` itself), with the label of the same name from
    ``root/labels`` when that folder exists, through :func:`volume_transforms` and MONAI's ``CacheDataset``.

    Raises FileNotFoundError naming the folder when it holds no NIfTI file or a label is missing, and
    ValueError naming the file for unreadable headers, wrong dimensions or NaN voxels.
    """
    from monai.data import CacheDataset

    root = Path(root)
    image_dir = root / images if (root / images).is_dir() else root
    files = sorted(p for p in image_dir.iterdir() if _is_nifti(p)) if image_dir.is_dir() else []
    if not files:
        raise FileNotFoundError(f"no NIfTI files (*.nii, *.nii.gz) in {image_dir}")
    label_dir = root / labels if labels is not None else None
    with_labels = label_dir is not None and label_dir.is_dir()
    records = []
    for f in files:
        check_nifti_file(f)
        record = {"image": str(f)}
        if with_labels:
            match = [p for p in label_dir.iterdir() if _is_nifti(p) and _stem(p) == _stem(f)]
            if not match:
                raise FileNotFoundError(f"no label for {f.name} in {label_dir} (expected {_stem(f)}.nii.gz)")
            check_nifti_file(match[0])
            record["label"] = str(match[0])
        records.append(record)
    transform = volume_transforms(size, spacing, with_labels)
    items = run_pipeline(lambda: [d[i] for d in [CacheDataset(records, transform, cache_rate=cache_rate,
                                                                num_workers=0, progress=False)] for i in range(len(d))])
    return _to_volume_set(items, f"NIfTI folder {root}",
                          [r["image"] for r in records], tuple(class_names))


def load_decathlon(root: str | Path, task: str = "Task04_Hippocampus", section: str = "training", *,
                   size: int | None = 64, spacing: Sequence[float] | None = None, val_frac: float = 0.2,
                   seed: int = 0, cache_rate: float = 1.0) -> VolumeSet:
    """A Medical Segmentation Decathlon task already on disk (``root/<task>/dataset.json``, ``imagesTr``,
    ``labelsTr``), read offline by MONAI's ``DecathlonDataset`` (``section`` ``training``/``validation`` by
    its ``val_frac`` split, or ``test`` without labels). Multi-modal tasks keep their first channel."""
    from monai.apps import DecathlonDataset

    task_dir = Path(root) / task
    meta = task_dir / "dataset.json"
    if not meta.is_file():
        raise FileNotFoundError(f"{task}: expected {meta} (the task's tar from the Medical Segmentation Decathlon, "
                                f"unpacked in {root}; monai.apps.DecathlonDataset(..., download=True) fetches it)")
    info = json.loads(meta.read_text())
    with_labels = section != "test"
    transform = volume_transforms(size, spacing, with_labels)
    dataset = run_pipeline(lambda: DecathlonDataset(
        root_dir=str(root), task=task, section=section, transform=transform, download=False, seed=seed,
        val_frac=val_frac, cache_rate=cache_rate, num_workers=0, progress=False))
    items = [{**item, "image": np.asarray(item["image"])[:1]}
             for item in run_pipeline(lambda: [dataset[i] for i in range(len(dataset))])]
    labels = info.get("labels", {})
    class_names = tuple(labels[k] for k in sorted(labels, key=int) if int(k) > 0)
    ids = [str(d["image"]) for d in dataset.data]
    return _to_volume_set(items, f"Decathlon {task} ({section})", ids, class_names)
