"""Run by test_trainer_ddp.py, once with ``python`` and once under ``torchrun --nproc_per_node 2``.

Trains SimCLR (``gather=True``, LayerNorm heads) on fixed views with a global batch of 16 and saves
rank 0's final weights to ``OUTPUT/final.safetensors``.
"""

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.utils.data import Dataset

from selfsup.core import distributed
from selfsup.core.methods import TwoViewMethod
from selfsup.core.registry import create_encoder
from selfsup.core.train import TrainConfig, Trainer


class FixedPairs(Dataset):
    """Two fixed noisy views per sample: the same samples whatever the number of processes."""

    def __init__(self, n: int = 96, dim: int = 12) -> None:
        gen = torch.Generator().manual_seed(5)
        x = torch.randn(n, dim, generator=gen)
        self.v1, self.v2 = x + 0.3 * torch.randn(n, dim, generator=gen), x + 0.3 * torch.randn(n, dim, generator=gen)

    def __len__(self) -> int:
        return len(self.v1)

    def __getitem__(self, i: int) -> dict:
        return {"views": (self.v1[i], self.v2[i])}


def main(output: str) -> None:
    torch.manual_seed(0)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    encoder = create_encoder("mlp", in_dim=12, hidden_dim=24, out_dim=8, norm="layer")
    method = TwoViewMethod(encoder, "nt_xent", proj_dim=8, hidden_dim=16, norm="layer", temperature=0.3, gather=True)
    config = TrainConfig(output_dir=output, epochs=2, batch_size=16, lr=1e-2, warmup_steps=2, progress=False,
                         checkpoint_every=0)
    summary = Trainer(method, FixedPairs(), config).fit()
    if distributed.is_main_process():
        save_file({k: v.contiguous() for k, v in method.state_dict().items()}, str(Path(output) / "final.safetensors"))
        print("steps", summary["steps"], "world", distributed.world_size())


if __name__ == "__main__":
    main(sys.argv[1])
