"""Graph SSL methods, one file each: ``method(batch) -> {"loss": ..., ...}``."""

from selfsup.graph.methods.bgrl import BGRL
from selfsup.graph.methods.cca_ssg import CCASSG, cca_ssg_loss
from selfsup.graph.methods.dgi import DGI
from selfsup.graph.methods.grace import GRACE
from selfsup.graph.methods.graphcl import GraphCL
from selfsup.graph.methods.graphmae import GraphMAE, scaled_cosine_error

__all__ = ["BGRL", "CCASSG", "DGI", "GRACE", "GraphCL", "GraphMAE", "cca_ssg_loss", "scaled_cosine_error"]
