"""``emopillars teacher audit`` end to end through the real LLM layer against the deterministic stub server.

The stub answers the labels prompt with two labels derived from a hash of the utterance
(``emopillars.synth.stub_server.answer``), so the expected audit numbers can be computed independently here.
"""

from __future__ import annotations

import json

import pytest

from emopillars.cli.main import main as cli_main
from emopillars.teacher.audit import AuditConfig, run_audit
from emopillars.teacher.items import load_items
from emopillars.teacher.metrics import multilabel_audit
from emopillars.testing.stub_server import answer, start_stub_server

ROWS = [
    ("I can't believe they did that to me, I'm furious.", "2", "c1"),
    ("Thank you so much, this means a lot!", "15", "c2"),
    ("Haha that is hilarious", "1", "c3"),
    ("I'm scared of what happens next.", "14,19", "c4"),
    ("Ok, see you at noon.", "27", "c5"),
    ("Wow, I did not expect that at all!", "26", "c6"),
]


@pytest.fixture
def stub():
    server = start_stub_server()
    yield server
    server.shutdown()


@pytest.fixture
def goemotions_file(tmp_path):
    path = tmp_path / "mini_goemotions.tsv"
    path.write_text("".join(f"{text}\t{labels}\t{cid}\n" for text, labels, cid in ROWS))
    return path


def _stub_levels(text: str) -> dict[str, float]:
    prompt = f'Which emotions does the utterance below express?\nUtterance: "{text}"\n'
    return {e["emotion"]: e["level"] for e in answer(prompt)["emotions"]}


def test_audit_cli_scores_the_labels_step_stub_server(stub, goemotions_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMOPILLARS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "audit"
    argv = ["teacher", "audit", "--llm", f"openai:{stub.url}#stub", "--data", str(goemotions_file)]
    argv += ["--n", "5", "--seed", "3", "--out", str(out), "--no-progress"]
    assert cli_main(argv) == 0
    result = json.loads((out / "audit.json").read_text())
    assert (out / "audit.md").read_text().startswith("# Teacher audit")
    assert (out / "per_class_f1.png").stat().st_size > 1000
    items = load_items(str(goemotions_file), n=5, seed=3)
    assert [i["text"] for i in result["items"]] == [r["utterance"] for r in items.rows]
    expected = multilabel_audit([_stub_levels(r["utterance"]) for r in items.rows], items.gold)
    for key in ("macro_f1", "micro_f1", "primary_accuracy", "kappa", "labels_per_example", "collapse_share"):
        assert result["metrics"][key] == pytest.approx(expected[key]), key
    assert result["metrics"]["labels_per_example"] == 2.0  # the stub always names two labels >= 0.3
    assert result["cost"]["calls"] == 5 and result["cost"]["cached_answers"] == 0
    assert "macro-F1" in capsys.readouterr().out
    # a rerun is answered from the cache: no request reaches the server
    served = stub.requests
    assert cli_main(argv) == 0
    again = json.loads((out / "audit.json").read_text())
    assert stub.requests == served and again["cost"]["cached_answers"] == 5
    assert again["metrics"] == result["metrics"]


class _RecordedLLM:
    """A second rater replaying fixed answers: one text it fails, one it answers with nothing."""

    model_id = "recorded"

    def __init__(self, answers):
        self.answers = answers

    def generate(self, requests, progress=False, on_result=None):
        from emopillars.llm.types import ChatResponse

        out = []
        for i, request in enumerate(requests):
            utterance = request.messages[-1]["content"].split('Utterance: "')[-1].split('"\n')[0]  # after the examples
            value = self.answers.get(utterance)
            response = (
                ChatResponse(error="HTTP 503", error_kind="transient")
                if value is None
                else ChatResponse(text=json.dumps(value), parsed=value)
            )
            out.append(response)
            if on_result:
                on_result(i, response)
        return out


def test_audit_two_raters_and_samples_stub_server(stub, goemotions_file, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOPILLARS_CACHE", str(tmp_path / "cache"))
    items = load_items(str(goemotions_file), n=None)
    texts = [r["utterance"] for r in items.rows]
    recorded = {t: {"emotions": [{"emotion": "joy", "level": 0.9}]} for t in texts[2:]}
    recorded[texts[1]] = {"emotions": []}  # answered with nothing: a vote for no label
    # texts[0] is missing: the recorded rater fails it
    main_spec, other_spec = f"openai:{stub.url}#stub", "recorded"
    from emopillars.llm import load_llm

    llms = {main_spec: load_llm(main_spec, cache=True), other_spec: _RecordedLLM(recorded)}
    try:
        result = run_audit(
            AuditConfig(out_dir=str(tmp_path / "a"), llm=main_spec, label_llms=[other_spec], samples=2,
                        temperature=0.8, n=None, progress=False),
            llms=llms,
            items=items,
        )  # fmt: skip
    finally:
        llms[main_spec].close()
    first, second, third = result["items"][:3]
    stub0 = _stub_levels(texts[0])
    assert first["raters"]["recorded"] is None and first["predicted"] == stub0  # failed rater left out
    assert second["raters"]["recorded"] == {}
    assert second["predicted"] == {k: round(v / 2, 3) for k, v in _stub_levels(texts[1]).items()}
    assert third["predicted"]["joy"] == pytest.approx(round((0.9 + _stub_levels(texts[2]).get("joy", 0)) / 2, 3))
    assert len(first["samples"][main_spec]) == 2  # K answers kept per rater
    [pair] = result["agreement"]["pairs"]
    assert pair["items"] == len(texts) - 1
    assert set(result["per_rater_metrics"]) == {main_spec, other_spec}
    assert result["raters"][1]["stats"]["failed"] == 2  # both samples of texts[0]
