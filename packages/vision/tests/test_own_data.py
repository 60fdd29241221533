"""``selfsup pretrain vision PATH`` and ``selfsup embed vision PATH`` on a folder of every kind of image file, with
bad ones among them; decoding of the awkward modes; exact resume on a folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from selfsup.core import cli
from selfsup.core.testing import checkpoint_weights, cut_after
from selfsup.vision.datasets.image_files import decode_image_file

BAD = {"zero.jpg", "nested/deeper/not_an_image.png", "corrupt.png"}


def _noise(rng, h, w, c=3) -> np.ndarray:
    return (rng.random((h, w, c)) * 255).astype(np.uint8)


def write_image_folder(root: Path) -> set[str]:
    """Good files of every format and mode (returned by relative path), plus the three in ``BAD``."""
    rng = np.random.default_rng(0)
    (root / "nested" / "deeper").mkdir(parents=True)
    good = {}
    good["a.png"] = Image.fromarray(_noise(rng, 40, 56))
    good["b.jpg"] = Image.fromarray(_noise(rng, 64, 48))
    good["nested/c.webp"] = Image.fromarray(_noise(rng, 36, 36))
    good["nested/d.bmp"] = Image.fromarray(_noise(rng, 50, 70))
    good["nested/deeper/e.tif"] = Image.fromarray(_noise(rng, 33, 90))
    good["grey.png"] = Image.fromarray(_noise(rng, 48, 48, 1)[..., 0], mode="L")
    good["alpha.png"] = Image.fromarray(_noise(rng, 40, 40, 4), mode="RGBA")
    good["palette.gif"] = Image.fromarray(_noise(rng, 40, 40)).convert("P")
    good["sixteen.png"] = Image.fromarray(np.full((40, 40), 30000, dtype=np.uint16))
    good["cmyk.jpg"] = Image.new("CMYK", (40, 40), (0, 255, 255, 0))  # pure red
    for name, image in good.items():
        image.save(root / name)
    (root / "zero.jpg").write_bytes(b"")
    (root / "nested" / "deeper" / "not_an_image.png").write_text("plain text with an image's name")
    png = (root / "a.png").read_bytes()
    (root / "corrupt.png").write_bytes(png[:100] + bytes(reversed(png[100:400])) + png[400:])  # header intact
    (root / "notes.txt").write_text("not an image file name: ignored, not skipped")
    return set(good)


@pytest.fixture
def image_folder(tmp_path) -> tuple[Path, set[str]]:
    return tmp_path / "photos", write_image_folder(tmp_path / "photos")


def _pretrain(folder: Path, output: Path, *extra: str) -> int:
    return cli.main(["pretrain", "vision", str(folder), "--encoder", "resnet_mini", "--output", str(output),
                     "--batch-size", "4", "--num-workers", "2", "--no-progress", *extra])


def test_pretrain_and_embed_a_folder_of_mixed_images_skipping_the_bad_ones(image_folder, tmp_path, capsys):
    folder, good = image_folder
    run = tmp_path / "run"
    assert _pretrain(folder, run, "--max-steps", "2", "--max-bad-fraction", "0.5") == 0
    skipped = [json.loads(line) for line in (run / "skipped.jsonl").read_text().splitlines()]
    assert {r["item"] for r in skipped} == BAD and len(skipped) == len(BAD)
    stages = {r["item"]: r["stage"] for r in skipped}  # the scan reads headers; a broken body shows at decode
    assert stages == {"zero.jpg": "scan", "nested/deeper/not_an_image.png": "scan", "corrupt.png": "decode"}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["items"] == len(good) + 1 and summary["items_skipped"] == len(BAD)
    config = (run / "config.yaml").read_text()
    assert "image_size: 32" in config and "channels: 3" in config and "selfsup-vision" in config
    assert "skipped" in capsys.readouterr().out
    out = tmp_path / "embeddings.parquet"
    assert cli.main(["embed", "vision", str(folder), "--encoder-dir", str(run / "encoder"), "--output", str(out),
                     "--num-workers", "0", "--no-progress"]) == 0
    table = pd.read_parquet(out)
    assert set(table["id"]) == good and len(table) == len(good)
    features = np.stack(table["embedding"].to_list())
    assert features.shape == (len(good), 128) and np.isfinite(features).all()
    assert f"{len(good)} embeddings" in capsys.readouterr().out


def test_a_config_yaml_runs_again_and_flags_override_it(image_folder, tmp_path):
    folder, _ = image_folder
    assert _pretrain(folder, tmp_path / "first", "--max-steps", "1", "--max-bad-fraction", "0.5",
                     "--image-size", "48") == 0
    assert cli.main(["pretrain", "vision", "--config", str(tmp_path / "first" / "config.yaml"), "--output",
                     str(tmp_path / "second"), "--max-steps", "12", "--batch-size", "8", "--no-progress"]) == 0
    second = (tmp_path / "second" / "config.yaml").read_text()
    assert "image_size: 48" in second and "max_steps: 12" in second and f"path: {folder}" in second
    # one batch of 8 an epoch: --max-steps alone runs past the default 10 epochs
    assert json.loads((tmp_path / "second" / "summary.json").read_text())["steps"] == 12


def test_too_many_bad_images_stop_the_run_with_one_line(image_folder, tmp_path, capsys):
    folder, _ = image_folder
    assert _pretrain(folder, tmp_path / "run", "--max-steps", "1") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "2 of the 13 images" in err and "--max-bad-fraction 0.01" in err
    assert "zero.jpg" in err and "skipped.jsonl" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["pretrain", "vision", "MISSING"], "MISSING: no such file or folder"),
    (["pretrain", "visoin", "."], "unknown domain 'visoin' (did you mean 'vision'?)"),
    (["pretrain", "vision", "EMPTY"], "no images found"),
    (["pretrain", "vision", "EMPTY", "--config", "CONFIG"], "unknown key 'image_sise' (did you mean 'image_size'?)"),
])
def test_command_line_mistakes_get_one_line_naming_them(argv, message, tmp_path, capsys):
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "CONFIG").write_text("image_sise: 64\n")
    argv = [str(tmp_path / a) if a in ("MISSING", "EMPTY", "CONFIG") else a for a in argv]
    assert cli.main([*argv, "--output", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message.replace("MISSING", str(tmp_path / "MISSING")) in err, err


def test_awkward_modes_decode_to_the_right_values(image_folder):
    folder, _ = image_folder
    sixteen = decode_image_file(folder / "sixteen.png")
    assert sixteen.dtype == torch.uint8 and sixteen.shape == (3, 40, 40)
    assert sixteen.float().mean().round() == round(30000 / 65535 * 255)  # scaled, not clipped to white
    red = decode_image_file(folder / "cmyk.jpg").float().mean(dim=(1, 2))
    assert red[0] > 230 and red[1] < 30 and red[2] < 30, red
    grey = decode_image_file(folder / "grey.png", channels=1)
    assert grey.shape == (1, 48, 48) and torch.equal(grey[0], torch.from_numpy(np.array(Image.open(folder /
                                                                                                  "grey.png"))))
    assert decode_image_file(folder / "palette.gif").shape == (3, 40, 40)
    assert decode_image_file(folder / "nested" / "deeper" / "e.tif").shape == (3, 33, 90)
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)  # fully transparent: shown on white
    Image.fromarray(rgba, mode="RGBA").save(folder / "clear.png")
    assert decode_image_file(folder / "clear.png").min() == 255


def test_resume_on_a_folder_matches_the_uninterrupted_run(image_folder, tmp_path):
    """Checkpoints every step; the run is cut after step 3 (mid-epoch: 11 indexed images, two batches of 4 an
    epoch) by removing what came later, then resumed with --resume auto: the weights at step 4 equal the
    uninterrupted run's. Two workers read the images; the corrupt one is met and replaced on both sides of the cut."""
    folder, _ = image_folder
    flags = ("--max-steps", "4", "--checkpoint-every", "1", "--max-bad-fraction", "0.5", "--seed", "3")
    assert _pretrain(folder, tmp_path / "straight", *flags) == 0
    cut = tmp_path / "cut"
    cut_after(tmp_path / "straight", cut, step=3, last=4)
    assert _pretrain(folder, cut, *flags, "--resume", "auto") == 0
    straight, resumed = (checkpoint_weights(run, 4) for run in (tmp_path / "straight", cut))
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    step3 = checkpoint_weights(cut, 3)
    assert not all(torch.equal(step3[k], resumed[k]) for k in step3)  # the resumed run did train a step


def test_a_run_folder_is_owned_and_a_seed_repeats_the_run(image_folder, tmp_path, capsys):
    folder, _ = image_folder
    flags = ("--max-steps", "2", "--max-bad-fraction", "0.5", "--seed", "7")
    assert _pretrain(folder, tmp_path / "a", *flags) == 0
    assert _pretrain(folder, tmp_path / "b", *flags) == 0
    a, b = (load_file(tmp_path / run / "encoder" / "model.safetensors") for run in "ab")
    assert all(torch.equal(a[k], b[k]) for k in a)  # two workers decode and augment: still bit for bit
    capsys.readouterr()
    assert _pretrain(folder, tmp_path / "a", *flags) == 2  # a new run over a finished one
    assert "is not empty" in capsys.readouterr().err
    assert _pretrain(folder, tmp_path / "a", *flags, "--resume", "auto", "--method", "byol") == 2
    assert "method 'simclr' -> 'byol'" in capsys.readouterr().err
    assert _pretrain(folder, tmp_path / "a", "--max-steps", "3", "--max-bad-fraction", "0.5", "--overwrite") == 0
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["steps"] == 3
    metas = [json.loads((p / "meta.json").read_text()) for p in (tmp_path / "a").glob("checkpoint-*")]
    assert max(m["step"] for m in metas) == 3 and len({m["run_id"] for m in metas}) == 1  # the old run is gone


def test_a_parquet_list_with_labels_is_a_collection(image_folder, tmp_path):
    from selfsup.core.data import index_collection
    from selfsup.vision.datasets.image_files import IMAGE_SUFFIXES, image_header

    pd.DataFrame({"path": ["photos/a.png", "photos/b.jpg", "photos/zero.jpg"], "label": ["x", "y", "x"]}).to_parquet(
        tmp_path / "list.parquet")
    root, index, skipped = index_collection(tmp_path / "list.parquet", suffixes=IMAGE_SUFFIXES, check=image_header,
                                            what="images", progress=False)
    assert root == tmp_path and index.ids() == ["photos/a.png", "photos/b.jpg"] and index.classes == ["x", "y"]
    assert index.column("label").tolist() == [0, 1] and [r["item"] for r in skipped] == ["photos/zero.jpg"]


def write_shards(folder: Path, per_shard: int = 5) -> set[str]:
    """``shards-000000.tar`` and ``-000001.tar`` in webdataset's layout (``key.jpg`` + ``key.cls``), with an empty
    and a corrupt image member and a JSON member; returns the good image members' ids."""
    import io
    import tarfile

    rng = np.random.default_rng(1)
    folder.mkdir(parents=True)
    good = set()
    for shard in range(2):
        with tarfile.open(folder / f"shards-{shard:06d}.tar", "w") as tar:
            def add(name: str, data: bytes) -> None:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

            for k in range(per_shard):
                buffer = io.BytesIO()
                Image.fromarray(_noise(rng, 40, 48)).save(buffer, format="JPEG")
                add(f"sample{shard}{k:03d}.jpg", buffer.getvalue())
                add(f"sample{shard}{k:03d}.cls", str(k % 2).encode())
                add(f"sample{shard}{k:03d}.json", b'{"caption": "noise"}')
                good.add(f"shards-{shard:06d}.tar/sample{shard}{k:03d}.jpg")
            add(f"empty{shard}.jpg", b"")
            add(f"broken{shard}.png", b"\x89PNG\r\n\x1a\n" + bytes(50))
    return good


def test_pretrain_and_embed_webdataset_shards(tmp_path):
    good = write_shards(tmp_path / "shards")
    spec = str(tmp_path / "shards" / "shards-{000000..000001}.tar")
    run = tmp_path / "run"
    assert _pretrain(Path(spec), run, "--max-steps", "2", "--max-bad-fraction", "0.5") == 0
    skipped = {json.loads(line)["item"] for line in (run / "skipped.jsonl").read_text().splitlines()}
    assert skipped == {f"shards-{s:06d}.tar/{name}{s}.{ext}" for s in range(2) for name, ext in (("empty", "jpg"),
                                                                                                 ("broken", "png"))}
    out = tmp_path / "embeddings.parquet"
    assert cli.main(["embed", "vision", spec, "--encoder-dir", str(run / "encoder"), "--output", str(out),
                     "--num-workers", "0", "--no-progress"]) == 0
    table = pd.read_parquet(out)
    assert set(table["id"]) == good and len(table) == len(good)
    assert table.set_index("id")["label"].to_dict()["shards-000001.tar/sample1003.jpg"] == "1"
    assert cli.main(["pretrain", "vision", str(tmp_path / "shards" / "shards-{000000..000002}.tar"), "--output",
                     str(tmp_path / "run2")]) == 2  # a missing shard is named, not a traceback
