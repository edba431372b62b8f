"""A suite of two tiny cells with a real MiniLM under the `cpu` profile: runs end to end, is interrupted after
cell 1, and resumes without recomputing it. Also the `adapt` runner's fold-level resume, two-stage training,
scores that `emopillars evaluate` reproduces from the saved model, and the CLI's one-line errors."""

from __future__ import annotations

import json
import random

import pytest

from emopillars.adapt.suite import CELLS_DIR, LOG_FILE, SuiteLog, cell_key, load_suite, plan_cells, run_suite

CUES = {
    "happy": ["what a wonderful day", "I am so glad", "this is great news", "I love it"],
    "mad": ["this is outrageous", "I am furious", "how dare you", "stop lying to me"],
    "blue": ["I miss her so much", "I feel empty", "everything is lost", "I cried all night"],
}


def _write_rows(path, n, seed, multi=False):
    rng = random.Random(seed)
    labels = list(CUES)
    lines = ["text,label"]
    for i in range(n):
        label = labels[i % 3]
        text = f"{rng.choice(CUES[label])} number {seed}-{i}"
        tag = label
        if multi and i % 5 == 0:
            other = labels[(i + 1) % 3]
            text += f" and {rng.choice(CUES[other])}"
            tag = f"{label};{other}"
        lines.append(f"{text},{tag}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _task_yaml(path, name, kind, data_paths, multi):
    paths = "\n".join(f"  {k}: {v}" for k, v in data_paths.items())
    metrics = "[macro_f1, micro_f1]" if multi else "[macro_f1, accuracy]"
    path.write_text(
        f"""name: {name}
format: custom
paths:
{paths}
loader_options: {{label_separator: ";"}}
labels: [happy, mad, blue]
multi_label: {str(multi).lower()}
label_map: {{happy: joy, mad: anger, blue: sadness}}
protocol: {{kind: {kind}, folds: 2, dev_fraction: 0.2}}
epochs: 1
metrics: {metrics}
train: {{max_length: 32, batch_size: 8, lr: 0.0003}}
profiles: {{cpu: {{epochs: 3, max_length: 24, bf16: false}}}}
paper: {{metric: macro_f1, mean: 0.5, std: 0.01, note: "made up for the test"}}
""",
        encoding="utf-8",
    )


@pytest.fixture()
def tiny_suite(tmp_path, minilm_path):
    data = tmp_path / "data"
    data.mkdir()
    _write_rows(data / "train.csv", 40, 1, multi=True)
    _write_rows(data / "dev.csv", 12, 2, multi=True)
    _write_rows(data / "test.csv", 12, 3, multi=True)
    _write_rows(data / "all.csv", 40, 4)
    split_paths = {s: str(data / f"{s}.csv") for s in ("train", "dev", "test")}
    _task_yaml(tmp_path / "tiny_ml.yaml", "tiny_ml", "official", split_paths, True)
    _task_yaml(tmp_path / "tiny_cv.yaml", "tiny_cv", "kfold", {"data": str(data / "all.csv")}, False)
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"""name: tiny
profile: cpu
out_dir: {tmp_path / "out"}
tasks: [tiny_ml.yaml, tiny_cv.yaml]
starts:
  - {{name: plain encoder, role: plain, from: "{minilm_path}"}}
heads: [keep]
seeds: [7]
""",
        encoding="utf-8",
    )
    return suite, tmp_path / "out"


class Interrupt(KeyboardInterrupt):
    pass


def test_suite_interrupted_after_first_cell_resumes_without_recomputing(tiny_suite):
    suite, out = tiny_suite

    def stop_after_first(cell, result, cached):
        raise Interrupt

    with pytest.raises(Interrupt):
        run_suite(suite, progress=False, on_cell_done=stop_after_first)
    cached_files = sorted((out / CELLS_DIR).glob("*.json"))
    assert [p.name for p in cached_files] == ["tiny_ml__plain-encoder__keep__s7.json"]
    first = cached_files[0]
    first_mtime = first.stat().st_mtime_ns
    first_result = json.loads(first.read_text())["result"]
    assert first_result["profile"] == "cpu" and first_result["settings"]["epochs"] == 3
    assert first_result["settings"]["train"] == {"batch_size": 8, "bf16": False, "lr": 0.0003, "max_length": 24}
    # the cue phrases make the task easy: clearly better than predicting every label everywhere (F1 0.59)
    assert first_result["metrics"]["macro_f1"]["mean"] >= 0.7, first_result["metrics"]
    assert first_result["runs"]["run_0"]["thresholds"]["kind"] == "global"  # multi-label: threshold on dev
    assert first_result["runs"]["run_0"]["n_report"] == 12

    only = run_suite(suite, progress=False, only_tasks=["tiny_ml"])  # cached: nothing trains
    assert only["cells_done"] == 1 and set(only["cells"]) == {"tiny_ml__plain-encoder__keep__s7"}
    table = (out / "results.md").read_text()
    assert "## tiny_ml" in table and "## tiny_cv" in table  # the table keeps every task of the suite
    assert table.split("## tiny_cv")[1].count("not run yet") == 1

    summary = run_suite(suite, progress=False)
    assert summary["cells_done"] == 2 and not summary["failures"]
    assert first.stat().st_mtime_ns == first_mtime  # not rewritten
    events = [(e["event"], e.get("cell")) for e in SuiteLog(out / LOG_FILE).events()]
    assert events.count(("done", "tiny_ml__plain-encoder__keep__s7")) == 1  # trained once only
    assert ("cached", "tiny_ml__plain-encoder__keep__s7") in events
    assert ("done", "tiny_cv__plain-encoder__keep__s7") in events

    cv = summary["cells"]["tiny_cv__plain-encoder__keep__s7"]
    assert set(cv["runs"]) == {"fold_0", "fold_1"}
    assert sum(run["n_report"] for run in cv["runs"].values()) == 40  # the folds cover every row once
    assert len(cv["metrics"]["accuracy"]["values"]) == 2
    assert cv["metrics"]["macro_f1"]["mean"] >= 0.6, cv["metrics"]  # 3 balanced classes: chance is 0.33
    assert all(run["thresholds"]["kind"] == "argmax" for run in cv["runs"].values())

    # a run of one task rewrites the table with the other task's cached result, not without it
    run_suite(suite, progress=False, only_tasks=["tiny_ml"])
    saved = json.loads((out / "results.json").read_text())
    assert set(saved["cells"]) == {"tiny_ml__plain-encoder__keep__s7", "tiny_cv__plain-encoder__keep__s7"}
    assert "not run yet" not in (out / "results.md").read_text()

    markdown = (out / "results.md").read_text()
    assert "## tiny_cv" in markdown and "plain encoder" in markdown and "stratified 2-fold CV" in markdown
    assert "0.500 ± 0.010" in markdown  # the paper row
    assert json.loads((out / "results.json").read_text())["cells_done"] == 2

    # a third run recomputes nothing
    run_suite(suite, progress=False)
    events = [e["event"] for e in SuiteLog(out / LOG_FILE).events()]
    assert events.count("done") == 2

    # a lost cell file: the cell is rebuilt from its finished folds, without training again
    fold_file = out / "runs" / "tiny_cv__plain-encoder__keep__s7" / "fold_1" / "metrics.json"
    fold_mtime = fold_file.stat().st_mtime_ns
    (out / CELLS_DIR / "tiny_cv__plain-encoder__keep__s7.json").unlink()
    again = run_suite(suite, progress=False)
    assert fold_file.stat().st_mtime_ns == fold_mtime
    assert again["cells"]["tiny_cv__plain-encoder__keep__s7"]["metrics"] == cv["metrics"]

    # editing a profile the suite does not use keeps its cells; a cell keyed the old way (the whole task spec)
    # is reused and re-keyed in place
    task_file = suite.parent / "tiny_ml.yaml"
    task_file.write_text(task_file.read_text().replace("profiles: {cpu:", "profiles: {quick: {epochs: 1}, cpu:"))
    spec, tasks = load_suite(suite)
    ml = next(c for c in plan_cells(spec, tasks) if c.task.name == "tiny_ml")
    key, legacy = cell_key(ml, spec, "cpu"), cell_key(ml, spec, "cpu", legacy=True)
    assert key != legacy
    first.write_text(json.dumps({"key": legacy, "result": first_result}))
    edited = run_suite(suite, progress=False)
    assert edited["cells_done"] == 2 and edited["cells"]["tiny_ml__plain-encoder__keep__s7"] == first_result
    assert [e["event"] for e in SuiteLog(out / LOG_FILE).events()].count("done") == 3  # 2 + the lost cell
    assert json.loads(first.read_text())["key"] == key


def test_suite_missing_checkpoint_fails_one_cell_not_the_suite(tiny_suite, tmp_path):
    suite, out = tiny_suite
    text = suite.read_text().replace("tasks: [tiny_ml.yaml, tiny_cv.yaml]", "tasks: [tiny_ml.yaml, tiny_cv.yaml]")
    text = text.split("starts:")[0] + f"starts:\n  - {{name: synthetic, role: synthetic, from: {tmp_path / 'nope'}}}\n"
    suite.write_text(text + "heads: [keep]\nseeds: [7]\n")
    summary = run_suite(suite, progress=False)
    assert sorted(summary["failures"]) == ["tiny_cv__synthetic__keep__s7", "tiny_ml__synthetic__keep__s7"]
    assert "does not exist" in summary["failures"]["tiny_ml__synthetic__keep__s7"]
    assert summary["cells_done"] == 0
    assert "does not exist" in (out / "results.md").read_text()
    events = [e["event"] for e in SuiteLog(out / LOG_FILE).events()]
    assert events.count("failed") == 2


def test_two_stage_from_checkpoint_keep_and_new_heads(tiny_suite, tmp_path, minilm_path):
    from emopillars.adapt.evaluate import evaluate_task
    from emopillars.adapt.run import adapt
    from emopillars.adapt.tasks import load_task
    from emopillars.training.config import TrainConfig

    task = load_task(tmp_path / "tiny_ml.yaml")
    first = adapt(task, minilm_path, head="keep", seed=1, out_dir=tmp_path / "stage1", profile="cpu")
    checkpoint = tmp_path / "stage1" / "run_0" / "model"
    assert first["start_kind"] == "encoder"
    assert len(TrainConfig.load(checkpoint).label_names) == 28  # keep: the taxonomy head
    assert not (checkpoint / "checkpoint").exists()  # resume state of the finished run removed

    kept = adapt(
        task, str(checkpoint), head="keep", seed=1, out_dir=tmp_path / "keep", keep_models=False, profile="cpu"
    )
    assert kept["start_kind"] == "checkpoint" and kept["head"] == "keep"
    assert not (tmp_path / "keep" / "run_0" / "model").exists()
    new = adapt(task, str(checkpoint), head="new", seed=1, out_dir=tmp_path / "new", profile="cpu")
    assert TrainConfig.load(tmp_path / "new" / "run_0" / "model").label_names == ["happy", "mad", "blue"]
    for result in (first, kept, new):
        assert result["metrics"]["macro_f1"]["mean"] >= 0.7, result["metrics"]
    # the saved models remember their task: `evaluate` on the test file reproduces the reported numbers exactly
    for out, result in (("stage1", first), ("new", new)):
        again = evaluate_task(tmp_path / out / "run_0" / "model", tmp_path / "data" / "test.csv")
        for name in ("macro_f1", "micro_f1"):
            assert again["task_metrics"][name] == pytest.approx(result["metrics"][name]["mean"], abs=1e-6)
    # keep needs a 28-label head: from the new-head model it is refused with a clear message
    with pytest.raises(ValueError, match="use --head new"):
        adapt(task, str(tmp_path / "new" / "run_0" / "model"), head="keep", out_dir=tmp_path / "bad")


def test_cli_errors_are_one_line(tmp_path, capsys):
    from emopillars.cli.main import main

    assert main(["benchmark", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["adapt", "--task", "no-such-task", "--out", str(tmp_path / "o")]) == 2
    assert "unknown task" in capsys.readouterr().err


@pytest.mark.parametrize("head", ["new", "keep"])
def test_threshold_auto_is_chosen_on_dev_by_cross_fitting_under_both_heads(tiny_suite, tmp_path, head, minilm_path):
    """``protocol.threshold: auto``: under ``new`` the trainer's policy (it reads every column) is kept, under
    ``keep`` (3 of 28 columns) it is chosen afresh on dev; either way the cross-fitted dev numbers of both
    policies are recorded, and the saved model reproduces the reported numbers."""
    from emopillars.adapt.evaluate import evaluate_task
    from emopillars.adapt.run import adapt
    from emopillars.adapt.tasks import load_task

    task = load_task(tmp_path / "tiny_ml.yaml")
    task = task.model_copy(update={"protocol": task.protocol.model_copy(update={"threshold": "auto"})})
    result = adapt(task, minilm_path, head=head, seed=1, out_dir=tmp_path / head, profile="cpu")
    thresholds = result["runs"]["run_0"]["thresholds"]
    assert thresholds["kind"] in ("global", "per_class")
    crossed = {k: v for k, v in thresholds["dev_macro_f1"].items() if k.startswith("cross_fitted_")}
    assert set(crossed) == {"cross_fitted_global", "cross_fitted_per_class"}
    better = "per_class" if crossed["cross_fitted_per_class"] > crossed["cross_fitted_global"] else "global"
    assert thresholds["kind"] == better
    again = evaluate_task(tmp_path / head / "run_0" / "model", tmp_path / "data" / "test.csv")
    assert again["task_metrics"]["macro_f1"] == pytest.approx(result["metrics"]["macro_f1"]["mean"], abs=1e-6)
