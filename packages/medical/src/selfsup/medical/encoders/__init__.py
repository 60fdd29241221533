"""Volume encoders: MONAI's U-Net, SwinUNETR and 3D ResNet, and a 3D ViT on the core trunk."""

from selfsup.medical.encoders.base import VolumeEncoder
from selfsup.medical.encoders.resnet3d import ResNet3D
from selfsup.medical.encoders.swin_unetr import SwinUNETREncoder
from selfsup.medical.encoders.unet3d import UNet3D
from selfsup.medical.encoders.vit3d import PatchTokenizer3D, VisionTransformer3D, patchify3d, unpatchify3d
from selfsup.medical.encoders.weights import load_pretrained_weights

__all__ = ["PatchTokenizer3D", "ResNet3D", "SwinUNETREncoder", "UNet3D", "VisionTransformer3D", "VolumeEncoder",
           "load_pretrained_weights", "patchify3d", "unpatchify3d"]
