"""Issue 45's scenarios, run against whichever selfsup is installed: prints one row per scenario, what happened.

    python benchmarks/trust/scenarios.py            # run from a checkout; the table goes to stdout

Each scenario only uses APIs that existed before the fix, so the same script gives the "before" and "after"
columns of benchmarks/results/trust-before-after.md (run once on each commit)."""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset

from selfsup.core import cli
from selfsup.core.methods import TwoViewMethod
from selfsup.core.registry import create_encoder
from selfsup.core.train import TrainConfig, Trainer


class Pairs(Dataset):
    def __init__(self) -> None:
        self.x = torch.randn(64, 8, generator=torch.Generator().manual_seed(1))

    def __len__(self) -> int:
        return 64

    def __getitem__(self, i):
        return self.x[i]

    @staticmethod
    def collate(items):
        x = torch.stack(items)
        return {"views": [x + 0.1 * torch.randn_like(x), x + 0.1 * torch.randn_like(x)]}


class Payload:
    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def trainer(out, objective="nt_xent", norm="layer", **config):
    torch.manual_seed(0)
    encoder = create_encoder("mlp", in_dim=8, hidden_dim=16, out_dim=8, norm=norm)
    method = TwoViewMethod(encoder, objective, proj_dim=8, hidden_dim=16, norm=norm)
    values = dict(output_dir=str(out), epochs=100, max_steps=4, batch_size=16, lr=1e-2, progress=False, log_every=1,
                  checkpoint_every=2, keep_checkpoints=5)
    values.update(config)
    return Trainer(method, Pairs(), TrainConfig(**values), collate_fn=Pairs.collate)


def outcome(call) -> str:
    """``ok: <what call returned>`` or ``<Exception>: <first line>``, with stderr's error lines."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            result = call()
        text = f"ok: {result}"
    except BaseException as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        text = f"{type(exc).__name__}: {first[:110]}"
    lines = [line for line in err.getvalue().splitlines() if "error" in line.lower() or "resume:" in line]
    return text + (f" [stderr: {lines[0][:110]}]" if lines else "")


def checkpoints(run: Path) -> list[str]:
    return sorted(p.name.removeprefix("checkpoint-000") for p in run.glob("checkpoint-*"))


CLI = ["pretrain", "--method", "simclr", "--encoder", "mlp", "--encoder-args", '{"in_dim": 64, "norm": "batch"}',
       "--dataset", "digits", "--batch-size", "64"]


def s_payload_checkpoint(tmp: Path) -> str:
    trainer(tmp / "run").fit()
    for state in (tmp / "run").glob("checkpoint-*/state.pt"):
        torch.save({"evil": Payload(tmp / "marker")}, state)
        meta = state.with_name("meta.json")
        if meta.exists():  # the attacker also fixes the checksum
            import hashlib
            import json

            info = json.loads(meta.read_text())
            info["files"]["state.pt"] = {"sha256": hashlib.sha256(state.read_bytes()).hexdigest(),
                                         "bytes": state.stat().st_size}
            meta.write_text(json.dumps(info))
    result = outcome(lambda: trainer(tmp / "run", resume="auto").step)
    return f"payload ran: {(tmp / 'marker').exists()}; {result}"


def s_new_run_over_old(tmp: Path) -> str:
    trainer(tmp / "run", max_steps=8).fit()
    result = outcome(lambda: trainer(tmp / "run", max_steps=4, keep_checkpoints=2).fit()["steps"])
    latest = (tmp / "run" / "latest").read_text()
    exists = (tmp / "run" / latest).exists()
    return f"{result}; checkpoints {checkpoints(tmp / 'run')}, latest -> {latest} exists: {exists}"


HOLD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from scenarios import trainer
    def slow(t, r):
        if t.step == 1:
            print("running", flush=True)
        time.sleep(0.5)
    t = trainer(sys.argv[1], max_steps=12)
    t.hooks.append(slow)
    t.fit()
""")


def s_two_runs_at_once(tmp: Path) -> str:
    first = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp / "run"), str(Path(__file__).parent)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first.stdout.readline()
    result = outcome(lambda: trainer(tmp / "run", max_steps=12).fit()["steps"])
    first.wait()
    return f"second: {result}; first exit {first.returncode}"


def s_renamed_tensor(tmp: Path) -> str:
    from selfsup.core.hub import load_pretrained, save_pretrained

    save_pretrained(create_encoder("mlp", in_dim=8, hidden_dim=16, out_dim=8), tmp / "enc")
    weights = load_file(tmp / "enc" / "model.safetensors")
    key = next(k for k in weights if k.endswith("weight"))
    weights["x." + key] = weights.pop(key)
    save_file(weights, tmp / "enc" / "model.safetensors")
    return outcome(lambda: type(load_pretrained(tmp / "enc")).__name__)


def s_resume_other_batch(tmp: Path) -> str:
    trainer(tmp / "run").fit()
    return outcome(lambda: f"resumed at step {trainer(tmp / 'run', max_steps=6, batch_size=32, resume='auto').step}")


def s_resume_new_lr(tmp: Path) -> str:
    trainer(tmp / "run", lr=1e-2).fit()
    t = trainer(tmp / "run", max_steps=8, lr=1e-3, resume="auto")
    t.fit()
    records = map(json.loads, (tmp / "run" / "log.jsonl").read_text().splitlines())
    lrs = [round(r["lr"], 6) for r in records]
    return f"lr of steps 5-8 (asked 1e-3, cosine over 8): {lrs[4:]}"


def s_truncated_latest(tmp: Path) -> str:
    trainer(tmp / "run").fit()
    state = tmp / "run" / "checkpoint-00000004" / "state.pt"
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    return outcome(lambda: f"resumed at step {trainer(tmp / 'run', resume='auto').step}")


def s_full_disk(tmp: Path) -> str:
    from selfsup.core.train import checkpoint as ckpt

    trainer(tmp / "run", max_steps=2).fit()
    real = ckpt.torch.save

    def full(obj, path, *a, **k):
        Path(path).write_bytes(b"PK")
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 320 vs 238")

    ckpt.torch.save = full
    try:
        result = outcome(lambda: trainer(tmp / "run", resume="auto").fit())
    finally:
        ckpt.torch.save = real
    return f"{result}; checkpoints kept {checkpoints(tmp / 'run')}"


def s_same_seed(tmp: Path) -> str:
    runs = []
    for name in "ab":
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cli.main([*CLI, "--max-steps", "3", "--seed", "5", "--output", str(tmp / name)])
        runs.append(load_file(tmp / name / "encoder" / "model.safetensors"))
        torch.randn(10)
    return f"bitwise equal encoders: {all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])}"


def s_lr_1000(tmp: Path) -> str:
    code = []
    result = outcome(lambda: code.append(cli.main([*CLI, "--optimizer", "sgd", "--lr", "1000", "--max-steps", "30",
                                                   "--output", str(tmp / "run")])))
    largest = max((float(v.abs().max()) for v in load_file(tmp / "run" / "encoder" / "model.safetensors").values()),
                  default=0.0) if (tmp / "run" / "encoder").exists() else None
    return f"exit {code[0] if code else '-'}; {result}; saved encoder's largest weight: {largest}"


def s_vicreg_skip(tmp: Path) -> str:
    t = trainer(tmp / "run", objective="vicreg", optimizer="sgd", lr=1e6, max_steps=20, on_nonfinite="skip")
    return outcome(lambda: f"{t.fit()['nonfinite_skipped']} of 20 steps skipped, returned normally")


def s_nonfinite_activations(tmp: Path) -> str:
    t = trainer(tmp / "run", checkpoint_every=0)
    with torch.no_grad():
        next(t.method.parameters()).fill_(float("inf"))
    return outcome(t.fit)


def s_cifar_meta_payload(tmp: Path) -> str:
    from selfsup.vision.datasets.cifar import load_cifar

    folder = tmp / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [0]}))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": Payload(tmp / "marker")}))
    result = outcome(lambda: len(load_cifar(tmp, verify=False)))
    return f"payload ran: {(tmp / 'marker').exists()}; {result}"


def planetoid(raw: Path, labels_seed=0, graph=None) -> None:
    import scipy.sparse as sp

    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    allx = sp.csr_matrix(rng.integers(0, 2, (520, 5)).astype(np.float32))
    ally = np.eye(3)[np.random.default_rng(labels_seed).integers(0, 3, 520)]
    objects = {"x": allx[:6], "y": ally[:6], "allx": allx, "ally": ally,
               "tx": sp.csr_matrix(np.ones((4, 5), np.float32)), "ty": np.eye(3)[[0, 1, 2, 0]],
               "graph": graph if graph is not None else {i: [(i + 1) % 524] for i in range(524)}}
    for key, value in objects.items():
        (raw / f"ind.cora.{key}").write_bytes(pickle.dumps(value))
    (raw / "ind.cora.test.index").write_text("".join(f"{520 + i}\n" for i in range(4)))


def s_planetoid_payload(tmp: Path) -> str:
    import os

    from selfsup.graph.datasets import load_planetoid

    os.environ["SELFSUP_CACHE"] = str(tmp / "cache")
    planetoid(tmp / "a" / "Cora" / "raw", graph={0: [1], 1: Payload(tmp / "marker")})
    result = outcome(lambda: load_planetoid(tmp / "a", "Cora").num_nodes)
    return f"payload ran: {(tmp / 'marker').exists()}; {result}"


def s_planetoid_same_sizes(tmp: Path) -> str:
    import os

    from selfsup.graph.datasets import load_planetoid

    os.environ["SELFSUP_CACHE"] = str(tmp / "cache")
    planetoid(tmp / "a" / "Cora" / "raw")
    planetoid(tmp / "b" / "Cora" / "raw", labels_seed=1)
    a, b = load_planetoid(tmp / "a", "Cora"), load_planetoid(tmp / "b", "Cora")
    return f"second Cora (other labels, same file sizes) read anew: {not torch.equal(a.y, b.y)}"


def nifti(path: Path, array) -> None:
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(array, np.eye(4)), str(path))


def s_label_shape(tmp: Path) -> str:
    from selfsup.medical.datasets.nifti import load_nifti_folder

    image = np.random.default_rng(0).random((12, 12, 12)).astype(np.float32)
    nifti(tmp / "imagesTr" / "s.nii.gz", image)
    nifti(tmp / "labelsTr" / "s.nii.gz", np.ones((6, 12, 12), np.uint8))
    return outcome(lambda: tuple(load_nifti_folder(tmp, size=8).labels.shape))


def s_truncated_nifti(tmp: Path) -> str:
    from selfsup.medical.datasets.nifti import load_nifti_folder

    path = tmp / "imagesTr" / "s.nii"
    nifti(path, np.random.default_rng(0).random((12, 12, 12)).astype(np.float32))
    path.write_bytes(path.read_bytes()[:2000])  # the header intact, most voxels cut
    return outcome(lambda: load_nifti_folder(tmp, size=8))


def s_table_inf(tmp: Path) -> str:
    import pandas as pd

    from selfsup.tabular.preprocessing import TablePreprocessor

    batch = TablePreprocessor(scaling="standard").fit_transform(pd.DataFrame({"x": [1.0, np.inf, 3.0, 4.0]}))
    return f"NaN features: {int(torch.isnan(batch.numeric).sum())}"


def s_resume_log_lines(tmp: Path) -> str:
    trainer(tmp / "run").fit()
    shutil.rmtree(tmp / "run" / "checkpoint-00000004")
    (tmp / "run" / "latest").write_text("checkpoint-00000002")
    trainer(tmp / "run", resume="auto").fit()
    return "log steps: " + str([int(line.split('"step": ')[1].split(",")[0])
                                for line in (tmp / "run" / "log.jsonl").read_text().splitlines()])


SCENARIOS = {
    "checkpoint state.pt carrying a payload, resume auto": s_payload_checkpoint,
    "CIFAR batches.meta carrying a payload": s_cifar_meta_payload,
    "Planetoid ind.cora.graph carrying a payload": s_planetoid_payload,
    "new run (no resume) into a folder holding a longer run": s_new_run_over_old,
    "two runs on one folder at once": s_two_runs_at_once,
    "resume after a kill between log and checkpoint": s_resume_log_lines,
    "load_pretrained with a renamed tensor": s_renamed_tensor,
    "resume auto with another batch size": s_resume_other_batch,
    "resume auto with a new lr": s_resume_new_lr,
    "latest checkpoint truncated, resume auto": s_truncated_latest,
    "disk full while writing a checkpoint": s_full_disk,
    "two CLI runs with --seed 5": s_same_seed,
    "CLI SimCLR+BatchNorm, SGD, --lr 1000": s_lr_1000,
    "VICReg lr 1e6, on_nonfinite=skip, 20 steps": s_vicreg_skip,
    "non-finite activations (inf weight)": s_nonfinite_activations,
    "NIfTI label of another shape": s_label_shape,
    "NIfTI cut after its header": s_truncated_nifti,
    "standard scaling of a column with inf": s_table_inf,
    "two Planetoid folders, same file sizes": s_planetoid_same_sizes,
}


def main() -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"| scenario | at {commit} |\n|---|---|")
    for name, scenario in SCENARIOS.items():
        with tempfile.TemporaryDirectory() as tmp:
            result = outcome(lambda s=scenario, t=tmp: s(Path(t)))
        print(f"| {name} | {result.removeprefix('ok: ').replace('|', '/')} |", flush=True)


if __name__ == "__main__":
    main()
