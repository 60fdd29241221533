"""gather=True on 2 gloo ranks under DDP equals one process on the whole batch, in loss and gradients.

Each case projects full-batch features with a linear layer and applies an objective. One process
computes it on the whole batch (gather=False); two ranks each take half the batch, wrap the same
layer in DDP and call the objective with gather=True. The rank-mean of the losses must equal the
full-batch loss and DDP's averaged gradients the full-batch gradients. Run as a script to print
the table of differences.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # the Triton cases run interpreted on CPU (the ranks inherit it)

import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from selfsup.core import kernels
from selfsup.core import objectives as obj
from selfsup.core.distributed import gather

WORLD, N, D_IN, D_OUT = 2, 16, 12, 10


@dataclass
class Case:
    make: callable            # gen -> dict of full-batch tensors
    loss: callable            # (project, batch, gather, state) -> scalar
    batch_dims: dict = field(default_factory=dict)  # tensor name -> batch axis (default 0; None = shared)


def _r(gen, *shape):
    return torch.randn(*shape, generator=gen)


def _mask(gen, n, t):
    # ranks mask different numbers of tokens: the global count matters
    return torch.rand(n, t, generator=gen) < torch.linspace(0.2, 0.9, n)[:, None]


def _pair(gen):
    return {"x1": _r(gen, N, D_IN), "x2": _r(gen, N, D_IN)}


def _dino_heads(loss, student_hidden, teacher_hidden, weight, teacher_weight):
    return loss.forward_heads(student_hidden, weight, teacher_hidden, teacher_weight, backend="chunked")


CASES = {
    "info_nce": Case(_pair, lambda p, b, g, s: obj.info_nce(*p(b["x1"], b["x2"]), 0.1, gather=g)),
    "info_nce symmetric": Case(
        _pair, lambda p, b, g, s: obj.info_nce(*p(b["x1"], b["x2"]), 0.07, symmetric=True, gather=g)),
    "info_nce + queue": Case(
        lambda gen: {**_pair(gen), "queue": _r(gen, 24, D_OUT)},
        lambda p, b, g, s: obj.info_nce(*p(b["x1"], b["x2"]), 0.1, negatives=b["queue"], gather=g),
        {"queue": None}),
    "nt_xent": Case(_pair, lambda p, b, g, s: obj.nt_xent(*p(b["x1"], b["x2"]), 0.5, gather=g)),
    "kernels.info_nce (chunked)": Case(
        _pair, lambda p, b, g, s: kernels.info_nce(*p(b["x1"], b["x2"]), 0.1, gather=g, backend="chunked")),
    "kernels.info_nce symmetric + queue (chunked)": Case(
        lambda gen: {**_pair(gen), "queue": _r(gen, 24, D_OUT)},
        lambda p, b, g, s: kernels.info_nce(*p(b["x1"], b["x2"]), 0.05, symmetric=True, negatives=b["queue"],
                                            gather=g, backend="chunked"),
        {"queue": None}),
    "kernels.nt_xent (chunked)": Case(
        _pair, lambda p, b, g, s: kernels.nt_xent(*p(b["x1"], b["x2"]), 0.5, gather=g, backend="chunked")),
    "kernels.nt_xent at temperature 0.02 (chunked, running max: 1/T is past DIRECT_MAX_LOGIT)": Case(
        _pair, lambda p, b, g, s: kernels.nt_xent(*p(b["x1"], b["x2"]), 0.02, gather=g, backend="chunked")),
    **({} if not kernels.triton_available() else {
        "kernels.info_nce symmetric (triton: fused normalisation, gathered keys)": Case(
            _pair, lambda p, b, g, s: kernels.info_nce(*p(b["x1"], b["x2"]), 0.1, symmetric=True, gather=g,
                                                       backend="triton")),
        "kernels.nt_xent (triton)": Case(
            _pair, lambda p, b, g, s: kernels.nt_xent(*p(b["x1"], b["x2"]), 0.5, gather=g, backend="triton")),
    }),
    "dcl": Case(_pair, lambda p, b, g, s: obj.dcl(*p(b["x1"], b["x2"]), 0.1, gather=g)),
    "dclw": Case(_pair, lambda p, b, g, s: obj.dclw(*p(b["x1"], b["x2"]), 0.1, gather=g)),
    "supcon": Case(
        lambda gen: {"x": _r(gen, N, 2, D_IN), "y": torch.randint(0, 4, (N,), generator=gen)},
        lambda p, b, g, s: obj.supcon(p(b["x"])[0], b["y"], 0.1, gather=g)),
    "supcon single view": Case(
        lambda gen: {"x": _r(gen, N, D_IN), "y": torch.randint(0, 5, (N,), generator=gen)},
        lambda p, b, g, s: obj.supcon(p(b["x"])[0], b["y"], 0.1, gather=g)),
    "barlow_twins": Case(_pair, lambda p, b, g, s: obj.barlow_twins(*p(b["x1"], b["x2"]), 5e-3, gather=g)),
    "vicreg": Case(_pair, lambda p, b, g, s: obj.vicreg(*p(b["x1"], b["x2"]), gather=g)),
    "dino (loss + centre)": Case(
        lambda gen: {"s": _r(gen, 4, N, D_IN), "t": _r(gen, 2, N, D_IN)},
        lambda p, b, g, s: s["dino"](*p(b["s"], b["t"])),
        {"s": 1, "t": 1}),
    "dino forward_heads (loss + centre, chunked)": Case(
        lambda gen: {"s": _r(gen, 3, N, D_IN), "t": _r(gen, 2, N, D_IN), "w": _r(gen, D_OUT, D_OUT),
                     "wt": _r(gen, D_OUT, D_OUT)},
        lambda p, b, g, s: _dino_heads(s["dino"], *p(b["s"], b["t"]), b["w"], b["wt"]),
        {"s": 1, "t": 1, "w": None, "wt": None}),
    "masked_reconstruction": Case(
        lambda gen: {"x": _r(gen, N, 6, D_IN), "y": _r(gen, N, 6, D_OUT), "m": _mask(gen, N, 6)},
        lambda p, b, g, s: obj.masked_reconstruction(p(b["x"])[0], b["y"], b["m"], gather=g)),
    "masked_token_ce hard": Case(
        lambda gen: {"x": _r(gen, N, 6, D_IN), "y": torch.randint(0, D_OUT, (N, 6), generator=gen),
                     "m": _mask(gen, N, 6)},
        lambda p, b, g, s: obj.masked_token_cross_entropy(p(b["x"])[0], b["y"], b["m"], gather=g)),
    "masked_token_ce soft": Case(
        lambda gen: {"x": _r(gen, N, 6, D_IN), "y": torch.softmax(_r(gen, N, 6, D_OUT), -1),
                     "m": _mask(gen, N, 6)},
        lambda p, b, g, s: obj.masked_token_cross_entropy(p(b["x"])[0], b["y"], b["m"], gather=g)),
    "latent_prediction": Case(
        lambda gen: {"x": _r(gen, N, 6, D_IN), "y": _r(gen, N, 6, D_OUT), "m": _mask(gen, N, 6)},
        lambda p, b, g, s: obj.latent_prediction(p(b["x"])[0], b["y"], b["m"], gather=g)),
}


def _projector(module):
    """One forward through ``module`` for all inputs (DDP expects one forward per backward)."""
    def project(*xs):
        flat = module(torch.cat([x.reshape(-1, D_IN) for x in xs]))
        sizes = [x[..., 0].numel() for x in xs]
        return [y.reshape(*x.shape[:-1], D_OUT) for y, x in zip(flat.split(sizes), xs, strict=True)]
    return project


def _local(batch, batch_dims, rank):
    out = {}
    for name, t in batch.items():
        axis = batch_dims.get(name, 0)
        size = None if axis is None else t.shape[axis] // WORLD
        out[name] = t if axis is None else t.narrow(axis, rank * size, size)
    return out


def _state(gather):
    return {"dino": obj.DINOLoss(D_OUT, teacher_temp=0.05, gather=gather)}


def _run_case(name, case, rank):
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    batch = case.make(gen)
    torch.manual_seed(0)
    layer = nn.Linear(D_IN, D_OUT)
    full_layer = nn.Linear(D_IN, D_OUT)
    full_layer.load_state_dict(layer.state_dict())

    full_state = _state(False)
    full_loss = case.loss(_projector(full_layer), batch, False, full_state)
    full_loss.backward()

    ddp = DistributedDataParallel(layer)
    state = _state(True)
    local_loss = case.loss(_projector(ddp), _local(batch, case.batch_dims, rank), True, state)
    local_loss.backward()
    mean_loss = local_loss.detach().clone()
    dist.all_reduce(mean_loss)
    mean_loss /= WORLD

    del ddp  # its reducer holds hooks on the process group
    diffs = {
        "loss": float((mean_loss - full_loss.detach()).abs()),
        "grad": max(float((a.grad - b.grad).abs().max()) for a, b in zip(
            layer.parameters(), full_layer.parameters(), strict=True)),
        "centre": float((state["dino"].center - full_state["dino"].center).abs().max()),
        "loss_value": float(full_loss.detach()),
    }
    return diffs


def _gather_backward_error(rank):
    """gather's backward must return this rank's slice of the gradient summed over ranks."""
    local = torch.arange(6.0).reshape(3, 2).add(10 * rank).requires_grad_(True)
    gathered = gather(local)
    weights = torch.arange(12.0).reshape(6, 2) * (rank + 1)   # a different loss on every rank
    (gathered * weights).sum().backward()
    summed = torch.arange(12.0).reshape(6, 2) * sum(r + 1 for r in range(WORLD))
    expected = summed[rank * 3 : (rank + 1) * 3]
    forward_ok = torch.equal(gathered.detach(), torch.cat([torch.arange(6.0).reshape(3, 2) + 10 * r
                                                          for r in range(WORLD)]))
    return float((local.grad - expected).abs().max()) + (0.0 if forward_ok else float("inf"))


def _worker(rank, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        results = {name: _run_case(name, case, rank) for name, case in CASES.items()}
        results["gather backward"] = _gather_backward_error(rank)
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(results))
        dist.barrier()  # no rank tears the group down while the other is still in a collective
    finally:
        gc.collect()  # release the DDP reducers before the process group goes
        dist.destroy_process_group()


def run_equivalence() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_worker, args=(str(Path(tmp, "init")), tmp), nprocs=WORLD, join=True)
        return {rank: json.loads(Path(tmp, f"rank{rank}.json").read_text()) for rank in range(WORLD)}


def test_gathered_objectives_equal_full_batch():
    results = run_equivalence()
    for rank, per_case in results.items():
        assert per_case.pop("gather backward") == 0.0, rank
        assert set(per_case) == set(CASES)
        for name, d in per_case.items():
            assert d["loss"] < 1e-5 * max(1.0, abs(d["loss_value"])), (rank, name, d)
            assert d["grad"] < 1e-5, (rank, name, d)
            assert d["centre"] < 1e-6, (rank, name, d)


if __name__ == "__main__":
    results = run_equivalence()
    print("gather backward max error:", max(results[r].pop("gather backward") for r in range(WORLD)))
    print(f"| objective (gather=True, {WORLD} gloo ranks vs 1 process) | full-batch loss "
          "| max abs loss diff | max abs grad diff |\n|---|---|---|---|")
    for name in CASES:
        d = [results[r][name] for r in range(WORLD)]
        print(f"| {name} | {d[0]['loss_value']:.6f} | {max(x['loss'] for x in d):.1e} "
              f"| {max(x['grad'] for x in d):.1e} |")
    sys.exit(0)
