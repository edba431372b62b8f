"""The prior calibration of levels on hand-computed cases, in the audit (stub server) and on synthetic records."""

from __future__ import annotations

import json

import pytest

from emopillars.cli.main import main as cli_main
from emopillars.data.records import Provenance, SyntheticRecord
from emopillars.teacher.calibration import Calibration, calibrate, calibrate_records, damp, label_shares
from emopillars.teacher.metrics import multilabel_audit

# 4 answers: "disappointment" named in 3 of them (share 0.75), "joy" in 1 (0.25), "anger" in 1 (0.25)
ANSWERS = [
    {"disappointment": 0.8, "joy": 0.6},
    {"disappointment": 0.7},
    {"anger": 0.9, "disappointment": 0.4},
    None,  # a failed answer counts in the denominator and stays failed
]


def test_shares_count_every_answer_and_ignore_zero_levels():
    assert label_shares(ANSWERS) == {"disappointment": 0.75, "joy": 0.25, "anger": 0.25}
    assert label_shares([{"joy": 0.0}, {"fear": 0.5}]) == {"fear": 0.5}
    assert label_shares([]) == {}


def test_prior_damping_reranks_and_rescales_by_hand():
    out = calibrate(ANSWERS, Calibration.parse("prior:1"))
    # answer 1: scores disappointment 0.8/0.75 = 1.067, joy 0.6/0.25 = 2.4 -> joy first with the top level 0.8,
    # disappointment 0.8 * 1.067 / 2.4 = 0.356 -> 0.4
    assert out[0] == {"joy": 0.8, "disappointment": 0.4}
    assert list(out[0]) == ["joy", "disappointment"]
    assert out[1] == {"disappointment": 0.7}  # alone: nothing to re-rank, its level kept
    # answer 3: anger 0.9/0.25 = 3.6 stays first; disappointment 0.4 * (0.533 / 3.6) = 0.059 -> 0.1 (below 0.3)
    assert out[2] == {"anger": 0.9, "disappointment": 0.1}
    assert out[3] is None
    # alpha 0.5: joy 0.6/0.5 = 1.2 beats disappointment 0.8/0.866 = 0.924; 0.8 * 0.924 / 1.2 = 0.616 -> 0.6
    assert calibrate(ANSWERS, Calibration.parse("prior"))[0] == {"joy": 0.8, "disappointment": 0.6}
    assert damp({}, {"joy": 0.5}, 0.5) == {}


def test_none_returns_copies_and_bad_specs_fail():
    out = calibrate(ANSWERS, Calibration.parse(None))
    assert out == ANSWERS and out[0] is not ANSWERS[0]
    assert str(Calibration.parse("none")) == "none" and str(Calibration.parse("prior")) == "prior:0.5"
    bad_specs = {"prior:x": "not a number", "isotonic": "unknown", "prior:0": "exponent", "prior:3": "exponent"}
    for bad, why in bad_specs.items():
        with pytest.raises(ValueError, match=why):
            Calibration.parse(bad)


def test_calibrated_answers_change_the_audit_numbers():
    gold = [["joy"], ["disappointment"], ["anger"], ["neutral"]]
    raw, cal = multilabel_audit(ANSWERS, gold), multilabel_audit(calibrate(ANSWERS, Calibration("prior", 1.0)), gold)
    assert raw["primary_accuracy"] == 0.5 and cal["primary_accuracy"] == 0.75
    assert raw["labels_per_example"] == 1.25 and cal["labels_per_example"] == 1.0  # the 0.1 fell below 0.3


def _record(i: int, labels: dict[str, float]) -> SyntheticRecord:
    return SyntheticRecord(
        record_id=f"p-a-u{i}",
        plot_id="p",
        actor_id="p-a",
        actor="Marta",
        utterance=f"thought {i}",
        raw_labels=dict(labels),
        labels=dict(labels),
        positive_labels=[k for k, v in labels.items() if v >= 0.3],
        provenance=Provenance(model="stub", prompt_versions={}),
    )


def test_records_get_calibrated_labels_and_positives_and_keep_raw_labels():
    records = [_record(i, a) for i, a in enumerate(ANSWERS[:3])]
    out = calibrate_records(records, Calibration("prior", 1.0))
    assert out[2].labels == {"anger": 0.9, "disappointment": 0.1} and out[2].positive_labels == ["anger"]
    assert out[0].positive_labels == ["joy", "disappointment"]
    assert [r.raw_labels for r in out] == [r.raw_labels for r in records]
    assert calibrate_records(records, Calibration()) is records


def test_audit_with_calibration_keeps_the_answers_stub_server(tmp_path, monkeypatch, capsys):
    from emopillars.testing.stub_server import start_stub_server

    server = start_stub_server()
    try:
        monkeypatch.setenv("EMOPILLARS_CACHE", str(tmp_path / "cache"))
        data = tmp_path / "ge.tsv"
        rows = [("I am furious.", "2"), ("Thanks a lot!", "15"), ("So funny", "1"), ("Scary night.", "14")]
        data.write_text("".join(f"{t}\t{labels}\tc{i}\n" for i, (t, labels) in enumerate(rows)))
        out = tmp_path / "audit"
        argv = ["teacher", "audit", "--llm", f"openai:{server.url}#stub", "--data", str(data), "--n", "4"]
        assert cli_main([*argv, "--label-calibration", "prior:1", "--out", str(out), "--no-progress"]) == 0
        result = json.loads((out / "audit.json").read_text())
        answered = [item["answered"] for item in result["items"]]
        predicted = [item["predicted"] for item in result["items"]]
        assert predicted == calibrate(answered, Calibration("prior", 1.0))
        assert result["name"].endswith("calibration prior:1")
        assert result["config"]["calibration"] == "prior:1"
        capsys.readouterr()
        assert cli_main([*argv, "--label-calibration", "prior:x", "--out", str(out), "--no-progress"]) != 0
        assert "'x' is not a number" in capsys.readouterr().err
    finally:
        server.shutdown()
