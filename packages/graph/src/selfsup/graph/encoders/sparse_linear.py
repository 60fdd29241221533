"""The input projection of a GNN's first layer, computed as a sparse x dense product when the node
features are mostly zeros (bag-of-words features: 1.3% of Cora's are non-zero)."""

from __future__ import annotations

import warnings

import torch
from torch_geometric.nn.dense.linear import Linear


class SparseInputLinear(Linear):
    """torch-geometric's ``Linear`` (same parameters, keys and initialisation) whose forward multiplies a
    CSR copy of ``x (N, F)`` by the weight when at most ``max_density`` of ``x`` is non-zero, ``x`` does
    not need a gradient and it is large enough for the conversion to pay (``min_elements``); otherwise
    the dense product. Same values up to float rounding, and the same weight gradient."""

    def __init__(self, *args, max_density: float = 0.1, min_elements: int = 1 << 16, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_density, self.min_elements = max_density, min_elements

    @classmethod
    def like(cls, linear: Linear, **kwargs) -> SparseInputLinear:
        """A copy of ``linear`` (its current weights) that takes the sparse path."""
        new = cls(linear.in_channels, linear.out_channels, bias=linear.bias is not None,
                  weight_initializer=linear.weight_initializer, bias_initializer=linear.bias_initializer, **kwargs)
        new.load_state_dict(linear.state_dict())
        return new

    def uses_sparse(self, x: torch.Tensor) -> bool:
        if x.layout != torch.strided or x.dim() != 2 or x.requires_grad or x.numel() < self.min_elements:
            return False
        return int(torch.count_nonzero(x)) <= self.max_density * x.numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.uses_sparse(x):
            return super().forward(x)
        with warnings.catch_warnings():  # "sparse CSR support is in beta"
            warnings.simplefilter("ignore", UserWarning)
            sparse = x.to_sparse_csr()
        out = torch.sparse.mm(sparse, self.weight.t())
        return out if self.bias is None else out + self.bias
