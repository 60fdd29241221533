"""Tabular SSL methods, one file each: SCARF, VIME-self, SubTab, denoising autoencoder, T-JEPA."""

from selfsup.tabular.methods.dae import DenoisingAutoencoder
from selfsup.tabular.methods.scarf import SCARF
from selfsup.tabular.methods.subtab import SubTab
from selfsup.tabular.methods.tjepa import TJEPA
from selfsup.tabular.methods.vime import VIMESelf

__all__ = ["SCARF", "TJEPA", "DenoisingAutoencoder", "SubTab", "VIMESelf"]
