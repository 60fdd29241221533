"""Run by test_own_data_ddp.py under ``torchrun --nproc_per_node 2``: one epoch over a folder of number files (or
the rows of a CSV) with two DataLoader workers per rank; each rank writes the item positions its method saw to
``OUTPUT/rank<r>.json``."""

import json
import sys
from pathlib import Path

import torch

from selfsup.core import distributed
from selfsup.core.data import FileSource, index_collection
from selfsup.core.train import TrainConfig, Trainer


class NumberFiles(FileSource):
    def read(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": torch.tensor([float(self.path(i).read_text())])}


class Recorder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.seen: list[int] = []

    def forward(self, batch):
        self.seen += batch["index"].tolist()
        x = batch["x"] if "x" in batch else batch["numeric"]
        return {"loss": ((x * self.w) ** 2).mean() * 0}


def table_source(data: Path, output: Path):
    """The rows of a CSV, as ``selfsup pretrain tabular`` opens them: rank 0 prepares, the others reuse."""
    from selfsup.tabular.own_data import TabularOwnData

    domain = TabularOwnData()
    cache, opened = output.with_name("prepared") / "index.npz", None
    if distributed.is_main_process():
        opened = domain.open(data, domain.data_options, cache=cache, seed=4, replace_bad=True, progress=False)
    distributed.barrier()
    if opened is None:
        opened = domain.open(data, domain.data_options, cache=cache, seed=4, replace_bad=True, progress=False)
    return opened[0]


def main(data: Path, output: Path) -> None:
    distributed.init_from_env()
    if data.suffix == ".csv":
        source = table_source(data, output)
    else:
        _, index, _ = index_collection(data, suffixes=(".num",), check=lambda p: {}, what="numbers", progress=False)
        source = NumberFiles(data, index)
    method = Recorder()
    config = TrainConfig(output_dir=str(output), epochs=1, batch_size=6, num_workers=2, progress=False, seed=4,
                         optimizer="sgd", max_bad_fraction=0.05)
    summary = Trainer(method, source, config, collate_fn=source.collate).fit()
    output.mkdir(parents=True, exist_ok=True)
    (output / f"rank{distributed.rank()}.json").write_text(json.dumps({"seen": method.seen, **summary}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
