"""Image SSL methods, one file each; every one takes ``{"image": uint8 (B, C, H, W)}`` batches and
augments them on the device."""

from selfsup.vision.methods.barlow_twins import BarlowTwins
from selfsup.vision.methods.byol import BYOL
from selfsup.vision.methods.dcl import DCL
from selfsup.vision.methods.dino import DINO
from selfsup.vision.methods.ijepa import IJEPA
from selfsup.vision.methods.mae import MAE
from selfsup.vision.methods.simclr import SimCLR
from selfsup.vision.methods.simsiam import SimSiam
from selfsup.vision.methods.vicreg import VICReg

__all__ = ["BYOL", "DCL", "DINO", "IJEPA", "MAE", "BarlowTwins", "SimCLR", "SimSiam", "VICReg"]
