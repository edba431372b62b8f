from __future__ import annotations

import json
import random

import pytest
from sklearn.metrics import cohen_kappa_score

from emopillars.annotate import AnswerFileError, export_kit, score_kit
from emopillars.annotate.score import write_score_report
from emopillars.cli.main import main
from emopillars.stats.source import load_source
from emopillars.taxonomy import LABELS


def fill(kit, rng: random.Random, agree: float) -> dict[str, dict[str, set[str]]]:
    """Answers that follow the teacher with probability ``agree`` per item, else a random label set."""
    answers: dict[str, dict[str, set[str]]] = {}
    for name in kit.annotators:
        answers[name] = {}
        for item in kit.items:
            if rng.random() < agree:
                answers[name][item.item_id] = set(item.teacher_labels)
            else:
                answers[name][item.item_id] = set(rng.sample(LABELS, rng.randint(0, 3)))
    return answers


def write_csv(path, answers: dict[str, set[str]], order: list[str]) -> None:
    lines = ["item_id,labels"] + [f"{i},{';'.join(sorted(answers[i]))}" for i in order]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_export_fill_score_round_trip(dataset_file, tmp_path):
    kit = export_kit(load_source(dataset_file), tmp_path / "kit", n=20, annotators=3, seed=2)
    answers = fill(kit, random.Random(0), agree=0.7)
    files = []
    for name, order in kit.annotators.items():
        files.append(tmp_path / f"answers-{name}.csv")
        write_csv(files[-1], answers[name], order)  # each in the annotator's own order
    report = score_kit(tmp_path / "kit", files)
    assert report["scored_items"] == 20
    ids = kit.item_ids()
    flat = {name: [int(label in answers[name][i]) for label in LABELS for i in ids] for name in ("A1", "A2", "A3")}
    pair = report["agreement"]["cohen"]["pairs"]["A1|A2"]
    assert pair["annotators"] == ["A1", "A2"]
    assert pair["pooled"] == pytest.approx(cohen_kappa_score(flat["A1"], flat["A2"]))
    assert report["agreement"]["fleiss"]["pooled"] == pytest.approx(_fleiss([flat[n] for n in ("A1", "A2", "A3")]))
    assert report["paper"][0]["paper"] == 0.365
    written = write_score_report(report, tmp_path / "score")
    assert json.loads(written["json"].read_text())["scored_items"] == 20
    md = written["markdown"].read_text()
    assert "0.365" in md and "Fleiss" in md and "| joy |" in md


def _fleiss(decisions: list[list[int]]) -> float:
    """Fleiss' kappa of 0/1 decisions (one list per annotator), written out from its definition (Fleiss 1971)."""
    raters, units = len(decisions), len(decisions[0])
    yes = [sum(d[u] for d in decisions) for u in range(units)]
    agreement = [(y * y + (raters - y) ** 2 - raters) / (raters * (raters - 1)) for y in yes]
    p_yes = sum(yes) / (units * raters)
    chance = p_yes**2 + (1 - p_yes) ** 2
    return (sum(agreement) / units - chance) / (1 - chance)


def test_perfect_annotators_agree_with_kappa_one(dataset_file, tmp_path):
    kit = export_kit(load_source(dataset_file), tmp_path / "kit", n=16, annotators=2, seed=5)
    teacher = {item.item_id: set(item.teacher_labels) for item in kit.items}
    files = []
    for name, order in kit.annotators.items():
        files.append(tmp_path / f"{name}.csv")
        write_csv(files[-1], teacher, order)
    report = score_kit(tmp_path / "kit", files)
    assert report["agreement"]["cohen"]["mean_pooled"] == pytest.approx(1.0)
    assert report["agreement"]["fleiss"]["pooled"] == pytest.approx(1.0)
    assert report["accuracy"]["all_agree_accuracy"] == pytest.approx(1.0)
    assert report["accuracy"]["majority_accuracy"] == pytest.approx(1.0)


def test_score_errors(dataset_file, tmp_path):
    kit = export_kit(load_source(dataset_file), tmp_path / "kit", n=4, annotators=2, seed=5)
    teacher = {item.item_id: set(item.teacher_labels) for item in kit.items}
    good = tmp_path / "good.csv"
    write_csv(good, teacher, kit.item_ids())
    with pytest.raises(AnswerFileError, match="at least two annotators"):
        score_kit(tmp_path / "kit", [good])
    with pytest.raises(AnswerFileError, match="given twice"):
        score_kit(tmp_path / "kit", [good, good])
    with pytest.raises(FileNotFoundError, match="annotate export"):
        score_kit(tmp_path / "nothing", [good, good])


def test_cli_export_and_score(dataset_file, tmp_path, capsys):
    out = tmp_path / "kit"
    assert main(["annotate", "export", str(dataset_file), "--out", str(out), "--n", "6", "--annotators", "2"]) == 0
    assert (out / "form-A2.html").exists()
    kit = json.loads((out / "kit.json").read_text())
    teacher = json.loads((out / "teacher.json").read_text())
    files = []
    for name in ("A1", "A2"):
        files.append(tmp_path / f"{name}.csv")
        write_csv(files[-1], {i: set(v["labels"]) for i, v in teacher.items()}, kit["annotators"][name])
    assert main(["annotate", "score", str(out), "--answers", *map(str, files)]) == 0
    assert "paper 0.365" in capsys.readouterr().out
    assert (out / "score" / "report.md").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,labels\nq1,joy\n", encoding="utf-8")
    assert main(["annotate", "score", str(out), "--answers", str(files[0]), str(bad)]) == 2
    assert "not in the kit" in capsys.readouterr().err
    assert main(["annotate", "export", str(tmp_path / "missing.jsonl")]) == 2
