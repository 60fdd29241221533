"""Volume datasets: NIfTI folders, Medical Segmentation Decathlon tasks (through MONAI), and the embedded
MNI152 pseudo-subjects."""

from selfsup.medical.datasets.checks import check_volume
from selfsup.medical.datasets.mni_subjects import load_mni_template, mni_pseudo_subjects
from selfsup.medical.datasets.nifti import (
    check_nifti_file,
    load_decathlon,
    load_nifti_folder,
    volume_transforms,
)
from selfsup.medical.datasets.volumes import TISSUES, VolumeDataset, VolumeSet

__all__ = ["TISSUES", "VolumeDataset", "VolumeSet", "check_nifti_file", "check_volume", "load_decathlon",
           "load_mni_template", "load_nifti_folder", "mni_pseudo_subjects", "volume_transforms"]
