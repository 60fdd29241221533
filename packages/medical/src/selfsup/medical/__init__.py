"""selfsup-medical: 3D medical volume SSL on MONAI and the selfsup core.

Encoders (MONAI's U-Net, SwinUNETR and 3D ResNet; a 3D ViT on the core trunk), batched volume augmentations,
methods (SwinUNETR's rotation + contrast + inpainting recipe, VoCo, 3D MAE, Models Genesis), datasets (NIfTI
folders and Decathlon tasks through MONAI, embedded MNI152 pseudo-subjects), few-label segmentation and
frozen probes, and the suite ``selfsup bench medical``.
"""

from selfsup.core.lazy_exports import lazy_exports

# imported on first access (PEP 562), so that loading the plugin does not import MONAI
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "build": ["ENCODERS", "METHODS", "build_encoder", "build_method"],
    "datasets": ["TISSUES", "VolumeDataset", "VolumeSet", "check_volume", "load_decathlon", "load_mni_template",
                 "load_nifti_folder", "mni_pseudo_subjects"],
    "encoders": ["PatchTokenizer3D", "ResNet3D", "SwinUNETREncoder", "UNet3D", "VisionTransformer3D",
                 "VolumeEncoder", "load_pretrained_weights"],
    "augment": ["ClassBalancedCrops"],
    "finetune": ["dice_scores", "few_label_dice", "segmentation_loss", "train_segmenter"],
    "methods": ["MAE3D", "ModelsGenesis", "SwinPretraining", "VoCo"],
    "probes": ["embed_volumes", "intensity_histogram", "ridge_probe", "ridge_probe_cv"],
})
