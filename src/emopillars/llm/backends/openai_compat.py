"""Any OpenAI-compatible chat server: vLLM, SGLang, TGI, Ollama, llama.cpp server, hosted APIs.

One shared ``httpx.AsyncClient`` with a connection pool sized to the concurrency, so the client is
never the bottleneck of a GPU server; for plain ``http://`` it uses the lean keep-alive transport of
:mod:`emopillars.llm.backends.fast_http` (httpcore's pool capped the client far below 2,000 req/s).
Transport faults (429, 5xx, connection errors, timeouts, an unreadable body) are retried with
exponential backoff and jitter, honouring ``Retry-After``; other 4xx answers fail the one request
at once.

Structured output: ``response_format`` with the JSON schema for every server; in addition vLLM gets
its own field (``guided_json`` before 0.10.2, ``structured_outputs`` after) and a llama.cpp server
gets the bounded grammar (see :mod:`emopillars.llm.grammar`). The server kind is read once from
``/models`` (``owned_by``) unless given.

The API key comes from ``EMOPILLARS_API_KEY`` or ``OPENAI_API_KEY`` only, and is never logged.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import random
import time
from typing import Any

import httpx
import orjson

from emopillars.llm.backends.base import Backend, BackendError, BackendUnavailable, Completion
from emopillars.llm.backends.fast_http import FastHTTPTransport
from emopillars.llm.grammar import schema_to_gbnf
from emopillars.llm.types import ChatRequest

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request would drown a run

API_KEY_ENV_VARS = ("EMOPILLARS_API_KEY", "OPENAI_API_KEY")
SERVER_KINDS = ("auto", "generic", "vllm", "sglang", "llamacpp", "ollama", "openai")
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def api_key_from_env() -> str | None:
    for name in API_KEY_ENV_VARS:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


class OpenAICompatBackend(Backend):
    """Chat completions over HTTP with bounded concurrency, timeouts and retries."""

    kind = "openai"
    default_concurrency = 64

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        server: str = "auto",
        timeout: float = 300.0,
        connect_timeout: float = 10.0,
        http_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_connections: int = 64,
        max_string: int | None = None,
        fast_transport: bool = True,
    ) -> None:
        if server not in SERVER_KINDS:
            raise ValueError(f"server must be one of {SERVER_KINDS}, got {server!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.server = server
        self.server_version: str | None = None
        self.timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self.http_retries = max(0, int(http_retries))
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_connections = max_connections
        self.max_string = max_string
        self.fast_transport = fast_transport
        self._client: httpx.AsyncClient | None = None
        self._probe_lock: asyncio.Lock | None = None
        self._probed = server != "auto" and model is not None
        self._grammars: dict[str, str] = {}

    # -- identity ---------------------------------------------------------------------------------
    @property
    def model_id(self) -> str:  # type: ignore[override]
        return f"openai:{self.model or 'default'}"

    def describe(self) -> str:
        version = f" {self.server_version}" if self.server_version else ""
        return f"OpenAI-compatible server at {self.base_url} ({self.server}{version}), model {self.model or '?'}"

    def __repr__(self) -> str:  # never includes the key
        return f"OpenAICompatBackend(base_url={self.base_url!r}, model={self.model!r}, server={self.server!r})"

    # -- connection -------------------------------------------------------------------------------
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Content-Type": "application/json"}
            key = api_key_from_env()
            if key:
                headers["Authorization"] = f"Bearer {key}"
            kwargs: dict[str, Any] = {}
            if self.fast_transport and self.base_url.startswith("http://") and not _proxy_configured():
                kwargs["transport"] = FastHTTPTransport(self.max_connections)
            else:
                kwargs["limits"] = httpx.Limits(
                    max_connections=self.max_connections, max_keepalive_connections=self.max_connections
                )
            self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=self.timeout, **kwargs)
            # The hot path builds requests itself from these: httpx's build_request (URL merging,
            # header and cookie merging) cost more than the rest of a request against a fast server.
            self._chat_url = httpx.URL(f"{self.base_url}/chat/completions")
            self._chat_headers = httpx.Headers({**headers, "Accept": "application/json", "User-Agent": "emopillars"})
            self._timeout_ext = self.timeout.as_dict()
            transport = kwargs.get("transport")
            self._fast = _FastChat(transport, self._chat_url, self._chat_headers) if transport else None
        return self._client

    async def _probe(self) -> None:
        """Learn the server kind (and a model name when none was given) from ``GET /models``."""
        if self._probed:
            return
        if self._probe_lock is None:
            self._probe_lock = asyncio.Lock()
        async with self._probe_lock:  # concurrent first requests wait here for one probe
            if self._probed:
                return
            try:
                await self._probe_unlocked()
            finally:
                self._probed = True

    async def _probe_unlocked(self) -> None:
        """Read the kind from ``owned_by`` and the version (vLLM); any failure means a generic server."""
        try:
            response = await self._http().get("/models", timeout=min(10.0, self.timeout.read or 10.0))
            response.raise_for_status()
            models = response.json().get("data") or []
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.debug("could not list models at %s: %s", self.base_url, exc)
            if self.server == "auto":
                self.server = "generic"
            return
        if self.model is None and models:
            self.model = models[0].get("id")
        if self.server == "auto":
            owner = str((models[0] if models else {}).get("owned_by", "")).lower()
            self.server = {"vllm": "vllm", "sglang": "sglang", "llamacpp": "llamacpp", "me": "llamacpp"}.get(
                owner, "ollama" if owner in {"library", "ollama"} else "generic"
            )
        if self.server == "vllm":
            await self._probe_vllm_version()

    async def _probe_vllm_version(self) -> None:
        root = self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url
        try:
            response = await self._http().get(f"{root}/version", timeout=10.0)
            self.server_version = str(response.json().get("version"))
        except (httpx.HTTPError, ValueError, AttributeError):
            self.server_version = None

    async def check(self) -> None:
        try:
            response = await self._http().get("/models", timeout=10.0)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"server unreachable at {self.base_url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code in (401, 403):
            raise BackendUnavailable(
                f"server at {self.base_url} refused the API key (HTTP {response.status_code}); "
                f"set one of {', '.join(API_KEY_ENV_VARS)}"
            )
        await self._probe()

    # -- requests ---------------------------------------------------------------------------------
    def payload(self, request: ChatRequest) -> dict[str, Any]:
        """The JSON body for one request, shaped for the server kind."""
        p = request.params
        body: dict[str, Any] = {
            "model": self.model or "default",
            "messages": list(request.messages),
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "seed": p.seed,
        }
        if p.stop:
            body["stop"] = list(p.stop)
        if p.repetition_penalty != 1.0:
            if self.server in ("vllm", "sglang"):
                body["repetition_penalty"] = p.repetition_penalty
            elif self.server == "llamacpp":
                body["repeat_penalty"] = p.repetition_penalty
            # hosted APIs and Ollama reject or ignore it: leave it out rather than fail the request
        if request.schema is not None:
            self._add_schema(body, request.schema)
        return body

    def _add_schema(self, body: dict[str, Any], schema: dict[str, Any]) -> None:
        if self.server == "llamacpp":
            key = json.dumps(schema, sort_keys=True)
            if key not in self._grammars:
                kw = {"max_string": self.max_string} if self.max_string else {}
                self._grammars[key] = schema_to_gbnf(schema, **kw)
            body["grammar"] = self._grammars[key]
            return
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
        if self.server == "vllm":
            if self.server_version and _version_tuple(self.server_version) >= (0, 10, 2):
                body["structured_outputs"] = {"json": schema}
            else:
                body["guided_json"] = schema

    async def complete(self, request: ChatRequest) -> Completion:
        if not self._probed:
            await self._probe()
        body = self.payload(request)
        client = self._http()
        content = orjson.dumps(body)
        last_error = "no attempt made"
        attempts = self.http_retries + 1
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                if self._fast is not None:
                    response = await self._fast.post(content, self._timeout_ext)
                else:
                    request = httpx.Request(
                        "POST", self._chat_url, content=content, headers=self._chat_headers,
                        extensions={"timeout": self._timeout_ext},
                    )  # fmt: skip
                    response = await client.send(request)
            except httpx.TimeoutException as exc:
                last_error = f"timeout after {self.timeout.read}s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last_error = f"connection error: {type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status == 200:
                    try:
                        return self._completion(response.json(), attempt)
                    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                        last_error = f"unreadable response body ({type(exc).__name__}): {response.text[:120]!r}"
                elif status in _RETRY_STATUS:
                    last_error = f"HTTP {status}: {response.text[:200]}"
                    retry_after = _retry_after_seconds(response.headers.get("retry-after"))
                else:
                    raise BackendError(f"HTTP {status}: {response.text[:300]}", attempts=attempt + 1)
            if attempt + 1 < attempts:
                await asyncio.sleep(self._delay(attempt, retry_after))
        raise BackendError(f"{last_error} (gave up after {attempts} attempts)", retryable=True, attempts=attempts)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; a server's Retry-After wins when it asks for longer."""
        backoff = min(self.backoff_max, self.backoff_base * (2**attempt)) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            return min(max(retry_after, backoff), max(self.backoff_max, 60.0))
        return backoff

    @staticmethod
    def _completion(data: dict[str, Any], attempt: int) -> Completion:
        choice = data["choices"][0]
        message = choice.get("message") or {}
        usage = data.get("usage") or {}
        return Completion(
            text=message.get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            finish_reason=choice.get("finish_reason"),
            transport_retries=attempt,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class _RawResponse:
    """What the hot path needs of an answer: status, headers, body (the fields of ``httpx.Response`` it uses)."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self.status_code = status_code
        self.headers = httpx.Headers(headers) if status_code != 200 else {}
        self.content = content

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class _FastChat:
    """POST /chat/completions straight through :class:`FastHTTPTransport`: the request head is serialized
    once, each call adds only Content-Length and the body."""

    def __init__(self, transport: FastHTTPTransport, url: httpx.URL, headers: httpx.Headers) -> None:
        self.transport = transport
        self.origin = (url.host, url.port or 80)
        host = url.host if url.port is None else f"{url.host}:{url.port}"
        lines = [b"POST " + url.raw_path + b" HTTP/1.1", b"Host: " + host.encode("ascii")]
        lines += [name + b": " + value for name, value in headers.raw if name.lower() != b"content-length"]
        lines += [b"Accept-Encoding: identity", b"Connection: keep-alive"]
        self.head = b"\r\n".join(lines) + b"\r\nContent-Length: "

    async def post(self, body: bytes, timeouts: dict) -> _RawResponse:
        payload = b"".join((self.head, str(len(body)).encode("ascii"), b"\r\n\r\n", body))
        status, headers, content = await self.transport.send_raw(self.origin, payload, timeouts)
        return _RawResponse(status, headers, content)


def _proxy_configured() -> bool:
    """httpx's own transport honours proxy variables; the fast one does not, so step aside for them."""
    return any(os.environ.get(name) for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"))


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
