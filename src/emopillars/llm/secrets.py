"""Keeping credentials out of files and messages.

A spec like ``openai:http://user:KEY@host:8000/v1#model`` carries a secret in its URL. Everything that
writes or prints a spec (``config.json``, ``manifest.json``, model cards, log lines, error messages)
passes it through :func:`redact_spec` first; keys given through environment variables never appear at all.
"""

from __future__ import annotations

import re

REDACTED = "***"
# user:password@ or token@ inside a URL authority
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s#?]+)@")
# ?api_key=..., &token=..., &key=... and the like in a query string
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&](?:api[_-]?key|key|token|access[_-]?token|secret|password|auth)=)(?P<value>[^&#\s]+)",
    re.IGNORECASE,
)


def redact_spec(text: str | None) -> str | None:
    """``text`` (a spec, a URL, or a message that contains one) with credentials replaced by ``***``."""
    if not text:
        return text
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['name']}{REDACTED}", text)
