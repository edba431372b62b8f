"""Any OpenAI-compatible chat server: vLLM, SGLang, TGI, Ollama, llama.cpp server, hosted APIs.

HTTP is aiohttp's: one ``ClientSession`` per backend, made on the LLM's event loop at first use, with a
keep-alive pool of at most ``max_connections`` connections, https (the default SSL context, so
``SSL_CERT_FILE`` works), proxies and ``.netrc`` from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``,
``NO_PROXY``, read once with aiohttp's own helpers when the session is made), a connect timeout and a
per-request read timeout. One code path for every URL.

Errors are typed (:class:`~emopillars.llm.types.ErrorKind`, table in docs/llm.md). Faults that may pass
(timeouts, refused/reset/dropped connections, 408/409/425/429, 5xx, a body that is not a chat completion,
e.g. a proxy's HTML page) are retried here with exponential backoff and jitter, honouring ``Retry-After``,
then raised as ``TRANSIENT``. Answers no retry fixes (401/403, 404, other 4xx) raise ``FATAL`` at once,
with a message that says what to fix. An answer that arrived but holds nothing (no choices, null content)
is returned with :attr:`Completion.problem` set: the client retries it with another seed.

Retry budget per request (defaults): at most ``http_retries + 1`` = 5 attempts, of which at most
``timeout_retries + 1`` = 2 may time out (a generation that hung once costs ``timeout`` again); waits of
0.5, 1, 2, 4 s (x a jitter of 0.5-1) or the server's ``Retry-After`` up to 60 s. The first dropped
connection is retried at once: a keep-alive connection the server closed while idle is not an outage.

Structured output: ``response_format`` with the JSON schema for every server; in addition vLLM gets
its own field (``guided_json`` before 0.10.2, ``structured_outputs`` after) and a llama.cpp server
gets the bounded grammar (see :mod:`emopillars.llm.grammar`). The server kind and the served model
are read from ``/models`` before the first request (see :meth:`OpenAICompatBackend.prepare`).

The API key comes from ``EMOPILLARS_API_KEY`` or ``OPENAI_API_KEY`` (sent as a bearer token), or from
credentials in the URL (``http://user:password@host/v1``, sent as basic auth). Neither ever appears in
``describe()``, a repr, a log line, an error message or a cache key.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import random
import ssl
import time
from typing import Any

import aiohttp
import orjson
from aiohttp.helpers import basicauth_from_netrc, get_env_proxy_for_url, netrc_from_env
from yarl import URL

from emopillars.llm.backends.base import Backend, BackendError, BackendUnavailable, Completion
from emopillars.llm.grammar import schema_to_gbnf
from emopillars.llm.secrets import redact_spec
from emopillars.llm.types import ChatRequest, ErrorKind

log = logging.getLogger(__name__)

API_KEY_ENV_VARS = ("EMOPILLARS_API_KEY", "OPENAI_API_KEY")
SERVER_KINDS = ("auto", "generic", "vllm", "sglang", "llamacpp", "ollama", "openai")
DEFAULT_TIMEOUT = 120.0  # seconds to wait for one answer: ~10x a 500-token answer from a loaded GPU server
CONNECT_TIMEOUT = 10.0
LIST_TIMEOUT = 10.0  # GET /models and /version: no generation, so not the (longer) answer timeout
HTTP_RETRIES = 4
TIMEOUT_RETRIES = 1
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0
RETRY_AFTER_MAX = 60.0
TRANSIENT_STATUS = frozenset({408, 409, 425, 429})  # and every 5xx
_DEFAULT_PORTS = {"http": 80, "https": 443}


def api_key_from_env() -> str | None:
    for name in API_KEY_ENV_VARS:
        value = os.environ.get(name)
        if value:
            return value
    return None


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUS or status >= 500


def normalize_endpoint(url: URL) -> str:
    """The endpoint as it identifies a server: lower-case scheme and host, no default port, no credentials,
    no trailing slash, secrets in the query redacted."""
    port = url.explicit_port
    netloc = (url.host or "").lower()
    if port is not None and port != _DEFAULT_PORTS.get(url.scheme):
        netloc += f":{port}"
    query = f"?{url.raw_query_string}" if url.raw_query_string else ""
    return redact_spec(f"{url.scheme.lower()}://{netloc}{url.raw_path.rstrip('/')}{query}")


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


class _BadBody(ValueError):
    """A 2xx answer whose body is not a chat completion (HTML from a proxy, truncated JSON, another API)."""


class OpenAICompatBackend(Backend):
    """Chat completions over HTTP (aiohttp) with bounded connections, timeouts and typed, bounded retries."""

    kind = "openai"
    default_concurrency = 64

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        server: str = "auto",
        timeout: float | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        http_retries: int = HTTP_RETRIES,
        timeout_retries: int = TIMEOUT_RETRIES,
        backoff_base: float = BACKOFF_BASE,
        backoff_max: float = BACKOFF_MAX,
        retry_after_max: float = RETRY_AFTER_MAX,
        max_connections: int = 64,
        max_string: int | None = None,
    ) -> None:
        if server not in SERVER_KINDS:
            raise ValueError(f"server must be one of {SERVER_KINDS}, got {server!r}")
        timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        try:
            url = URL(base_url.strip())
            if url.scheme not in _DEFAULT_PORTS or not url.host:
                raise ValueError("expected http(s)://HOST[:PORT]/PATH")
            url.port  # noqa: B018 -- raises on a port out of range
        except (ValueError, TypeError) as exc:
            raise ValueError(f"malformed server URL {redact_spec(base_url)!r}: {exc}") from None
        self._auth = aiohttp.BasicAuth(url.user or "", url.password or "") if url.user or url.password else None
        url = url.with_user(None)
        self.url = url.with_path(url.path.rstrip("/"), keep_query=True) if url.path != "/" else url.with_path("")
        self.base_url = redact_spec(str(self.url).rstrip("/"))  # for messages: never a secret
        self.endpoint = normalize_endpoint(self.url)
        self.model = model
        self.server = server
        self.server_version: str | None = None
        self.served_models: list[str] | None = None
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self.http_retries = max(0, int(http_retries))
        self.timeout_retries = max(0, int(timeout_retries))
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.max_connections = max(1, int(max_connections))
        self.max_string = max_string
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._probe_lock: asyncio.Lock | None = None
        self._probed = False
        self._grammars: dict[str, str] = {}
        self._warned_uncacheable = False
        self._request_options: dict[str, Any] = {}

    # -- identity ---------------------------------------------------------------------------------
    @property
    def model_id(self) -> str:  # type: ignore[override]
        """Server kind, endpoint and served model: two servers never share cache entries."""
        return f"openai:{self.server}:{self.endpoint}#{self.model or '?'}"

    @property
    def model_name(self) -> str:  # type: ignore[override]
        return self.model or "?"

    @property
    def cacheable(self) -> bool:
        return self.model is not None and self.server != "auto"

    def describe(self) -> str:
        version = f" {self.server_version}" if self.server_version else ""
        return f"OpenAI-compatible server at {self.base_url} ({self.server}{version}), model {self.model or '?'}"

    def __repr__(self) -> str:  # never includes a key
        return f"OpenAICompatBackend(base_url={self.base_url!r}, model={self.model!r}, server={self.server!r})"

    # -- connection -------------------------------------------------------------------------------
    def _http(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is not None and self._session_loop is loop and not self._session.closed:
            return self._session
        self._retire_session()
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "emopillars"}
        key = api_key_from_env()
        if key and self._auth is None:
            headers["Authorization"] = f"Bearer {key}"
        elif key:
            log.warning("the URL carries credentials: they are sent instead of the key from %s", API_KEY_ENV_VARS)
        # Proxy and .netrc settings are read from the environment once, here: with trust_env=True aiohttp reads
        # them again for every request, in a worker thread (two thread hops per request: measured, it halved
        # the client's capacity).
        proxy, proxy_auth = _env_proxy(self.url)
        self._request_options = {"proxy": proxy, "proxy_auth": proxy_auth} if proxy is not None else {}
        auth = self._auth or (None if key else _netrc_auth(self.url.host))
        ssl_context = ssl.create_default_context() if self.url.scheme == "https" else None
        connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0, ssl=ssl_context or True)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout, sock_read=self.timeout)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers=headers,
            auth=auth,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),  # an API client keeps no cookies; saves work on every request
        )
        self._session_loop = loop
        self._chat_url = self.url.with_path(f"{self.url.path.rstrip('/')}/chat/completions", keep_query=True)
        return self._session

    def _url(self, suffix: str) -> URL:
        return self.url.with_path(f"{self.url.path.rstrip('/')}{suffix}", keep_query=True)

    async def _get_json(self, url: URL, timeout: float) -> tuple[int, Any]:
        """GET ``url``: (status, parsed JSON or None). Transport faults raise aiohttp's exceptions."""
        client_timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, self.connect_timeout))
        async with self._http().get(url, timeout=client_timeout, **self._request_options) as response:
            body = await response.read()
        try:
            return response.status, orjson.loads(body)
        except ValueError:
            return response.status, None

    # -- probing ----------------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Learn the server kind and the served model from ``GET /models`` (once; again after a failed try)."""
        if self._probed or (self.server != "auto" and self.model is not None):
            self._probed = True
            return
        if self._probe_lock is None:
            self._probe_lock = asyncio.Lock()
        async with self._probe_lock:  # concurrent first requests wait here for one probe
            if not self._probed:
                await self._probe()
        if not self.cacheable and not self._warned_uncacheable:
            self._warned_uncacheable = True
            log.warning(
                "could not learn %s from GET %s/models; answers are not cached until it answers%s",
                "which model the server serves" if self.model is None else "the server kind",
                self.base_url,
                " (or name the model in the spec: openai:URL#MODEL)" if self.model is None else "",
            )

    async def _probe(self) -> None:
        """Read the kind from ``owned_by``, the model list, and the version (vLLM). A server that answers
        without a usable list is a generic one; a server that cannot be reached is asked again next time."""
        try:
            status, data = await self._get_json(self._url("/models"), LIST_TIMEOUT)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.debug("could not list models at %s: %s", self.base_url, _describe_exception(exc))
            return
        self._probed = True
        models = data.get("data") if status == 200 and isinstance(data, dict) else None
        if not isinstance(models, list):
            log.debug("GET %s/models answered HTTP %s without a model list", self.base_url, status)
            if self.server == "auto":
                self.server = "generic"
            return
        models = [m for m in models if isinstance(m, dict) and m.get("id")]
        self.served_models = [str(m["id"]) for m in models]
        if self.model is None and models:
            self.model = str(models[0]["id"])
        if self.server == "auto":
            owner = str((models[0] if models else {}).get("owned_by", "")).lower()
            self.server = {"vllm": "vllm", "sglang": "sglang", "llamacpp": "llamacpp", "me": "llamacpp"}.get(
                owner, "ollama" if owner in {"library", "ollama"} else "generic"
            )
        if self.server == "vllm":
            await self._probe_vllm_version()

    async def _list_models(self) -> list[str] | None:
        try:
            status, data = await self._get_json(self._url("/models"), LIST_TIMEOUT)
        except (aiohttp.ClientError, TimeoutError):
            return None
        models = data.get("data") if status == 200 and isinstance(data, dict) else None
        if not isinstance(models, list):
            return None
        return [str(m["id"]) for m in models if isinstance(m, dict) and m.get("id")]

    async def _probe_vllm_version(self) -> None:
        root = self.url.path[: -len("/v1")] if self.url.path.endswith("/v1") else self.url.path
        try:
            _, data = await self._get_json(self.url.with_path(f"{root}/version", keep_query=True), LIST_TIMEOUT)
            self.server_version = str(data.get("version")) if isinstance(data, dict) else None
        except (aiohttp.ClientError, TimeoutError):
            self.server_version = None

    async def check(self) -> None:
        try:
            status, _ = await self._get_json(self._url("/models"), LIST_TIMEOUT)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BackendUnavailable(f"server unreachable at {self.base_url}: {_describe_exception(exc)}") from None
        if status in (401, 403):
            raise BackendUnavailable(
                f"server at {self.base_url} refused the API key (HTTP {status}); {self._key_hint()}", status=status
            )
        await self.prepare()

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
        session = self._http()
        content = orjson.dumps(self.payload(request))
        url, options = self._chat_url, self._request_options
        attempts = self.http_retries + 1
        attempt = timeouts = disconnects = 0
        last_error, last_status = "no attempt made", None
        while True:
            retry_after: float | None = None
            immediate = False
            try:
                async with session.post(url, data=content, **options) as response:
                    status = response.status
                    body = await response.read()
                    headers = response.headers
            except aiohttp.ConnectionTimeoutError as exc:  # before TimeoutError: it is one too
                last_error, last_status = f"connection error: {_describe_exception(exc)}", None
            except TimeoutError:  # aiohttp's read timeout is an asyncio (= builtin) TimeoutError
                timeouts += 1
                last_error, last_status = f"no answer within the {self.timeout:g} s timeout", None
                log.warning(
                    "LLM request %s timed out after %g s (attempt %d, %s)",
                    request.tag or "-",
                    self.timeout,
                    attempt + 1,
                    "retrying" if timeouts <= self.timeout_retries and attempt + 1 < attempts else "giving up",
                )
                if timeouts > self.timeout_retries:
                    attempt += 1
                    break
            except aiohttp.ClientResponseError as exc:  # too many redirects, a proxy that refused (407, 502)
                if not is_transient_status(exc.status):
                    raise BackendError(
                        f"{self.base_url}: {_describe_exception(exc)}; check the URL and proxy settings",
                        kind=ErrorKind.FATAL,
                        status=exc.status,
                        attempts=attempt + 1,
                    ) from None
                last_error, last_status = f"HTTP {exc.status} from a proxy: {_describe_exception(exc)}", exc.status
            except aiohttp.ClientConnectorCertificateError as exc:  # a setting to fix, not an outage
                raise BackendError(
                    f"the TLS certificate of {self.base_url} is not trusted ({_describe_exception(exc)}); for a "
                    "private CA set SSL_CERT_FILE to its certificate bundle",
                    kind=ErrorKind.FATAL,
                    attempts=attempt + 1,
                ) from None
            except aiohttp.InvalidURL as exc:
                raise BackendError(f"invalid URL: {_describe_exception(exc)}", kind=ErrorKind.FATAL) from None
            except aiohttp.ClientError as exc:  # refused, reset, dropped, broken body, proxy unreachable
                last_error, last_status = f"connection error: {_describe_exception(exc)}", None
                disconnects += 1
                immediate = disconnects == 1 and isinstance(exc, aiohttp.ServerDisconnectedError)
            else:
                if 200 <= status < 300:
                    try:
                        return self._completion(body, attempt)
                    except _BadBody as exc:
                        last_error, last_status = f"unreadable answer (HTTP {status}): {exc}", status
                elif is_transient_status(status):
                    last_error, last_status = f"HTTP {status}: {_server_message(body)}", status
                    retry_after = _retry_after_seconds(headers.get("Retry-After"))
                else:
                    if status == 404 and self.served_models is None:
                        self.served_models = await self._list_models()  # to say which models it serves
                    raise BackendError(
                        self._fatal_message(status, body), kind=ErrorKind.FATAL, status=status, attempts=attempt + 1
                    )
            attempt += 1
            if attempt >= attempts:
                break
            await asyncio.sleep(0.0 if immediate else self._delay(attempt - 1, retry_after))
        raise BackendError(
            f"{last_error} (gave up after {attempt} attempt{'s' if attempt != 1 else ''})",
            kind=ErrorKind.TRANSIENT,
            status=last_status,
            attempts=attempt,
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; a server's Retry-After wins when it asks for longer (capped)."""
        backoff = min(self.backoff_max, self.backoff_base * (2**attempt)) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            return min(max(retry_after, backoff), self.retry_after_max)
        return backoff

    @staticmethod
    def _completion(body: bytes, attempt: int) -> Completion:
        try:
            data = orjson.loads(body)
        except ValueError:
            raise _BadBody(f"not JSON: {_preview(body)}") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise _BadBody(f"not a chat completion: {_preview(body)}")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        tokens = {
            "prompt_tokens": _int(usage.get("prompt_tokens")),
            "completion_tokens": _int(usage.get("completion_tokens")),
            "transport_retries": attempt,
        }
        if not data["choices"]:
            return Completion(text="", problem="the server returned no choices", **tokens)
        choice = data["choices"][0]
        if not isinstance(choice, dict):
            raise _BadBody(f"not a chat completion: {_preview(body)}")
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        finish = choice.get("finish_reason")
        if content is None:
            return Completion(text="", finish_reason=finish, problem="the answer's content is null", **tokens)
        if not isinstance(content, str):
            raise _BadBody(f"content is not text: {_preview(body)}")
        return Completion(text=content, finish_reason=finish, **tokens)

    # -- messages ---------------------------------------------------------------------------------
    def _key_hint(self) -> str:
        if self._auth is not None:
            return "check the user and password in the URL"
        if api_key_from_env():
            return f"the key in {' / '.join(API_KEY_ENV_VARS)} is wrong, revoked or lacks access"
        return f"no API key is set: set {' or '.join(API_KEY_ENV_VARS)}"

    def _fatal_message(self, status: int, body: bytes) -> str:
        said = _server_message(body)
        where = f"{self.base_url}/chat/completions"
        if status == 401:
            return f"HTTP 401 from {where}: the server refused the API key ({self._key_hint()}); server said: {said}"
        if status == 403:
            return (
                f"HTTP 403 from {where}: the key may not use model {self.model or '?'} ({self._key_hint()}); "
                f"server said: {said}"
            )
        if status == 404:
            served = self.served_models
            if served is not None and self.model not in served:
                listed = ", ".join(served[:20]) + (" ..." if len(served) > 20 else "") if served else "none"
                return (
                    f"HTTP 404 from {where}: the server does not serve model {self.model or '?'!r}; it serves: "
                    f"{listed}. Fix the model after '#' in the spec (openai:URL#MODEL)"
                )
            return (
                f"HTTP 404 from {where}: unknown model {self.model or '?'!r} or wrong URL (it should end with the "
                f"API root, e.g. http://HOST:8000/v1); server said: {said}"
            )
        return (
            f"HTTP {status} from {where}: the server rejects the request (a setting such as the model, max_tokens "
            f"or the schema; fix it and rerun); server said: {said}"
        )

    def _retire_session(self) -> None:
        """Let go of a session made on another event loop (an earlier ``asyncio.run``): closed on its loop when that
        loop still runs, else detached (its loop is gone, and its connections with it), so that it is never left to
        the garbage collector's "Unclosed client session" warning."""
        session, old_loop, self._session = self._session, self._session_loop, None
        if session is None or session.closed:
            return
        if old_loop is not None and old_loop.is_running() and not old_loop.is_closed():
            asyncio.run_coroutine_threadsafe(session.close(), old_loop)
        else:
            session.detach()

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


def _env_proxy(url: URL) -> tuple[URL | None, aiohttp.BasicAuth | None]:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``), read by aiohttp."""
    try:
        return get_env_proxy_for_url(url)
    except LookupError:  # no proxy for this URL
        return None, None


def _netrc_auth(host: str | None) -> aiohttp.BasicAuth | None:
    """Credentials for ``host`` from ``~/.netrc`` (or ``$NETRC``), as aiohttp reads them."""
    if not host:
        return None
    try:
        return basicauth_from_netrc(netrc_from_env(), host)
    except LookupError:
        return None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _preview(body: bytes, limit: int = 120) -> str:
    text = " ".join(body[: limit * 2].decode("utf-8", errors="replace").split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _server_message(body: bytes) -> str:
    """The error message a server put in its body (OpenAI, vLLM and TGI shapes), else the start of the body."""
    try:
        data = orjson.loads(body)
    except ValueError:
        return redact_spec(_preview(body, 200))
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return redact_spec(str(error["message"])[:300])
        for value in (error, data.get("message"), data.get("detail")):
            if isinstance(value, str) and value:
                return redact_spec(value[:300])
    return redact_spec(_preview(body, 200))


def _describe_exception(exc: BaseException) -> str:
    """``Type: message`` of a transport fault, credentials redacted, on one line."""
    text = " ".join(str(exc).split()) or "no details"
    return redact_spec(f"{type(exc).__name__}: {text}")


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
