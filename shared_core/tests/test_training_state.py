"""Training state you can trust: checkpoints are data (never code), a run owns its folder, loads check what they
load, a seed repeats a run bit for bit, and divergence stops the run with one clear line."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset

from selfsup.core import cli
from selfsup.core.hub import load_pretrained, save_pretrained
from selfsup.core.methods import TwoViewMethod
from selfsup.core.registry import create_encoder
from selfsup.core.train import (
    CheckpointError,
    NonFiniteLossError,
    OutputFolderInUse,
    TrainConfig,
    Trainer,
    claim_output,
    list_checkpoints,
    load_checkpoint,
    seed_everything,
)
from selfsup.core.train import checkpoint as ckpt


class Pairs(Dataset):
    def __init__(self, n: int = 64, dim: int = 8, scale: float = 1.0) -> None:
        self.x = scale * torch.randn(n, dim, generator=torch.Generator().manual_seed(1))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i]

    @staticmethod
    def collate(items):
        x = torch.stack(items)
        return {"views": [x + 0.1 * torch.randn_like(x), x + 0.1 * torch.randn_like(x)]}


def _trainer(out: Path, *, objective: str = "nt_xent", norm: str = "layer", **config) -> Trainer:
    seed_everything(0)
    encoder = create_encoder("mlp", in_dim=8, hidden_dim=16, out_dim=8, norm=norm)
    method = TwoViewMethod(encoder, objective, proj_dim=8, hidden_dim=16, norm=norm)
    values = dict(output_dir=str(out), epochs=100, max_steps=4, batch_size=16, lr=1e-2, progress=False, log_every=1,
                  checkpoint_every=2, keep_checkpoints=5)
    dataset = Pairs()
    return Trainer(method, dataset, TrainConfig(**{**values, **config}), collate_fn=dataset.collate)


class _Payload:
    """Unpickling this runs ``open(path, 'w')``: the file's existence shows the code ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _plant_payload(checkpoint: Path, marker: Path) -> None:
    """Replace state.pt with a pickle that carries a payload and fix meta.json's checksum, as an attacker would."""
    state = torch.load(checkpoint / ckpt.STATE_FILE, weights_only=True)
    state["evil"] = _Payload(marker)
    torch.save(state, checkpoint / ckpt.STATE_FILE)
    meta = json.loads((checkpoint / ckpt.META_FILE).read_text())
    meta["files"][ckpt.STATE_FILE] = {"sha256": ckpt._sha256(checkpoint / ckpt.STATE_FILE),
                                      "bytes": (checkpoint / ckpt.STATE_FILE).stat().st_size}
    (checkpoint / ckpt.META_FILE).write_text(json.dumps(meta))


# ----------------------------------------------------------------------------- code execution
def test_a_checkpoint_carrying_code_is_refused_and_the_code_never_runs(tmp_path):
    _trainer(tmp_path / "run").fit()
    latest = ckpt.latest_checkpoint(tmp_path / "run")
    marker = tmp_path / "pwned"
    _plant_payload(latest, marker)
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(latest)
    with pytest.raises(CheckpointError, match="could run code"):  # explicit resume from that folder
        _trainer(tmp_path / "run", resume=str(latest))
    for path in list_checkpoints(tmp_path / "run"):
        if path != latest:
            _plant_payload(path, marker)
    with pytest.raises(CheckpointError, match="none of the 2 checkpoints"):  # resume auto: every one refused
        _trainer(tmp_path / "run", resume="auto")
    assert not marker.exists()


def test_the_command_line_refuses_a_payload_in_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["pretrain", "--method", "simclr", "--encoder", "mlp", "--encoder-args", '{"in_dim": 64}', "--dataset",
            "digits", "--max-steps", "2", "--batch-size", "64", "--output", str(run)]
    assert cli.main(args) == 0
    _plant_payload(ckpt.latest_checkpoint(run), tmp_path / "pwned")
    assert cli.main([*args, "--resume", "auto"]) == 2
    errors = _error_lines(capsys.readouterr().err)
    assert len(errors) == 1 and "could run code" in errors[0] and not (tmp_path / "pwned").exists()


def _error_lines(err: str) -> list[str]:
    """The command's error lines (the rest of stderr is progress bars); no traceback allowed."""
    assert "Traceback" not in err
    return [line[line.index("selfsup "):] for line in err.replace("\r", "\n").splitlines() if "error:" in line]


UNSAFE = [  # (pattern, why); a line may opt out only by naming the restricted reader it uses
    (r"weights_only\s*=\s*False", "torch.load that unpickles arbitrary objects"),
    (r"\bpickle\.loads?\(", "pickle.load(s): use selfsup.core.data.load_restricted"),
    (r"\bcPickle\b|\bdill\.load|\bcloudpickle\.load|\bjoblib\.load\(", "an unrestricted unpickler"),
    (r"allow_pickle\s*=\s*True", "np.load that unpickles object arrays"),
    (r"\byaml\.(load|unsafe_load|full_load)\(", "yaml loaders that build Python objects: use yaml.safe_load"),
    (r"pd\.read_pickle|read_pickle\(", "pandas' unpickling reader"),
    (r"\bshelve\.open|\bmarshal\.loads?\(", "pickle-backed or code-object readers"),
]


def _source_files():
    root = Path(__file__).resolve().parents[2]
    folders = [root / "shared_core" / "src", *sorted((root / "packages").glob("*/src")), root / "benchmarks"]
    return [p for folder in folders for p in folder.rglob("*.py")]


def test_no_source_file_loads_a_pickle_without_restriction():
    import re

    files = _source_files()
    assert len(files) > 50
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, why in UNSAFE:
                if re.search(pattern, line):
                    found.append(f"{path}:{number}: {why}: {line.strip()}")
            if re.search(r"\btorch\.load\(", line) and "weights_only=True" not in line:
                found.append(f"{path}:{number}: torch.load without weights_only=True: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_source_scan_catches_each_unsafe_form(tmp_path):
    import re

    lines = ["torch.load(p, weights_only=False)", "x = pickle.load(f)", "np.load(p, allow_pickle=True)",
             "yaml.load(text)", "joblib.load(p)", "pd.read_pickle(p)"]
    for line in lines:
        assert any(re.search(p, line) for p, _ in UNSAFE), line
    assert not any(re.search(p, "yaml.safe_load(text)") for p, _ in UNSAFE)


# ----------------------------------------------------------------------------- output folders
def test_a_new_run_into_a_folder_holding_another_run_is_refused(tmp_path):
    _trainer(tmp_path / "run", max_steps=8).fit()
    with pytest.raises(FileExistsError, match=r"not empty.*--resume auto.*--overwrite"):
        _trainer(tmp_path / "run", max_steps=4)


def test_overwrite_replaces_the_old_run_and_its_checkpoints_survive_pruning(tmp_path):
    run = tmp_path / "run"
    _trainer(run, max_steps=8).fit()  # old steps 2..8 are higher than the new run's
    (run / "notes.txt").write_text("mine")
    _trainer(run, max_steps=4, overwrite=True, keep_checkpoints=2).fit()
    assert [p.name for p in list_checkpoints(run)] == ["checkpoint-00000002", "checkpoint-00000004"]
    assert (run / "latest").read_text() == "checkpoint-00000004" and (run / "notes.txt").read_text() == "mine"
    resumed = _trainer(run, max_steps=6, resume="auto")
    assert resumed.step == 4


def test_pruning_removes_only_the_writing_runs_checkpoints(tmp_path):
    run = tmp_path / "run"
    foreign = ckpt.save_checkpoint(run, 100, {"w": torch.ones(2)}, {"step": 100}, keep=1, run_id="other-run")
    for step in (1, 2, 3):
        ckpt.save_checkpoint(run, step, {"w": torch.ones(2)}, {"step": step}, keep=2, run_id="this-run")
    names = [p.name for p in list_checkpoints(run)]
    assert names == ["checkpoint-00000002", "checkpoint-00000003", foreign.name]
    assert (run / "latest").read_text() == "checkpoint-00000003"


_HOLDER = textwrap.dedent("""
    import sys, time
    from selfsup.core.train import claim_output
    claim_output(sys.argv[1], resume=False)
    print("claimed", flush=True)
    time.sleep(60)
""")


def test_a_second_run_on_a_folder_in_use_names_the_holder(tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "claimed"
        with pytest.raises(OutputFolderInUse, match=rf"in use by another run \(pid {holder.pid} on "):
            _trainer(run)
    finally:
        holder.kill()
        holder.wait()
    _trainer(run).fit()  # the kernel dropped the dead holder's lock


def test_leftovers_of_a_killed_writer_are_removed_at_the_next_start(tmp_path):
    run = tmp_path / "run"
    _trainer(run).fit()
    (run / ".tmp-checkpoint-abc123").mkdir()
    (run / ".tmp-checkpoint-abc123" / "state.pt").write_bytes(b"half")
    (run / ".latest.x1y2.tmp").write_text("checkpoint-9")
    _trainer(run, max_steps=6, resume="auto")
    assert not list(run.glob(".tmp-checkpoint-*")) and not list(run.glob(".latest.*"))


def test_claims_within_one_process_are_counted(tmp_path):
    outer = claim_output(tmp_path / "run", resume=False)
    inner = claim_output(tmp_path / "run", resume=False)
    assert inner is outer and outer.claims == 2
    inner.release()
    outer.release()
    assert outer.claims == 0


def test_resume_does_not_duplicate_log_lines(tmp_path):
    run = tmp_path / "run"
    _trainer(run, max_steps=4).fit()
    import shutil

    shutil.rmtree(run / "checkpoint-00000004")  # killed after logging steps 3-4, before their checkpoint
    (run / "latest").write_text("checkpoint-00000002")
    _trainer(run, max_steps=4, resume="auto").fit()
    steps = [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


# ----------------------------------------------------------------------------- checked loads
def test_load_pretrained_names_missing_and_unexpected_tensors(tmp_path):
    encoder = create_encoder("mlp", in_dim=8, hidden_dim=16, out_dim=8)
    save_pretrained(encoder, tmp_path / "enc")
    weights = load_file(tmp_path / "enc" / "model.safetensors")
    renamed = next(k for k in weights if k.endswith("weight"))
    weights["renamed." + renamed] = weights.pop(renamed)
    save_file(weights, tmp_path / "enc" / "model.safetensors")
    with pytest.raises(ValueError, match=rf"missing.*{renamed}.*unexpected.*renamed\.{renamed}"):
        load_pretrained(tmp_path / "enc")


@pytest.mark.parametrize("change, message", [
    ({"batch_size": 32}, r"batch_size 16 -> 32"),
    ({"seed": 3}, r"seed 0 -> 3"),
    ({"optimizer": "sgd"}, r"optimizer 'adamw' -> 'sgd'"),
])
def test_resume_with_other_trajectory_settings_is_refused(tmp_path, change, message):
    _trainer(tmp_path / "run").fit()
    with pytest.raises(ValueError, match=message):
        _trainer(tmp_path / "run", max_steps=6, resume="auto", **change)


def test_resume_with_another_method_is_refused(tmp_path):
    _trainer(tmp_path / "run").fit()
    with pytest.raises(ValueError, match="written by TwoViewMethod"):
        seed_everything(0)
        encoder = create_encoder("mlp", in_dim=8, hidden_dim=16, out_dim=8, norm="layer")

        class OtherMethod(TwoViewMethod):
            pass

        Trainer(OtherMethod(encoder, "nt_xent", proj_dim=8, hidden_dim=16, norm="layer"), Pairs(),
                TrainConfig(output_dir=str(tmp_path / "run"), batch_size=16, max_steps=6, resume="auto",
                            progress=False), collate_fn=Pairs.collate)


def test_resume_applies_a_new_learning_rate_and_says_so(tmp_path, capsys):
    _trainer(tmp_path / "run", max_steps=4, lr=1e-2).fit()
    resumed = _trainer(tmp_path / "run", max_steps=8, lr=1e-3, resume="auto")
    assert "lr 0.01 -> 0.001" in capsys.readouterr().err and resumed.resume_changes["max_steps"] == (4, 8)
    fresh = _trainer(tmp_path / "fresh", max_steps=8, lr=1e-3)
    for _ in range(4):
        fresh.scheduler.step()
    assert [g["lr"] for g in resumed.optimizer.param_groups] == pytest.approx(
        [g["lr"] for g in fresh.optimizer.param_groups])
    fresh.close()
    resumed.close()


def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    run = tmp_path / "run"
    _trainer(run, max_steps=4).fit()
    state = run / "checkpoint-00000004" / ckpt.STATE_FILE
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    resumed = _trainer(run, max_steps=4, resume="auto")
    err = capsys.readouterr().err
    assert "skipping checkpoint-00000004" in err and "truncated" in err and resumed.step == 2
    resumed.close()
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(run / "checkpoint-00000004")


def test_a_full_disk_says_so_and_keeps_the_previous_checkpoints(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _trainer(run, max_steps=2).fit()

    def disk_full(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04partial")
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 320 vs 238")

    monkeypatch.setattr(ckpt.torch, "save", disk_full)
    with pytest.raises(OSError, match=r"no space left on the disk.*previous checkpoints are kept.*checkpoint-00000002"):
        _trainer(run, max_steps=4, resume="auto").fit()
    monkeypatch.undo()
    assert [p.name for p in list_checkpoints(run)] == ["checkpoint-00000002"] and not list(run.glob(".tmp-*"))
    ckpt.verify_checkpoint(run / "checkpoint-00000002")


# ----------------------------------------------------------------------------- reproducibility
def test_the_same_seed_gives_bitwise_equal_encoders_from_the_command_line(tmp_path):
    runs = []
    for name in ("a", "b"):
        assert cli.main(["pretrain", "--method", "byol", "--encoder", "mlp", "--encoder-args", '{"in_dim": 64}',
                         "--dataset", "digits", "--max-steps", "3", "--batch-size", "64", "--seed", "5",
                         "--output", str(tmp_path / name)]) == 0
        runs.append(load_file(tmp_path / name / "encoder" / "model.safetensors"))
        torch.randn(100)  # the process's generator moved on between the two runs
    assert runs[0].keys() == runs[1].keys()
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


# ----------------------------------------------------------------------------- divergence
def test_batchnorm_statistics_blowing_up_stop_the_run(tmp_path):
    trainer = _trainer(tmp_path / "run", norm="batch", optimizer="sgd", lr=1000.0, max_steps=20,
                       checkpoint_every=0)
    with pytest.raises(NonFiniteLossError, match="diverged at step"):
        trainer.fit()
    assert not list_checkpoints(tmp_path / "run")


def test_too_many_skipped_steps_end_the_run_with_an_error(tmp_path):
    trainer = _trainer(tmp_path / "run", objective="vicreg", lr=1e6, optimizer="sgd", max_steps=20,
                       on_nonfinite="skip", max_nonfinite_fraction=0.1)
    with pytest.raises(NonFiniteLossError, match=r"(steps were skipped|diverged)"):
        trainer.fit()


def test_non_finite_activations_read_as_divergence_not_bad_data(tmp_path):
    trainer = _trainer(tmp_path / "run", checkpoint_every=0)
    with torch.no_grad():
        next(trainer.method.parameters()).fill_(float("inf"))
    with pytest.raises(NonFiniteLossError, match=r"non-finite activations.*inputs are finite, so the model diverged"):
        trainer.fit()


def test_divergence_on_the_command_line_is_one_line(tmp_path, capsys):
    code = cli.main(["pretrain", "--method", "simclr", "--encoder", "mlp", "--encoder-args",
                     '{"in_dim": 64, "norm": "batch"}', "--dataset", "digits", "--max-steps", "30", "--batch-size",
                     "64", "--optimizer", "sgd", "--lr", "1000", "--output", str(tmp_path / "run")])
    errors = _error_lines(capsys.readouterr().err)
    assert code == 2 and len(errors) == 1 and "diverged" in errors[0], errors


def test_max_steps_alone_is_the_runs_length_and_caps_epochs_otherwise(tmp_path):
    from selfsup.core.train.config import DEFAULT_EPOCHS

    def steps(**length) -> int:  # 64 pairs at batch 16: 4 steps an epoch
        return _trainer(tmp_path / str(len(list(tmp_path.iterdir()))), **{"epochs": None, "max_steps": None,
                                                                           **length}).total_steps

    assert steps(max_steps=200) == 200  # not capped by a default number of epochs
    assert steps(epochs=3, max_steps=5) == 5 and steps(epochs=3, max_steps=50) == 12
    assert steps() == DEFAULT_EPOCHS * 4
