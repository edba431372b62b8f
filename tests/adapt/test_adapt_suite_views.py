"""The results table of a suite whose cells report two views (EmoContext: dev by argmax, dev with a rule): each
row must carry its own view's numbers (a shared dict once gave the argmax row the rule's numbers)."""

from __future__ import annotations

from emopillars.adapt.suite import SuiteSpec, plan_cells, render_markdown, summarize
from emopillars.adapt.tasks import load_task


def _view(label: str, micro: float, happy_f1: float) -> dict:
    per_class = {c: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 10.0} for c in ("sad", "angry", "others")}
    per_class["happy"] = {"precision": 0.5, "recall": 0.5, "f1": happy_f1, "support": 10.0}
    metric = {"emocontext_micro_f1": micro, "macro_f1": micro + 0.1, "accuracy": micro + 0.2}
    return {"label": label, "metrics": {k: {"values": [v]} for k, v in metric.items()}, "per_class": per_class}


def test_each_view_row_has_its_own_metrics():
    task = load_task("emocontext")
    suite = SuiteSpec.model_validate(
        {"name": "t", "tasks": ["emocontext"], "starts": [{"name": "MiniLM", "from": "minilm"}], "seeds": [13]}
    )
    [cell] = plan_cells(suite, [task])
    result = {
        "primary_view": "dev_rule",
        "settings": {"epochs": 3, "limit": None, "train": {}},
        "runs": {"run_0": {"train_s": 60, "eval_s": 6}},
        "views": {"dev_argmax": _view("dev, argmax", 0.674, 0.63), "dev_rule": _view("dev, rule", 0.699, 0.62)},
    }
    rows = summarize(suite, [task], [cell], {cell.cell_id: result}, {})
    by_view = {row["view"]: row for row in rows}
    assert by_view["dev_argmax"]["metrics"]["emocontext_micro_f1"]["mean"] == 0.674
    assert by_view["dev_rule"]["metrics"]["emocontext_micro_f1"]["mean"] == 0.699
    assert by_view["dev_argmax"]["metrics"] is not by_view["dev_rule"]["metrics"]
    assert by_view["dev_rule"]["primary"] and not by_view["dev_argmax"]["primary"]
    table = render_markdown(suite, [task], rows, "cpu")
    assert "| dev, argmax | 0.674 | 0.774 | 0.874 | 1 |" in table
    assert "| dev, rule | **0.699** | 0.799 | 0.899 | 1 |" in table
