"""Spec strings -> backends. One string names the model and where it runs, on the CLI and in configs.

=========================================  ==================================================
``None`` / ``""``                          ``$EMOPILLARS_LLM``, else ``llamacpp:qwen2.5-0.5b``
``llamacpp:qwen2.5-0.5b`` (or a bare name) a packaged GGUF (see ``emopillars llm models``)
``llamacpp:/path/model.gguf`` (or a path)  any GGUF file, e.g. Mistral-7B-Instruct-v0.2 Q4_K_M
``openai:http://HOST:PORT/v1#MODEL``       any OpenAI-compatible server (vLLM, SGLang, TGI,
                                           llama.cpp server, hosted APIs); ``#MODEL`` optional
``http://HOST:PORT/v1#MODEL``              the same
``ollama:MODEL``                           Ollama at ``$OLLAMA_HOST`` (default 127.0.0.1:11434)
``vllm:MODEL``                             vLLM's offline engine in-process (GPU only)
=========================================  ==================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from emopillars.llm.backends.base import Backend
from emopillars.llm.models import DEFAULT_MODEL, PACKAGED_MODELS
from emopillars.llm.secrets import redact_spec

DEFAULT_SPEC = f"llamacpp:{DEFAULT_MODEL}"


@dataclass(frozen=True)
class Spec:
    kind: str  # "llamacpp" | "openai" | "vllm"
    target: str  # path or packaged name; base URL; model id
    model: str | None = None  # openai: the model name after '#'

    def __repr__(self) -> str:  # the target may be a URL with credentials
        return f"Spec(kind={self.kind!r}, target={redact_spec(self.target)!r}, model={self.model!r})"


def check_url(url: str, spec: str) -> str:
    """``url`` when it is a usable http(s) server URL; ValueError saying what is wrong (no secrets) otherwise."""
    shown = redact_spec(spec)
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number or out of 0-65535
        host = parts.hostname
    except ValueError as exc:
        raise ValueError(f"LLM spec {shown!r}: malformed URL ({exc}); expected http(s)://HOST[:PORT]/v1") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"LLM spec {shown!r}: expected an http(s) URL, got {parts.scheme or 'no'} scheme")
    if not host:
        raise ValueError(f"LLM spec {shown!r}: the URL names no host; expected http(s)://HOST[:PORT]/v1")
    if port == 0:
        raise ValueError(f"LLM spec {shown!r}: port 0 is not a server port")
    if any(ch.isspace() for ch in url):
        raise ValueError(f"LLM spec {shown!r}: the URL contains white space")
    return url


def default_spec() -> str:
    return os.environ.get("EMOPILLARS_LLM") or DEFAULT_SPEC


def parse_spec(spec: str | None) -> Spec:
    """Parse a spec string (see the module docstring); ValueError with the accepted forms when it is bad."""
    text = (spec or "").strip() or default_spec()
    shown = redact_spec(text)
    kind, sep, rest = text.partition(":")
    if text.lower().startswith(("http://", "https://")):
        kind, rest = "openai", text
    elif not sep or kind not in {"llamacpp", "openai", "vllm", "ollama"}:
        if text in PACKAGED_MODELS or text.endswith(".gguf"):
            return Spec("llamacpp", text)
        raise ValueError(
            f"cannot read LLM spec {shown!r}; use llamacpp:NAME_OR_PATH.gguf, openai:http://HOST:PORT/v1#MODEL, "
            f"ollama:MODEL or vllm:MODEL (packaged models: {', '.join(PACKAGED_MODELS)})"
        )
    if not rest:
        raise ValueError(f"LLM spec {shown!r} names no model or URL after '{kind}:'")
    if kind == "ollama":
        host = os.environ.get("OLLAMA_HOST", "127.0.0.1:11434")
        host = host if host.startswith("http") else f"http://{host}"
        return Spec("openai", check_url(f"{host.rstrip('/')}/v1", f"OLLAMA_HOST={host}"), rest)
    if kind == "openai":
        url, _, model = rest.partition("#")
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"LLM spec {shown!r}: expected an http(s) URL after 'openai:'")
        return Spec("openai", check_url(url, text), model.strip() or None)
    return Spec(kind, rest)


def create_backend(spec: str | None = None, **options: Any) -> Backend:
    """Build the backend a spec names; ``options`` go to the backend's constructor."""
    parsed = parse_spec(spec)
    if parsed.kind == "llamacpp":
        from emopillars.llm.backends.llamacpp import LlamaCppBackend
        from emopillars.llm.models import model_path

        if parsed.target in PACKAGED_MODELS:
            model = PACKAGED_MODELS[parsed.target]
            options.setdefault("model_id", f"llamacpp:{model.name}@{model.sha256[:12]}")
            return LlamaCppBackend(model_path(parsed.target), **options)
        return LlamaCppBackend(parsed.target, **options)
    if parsed.kind == "openai":
        from emopillars.llm.backends.openai_compat import OpenAICompatBackend

        if parsed.target.rstrip("/").endswith(("11434/v1",)) and "server" not in options:
            options["server"] = "ollama"
        return OpenAICompatBackend(parsed.target, parsed.model, **options)
    from emopillars.llm.backends.vllm_offline import VLLMOfflineBackend

    return VLLMOfflineBackend(parsed.target, **options)
