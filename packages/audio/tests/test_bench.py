import json

import pytest

from selfsup.audio.bench import main


def test_smoke_suite_on_the_embedded_spoken_words(tmp_path):
    pytest.importorskip("espeakng_loader")
    rows = main(["--preset", "smoke", "--methods", "ssast,byol_a", "--quiet", "--output", str(tmp_path)])
    methods = [r["method"] for r in rows]
    assert methods[0] == "log-mel mean+std (baseline)" and methods.count("random init (baseline)") == 2
    assert methods[-2:] == ["ssast", "byol_a"]
    for row in rows:
        for key in ("label_official", "label_loso", "group_official"):
            assert 0.0 <= row[key] <= 1.0
        assert row["rankme"] > 1.0
    trained = rows[-1]
    assert trained["epochs"] == 1 and trained["clips_per_s"] > 0 and trained["peak_memory_mib"] > 0
    assert rows[0]["label_official"] > 0.5  # ten words, 8 voices: log-mel statistics separate them well
    saved = json.loads((tmp_path / "results.json").read_text())
    assert len(saved["rows"]) == len(rows) and (tmp_path / "results.png").stat().st_size > 0
    assert "label_loso" in (tmp_path / "results.md").read_text()


def test_suite_reads_fsdd_from_data_root(fsdd_root, tmp_path):
    rows = main(["--preset", "smoke", "--methods", "audio_mae", "--quiet", "--no-baselines", "--data-root",
                 str(fsdd_root), "--output", str(tmp_path / "out")])
    assert len(rows) == 1 and rows[0]["data"].startswith("FSDD all (42 clips, 30 official test, 3 speakers)")
    assert 0.0 <= rows[0]["label_loso"] <= 1.0


def test_unknown_method_is_refused(tmp_path, fsdd_root):
    with pytest.raises(ValueError, match="unknown methods"):
        main(["--preset", "smoke", "--methods", "wav2vec9", "--data-root", str(fsdd_root), "--output", str(tmp_path)])
