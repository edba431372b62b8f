from __future__ import annotations

import json

import pytest

from emopillars.cli.main import main
from emopillars.data.loaders.errors import DataFormatError
from emopillars.stats.report import ReportOptions, build_report, inspect_dataset
from emopillars.stats.source import load_source

NO_EMBED = ReportOptions(embeddings=False)


def test_inspect_synthesis_folder(synthesis_folder, tmp_path):
    root, records, counts = synthesis_folder
    report, written = inspect_dataset(root, tmp_path / "out", options=NO_EMBED)
    assert report["source"]["kind"] == "synthesis" and report["source"]["records"] == 18
    assert report["counts"] == {name: {k: v for k, v in splits.items() if v} for name, splits in counts.items()}
    lab = report["labels"]
    # 12 emotional records with 2 labels, 6 neutral with 1 -> (24 + 6) / 18
    assert lab["labels_per_example"]["mean"] == pytest.approx(30 / 18)
    assert lab["neutral"]["of_labels"] == pytest.approx(6 / 30)
    assert lab["neutral"]["of_examples"] == pytest.approx(6 / 18)
    assert lab["requested_vs_primary"]["primary_is_requested_share"] == pytest.approx(1.0)
    ctx = report["contexts"]
    assert ctx["contexts"] == 3 and ctx["naming_own_labels"] == 1  # only ann's "joyful" names its own label (joy)
    assert ctx["naming_any_emotion"] == 3 and ctx["cleaned_naming_any_emotion"] == 0
    run = report["run"]
    assert run["calls_per_record"] == pytest.approx(36 / 18)
    assert run["steps"]["labels"]["drops"] == {"no_positive_label": 2}
    assert report["diversity"]["similarity"] == {"skipped": "--no-embeddings"}
    paper = {row["key"]: row for row in report["paper"]}
    assert paper["labels.neutral.of_labels"]["paper"] == 0.027
    assert paper["labels.neutral.of_labels"]["ours"] == pytest.approx(6 / 30)
    for name in ("label_distribution", "labels_per_example", "levels", "utterance_length", "requested_vs_primary"):
        assert written[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    gen = report["generation"]  # steps/utterances.jsonl, its torn last line skipped
    assert gen["utterances"] == 9 and gen["asked_neutral"] == 6
    assert gen["neutral_same_character_exact"] == 1
    assert gen["neutral_requested"]["duplicates"]["exact"] == 1
    assert "similarity" not in gen  # --no-embeddings
    on_disk = json.loads(written["json"].read_text())
    assert on_disk["plots"]["levels"] == "levels.png" and on_disk["timing_s"]["total"] > 0
    md = written["markdown"].read_text()
    assert "| neutral share of positive labels | 20.0 % | 2.7 % |" in md
    assert "no_positive_label 2" in md and "![label_distribution](label_distribution.png)" in md
    assert "word for word: 1 of 6" in md


def test_similarity_with_minilm(synthesis_folder, minilm_path):
    root, _, _ = synthesis_folder
    report = build_report(load_source(root), ReportOptions(embeddings=True))
    sim = report["diversity"]["similarity"]
    neutral = sim["neutral"]
    assert neutral["texts"] == 6 and neutral["within_pairs"] == 3 and neutral["across_pairs"] == 12
    # each character's two neutral thoughts are paraphrases of each other, about different things than the others'
    assert neutral["within"] > 0.6 > neutral["across"]
    assert sim["all"]["texts"] == 18 and sim["neutral_requested"]["texts"] == 6
    assert report["paper"][3]["ours"] == pytest.approx(neutral["within"])
    generated = report["generation"]["similarity"]["neutral_requested"]
    assert generated["within_pairs"] == 3 and generated["within"] > neutral["within"]  # ann's pair is identical


def test_embed_limit_samples_whole_characters(synthesis_folder, minilm_path):
    root, _, _ = synthesis_folder
    report = build_report(load_source(root), ReportOptions(embed_limit=6))
    all_sim = report["diversity"]["similarity"]["all"]
    assert all_sim["texts"] == 6 and all_sim["groups"] == 1 and all_sim["sampled"] and all_sim["across"] is None


def test_inspect_goemotions_with_compare(data_dir, tmp_path):
    report, written = inspect_dataset(
        data_dir / "goemotions" / "dev.tsv",
        tmp_path / "out",
        compare=data_dir / "goemotions" / "train.tsv",
        options=NO_EMBED,
    )
    assert report["source"]["format"] == "goemotions" and report["source"]["records"] == 5426
    assert report["contexts"] is None and report["run"] is None
    assert "names no characters" in report["diversity"]["similarity"]["skipped"]
    assert 1.1 < report["labels"]["labels_per_example"]["mean"] < 1.3
    assert report["compare"]["records"] == 43410
    assert abs(report["compare"]["per_label_share"]["neutral"] - report["labels"]["per_label_share"]["neutral"]) < 0.03
    assert "share in train.tsv" in written["markdown"].read_text()


def test_inspect_emopillars_csv(tmp_path):
    path = tmp_path / "ep.csv"
    header = "text," + ",".join(str(i) for i in range(28))
    rows = ["I wonder what lies ahead.," + ",".join("1" if i in (7, 27) else "0" for i in range(28))]
    rows.append("What a lovely day.," + ",".join("1" if i == 17 else "0" for i in range(28)))
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    report, _ = inspect_dataset(path, tmp_path / "out", options=ReportOptions(embeddings=False, plots=False))
    assert report["labels"]["per_label"]["curiosity"] == 1
    assert report["labels"]["neutral"]["of_examples"] == pytest.approx(0.5)


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_source(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="not a synthesis output folder"):
        load_source(tmp_path / "empty")
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / "manifest.json").write_text('{"status": "failed"}')
    with pytest.raises(DataFormatError, match="run status: failed"):
        load_source(failed)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"record_id": "x", "plot_id": "p", "utterance": "u", "provenance": {}}\n')
    with pytest.raises(DataFormatError, match="line 1"):
        load_source(bad)


def test_cli_inspect(synthesis_folder, tmp_path, capsys):
    root, _, _ = synthesis_folder
    out = tmp_path / "rep"
    assert main(["inspect", str(root), "--out", str(out), "--no-embeddings", "--no-compare"]) == 0
    printed = capsys.readouterr().out
    assert "18 records" in printed and "labels per example 1.67" in printed and "(paper ~3.2)" in printed
    assert (out / "report.md").exists() and (out / "label_distribution.png").exists()
    assert main(["inspect", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["inspect", str(root), "--embed-model", str(tmp_path / "no-model"), "--out", str(out)]) == 2
    assert "sentence encoder" in capsys.readouterr().err
