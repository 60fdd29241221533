"""Run as a subprocess by the trainer tests: train a tiny SimCLR, optionally SIGKILL itself.

    python train_script.py --output DIR --steps 15 [--checkpoint-every 3] [--kill-at 10]
                           [--kill-in-save 9] [--resume auto]

The views are drawn from the global torch RNG in the collate function, so an exact resume also
needs the RNG state restored. The final weights go to DIR/final.safetensors.
"""

import argparse
import os
import signal
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.utils.data import Dataset

from selfsup.core.methods import TwoViewMethod
from selfsup.core.registry import create_encoder
from selfsup.core.train import TrainConfig, Trainer
from selfsup.core.train import checkpoint as ckpt


class NoisyPairs(Dataset):
    def __init__(self, n: int = 96, dim: int = 16) -> None:
        self.x = torch.randn(n, dim, generator=torch.Generator().manual_seed(123))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i]

    @staticmethod
    def collate(items):
        x = torch.stack(items)
        return {"views": [x + 0.3 * torch.randn_like(x), x + 0.3 * torch.randn_like(x)]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", required=True)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--checkpoint-every", type=int, default=3)
    parser.add_argument("--kill-at", type=int, default=None)
    parser.add_argument("--kill-in-save", type=int, default=None)
    parser.add_argument("--resume", default=None)
    args = parser.parse_args()

    torch.manual_seed(0)
    encoder = create_encoder("mlp", in_dim=16, hidden_dim=32, out_dim=8, norm="layer")
    method = TwoViewMethod(encoder, "nt_xent", proj_dim=8, hidden_dim=16, norm="layer", temperature=0.5)
    config = TrainConfig(output_dir=args.output, epochs=100, max_steps=args.steps, batch_size=16, lr=1e-2,
                         warmup_steps=2, checkpoint_every=args.checkpoint_every, keep_checkpoints=3,
                         progress=False, log_every=1, resume=args.resume)
    if args.kill_in_save is not None:  # die after the files are written, before the rename
        real_fsync = ckpt._fsync

        def fsync_then_die(path: Path) -> None:
            real_fsync(path)
            if path.name == ckpt.STATE_FILE and trainer.step == args.kill_in_save:
                os.kill(os.getpid(), signal.SIGKILL)
        ckpt._fsync = fsync_then_die

    def kill_hook(trainer, record):
        if trainer.step == args.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    dataset = NoisyPairs()
    trainer = Trainer(method, dataset, config, collate_fn=dataset.collate, hooks=[kill_hook])
    trainer.fit()
    save_file({k: v.contiguous() for k, v in method.state_dict().items()}, str(Path(args.output) / "final.safetensors"))


if __name__ == "__main__":
    main()
