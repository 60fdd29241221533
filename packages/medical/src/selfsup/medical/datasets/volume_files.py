"""A folder of NIfTI volumes and DICOM series as the dataset ``selfsup pretrain medical`` trains on: each volume
read in a DataLoader worker through MONAI's dictionary transforms, then cut into random sub-volumes, so volumes of
any size work and a batch holds crops, never whole volumes.

Per volume (:meth:`VolumeFiles.prepare`): MONAI ``LoadImaged`` (``PydicomReader`` for a series folder; the file
named on failure), a voxel check (NaN,
blank), ``Orientationd`` to RAS, ``Spacingd`` to the run's spacing (mm), intensities to [0, 1] by modality (CT:
``ScaleIntensityRanged`` over a Hounsfield window, clipped; MR: ``ScaleIntensityRangePercentilesd`` 0.5-99.5),
``CropForegroundd``, ``SpatialPadd`` up to the sample size. Training reads ``samples`` random ``sample_size``^3
sub-volumes per volume (corners drawn from :meth:`~selfsup.core.data.FileSource.rng`, as MONAI's
``RandSpatialCropSamplesd`` draws them, so a resumed run cuts the same ones); ``embed`` reads the ``tile``^3 tiles
that cover the volume. ``cache_dir`` keeps each prepared volume as ``.npy``, read back memory-mapped (MONAI's
``PersistentDataset`` would store pickles that ``torch.load`` reads back whole)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from selfsup.core.data import FileSource, ItemIndex
from selfsup.core.data.scan import find_files
from selfsup.medical.datasets.dicom_series import (
    MICRONS,
    dicom_series_header,
    holds_dicom,
    require_pydicom,
    series_sample,
    series_stamp,
)

CT_WINDOW = (-1000.0, 1000.0)


def nifti_header(path: Path) -> dict[str, int]:
    """The scan's check of one file: its voxel grid and spacing from the header (nothing decoded). A ValueError
    naming the problem for what the methods cannot take: not NIfTI, unreadable, 2D, 4D with several volumes."""
    import nibabel as nib

    if not path.name.lower().endswith((".nii", ".nii.gz")):
        raise ValueError("not a NIfTI file (.nii, .nii.gz)")
    try:
        header = nib.load(str(path)).header
    except Exception as err:  # nibabel raises several types for broken headers
        raise ValueError(f"unreadable NIfTI header ({type(err).__name__}: {err})") from None
    shape, zooms = tuple(int(s) for s in header.get_data_shape()), header.get_zooms()
    if len(shape) < 3 or min(shape[:3]) < 2:
        raise ValueError(f"a 2D image (shape {shape}), not a 3D volume")
    if len(shape) > 3 and int(np.prod(shape[3:])) > 1:
        raise ValueError(f"a 4D file of {int(np.prod(shape[3:]))} volumes (shape {shape}): one channel is expected")
    return {"x": shape[0], "y": shape[1], "z": shape[2],
            **{f"s{a}": max(1, round(float(z) * MICRONS)) for a, z in zip("xyz", zooms[:3], strict=True)}}


def find_volumes(root: Path) -> tuple[list[str], list[dict]]:
    """``(items, skip records)`` under ``root``: every ``.nii``/``.gz`` file, and every folder that directly holds
    DICOM files (one series a folder; ``"."`` when ``root`` is itself a series), relative to ``root``, sorted. One
    line naming the extra when there are series and pydicom is missing."""
    items, skipped = find_files(root, (".nii", ".gz"), series=holds_dicom)
    if any((root / item).is_dir() for item in items):
        require_pydicom()
    return items, skipped


def volume_header(path: Path) -> dict[str, int]:
    """:func:`nifti_header` for a file, :func:`~selfsup.medical.datasets.dicom_series.dicom_series_header` for a
    folder (a DICOM series): the same columns either way."""
    return dicom_series_header(path) if path.is_dir() else nifti_header(path)


class VolumeFiles(FileSource):
    """Training items: the volumes, each giving ``{"image": (samples, 1, s, s, s)}``; embedding items: the volumes,
    each giving ``{"image": (W, 1, t, t, t)}`` tiles. :meth:`collate` puts the crops or tiles of a batch of volumes
    in one ``(B*, 1, ., ., .)`` tensor, with ``"tiles"`` (how many each volume gave)."""

    domain = "medical"

    def __init__(self, root: Path, index: ItemIndex, *, spacing: Sequence[float] | None, modality: str,
                 sample_size: int, samples: int, tile: int, embed: bool = False,
                 ct_window: Sequence[float] = CT_WINDOW, cache_dir: Path | None = None, **kwargs) -> None:
        super().__init__(root, index, **kwargs)
        self.cache_dir = Path(cache_dir) if cache_dir is not None and not embed else None
        if modality not in ("ct", "mr"):
            raise ValueError(f"modality must be 'ct' or 'mr', got {modality!r}")
        self.spacing, self.modality, self.ct_window = spacing, modality, tuple(ct_window)
        self.sample_size, self.samples, self.tile, self.embed = sample_size, samples, tile, embed
        self._transform = None

    def _pipeline(self):
        from monai.transforms import (
            Compose,
            CropForegroundd,
            EnsureTyped,
            Orientationd,
            ScaleIntensityRanged,
            ScaleIntensityRangePercentilesd,
            Spacingd,
            SpatialPadd,
        )

        from selfsup.medical.datasets.nifti import CheckVoxels, NamedLoad

        steps = [NamedLoad(["image"]), CheckVoxels(["image"]),
                 Orientationd("image", axcodes="RAS", labels=(("L", "R"), ("P", "A"), ("I", "S")))]
        if self.spacing:
            steps.append(Spacingd("image", pixdim=tuple(self.spacing), mode="bilinear"))
        if self.modality == "ct":
            low, high = self.ct_window
            steps.append(ScaleIntensityRanged("image", a_min=low, a_max=high, b_min=0.0, b_max=1.0, clip=True))
        else:
            steps.append(ScaleIntensityRangePercentilesd("image", lower=0.5, upper=99.5, b_min=0.0, b_max=1.0,
                                                         clip=True))
        size = self.tile if self.embed else self.sample_size
        steps += [CropForegroundd("image", source_key="image", allow_smaller=True),
                  SpatialPadd("image", spatial_size=(size,) * 3), EnsureTyped("image", track_meta=False)]
        return Compose(steps)

    def prepare(self, i: int) -> torch.Tensor:
        """``(1, X, Y, Z)`` float32 in [0, 1]: volume ``i`` oriented, resampled, scaled, cropped to its foreground,
        padded to at least the sample (or tile) size. With a ``cache_dir``, the result is kept there as ``.npy``
        (keyed by the file's path, size and time, or its slices', and these settings) and later read memory-mapped,
        so a crop reads only its own voxels; an unreadable cache file is made again."""
        if self.cache_dir is None:
            return self._prepared(i)
        path = self.path(i)
        stat = path.stat()
        stamp = series_stamp(path) if path.is_dir() else f"{stat.st_size}|{stat.st_mtime_ns}"
        key = f"{path}|{stamp}|{self.spacing}|{self.modality}|{self.ct_window}|{self.sample_size}"
        cached = self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npy"
        if cached.is_file():
            try:
                return torch.from_numpy(np.load(cached, mmap_mode="c", allow_pickle=False))  # copy-on-write: no copy
            except (OSError, ValueError):
                pass  # a cut or foreign file: made again below
        volume = self._prepared(i)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp.npy")
        np.save(tmp, volume.numpy(), allow_pickle=False)
        os.replace(tmp, cached)
        return volume

    def _prepared(self, i: int) -> torch.Tensor:
        if self._transform is None:  # built in the worker: MONAI's import is slow and need not reach the parent
            self._transform = self._pipeline()
        from selfsup.medical.datasets.nifti import run_pipeline

        image = run_pipeline(lambda: self._transform({"image": str(self.path(i))})["image"])
        return torch.as_tensor(np.asarray(image))[:1].float()

    def read(self, i: int) -> dict[str, torch.Tensor]:
        volume = self.prepare(i)
        if self.embed:
            from selfsup.medical.probes import tile_corners

            t = self.tile
            tiles = [volume[:, x:x + t, y:y + t, z:z + t] for x, y, z in tile_corners(volume.shape[1:], t)]
            return {"image": torch.stack(tiles)}
        s, rng = self.sample_size, self.rng(i)
        corners = [[int(rng.integers(0, dim - s + 1)) for dim in volume.shape[1:]] for _ in range(self.samples)]
        crops = [torch.tensor(np.asarray(volume[:, x:x + s, y:y + s, z:z + s])) for x, y, z in corners]
        return {"image": torch.stack(crops)}

    def collate(self, samples: list[dict[str, Any]]) -> dict[str, Any]:
        skipped = [record for s in samples for record in s["skipped"]]
        good = [s for s in samples if len(s) > 1]
        if not good:
            return {"skipped": skipped}
        return {"image": torch.cat([s["image"] for s in good]),
                "tiles": torch.tensor([len(s["image"]) for s in good]),
                "index": torch.tensor([s["index"] for s in good]), "label": torch.tensor([s["label"] for s in good]),
                "skipped": skipped}


def volume_statistics(source: VolumeFiles, count: int = 8) -> dict[str, float]:
    """``{"low", "p01"}``: the smallest voxel and the 1st percentile over up to ``count`` volumes spread over the
    collection, read raw (no scaling): CT holds air at about -1000 HU, MR is non-negative."""
    import nibabel as nib

    picks = np.linspace(0, len(source) - 1, min(count, len(source))).round().astype(int)
    lows, p01s = [], []
    for i in dict.fromkeys(picks.tolist()):
        path = source.path(i)
        try:  # every 4th voxel a side
            voxels = series_sample(path) if path.is_dir() else \
                np.asarray(nib.load(str(path)).dataobj[::4, ::4, ::4], dtype=np.float32)
        except Exception:
            continue
        finite = voxels[np.isfinite(voxels)]
        if finite.size:
            lows.append(float(finite.min()))
            p01s.append(float(np.percentile(finite, 1)))
    if not lows:
        raise ValueError(f"{source.root}: none of the sampled volumes could be read")
    return {"low": min(lows), "p01": float(np.median(p01s))}
