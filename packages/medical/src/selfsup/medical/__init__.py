"""selfsup-medical: 3D medical volume SSL on MONAI and the selfsup core.

Encoders (MONAI's U-Net, SwinUNETR and 3D ResNet; a 3D ViT on the core trunk), batched volume augmentations,
methods (SwinUNETR's rotation + contrast + inpainting recipe, VoCo, 3D MAE, Models Genesis), datasets (NIfTI
folders and Decathlon tasks through MONAI, embedded MNI152 pseudo-subjects), few-label segmentation and
frozen probes, and the suite ``selfsup bench medical``.
"""

from selfsup.medical.build import ENCODERS, METHODS, build_encoder, build_method
from selfsup.medical.datasets import (
    TISSUES,
    VolumeDataset,
    VolumeSet,
    check_volume,
    load_decathlon,
    load_mni_template,
    load_nifti_folder,
    mni_pseudo_subjects,
)
from selfsup.medical.encoders import (
    PatchTokenizer3D,
    ResNet3D,
    SwinUNETREncoder,
    UNet3D,
    VisionTransformer3D,
    VolumeEncoder,
    load_pretrained_weights,
)
from selfsup.medical.finetune import dice_scores, few_label_dice, train_segmenter
from selfsup.medical.methods import MAE3D, ModelsGenesis, SwinPretraining, VoCo
from selfsup.medical.probes import embed_volumes, intensity_histogram, ridge_probe, ridge_probe_cv

__all__ = [
    "ENCODERS", "MAE3D", "METHODS", "TISSUES", "ModelsGenesis", "PatchTokenizer3D", "ResNet3D", "SwinPretraining",
    "SwinUNETREncoder", "UNet3D", "VisionTransformer3D", "VoCo", "VolumeDataset", "VolumeEncoder", "VolumeSet",
    "build_encoder", "build_method", "check_volume", "dice_scores", "embed_volumes", "few_label_dice",
    "intensity_histogram", "load_decathlon", "load_mni_template", "load_nifti_folder", "load_pretrained_weights",
    "mni_pseudo_subjects", "ridge_probe", "ridge_probe_cv", "train_segmenter",
]
