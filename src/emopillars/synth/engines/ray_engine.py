"""Synthesis steps as Ray Data jobs: ``emopillars synthesize ... --engine ray [--ray-address ADDR]``.

Each step's pending rows become a Ray dataset; ``map_batches`` builds the requests with the step module,
sends them to the teacher and parses the answers on the cluster's workers, and the driver writes each
finished batch's checkpoint lines the moment the batch streams back. So the step modules, the checkpoint
format and the resume rule are those of the local engine (:mod:`emopillars.synth.runner`): a row is in
the checkpoint once, whole, or not at all; rows whose *call* failed are never written and are retried in
a second pass and by the next run; a step killed on Ray resumes on Ray or locally. Without
``--ray-address`` Ray starts in local mode on this machine (how the tests run it, on 2 CPUs).

**Several endpoints.** ``endpoints`` (``--ray-endpoint``, repeatable) adds servers of the same model to
``--llm``, e.g. several vLLM servers. The driver checks each one first and leaves out those that do not
answer (logged, and listed in the manifest's ``llm_metrics``); on the workers each batch's requests are
spread round-robin over the live endpoints, and a call that fails on one endpoint (refused, reset, 5xx,
timeout) is sent to another one at once, the failing endpoint being left out of that worker's rotation
for :data:`DEAD_RETRY_S` seconds. With several endpoints each client retries a transport fault only
:data:`FAILOVER_HTTP_RETRIES` times before failing over (one server's backoff would hold the batch).

**Why ``map_batches`` with the project's client and not ``ray.data.llm``'s HTTP processor** (checked on
Ray 2.60): ``HttpRequestProcessorConfig`` posts to one URL per processor, so several endpoints mean
splitting the data by endpoint and a dead endpoint loses its share; it passes a 401/404/500 body on as if
it were an answer (only 408/429/502/503/504 and connection errors are retried), and a row that still
fails after its retries raises in the worker and fails the whole job (or, with continue-on-error, comes
back as an error row without the error's kind); it has no structured-output repair and re-ask, and no
answer cache. The project's client (:mod:`emopillars.llm.client`) has all of these, and with them the
Ray engine gives the same records as the local engine for the same answers. ``ray.data.llm``'s vLLM
engine processor needs vLLM and GPUs on the cluster; this engine does not use it yet (a ``vllm:`` spec is
refused with a message), so a GPU cluster runs vLLM servers and lists them as endpoints.

**Why tasks and not an actor pool.** The calls run in stateless Ray tasks; each worker process keeps its
LLM clients (and their keep-alive connections) in a module-level cache, so reused worker processes reuse
them. Measured on this 2-core machine: an actor pool paid 20-30 s per step for starting actors, tasks
0.5 s once the workers are warm (Ray starts actors anew for every dataset).
"""

from __future__ import annotations

import atexit
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from emopillars.llm.secrets import redact_spec
from emopillars.llm.types import ChatResponse, ErrorKind
from emopillars.synth.checkpoint import CheckpointWriter, Entry, encode_line
from emopillars.synth.errors import LLMCallError, SynthesisError
from emopillars.synth.runner import StepRun, StepStats, begin_step, call_failure_kind, explain_call_failure
from emopillars.synth.steps.base import Parsed, Step

logger = logging.getLogger(__name__)

RAY_VERSION = "2.60.0"  # the version the tests and benchmarks ran with (pinned in the `ray` extra)
DEAD_RETRY_S = 30.0  # an endpoint whose calls all failed is left out of a worker's rotation this long
FAILOVER_HTTP_RETRIES = 1  # transport retries per call on one endpoint when another one can take it
INSTALL_HINT = "install the Ray extra: pip install 'emopillars[ray]'"


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise SynthesisError(f"the Ray engine needs Ray ({exc}); {INSTALL_HINT}") from None
    return ray


# -- what the workers need ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClientOptions:
    """How a worker builds its LLM clients: the live endpoints' specs and the run's client settings."""

    endpoints: tuple[str, ...]
    cache: bool = True
    concurrency: int | None = None
    max_retries: int = 2
    timeout: float | None = None

    def backend_options(self, spec: str) -> dict[str, Any]:
        from emopillars.llm.registry import parse_spec

        options: dict[str, Any] = {}
        if self.timeout is not None:
            options["timeout"] = self.timeout
        if len(self.endpoints) > 1 and parse_spec(spec).kind == "openai":
            options["http_retries"] = FAILOVER_HTTP_RETRIES
        return options

    def open(self, spec: str):
        from emopillars.llm import load_llm

        return load_llm(
            spec,
            cache=self.cache,
            concurrency=self.concurrency,
            max_retries=self.max_retries,
            **self.backend_options(spec),
        )


class Router:
    """The LLM clients of one worker process, one per endpoint, with round-robin and failover (module doc)."""

    def __init__(self, options: ClientOptions) -> None:
        self.options = options
        self.llms = [options.open(spec) for spec in options.endpoints]
        self.down_until = [0.0] * len(self.llms)
        self.next = 0
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=len(self.llms), thread_name_prefix="emopillars-endpoint")

    def live(self) -> list[int]:
        now = time.monotonic()
        alive = [e for e, until in enumerate(self.down_until) if until <= now]
        return alive or list(range(len(self.llms)))  # all down: try them all again

    def generate(self, requests: list) -> tuple[list[ChatResponse], list[int], list[int]]:
        """Responses in request order, the endpoint index that gave each, and how often each failed over."""
        n = len(requests)
        responses: list[ChatResponse | None] = [None] * n
        where, failovers = [-1] * n, [0] * n
        tried: list[set[int]] = [set() for _ in range(n)]
        todo = list(range(n))
        while todo:
            live = self.live()
            groups: dict[int, list[int]] = {}
            with self.lock:
                start, self.next = self.next, self.next + len(todo)
            for k, i in enumerate(todo):
                choices = [e for e in live if e not in tried[i]]
                if choices:
                    groups.setdefault(choices[(start + k) % len(choices)], []).append(i)
            if not groups:
                break  # every endpoint failed these calls: their last failure is the answer
            futures = {
                e: self.pool.submit(self.llms[e].generate, [requests[i] for i in idx]) for e, idx in groups.items()
            }
            todo = []
            for e, idx in groups.items():
                failed = 0
                for i, response in zip(idx, futures[e].result()):
                    if responses[i] is not None:
                        failovers[i] += 1
                    responses[i], where[i] = response, e
                    tried[i].add(e)
                    if call_failure_kind(response) is not None:
                        todo.append(i)
                        failed += 1
                if failed == len(idx) and len(self.llms) > 1:
                    self.down_until[e] = time.monotonic() + DEAD_RETRY_S
                    logger.warning(
                        "endpoint %s failed all %d calls of a batch; leaving it out for %.0f s",
                        redact_spec(self.options.endpoints[e]),
                        failed,
                        DEAD_RETRY_S,
                    )
        return responses, where, failovers  # type: ignore[return-value]

    def close(self) -> None:
        """Close every endpoint's client (its HTTP session, its cache) and the thread pool; safe to call twice."""
        llms, self.llms = self.llms, []
        for llm in llms:
            llm.close()
        self.pool.shutdown(wait=False)

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


_ROUTERS: dict[ClientOptions, Router] = {}
_ROUTERS_LOCK = threading.Lock()


@atexit.register
def close_routers() -> None:
    """Close this process's routers when it exits (a Ray worker's last act): no session left to the collector."""
    with _ROUTERS_LOCK:
        routers = list(_ROUTERS.values())
        _ROUTERS.clear()
    for router in routers:
        router.close()


def router_for(options: ClientOptions) -> Router:
    """This worker process's router for ``options`` (made once, reused by every task the process runs)."""
    with _ROUTERS_LOCK:
        if options not in _ROUTERS:
            _ROUTERS[options] = Router(options)
        return _ROUTERS[options]


def _entry(step: Step, row: dict, response: ChatResponse) -> Entry:
    try:
        parsed = step.parse(response, row)
    except Exception as exc:  # a parser bug costs one row, not the job (as in the local runner)
        logger.exception("step %s: parsing the answer for %s failed", step.name, row["id"])
        parsed = Parsed.dropped("parser_error", error=f"{type(exc).__name__}: {exc}")
    return Entry.from_parsed(str(row["id"]), parsed, response)


def call_batch(batch: dict[str, Any], *, step: Step, options: ClientOptions) -> dict[str, list]:
    """The Ray Data UDF: one batch of rows -> requests -> answers -> checkpoint lines (or failed calls)."""
    rows = [orjson.loads(raw) for raw in batch["row"]]
    requests = step.build_requests(rows)
    responses, where, failovers = router_for(options).generate(requests)
    out: dict[str, list] = {k: [] for k in ("id", "line", "kind", "error", "endpoint", "failovers", "cached")}
    out.update(prompt_tokens=[], completion_tokens=[])
    for row, response, endpoint, moved in zip(rows, responses, where, failovers):
        kind = call_failure_kind(response)
        out["id"].append(str(row["id"]))
        out["line"].append(b"" if kind else encode_line(_entry(step, row, response)))
        out["kind"].append(kind or "")
        out["error"].append(redact_spec(response.error) or "" if kind else "")
        out["endpoint"].append(endpoint)
        out["failovers"].append(moved)
        out["cached"].append(bool(response.cached))
        out["prompt_tokens"].append(int(response.prompt_tokens or 0))
        out["completion_tokens"].append(int(response.completion_tokens or 0))
    return out


def quiet_ray_data(ray) -> None:
    """No Ray Data progress bars or per-job INFO lines: the engine shows its own bar (rows, rate, ETA)."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


# -- the driver -----------------------------------------------------------------------------------
@dataclass
class RayMetrics:
    """What the Ray engine's calls did, summed on the driver from the batches that came back (manifest)."""

    endpoints: list[str]
    dead_at_start: list[str]
    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failovers: int = 0
    failed_calls: int = 0
    by_endpoint: Counter = field(default_factory=Counter)

    def add(self, batch: dict[str, Any]) -> None:
        self.requests += len(batch["id"])
        self.cache_hits += int(sum(bool(c) for c in batch["cached"]))
        self.prompt_tokens += int(sum(batch["prompt_tokens"]))
        self.completion_tokens += int(sum(batch["completion_tokens"]))
        self.failovers += int(sum(batch["failovers"]))
        self.failed_calls += int(sum(1 for k in batch["kind"] if k))
        for endpoint, kind in zip(batch["endpoint"], batch["kind"]):
            if not kind and int(endpoint) >= 0:
                self.by_endpoint[self.endpoints[int(endpoint)]] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": "ray",
            "endpoints": self.endpoints,
            "dead_at_start": self.dead_at_start,
            "requests": self.requests,
            "cache_hits": self.cache_hits,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "failovers": self.failovers,
            "failed_calls": self.failed_calls,
            "answers_by_endpoint": dict(self.by_endpoint),
        }


class RayLLM:
    """The driver's handle on the teacher for a Ray run: model id, client options for the workers, metrics."""

    def __init__(
        self, engine: RayEngine, model_id: str, options: ClientOptions, dead: list[str], model_name: str = ""
    ) -> None:
        self.engine = engine
        self.model_id = model_id  # the first live endpoint's (as a local run against it)
        self.model_name = model_name or model_id  # the served model: what provenance records
        self.options = options
        self.metrics = RayMetrics([redact_spec(s) for s in options.endpoints], [redact_spec(s) for s in dead])

    def describe(self) -> str:
        return f"{len(self.options.endpoints)} endpoint(s) of {self.model_name} on Ray"

    def close(self) -> None:
        self.engine.shutdown()


class RayEngine:
    """Runs each synthesis step as a Ray Data job (see the module doc)."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        endpoints: Sequence[str] = (),
        *,
        num_cpus: int | None = None,
        task_cpus: float = 1.0,
        object_store_mb: int = 256,
        max_passes: int = 2,
    ) -> None:
        if task_cpus <= 0:
            raise ValueError(f"task_cpus must be > 0, got {task_cpus}")
        self.address = address
        self.endpoints = tuple(endpoints)
        self.num_cpus = num_cpus
        self.task_cpus = task_cpus
        self.object_store_mb = object_store_mb
        self.max_passes = max_passes
        self._started_ray = False

    # -- Ray itself ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect to ``address``, or start Ray's local mode; an already initialised Ray is used as it is."""
        ray = _import_ray()
        if ray.is_initialized():
            quiet_ray_data(ray)
            return
        options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
        if self.address:
            options["address"] = self.address
        else:
            options.update(num_cpus=self.num_cpus, object_store_memory=self.object_store_mb * 1024**2)
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "Ray's local mode"
            raise SynthesisError(f"cannot start {where}: {exc}") from None
        self._started_ray = True
        quiet_ray_data(ray)

    def shutdown(self) -> None:
        if self._started_ray:
            import ray

            ray.shutdown()
            self._started_ray = False

    # -- the pipeline's hooks ------------------------------------------------------------------------
    def open_llm(self, config) -> RayLLM:
        """Check the endpoints (``config.llm`` first, then :attr:`endpoints`), start Ray, return the handle."""
        from emopillars.llm import BackendError
        from emopillars.llm.registry import create_backend, default_spec, parse_spec

        specs = list(dict.fromkeys([config.llm or default_spec(), *self.endpoints]))
        kinds = {parse_spec(spec).kind for spec in specs}
        if "vllm" in kinds:
            raise SynthesisError(
                "the Ray engine sends calls to servers: start vLLM's OpenAI-compatible server on the GPUs "
                "(vllm serve MODEL) and pass --llm openai:http://HOST:8000/v1#MODEL (and --ray-endpoint for more)"
            )
        if len(specs) > 1 and kinds != {"openai"}:
            raise SynthesisError("several endpoints must all be OpenAI-compatible servers (openai:http://...)")
        base = ClientOptions(
            tuple(specs), cache=config.cache, concurrency=config.concurrency, max_retries=config.max_retries,
            timeout=config.timeout,
        )  # fmt: skip
        alive, dead, problems, models, ids = [], [], [], set(), []
        for spec in specs:
            if parse_spec(spec).kind != "openai":
                alive.append(spec)  # a local model is loaded by each worker; nothing to check here
                ids.append(create_backend(spec).model_id)  # lazy: reads no weights
                models.add(ids[-1])
                continue
            try:
                llm = base.open(spec) if len(specs) == 1 else ClientOptions((spec,), cache=False).open(spec)
                try:
                    llm.check()  # also learns the served model's name when the spec gives none
                    # the served model's name: model_id also names the endpoint (it keys the cache)
                    models.add(getattr(llm.backend, "model", None) or llm.model_id)
                    ids.append(llm.model_id)
                finally:
                    llm.close()
            except BackendError as exc:
                dead.append(spec)
                problems.append(f"{redact_spec(spec)}: {redact_spec(str(exc))}")
                logger.warning("endpoint %s is not available, left out: %s", redact_spec(spec), redact_spec(str(exc)))
                continue
            alive.append(spec)
        if not alive:
            raise SynthesisError("no endpoint of the teacher is available: " + "; ".join(problems))
        if len(models) > 1:
            raise SynthesisError(f"the endpoints serve different models ({', '.join(sorted(models))}); give one model")
        self.start()
        options = ClientOptions(tuple(alive), config.cache, config.concurrency, config.max_retries, config.timeout)
        return RayLLM(self, ids[0], options, dead, model_name=models.pop())

    def run_step(
        self,
        step: Step,
        rows: list[dict],
        llm: RayLLM,
        checkpoint: str | Path,
        *,
        batch_size: int = 64,
        progress: bool = True,
        stats: StepStats | None = None,
        max_passes: int | None = None,
    ) -> StepRun:
        """The Ray counterpart of :func:`emopillars.synth.runner.run_step`: same arguments, checkpoint, result."""
        checkpoint, ids, done, stats, pending, start, bar = begin_step(step, rows, checkpoint, progress, stats)
        writer = CheckpointWriter(checkpoint)
        first_error: tuple[str, str] | None = None
        try:
            for _ in range(max_passes or self.max_passes):
                if not pending:
                    break
                pending, error = self._one_pass(step, pending, llm, writer, batch_size, done, stats, bar)
                first_error = first_error or error
        except KeyboardInterrupt:
            stats.interrupted = True
            logger.warning(
                "interrupted in step %s: %d/%d rows are saved in %s; rerun the same command to resume",
                step.name, sum(1 for i in ids if i in done), len(rows), checkpoint,
            )  # fmt: skip
            raise
        finally:
            writer.close(wait=False)
            bar.close()
            stats.wall_s = time.perf_counter() - start
        stats.failed_rows = len(pending)
        if pending:
            kind = ErrorKind.FATAL if stats.call_failures[ErrorKind.FATAL] else ErrorKind.TRANSIENT
            error = first_error[1] if first_error else None
            raise LLMCallError(
                f"step {step.name}: {len(pending)} of {len(rows)} LLM calls still failed after "
                f"{max_passes or self.max_passes} passes on every endpoint ({kind}: {error}); "
                f"{explain_call_failure(kind, error)}. Nothing was recorded for those rows; finished rows are saved "
                f"in {checkpoint}: rerun the same command to resume",
                kind,
            )
        return StepRun([done[i] for i in ids], stats)

    def _one_pass(self, step, pending, llm, writer, batch_size, done, stats, bar):
        """One Ray Data job over ``pending``; returns (rows whose calls failed, (kind, error) of the first)."""
        ray = _import_ray()
        by_id = {str(row["id"]): row for row in pending}
        items = [{"id": key, "row": orjson.dumps(row)} for key, row in by_id.items()]
        dataset = ray.data.from_items(items, override_num_blocks=max(1, math.ceil(len(items) / batch_size)))
        dataset = dataset.map_batches(
            call_batch,
            batch_size=batch_size,
            batch_format="numpy",
            num_cpus=self.task_cpus,
            fn_kwargs={"step": step, "options": llm.options},
        )
        failed: list[dict] = []
        first: tuple[str, str] | None = None
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                lines = [bytes(line) for line in batch["line"] if len(line)]
                writer.write(b"".join(lines))  # whole lines, flushed before the rows count as done
                llm.metrics.add(batch)
                answered = 0
                for key, line, kind, error in zip(batch["id"], batch["line"], batch["kind"], batch["error"]):
                    key = str(key)
                    if len(line):
                        entry = Entry(**orjson.loads(bytes(line)))
                        done[key] = entry
                        answered += 1
                    else:
                        stats.call_failures[str(kind)] += 1
                        stats.first_failure = stats.first_failure or str(error)
                        first = first or (str(kind), str(error))
                        failed.append(by_id[key])
                stats.done_now += answered
                bar.n = stats.resumed + stats.done_now
                bar.refresh()
                if not answered:  # a whole batch failed on every endpoint: the teacher is down
                    kind, error = first or (ErrorKind.TRANSIENT, "")
                    raise LLMCallError(
                        f"step {step.name}: a whole batch of LLM calls failed on every endpoint ({kind}: {error}); "
                        f"{explain_call_failure(kind, error)}. Nothing was recorded for the failed rows; finished "
                        "rows are saved in the step checkpoint: rerun the same command to resume",
                        kind,
                    )
        except (KeyboardInterrupt, SynthesisError, OSError):
            raise
        except Exception as exc:  # a Ray task that kept failing (worker lost, import error on the cluster, ...)
            raise SynthesisError(
                f"step {step.name}: the Ray job failed ({type(exc).__name__}: {redact_spec(str(exc))[:2000]}); "
                "finished rows are saved in the step checkpoint: rerun the same command to resume"
            ) from None
        return failed, first
