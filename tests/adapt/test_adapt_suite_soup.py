"""A suite with a soup (real MiniLM, tiny task): after its two seeds, one more cell averages their encoders, refits
the head with the encoder frozen, and is scored under the task's protocol; it is cached and resumed like any cell,
retrains when a member changes, and a suite that cannot make a soup is refused before anything trains."""

from __future__ import annotations

import pytest
from safetensors.torch import load_file
from test_adapt_suite import _task_yaml, _write_rows

from emopillars.adapt.suite import LOG_FILE, RUNS_DIR, SuiteLog, cell_key, load_suite, plan_cells, run_suite

SOUP = "tiny_ml__plain-encoder-soup__keep__s7+8"


def _suite(tmp_path, minilm_path, extra: str = "", tasks: str = "[tiny_ml.yaml]"):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, n, seed in (("train", 40, 1), ("dev", 12, 2), ("test", 12, 3)):
        _write_rows(data / f"{name}.csv", n, seed, multi=True)
    _write_rows(data / "all.csv", 40, 4)
    _task_yaml(
        tmp_path / "tiny_ml.yaml",
        "tiny_ml",
        "official",
        {s: str(data / f"{s}.csv") for s in ("train", "dev", "test")},
        True,
    )
    _task_yaml(tmp_path / "tiny_cv.yaml", "tiny_cv", "kfold", {"data": str(data / "all.csv")}, False)
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"""name: tiny-soup
profile: cpu
out_dir: {tmp_path / "out"}
tasks: {tasks}
starts:
  - {{name: plain encoder, role: plain, from: "{minilm_path}"}}
seeds: [7, 8]
{extra}
""",
        encoding="utf-8",
    )
    return suite


def test_soup_cell_follows_its_seeds_and_is_scored_like_them(tmp_path, minilm_path):
    suite = _suite(
        tmp_path, minilm_path, "keep_models: single_run\nsoup: {epochs: 2, head_lr: 0.003, train: {pos_weight: 0}}"
    )
    summary = run_suite(suite, progress=False)
    assert not summary["failures"], summary["failures"]
    assert list(summary["cells"]) == ["tiny_ml__plain-encoder__keep__s7", "tiny_ml__plain-encoder__keep__s8", SOUP]
    soup = summary["cells"][SOUP]
    assert soup["settings"]["epochs"] == 2
    assert soup["settings"]["train"]["freeze_encoder"] is True and soup["settings"]["train"]["pos_weight"] == 0
    assert soup["runs"]["run_0"]["n_report"] == 12 and soup["runs"]["run_0"]["thresholds"]["kind"] == "global"
    assert soup["metrics"]["macro_f1"]["mean"] >= 0.7, soup["metrics"]  # the cue phrases make the task easy

    runs = tmp_path / "out" / RUNS_DIR
    members = [
        load_file(runs / f"tiny_ml__plain-encoder__keep__s{s}" / "run_0" / "model" / "model.safetensors")
        for s in (7, 8)
    ]
    refit = load_file(runs / SOUP / "run_0" / "model" / "model.safetensors")
    name = "bert.encoder.layer.3.attention.self.query.weight"
    assert not (refit[name] == members[0][name]).all()
    assert (refit[name] - (members[0][name] + members[1][name]) / 2).abs().max() < 1e-6  # the frozen soup
    assert not (runs / SOUP / "run_0" / "soup").exists()  # the intermediate soup is removed

    rows = [r for r in summary["rows"] if r["start"] == "plain encoder soup"]
    assert len(rows) == 1 and rows[0]["seeds"] == [7, 8] and rows[0]["metrics"]["macro_f1"]["n"] == 1
    table = (tmp_path / "out" / "results.md").read_text()
    assert "| plain encoder soup (" in table and "soup: the fine-tuned encoders of seeds 7, 8 averaged" in table

    run_suite(suite, progress=False)  # cached: nothing trains again
    events = [(e["event"], e.get("cell")) for e in SuiteLog(tmp_path / "out" / LOG_FILE).events()]
    assert events.count(("done", SOUP)) == 1 and ("cached", SOUP) in events

    # the soup's key follows its members': other seeds, another soup; a changed task retrains members and soup
    spec, tasks = load_suite(suite)
    cells = plan_cells(spec, tasks)
    key = cell_key(cells[2], spec, "cpu")
    cells[2].members[1].seed = 9
    assert cell_key(cells[2], spec, "cpu") != key and cells[2].cell_id.endswith("__s7+9")
    (tmp_path / "tiny_ml.yaml").write_text((tmp_path / "tiny_ml.yaml").read_text().replace("lr: 0.0003", "lr: 0.0004"))
    again = run_suite(suite, progress=False)
    assert not again["failures"]
    events = [(e["event"], e.get("cell")) for e in SuiteLog(tmp_path / "out" / LOG_FILE).events()]
    assert events.count(("done", SOUP)) == 2 and events.count(("done", "tiny_ml__plain-encoder__keep__s8")) == 2


@pytest.mark.parametrize(
    ("extra", "tasks", "message"),
    [
        ("soup: {}", "[tiny_ml.yaml]", "set keep_models: single_run"),
        ("keep_models: single_run\nsoup: {}", "[tiny_ml.yaml, tiny_cv.yaml]", "set keep_models: all"),
        ("keep_models: all\nsoup: {epochs: 0}", "[tiny_ml.yaml]", "epochs"),
    ],
)
def test_a_suite_that_cannot_make_its_soup_is_refused(tmp_path, minilm_path, extra, tasks, message):
    with pytest.raises(ValueError, match=message):
        load_suite(_suite(tmp_path, minilm_path, extra, tasks))
    one_seed = _suite(tmp_path, minilm_path, "keep_models: all\nsoup: {}").read_text().replace("[7, 8]", "[7]")
    (tmp_path / "suite.yaml").write_text(one_seed)
    with pytest.raises(ValueError, match="averages the models of several seeds"):
        load_suite(tmp_path / "suite.yaml")
