"""``emopillars llm``: check that an LLM backend answers a structured request; list packaged models.

``emopillars llm check [--llm SPEC]`` is the first debugging step: it loads the backend, sends one
small structured request, and prints the backend, the latency and the parsed answer. It exits
non-zero with one line when the server is unreachable, refuses the key or the model, or the model file
is missing. Credentials in a spec's URL never appear in what it prints.
"""

from __future__ import annotations

import argparse
import json
import time

from emopillars.cli.main import CLIError

ORDER = 40

CHECK_SCHEMA = {
    "type": "object",
    "properties": {
        "emotion": {"type": "string", "enum": ["joy", "sadness", "anger", "fear", "surprise", "neutral"]},
        "reason": {"type": "string", "maxLength": 100},
    },
    "required": ["emotion", "reason"],
}
CHECK_PROMPT = (
    'Which emotion does the speaker feel? "I finally got the job I wanted for years!" '
    'Answer with JSON: {"emotion": one of joy, sadness, anger, fear, surprise, neutral, "reason": a short reason}.'
)


def register(subparsers) -> None:
    parser = subparsers.add_parser("llm", help="check an LLM backend; list packaged models")
    commands = parser.add_subparsers(dest="llm_command", metavar="ACTION")
    check = commands.add_parser("check", help="send one small structured request and print the answer")
    check.add_argument("--llm", default=None, help="backend spec (default: $EMOPILLARS_LLM or llamacpp:qwen2.5-0.5b)")
    check.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")
    check.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=None,
        help="seconds to wait for the answer from a server (default 120; servers only)",
    )
    check.set_defaults(func=run_check)
    models = commands.add_parser("models", help="list the GGUF models installable from PyPI and where they are")
    models.set_defaults(func=run_models)
    parser.set_defaults(func=lambda args: (parser.print_help(), 1)[1])


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def run_check(args) -> int:
    from emopillars.llm import BackendError, ChatRequest, SamplingParams, load_llm, parse_spec
    from emopillars.llm.secrets import redact_spec

    options = {}
    if parse_spec(args.llm).kind == "openai":
        options = {"http_retries": 1}  # a check answers fast: one retry, not the whole retry budget
    started = time.perf_counter()
    try:
        llm = load_llm(args.llm, cache=not args.no_cache, timeout=args.timeout, **options)
    except BackendError as exc:
        raise CLIError(redact_spec(str(exc))) from None
    try:
        llm.check()
    except BackendError as exc:
        llm.close()
        raise CLIError(redact_spec(str(exc))) from None
    load_s = time.perf_counter() - started
    try:
        request = ChatRequest.from_prompt(CHECK_PROMPT, params=SamplingParams(max_tokens=64), schema=CHECK_SCHEMA)
        [response] = llm.generate([request])
        print(f"backend:  {llm.describe()}")
        print(f"model id: {llm.model_id}")
        print(f"load:     {load_s:.2f}s")
        if response.call_failed:
            raise CLIError(f"the request failed ({response.error_kind}): {redact_spec(response.error)}")
        if not response.ok:
            raise CLIError(f"the backend answered but the answer is unusable: {redact_spec(response.error)}")
        source = "cache" if response.cached else f"{response.completion_tokens} tokens"
        print(f"latency:  {response.latency_s:.2f}s ({source}, finish={response.finish_reason})")
        print(f"parsed:   {json.dumps(response.parsed, ensure_ascii=False)}")
        print(llm.metrics.summary())
    finally:
        llm.close()
    return 0


def run_models(args) -> int:
    from emopillars.llm.models import PACKAGED_MODELS, assembled_path, part_paths

    for model in PACKAGED_MODELS.values():
        path = assembled_path(model)
        if path is not None:
            state = f"ready: {path}"
        else:
            try:
                part_paths(model)
                state = "installed, assembled on first use"
            except FileNotFoundError:
                state = f"not installed: {model.pip}"
        print(f"{model.name:14s} {model.description}\n{'':14s} {state}")
    return 0
