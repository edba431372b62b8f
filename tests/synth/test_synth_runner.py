"""The runner against a scripted in-process LLM (fake: it only returns canned JSON), to control failures exactly."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from emopillars.llm.types import ChatResponse, ErrorKind
from emopillars.synth import checkpoint, runner
from emopillars.synth.checkpoint import load_checkpoint
from emopillars.synth.errors import CheckpointError, LLMCallError, SynthesisError
from emopillars.synth.runner import run_step
from emopillars.synth.steps import make_step
from emopillars.synth.steps import rewriting as rewriting_step
from emopillars.testing.waiting import wait_for_lines


class ScriptedLLM:
    """Answers rewriting prompts. ``fail`` maps a row id to an error string (an untyped call failure) or to a
    ready ``ChatResponse``; ``hold`` maps a row id to an event the answer waits for (answers are handed over one
    by one through ``on_result``, as the real LLM layer does)."""

    model_id = "scripted"

    def __init__(self, fail=None, interrupt_on_call=None, hold=None, interrupt_after=None):
        self.fail = fail or {}
        self.interrupt_after = interrupt_after  # Ctrl-C after this many answers of a batch landed
        self.hold = hold or {}
        self.calls = 0
        self.seen: list[str] = []
        self.interrupt_on_call = interrupt_on_call

    def generate(self, requests, progress=False, on_result=None):
        self.calls += 1
        if self.interrupt_on_call == self.calls:
            raise KeyboardInterrupt
        out = []
        for index, request in enumerate(requests):
            self.seen.append(request.tag)
            if request.tag in self.hold:
                assert self.hold[request.tag].wait(timeout=60), "the test never released the held answer"
            failure = self.fail.get(request.tag)
            if isinstance(failure, ChatResponse):
                response = failure
            elif failure is not None:
                response = ChatResponse(error=failure, tag=request.tag)
            else:
                text = json.dumps({"rewritten": f"Another way to say {request.tag}."})
                response = ChatResponse(text=text, parsed=json.loads(text), completion_tokens=7, tag=request.tag)
            out.append(response)
            if on_result is not None:
                on_result(index, response)
            if self.interrupt_after == len(out):
                raise KeyboardInterrupt
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


def test_bad_answers_are_recorded_as_drops_not_retried(tmp_path, step):
    """An answer that came back but is unusable is the item's: a final drop, whatever its message says (the
    old regex took 'timeout' or '503' in an answer's error for a transport failure)."""
    path = tmp_path / "rewriting.jsonl"
    bad = {
        "r1": ChatResponse(text="I will not.", error="no JSON object", error_kind=ErrorKind.ANSWER),
        "r2": ChatResponse(text="timeout 503", error="answer says 'timeout 503'", error_kind=ErrorKind.ANSWER),
        "r3": ChatResponse(error="server said the prompt is too long (HTTP 400)", error_kind=ErrorKind.ANSWER),
    }
    llm = ScriptedLLM(fail=bad)
    result = run_step(step, _rows(4), llm, path, progress=False)
    assert [e.drop for e in result.entries] == [None, "invalid_json", "invalid_json", "no_answer"]
    assert len(result.outputs()) == 1 and result.stats.call_failures == {}
    again = ScriptedLLM()
    run_step(step, _rows(4), again, path, progress=False)
    assert again.seen == []


@pytest.mark.parametrize("kind", [ErrorKind.TRANSIENT, None])
def test_failed_calls_are_never_recorded_and_a_rerun_retries_them(tmp_path, step, kind):
    """A failed call (typed transient, or an untyped error without any answer text) is not a drop: its row is
    retried in the next pass, then by the next run; a whole batch of failed calls stops the step."""
    path = tmp_path / "rewriting.jsonl"
    failure = ChatResponse(error="something odd happened", error_kind=kind)  # no regex can tell this one
    llm = ScriptedLLM(fail={"r2": failure})
    with pytest.raises(LLMCallError, match="rerun") as info:
        run_step(step, _rows(4), llm, path, batch_size=2, progress=False, max_passes=2)
    assert info.value.kind == ErrorKind.TRANSIENT
    assert llm.seen.count("r2") == 2  # retried in the second pass
    assert set(load_checkpoint(path)) == {"r0", "r1", "r3"}
    dead = ScriptedLLM(fail={f"r{i}": "HTTP 503: overloaded" for i in range(6)})
    with pytest.raises(LLMCallError, match="whole batch"):
        run_step(step, _rows(6), dead, path, batch_size=2, progress=False)
    healthy = ScriptedLLM()
    result = run_step(step, _rows(6), healthy, path, batch_size=2, progress=False)
    assert healthy.seen == ["r2", "r4", "r5"] and len(result.outputs()) == 6


def test_fatal_failures_stop_the_step_after_a_streak_with_a_hint_and_record_nothing(tmp_path, step):
    """A key revoked mid-run: the first rows are answered, then every call is refused. The step stops after
    FATAL_STREAK refusals (not after every row was tried), says what to fix, and a rerun redoes the rest."""
    path = tmp_path / "rewriting.jsonl"
    refused = ChatResponse(error="HTTP 401: invalid api key", error_kind=ErrorKind.FATAL)
    rows = _rows(64)
    llm = ScriptedLLM(fail={f"r{i}": refused for i in range(4, 64)})
    stats = runner.StepStats("rewriting")
    with pytest.raises(LLMCallError, match="API key") as info:
        run_step(step, rows, llm, path, batch_size=16, progress=False, stats=stats)
    assert info.value.kind == ErrorKind.FATAL and "consecutive" in str(info.value)
    assert len(llm.seen) <= 32  # stopped after the first batch (the second was already in flight), not 64 rows
    assert set(load_checkpoint(path)) == {"r0", "r1", "r2", "r3"}
    assert stats.call_failures[ErrorKind.FATAL] == 12
    wrong_model = ChatResponse(error="HTTP 404: The model `x` does not exist.", error_kind=ErrorKind.FATAL)
    with pytest.raises(LLMCallError, match="model"):
        run_step(step, rows, ScriptedLLM(fail={f"r{i}": wrong_model for i in range(64)}), path, progress=False)
    healthy = ScriptedLLM()
    result = run_step(step, rows, healthy, path, batch_size=16, progress=False)
    assert len(healthy.seen) == 60 and len(result.outputs()) == 64


def test_a_hung_request_does_not_hold_back_the_answers_of_its_batch(tmp_path, step):
    """Every answer that landed reaches the checkpoint while one request of the batch still hangs."""
    path = tmp_path / "rewriting.jsonl"
    release = threading.Event()
    llm = ScriptedLLM(hold={"r7": release})
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.update(run=run_step(step, _rows(8), llm, path, batch_size=8, progress=False))
    )
    worker.start()
    try:
        wait_for_lines(path, 7)
        lines = path.read_text().splitlines()
        assert {json.loads(line)["id"] for line in lines} == {f"r{i}" for i in range(7)}
        assert worker.is_alive()  # the batch is still in flight
    finally:
        release.set()
        worker.join(timeout=60)
    assert len(result["run"].outputs()) == 8 and len(path.read_text().splitlines()) == 8


def test_a_batch_in_flight_for_long_is_logged_with_what_landed(tmp_path, step, monkeypatch, caplog):
    """The watchdog says how many answers of a long batch landed (a plain note for an in-process model; the
    server warning with the --timeout hint is for OpenAI-compatible backends)."""
    import logging
    import time

    monkeypatch.setattr(runner, "STALL_LOG_S", 0.01)
    release = threading.Event()
    llm = ScriptedLLM(hold={"r1": release})
    worker = threading.Thread(target=run_step, args=(step, _rows(2), llm, tmp_path / "c.jsonl"), daemon=True)
    with caplog.at_level(logging.INFO, logger="emopillars.synth.runner"):
        worker.start()
        deadline = time.monotonic() + 60
        while not any("1 of 2 answers of the batch" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "no progress note while a request was held"
            time.sleep(0.01)
        release.set()
        worker.join(timeout=60)
    assert not any(r.levelno >= logging.WARNING for r in caplog.records)  # not a server: no --timeout warning


def test_ctrl_c_keeps_finished_batches(tmp_path, step):
    path = tmp_path / "rewriting.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_step(step, _rows(6), ScriptedLLM(interrupt_on_call=2), path, batch_size=2, progress=False)
    assert set(load_checkpoint(path)) == {"r0", "r1"}


def test_ctrl_c_in_a_batch_keeps_and_counts_its_landed_answers(tmp_path, step, caplog):
    path = tmp_path / "rewriting.jsonl"
    with caplog.at_level(logging.WARNING), pytest.raises(KeyboardInterrupt):
        run_step(step, _rows(6), ScriptedLLM(interrupt_after=3), path, batch_size=6, progress=False)
    assert set(load_checkpoint(path)) == {"r0", "r1", "r2"}
    assert "interrupted in step rewriting: 3/6 rows are saved" in caplog.text


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

    monkeypatch.setattr(checkpoint.os, "fsync", fsync)
    return synced


def test_checkpoint_fsync_never_holds_up_appends_and_covers_every_line(tmp_path, monkeypatch):
    """The fsync thread is stuck on a disk that does not answer: appends still return (no wall clock: the stuck
    fsync is released by the test only after the appends)."""
    import os

    entered, release = threading.Event(), threading.Event()
    synced: list[int] = []
    real = os.fsync

    def stuck_fsync(fd):
        size = os.fstat(fd).st_size
        entered.set()
        assert release.wait(timeout=60)
        real(fd)
        synced.append(size)

    monkeypatch.setattr(checkpoint.os, "fsync", stuck_fsync)
    path = tmp_path / "c.jsonl"
    writer = checkpoint.CheckpointWriter(path)
    writer.append([checkpoint.Entry("r0", outputs=[{"id": "r0"}])])
    assert entered.wait(timeout=60)  # the first fsync is running, and stuck
    for i in range(1, 20):
        writer.append([checkpoint.Entry(f"r{i}", outputs=[{"id": f"r{i}"}])])
    assert synced == []  # 19 appends returned while the fsync had not finished
    release.set()
    writer.close(wait=False)
    checkpoint.wait_for_checkpoints()
    assert synced and synced[-1] == path.stat().st_size  # the last fsync came after the last line
    assert len(synced) < 20  # one fsync covers many appends
    assert list(load_checkpoint(path)) == [f"r{i}" for i in range(20)]


def test_a_new_checkpoint_is_written_only_after_the_previous_one_is_synced(tmp_path, monkeypatch):
    synced = _slow_fsync(monkeypatch, seconds=0.2)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    writer = checkpoint.CheckpointWriter(first)
    writer.append([checkpoint.Entry("a0")])
    writer.close(wait=False)
    later = checkpoint.CheckpointWriter(second)
    later.append([checkpoint.Entry("b0")])  # waits for a.jsonl's fsync
    assert synced[:1] == [first.stat().st_size]
    later.close()
    assert len(synced) == 2


def test_an_fsync_error_surfaces_on_the_next_append(tmp_path, monkeypatch):
    def broken(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(checkpoint.os, "fsync", broken)
    writer = checkpoint.CheckpointWriter(tmp_path / "c.jsonl")
    writer.append([checkpoint.Entry("r0")])
    checkpoint.wait_for_checkpoints()
    with pytest.raises(OSError, match="Input/output"):
        writer.append([checkpoint.Entry("r1")])
    writer.close()


def test_pipelined_runner_on_the_llm_loop_matches_a_generate_only_llm_stub_server(tmp_path, step, monkeypatch):
    """Through the real LLM layer the runner works on the client's event loop and parses each answer as it
    lands; any object with only ``generate`` gets the same results from the same checkpoints."""
    import threading

    from emopillars.llm import load_llm
    from emopillars.testing.stub_server import start_stub_server

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
    assert sorted(line["id"] for line in lines) == sorted(f"r{i}" for i in range(11))  # each row once
