"""Own data at scale: memory flat in the collection's size, throughput of the folder path, audio by the hour.

    python benchmarks/own_data/bench_own_data.py vision-memory  --pack ../shared/data/vision/cifar10_jpeg.npz
    python benchmarks/own_data/bench_own_data.py vision-speed   --pack ../shared/data/vision/cifar10_jpeg.npz
    python benchmarks/own_data/bench_own_data.py audio-memory   --fsdd ../shared/data/audio/fsdd/recordings
    python benchmarks/own_data/bench_own_data.py vision-peer    --lightly-train /tmp/lt/bin/lightly-train
    python benchmarks/own_data/bench_own_data.py table-memory   --rows 100000 1000000 10000000
    python benchmarks/own_data/bench_own_data.py graph-scale    --nodes 1000000 --edges 10000000
    python benchmarks/own_data/bench_own_data.py volume-memory  --volumes 20 100 --edge 192

Each ``selfsup pretrain`` runs as its own process; its peak memory is sampled every 0.1 s as the sum of the RSS of
the process and its DataLoader workers (psutil). Runs that are compared are interleaved (A B A B ...), and ratios
are quoted, since the machine is shared."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf


def tree_rss_peak(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """``(peak MiB of the process tree, wall s, stdout)`` of ``command``."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            total = root.memory_info().rss + sum(c.memory_info().rss for c in root.children(recursive=True))
            peak = max(peak, total)
        except psutil.Error:
            pass
        time.sleep(0.1)
    out = proc.stdout.read()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{out[-3000:]}")
    return peak / 2**20, time.perf_counter() - start, out


def write_cifar_files(pack: Path, folder: Path, count: int) -> Path:
    """The first ``count`` training images of the CIFAR-10 JPEG pack as files ``folder/<class>/<i>.jpg``."""
    with np.load(pack, allow_pickle=False) as npz:
        data, offsets, labels, split = npz["data"], npz["offsets"], npz["labels"], npz["split"].astype(str)
    train = np.flatnonzero(split == "train")[:count]
    for i in train:
        target = folder / f"class{labels[i]}" / f"{i:05d}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data[offsets[i]: offsets[i + 1]].tobytes())
    return folder


def steady_rate(log: Path, batch: int) -> float:
    """Items/s of a run's ``log.jsonl`` (logged every step) past its first third (worker start-up, warm-up)."""
    records = [json.loads(line) for line in log.read_text().splitlines()]
    steady = records[len(records) // 3:]
    return batch * len(steady) / sum(r["step_time_s"] for r in steady)


def pretrain(domain: str, data: Path, output: Path, steps: int, batch: int, workers: int, *extra: str) -> dict:
    command = [sys.executable, "-m", "selfsup.core", "pretrain", domain, str(data), "--output", str(output),
               "--max-steps", str(steps), "--batch-size", str(batch), "--num-workers", str(workers), "--no-progress",
               "--log-every", "1", *extra]
    peak, wall, _ = tree_rss_peak(command)
    summary = json.loads((output / "summary.json").read_text())
    return {"peak_rss_mib": round(peak, 1), "wall_s": round(wall, 1),
            "items_per_s": round(steady_rate(output / "log.jsonl", batch), 1),
            "data_wait_s": summary["data_wait_s"], "train_wall_s": round(summary["wall_s"], 1)}


def machine() -> str:
    info = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in (info.read_text().splitlines() if info.exists() else [])
             if line.startswith("model name")]
    cpu = names[0] if names else platform.machine()
    return f"{cpu}, {psutil.cpu_count()} cores, Python {platform.python_version()}"


def memory_comparison(domain: str, groups: dict[str, Path], args, extra: tuple[str, ...], title: str,
                      unit: str) -> None:
    """``selfsup pretrain DOMAIN`` on each collection of ``groups`` (name -> path), interleaved ``args.repeats``
    times; prints the rows, a table, and the largest peak RSS of the last group over the first's."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for k, (name, folder) in enumerate(groups.items()):
                row = pretrain(domain, folder, Path(tmp) / f"run-{k}-{repeat}", args.steps, args.batch,
                               args.workers, *extra)
                rows.append({"collection": name, "repeat": repeat, **row})
                print(json.dumps(rows[-1]), flush=True)
    print(f"\n{title}, {args.steps} steps of {args.batch}, {args.workers} worker(s); {machine()}\n")
    print(f"| collection | repeat | peak RSS (MiB, process + workers) | wall s | {unit}/s |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['collection']} | {r['repeat']} | {r['peak_rss_mib']} | {r['wall_s']} | {r['items_per_s']} |")
    peaks = {name: max(r["peak_rss_mib"] for r in rows if r["collection"] == name) for name in groups}
    first, last = next(iter(peaks)), list(peaks)[-1]
    print(f"\npeak RSS {last} / {first}: {peaks[last] / peaks[first]:.3f}")


def vision_memory(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        groups = {"2,000 files": write_cifar_files(args.pack, Path(tmp) / "small", 2000),
                  "50,000 files": write_cifar_files(args.pack, Path(tmp) / "large", 50000)}
        memory_comparison("vision", groups, args, ("--encoder", args.encoder),
                          f"selfsup pretrain vision, {args.encoder}, SimCLR", "images")


def vision_speed(args) -> None:
    """Folder path (selfsup pretrain vision) against the in-memory path (the Python API on a decoded ImageArray) on
    the same images, model, batch and steps."""
    in_memory = Path(__file__).with_name("in_memory_pretrain.py")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = write_cifar_files(args.pack, tmp / "files", args.images)
        rows = []
        for repeat in range(args.repeats):
            row = pretrain("vision", folder, tmp / f"folder-{repeat}", args.steps, args.batch, args.workers,
                           "--encoder", args.encoder, "--image-size", "32")
            rows.append({"path": "folder (selfsup pretrain vision)", **row})
            print(json.dumps(rows[-1]), flush=True)
            out = tmp / f"memory-{repeat}"
            peak, wall, _ = tree_rss_peak([sys.executable, str(in_memory), str(args.pack), str(out), str(args.images),
                                           str(args.steps), str(args.batch), args.encoder])
            rows.append({"path": "in memory (ImageArray, Trainer)", "peak_rss_mib": round(peak, 1),
                         "wall_s": round(wall, 1), "items_per_s": round(steady_rate(out / "log.jsonl", args.batch), 1)})
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n{args.images} CIFAR-10 JPEGs, {args.encoder}, SimCLR at 32 px, {args.steps} steps of {args.batch}, "
          f"{args.workers} worker(s); {machine()}\n")
    print("| path | peak RSS (MiB) | wall s | images/s (steps after the first third) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['path']} | {r['peak_rss_mib']} | {r['wall_s']} | {r['items_per_s']} |")
    folder_rate = np.mean([r["items_per_s"] for r in rows if r["path"].startswith("folder")])
    memory_rate = np.mean([r["items_per_s"] for r in rows if r["path"].startswith("in memory")])
    print(f"\nimages/s folder / in memory: {folder_rate / memory_rate:.3f}")


def vision_peer(args) -> None:
    """selfsup against lightly-train 0.18 on one folder: the same torchvision ResNet-18 (ImageNet stem, as
    lightly-train's ``torchvision/resnet18``), SimCLR, 32 px crops, batch, workers, fp32 on the CPU. Each tool runs N
    and 2N steps; its time per step is the difference over N (start-up and scan cancel out)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = write_cifar_files(args.pack, tmp / "files", args.images)
        tools = {
            "selfsup": lambda out, steps: [sys.executable, "-m", "selfsup.core", "pretrain", "vision", str(folder),
                                           "--output", str(out), "--encoder", "resnet18", "--encoder-args",
                                           '{"cifar_stem": false}', "--image-size", "32", "--max-steps", str(steps),
                                           "--batch-size", str(args.batch), "--num-workers", str(args.workers),
                                           "--amp", "off", "--no-progress"],
            "lightly-train 0.18": lambda out, steps: [
                args.lightly_train, "pretrain", f"out={out}", f"data={folder}", "model=torchvision/resnet18",
                "method=simclr", f"batch_size={args.batch}", f"num_workers={args.workers}", "accelerator=cpu",
                "devices=1", "precision=32-true", "epochs=1000", f"trainer_args.max_steps={steps}",
                "transform_args.image_size=[32,32]", "loggers.tensorboard=null", "overwrite=true"]}
        walls = {tool: {} for tool in tools}
        for repeat in range(args.repeats):
            for steps in (args.steps, 2 * args.steps):
                for tool, command in tools.items():
                    peak, wall, _ = tree_rss_peak(command(tmp / f"{tool[:7]}-{steps}-{repeat}", steps))
                    walls[tool].setdefault(steps, []).append((wall, peak))
                    print(json.dumps({"tool": tool, "steps": steps, "repeat": repeat, "wall_s": round(wall, 1),
                                      "peak_rss_mib": round(peak, 1)}), flush=True)
    print(f"\n{args.images} CIFAR-10 JPEG files, torchvision ResNet-18 (ImageNet stem), SimCLR, 32 px, batch "
          f"{args.batch}, {args.workers} worker(s), fp32, CPU; {machine()}\n")
    print("| tool | s per step ((wall at 2N - wall at N) / N, N = " + str(args.steps) + ") | images/s | peak RSS (MiB) "
          "|\n|---|---|---|---|")
    rates = {}
    for tool, runs in walls.items():
        per_step = [(b[0] - a[0]) / args.steps for a, b in zip(runs[args.steps], runs[2 * args.steps], strict=True)]
        rates[tool] = args.batch / float(np.mean(per_step))
        peak = max(p for r in runs.values() for _, p in r)
        print(f"| {tool} | {' / '.join(f'{s:.3f}' for s in per_step)} | {rates[tool]:.1f} | {peak:.0f} |")
    print(f"\nimages/s selfsup / lightly-train: {rates['selfsup'] / rates['lightly-train 0.18']:.3f}")


def write_long_audio(recordings: Path, folder: Path, hours: float, file_minutes: float = 10.0) -> Path:
    """FSDD recordings concatenated (cycling) into files of ``file_minutes`` at 8 kHz, ``hours`` in all."""
    paths = sorted(recordings.glob("*.wav"))
    folder.mkdir(parents=True, exist_ok=True)
    per_file, k = int(file_minutes * 60 * 8000), 0
    for f in range(round(hours * 60 / file_minutes)):
        chunks, total = [], 0
        while total < per_file:
            wave, rate = sf.read(paths[k % len(paths)], dtype="int16")
            assert rate == 8000
            chunks.append(wave)
            total += len(wave)
            k += 1
        sf.write(folder / f"long{f:03d}.wav", np.concatenate(chunks)[:per_file], 8000, subtype="PCM_16")
    return folder


def audio_memory(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        groups = {f"{h:g} h": write_long_audio(args.fsdd, Path(tmp) / f"{h:g}h", h) for h in args.hours}
        memory_comparison("audio", groups, args, ("--clip-seconds", "1"),
                          "selfsup pretrain audio (SSAST, audio_vit_mini_frame, 1 s crops; FSDD concatenated into "
                          "10-minute files)", "clips")


def write_table(path: Path, rows: int, chunk: int = 500_000) -> Path:
    """A CSV of ``rows`` generated rows, always the same schema: an id, 6 numbers (one with 1 % stray text), 3
    categories (5 to 200 levels), a yes/no flag, an ISO date; written in chunks."""
    rng = np.random.default_rng(0)
    import pandas as pd

    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        group = rng.integers(0, 4, n)
        frame = pd.DataFrame({"id": np.char.add("r", np.arange(start, start + n).astype(str))})
        for j in range(6):
            frame[f"x{j}"] = (rng.normal(size=n) + group * (j % 3)).round(4)
        frame["x0"] = frame["x0"].astype(str).where(rng.random(n) > 0.01, "n/a")
        for j, levels in enumerate((5, 30, 200)):
            frame[f"c{j}"] = np.char.add(f"l{j}-", ((group * 7 + rng.integers(0, levels, n)) % levels).astype(str))
        frame["flag"] = np.where(rng.random(n) < 0.3, "yes", "no")
        frame["day"] = (np.datetime64("2020-01-01") + rng.integers(0, 1500, n).astype("timedelta64[D]")).astype(str)
        frame.to_csv(path, mode="a" if start else "w", header=start == 0, index=False)
    return path


def table_memory(args) -> None:
    """``selfsup pretrain tabular`` on CSVs of each size in ``--rows`` (largest last), interleaved; the two streamed
    passes timed by the run itself (``table/fitted.json``: sample + fit, ``table/meta.json``: prepare)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tables = {n: write_table(Path(tmp) / f"rows-{n}.csv", n) for n in args.rows}
        for repeat in range(args.repeats):
            for n, path in tables.items():
                run = pretrain("tabular", path, Path(tmp) / f"run-{n}-{repeat}", args.steps, args.batch, args.workers)
                table = Path(tmp) / f"run-{n}-{repeat}" / "table"
                fit = json.loads((table / "fitted.json").read_text())["fit_s"]
                prepare = json.loads((table / "meta.json").read_text())["prepare_s"]
                rows.append({"rows": n, "repeat": repeat, "csv_mib": round(path.stat().st_size / 2**20, 1),
                             "fit_s": fit, "prepare_s": prepare, "prepare_rows_per_s": round(n / prepare), **run})
                print(json.dumps(rows[-1]), flush=True)
    print(f"\nselfsup pretrain tabular (SCARF, tabular_mlp), {args.steps} steps of {args.batch}, {args.workers} "
          f"worker(s); {machine()}\n")
    print("| rows | repeat | CSV MiB | peak RSS (MiB, process + workers) | sample + fit s | prepare s | prepared "
          "rows/s | training rows/s | wall s |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['rows']:,} | {r['repeat']} | {r['csv_mib']} | {r['peak_rss_mib']} | {r['fit_s']} | "
              f"{r['prepare_s']} | {r['prepare_rows_per_s']:,} | {r['items_per_s']} | {r['wall_s']} |")
    peaks = {n: max(r["peak_rss_mib"] for r in rows if r["rows"] == n) for n in args.rows}
    ratio = peaks[args.rows[-1]] / peaks[args.rows[0]]
    print(f"\npeak RSS {args.rows[-1]:,} rows / {args.rows[0]:,} rows: {ratio:.3f}")


def write_block_graph(folder: Path, nodes: int, edges: int, blocks: int = 100, inside: float = 0.9) -> Path:
    """``folder/edges.csv`` of a stochastic block model: ``nodes`` string ids in ``blocks`` equal blocks, ``edges``
    edges of which ``inside`` join two nodes of one block; ``nodes.csv`` with the block as label (features come
    from the structure). Written in chunks."""
    import pandas as pd

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    size = nodes // blocks
    for start in range(0, edges, 1_000_000):
        n = min(1_000_000, edges - start)
        src = rng.integers(0, nodes, n)
        same = rng.random(n) < inside
        dst = np.where(same, src // size * size + rng.integers(0, size, n), rng.integers(0, nodes, n)) % nodes
        pd.DataFrame({"source": np.char.add("v", src.astype(str)), "target": np.char.add("v", dst.astype(str))}) \
            .to_csv(folder / "edges.csv", mode="a" if start else "w", header=start == 0, index=False)
    ids = np.arange(nodes)
    pd.DataFrame({"id": np.char.add("v", ids.astype(str)), "label": ids // size}).to_csv(folder / "nodes.csv",
                                                                                        index=False)
    return folder


def graph_scale(args) -> None:
    """``selfsup pretrain graph`` on a generated block graph in mini-batch mode (sampled neighbourhoods): peak RSS,
    the time to read and repair the graph (wall time less the trainer's), steps/s and the epoch time they imply."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_block_graph(Path(tmp) / "graph", args.nodes, args.edges)
        run = pretrain("graph", folder, Path(tmp) / "run", args.steps, args.batch, args.workers,
                       "--full-graph-nodes", "0", "--method", args.graph_method)
        steps_per_epoch = args.nodes // args.batch
        rate = run["items_per_s"] / args.batch
        print(json.dumps(run))
        print(f"\nselfsup pretrain graph ({args.graph_method}, its Cora recipe's encoder), {args.nodes:,} nodes, "
              f"{args.edges:,} edges generated (block model, 100 blocks), batches of {args.batch} seeds, fanout "
              f"10,10, {args.workers} worker(s), {args.steps} steps; {machine()}\n")
        print("| peak RSS (MiB, process + workers) | read + repair + start s | steps/s | epoch (steps) | epoch s at "
              "that rate |\n|---|---|---|---|---|")
        print(f"| {run['peak_rss_mib']} | {run['wall_s'] - run['train_wall_s']:.1f} | {rate:.2f} | "
              f"{steps_per_epoch:,} | {steps_per_epoch / rate:.0f} |")


def write_volumes(folder: Path, count: int, edge: int) -> Path:
    """``count`` NIfTI volumes ``folder/vNNN.nii.gz`` of ``edge``^3 float32 voxels (a bright ball in noise, MR-like
    intensities, 1 mm spacing)."""
    import nibabel as nib

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    grid = np.indices((edge,) * 3, dtype=np.float32) - edge / 2
    ball = (np.sqrt((grid ** 2).sum(0)) < edge / 3).astype(np.float32) * 400
    for i in range(count):
        voxels = ball + rng.normal(100, 30, ball.shape).astype(np.float32)
        nib.save(nib.Nifti1Image(voxels, np.eye(4)), str(folder / f"v{i:03d}.nii.gz"))
    return folder


def volume_memory(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        groups = {f"{n} volumes of {args.edge}^3": write_volumes(Path(tmp) / f"v{n}", n, args.edge)
                  for n in args.volumes}
        memory_comparison("medical", groups, args, ("--encoder", "unet3d_small16"),
                          "selfsup pretrain medical (SwinUNETR recipe, unet3d_small16, 2 sub-volumes of 64^3 a volume)",
                          "volumes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("vision-memory", "vision-speed", "vision-peer", "audio-memory",
                                         "table-memory", "graph-scale", "volume-memory"))
    parser.add_argument("--volumes", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--edge", type=int, default=192)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--graph-method", default="grace")
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--lightly-train", default="lightly-train", help="its command (installed apart)")
    parser.add_argument("--pack", type=Path, default=Path("../shared/data/vision/cifar10_jpeg.npz"))
    parser.add_argument("--fsdd", type=Path, default=Path("../shared/data/audio/fsdd/recordings"))
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--encoder", default="resnet18")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    {"vision-memory": vision_memory, "vision-speed": vision_speed, "vision-peer": vision_peer,
     "audio-memory": audio_memory, "table-memory": table_memory, "graph-scale": graph_scale,
     "volume-memory": volume_memory}[args.what](args)


if __name__ == "__main__":
    main()
