"""selfsup-medical: 3D medical volume SSL on MONAI and the selfsup core.

Encoders (MONAI's U-Net, SwinUNETR and 3D ResNet; a 3D ViT on the core trunk), batched volume augmentations,
methods (SwinUNETR's rotation + contrast + inpainting recipe, VoCo, 3D MAE, Models Genesis), datasets (NIfTI
folders and Decathlon tasks through MONAI, embedded MNI152 pseudo-subjects), few-label segmentation and
frozen probes, and the suite ``selfsup bench medical``.
"""

from __future__ import annotations

import importlib

# public name -> module; imported on first access (PEP 562), so that loading the plugin does not import MONAI
_EXPORTS = {
    **dict.fromkeys(["ENCODERS", "METHODS", "build_encoder", "build_method"], "build"),
    **dict.fromkeys(["TISSUES", "VolumeDataset", "VolumeSet", "check_volume", "load_decathlon", "load_mni_template",
                     "load_nifti_folder", "mni_pseudo_subjects"], "datasets"),
    **dict.fromkeys(["PatchTokenizer3D", "ResNet3D", "SwinUNETREncoder", "UNet3D", "VisionTransformer3D",
                     "VolumeEncoder", "load_pretrained_weights"], "encoders"),
    **dict.fromkeys(["ClassBalancedCrops"], "augment"),
    **dict.fromkeys(["dice_scores", "few_label_dice", "segmentation_loss", "train_segmenter"], "finetune"),
    **dict.fromkeys(["MAE3D", "ModelsGenesis", "SwinPretraining", "VoCo"], "methods"),
    **dict.fromkeys(["embed_volumes", "intensity_histogram", "ridge_probe", "ridge_probe_cv"], "probes"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'selfsup.medical' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"selfsup.medical.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
