"""The runner against a scripted in-process LLM (fake: it only returns canned JSON), to control failures exactly."""

from __future__ import annotations

import json

import pytest

from emopillars.llm.types import ChatResponse
from emopillars.synth import runner
from emopillars.synth.runner import CheckpointError, SynthesisError, load_checkpoint, run_step
from emopillars.synth.steps import make_step
from emopillars.synth.steps import rewriting as rewriting_step


class ScriptedLLM:
    """Answers rewriting prompts; ``fail`` maps a row id to an error string (transient or not)."""

    model_id = "scripted"

    def __init__(self, fail=None, interrupt_on_call=None):
        self.fail = fail or {}
        self.calls = 0
        self.seen: list[str] = []
        self.interrupt_on_call = interrupt_on_call

    def generate(self, requests, progress=False):
        self.calls += 1
        if self.interrupt_on_call == self.calls:
            raise KeyboardInterrupt
        out = []
        for request in requests:
            self.seen.append(request.tag)
            if request.tag in self.fail:
                out.append(ChatResponse(error=self.fail[request.tag], tag=request.tag))
            else:
                text = json.dumps({"rewritten": f"Another way to say {request.tag}."})
                out.append(ChatResponse(text=text, parsed=json.loads(text), completion_tokens=7, tag=request.tag))
        return out


def _rows(n):
    ctx = "Earlier that day she walked to the pier."
    return [
        {
            "id": f"r{i}",
            "actor": "Ann",
            "utterance": f"I love row {i}.",
            "cleaned_context": ctx,
            "positive_labels": ["love"],
        }
        for i in range(n)
    ]


@pytest.fixture
def step():
    return make_step(rewriting_step)


def test_checkpoint_one_line_per_row_and_resume_skips_done(tmp_path, step):
    path = tmp_path / "steps" / "rewriting.jsonl"
    llm = ScriptedLLM()
    result = run_step(step, _rows(5), llm, path, batch_size=2, progress=False)
    assert [e.id for e in result.entries] == [f"r{i}" for i in range(5)]
    assert len(path.read_text().splitlines()) == 5 and llm.calls == 3
    again = ScriptedLLM()
    result2 = run_step(step, _rows(7), again, path, batch_size=2, progress=False)
    assert again.seen == ["r5", "r6"]
    assert result2.stats.resumed == 5 and len(result2.outputs()) == 7
    assert result2.outputs()[0]["rewritten_utterance"] == "Another way to say r0."


def test_torn_last_line_is_cut_and_redone(tmp_path, step):
    path = tmp_path / "rewriting.jsonl"
    run_step(step, _rows(3), ScriptedLLM(), path, progress=False)
    good = path.read_text()
    path.write_text(good + '{"id": "r3", "outputs": [{"id": "r3", "rewr')  # killed mid-write
    assert set(load_checkpoint(path)) == {"r0", "r1", "r2"}
    assert path.read_text() == good
    llm = ScriptedLLM()
    run_step(step, _rows(4), llm, path, progress=False)
    assert llm.seen == ["r3"]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_damaged_middle_line_is_a_clear_error(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": "a"}\nGARBAGE\n{"id": "b"}\n')
    with pytest.raises(CheckpointError, match=r"x.jsonl:2"):
        load_checkpoint(path)


def test_parse_failures_are_recorded_as_drops_not_retried(tmp_path, step):
    path = tmp_path / "rewriting.jsonl"
    llm = ScriptedLLM(fail={"r1": "does not match the schema: $: missing key 'rewritten'"})
    result = run_step(step, _rows(3), llm, path, progress=False)
    assert result.entries[1].drop == "llm_error"
    assert len(result.outputs()) == 2
    again = ScriptedLLM()
    run_step(step, _rows(3), again, path, progress=False)
    assert again.seen == []


def test_transient_failures_are_not_recorded_and_a_dead_backend_stops_the_step(tmp_path, step):
    path = tmp_path / "rewriting.jsonl"
    llm = ScriptedLLM(fail={"r2": "connection error: ConnectError: refused"})
    with pytest.raises(SynthesisError, match="rerun"):
        run_step(step, _rows(4), llm, path, batch_size=2, progress=False, max_passes=2)
    assert set(load_checkpoint(path)) == {"r0", "r1", "r3"}
    dead = ScriptedLLM(fail={f"r{i}": "HTTP 503: overloaded" for i in range(6)})
    with pytest.raises(SynthesisError, match="whole batch"):
        run_step(step, _rows(6), dead, path, batch_size=2, progress=False)
    healthy = ScriptedLLM()
    result = run_step(step, _rows(6), healthy, path, batch_size=2, progress=False)
    assert healthy.seen == ["r2", "r4", "r5"] and len(result.outputs()) == 6


def test_ctrl_c_keeps_finished_batches(tmp_path, step):
    path = tmp_path / "rewriting.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_step(step, _rows(6), ScriptedLLM(interrupt_on_call=2), path, batch_size=2, progress=False)
    assert set(load_checkpoint(path)) == {"r0", "r1"}


def test_duplicate_input_ids_rejected(tmp_path, step):
    rows = _rows(2)
    rows[1]["id"] = "r0"
    with pytest.raises(SynthesisError, match="duplicate"):
        run_step(step, rows, ScriptedLLM(), tmp_path / "c.jsonl", progress=False)


def test_a_parser_exception_costs_one_row_not_the_run(tmp_path, step, monkeypatch):
    original = rewriting_step.parse

    def flaky(response, row, **kw):
        if row["id"] == "r1":
            raise KeyError("boom")
        return original(response, row, **kw)

    monkeypatch.setattr(rewriting_step, "parse", flaky)
    result = run_step(step, _rows(3), ScriptedLLM(), tmp_path / "c.jsonl", progress=False)
    assert [e.drop for e in result.entries] == [None, "parser_error", None]
    assert "boom" in result.entries[1].notes["error"]


def _slow_fsync(monkeypatch, seconds=0.05):
    """A slow disk: records the file size each fsync covered (the fsync thread calls os.fsync)."""
    import os
    import time

    synced: list[int] = []
    real = os.fsync

    def fsync(fd):
        size = os.fstat(fd).st_size
        time.sleep(seconds)
        real(fd)
        synced.append(size)

    monkeypatch.setattr(runner.os, "fsync", fsync)
    return synced


def test_checkpoint_fsync_never_holds_up_appends_and_covers_every_line(tmp_path, monkeypatch):
    import time

    synced = _slow_fsync(monkeypatch)
    path = tmp_path / "c.jsonl"
    writer = runner.CheckpointWriter(path)
    started = time.perf_counter()
    for i in range(20):
        writer.append([runner.Entry(f"r{i}", outputs=[{"id": f"r{i}"}])])
    assert time.perf_counter() - started < 0.5  # 20 appends did not wait for 20 slow fsyncs
    writer.close(wait=False)
    runner.wait_for_checkpoints()
    assert synced and synced[-1] == path.stat().st_size  # the last fsync came after the last line
    assert len(synced) < 20  # one fsync covers many appends
    assert list(load_checkpoint(path)) == [f"r{i}" for i in range(20)]


def test_a_new_checkpoint_is_written_only_after_the_previous_one_is_synced(tmp_path, monkeypatch):
    synced = _slow_fsync(monkeypatch, seconds=0.2)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    writer = runner.CheckpointWriter(first)
    writer.append([runner.Entry("a0")])
    writer.close(wait=False)
    later = runner.CheckpointWriter(second)
    later.append([runner.Entry("b0")])  # waits for a.jsonl's fsync
    assert synced[:1] == [first.stat().st_size]
    later.close()
    assert len(synced) == 2


def test_an_fsync_error_surfaces_on_the_next_append(tmp_path, monkeypatch):
    def broken(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(runner.os, "fsync", broken)
    writer = runner.CheckpointWriter(tmp_path / "c.jsonl")
    writer.append([runner.Entry("r0")])
    runner.wait_for_checkpoints()
    with pytest.raises(OSError, match="Input/output"):
        writer.append([runner.Entry("r1")])
    writer.close()


def test_pipelined_runner_on_the_llm_loop_matches_a_generate_only_llm_stub_server(tmp_path, step, monkeypatch):
    """Through the real LLM layer the runner works on the client's event loop and parses each answer as it
    lands; any object with only ``generate`` gets the same results from the same checkpoints."""
    import threading

    from emopillars.llm import load_llm
    from emopillars.synth.stub_server import start_stub_server

    parsed_on: set[str] = set()
    parse = step.parse

    def spy(response, row):
        parsed_on.add(threading.current_thread().name)
        return parse(response, row)

    monkeypatch.setattr(step, "parse", spy)
    server = start_stub_server(delay=0.002)
    try:
        with load_llm(f"openai:{server.url}#stub", cache=False, concurrency=4) as llm:
            pipelined = run_step(step, _rows(11), llm, tmp_path / "a.jsonl", batch_size=3, progress=False)
            loop_threads = set(parsed_on)
            parsed_on.clear()

            class GenerateOnly:
                model_id = llm.model_id

                def generate(self, requests):
                    return llm.generate(requests)

            plain = run_step(step, _rows(11), GenerateOnly(), tmp_path / "b.jsonl", batch_size=3, progress=False)
    finally:
        server.shutdown()
    assert loop_threads == {"emopillars-llm-loop"} and parsed_on == {"MainThread"}
    assert [e.id for e in pipelined.entries] == [f"r{i}" for i in range(11)] == [e.id for e in plain.entries]
    assert pipelined.outputs() == plain.outputs() and len(pipelined.outputs()) == 11
    assert pipelined.stats.llm_s > 0 and pipelined.stats.done_now == 11
    lines = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == [f"r{i}" for i in range(11)]  # batch order kept on disk
