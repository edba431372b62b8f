"""A SQLite response cache: a rerun of the same requests makes zero LLM calls, a crashed run resumes.

The key is the sha256 of the canonical JSON of (backend model id, rendered messages, sampling
parameters, schema with sorted keys): what the model sees and how it decodes, never Python source
or the caller's tag. Only successful answers are stored, so a rerun retries the failures.

SQLite in WAL mode lets one writer and many readers work at once; ``busy_timeout`` makes concurrent
writers (threads or processes) wait instead of failing. Each thread gets its own connection.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from emopillars import settings
from emopillars.llm.types import ChatRequest, ChatResponse

log = logging.getLogger(__name__)

DEFAULT_FILENAME = "llm_cache.sqlite"
_STORED_FIELDS = ("text", "parsed", "prompt_tokens", "completion_tokens", "latency_s", "finish_reason", "repairs")


def default_cache_path() -> Path:
    return settings.cache_dir() / DEFAULT_FILENAME


def cache_key(model_id: str, request: ChatRequest) -> str:
    """sha256 over what decides the answer: model, messages, sampling parameters, schema."""
    payload = {
        "model": model_id,
        "messages": [dict(m) for m in request.messages],
        "params": request.params.to_dict(),
        "schema": request.schema,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """Thread-safe get/put of responses by key, with hit/miss counts."""

    def __init__(self, path: str | Path | None = None, *, busy_timeout_ms: int = 60_000) -> None:
        self.path = Path(path) if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_ms = busy_timeout_ms
        self.hits = 0
        self.misses = 0
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._connect()  # create the table now: a bad path fails at load time, not mid-run

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, value TEXT NOT NULL, "
            "created REAL NOT NULL)"
        )
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def get(self, key: str) -> ChatResponse | None:
        row = self._connect().execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        try:
            data = json.loads(row[0])
            response = ChatResponse(**{k: data[k] for k in _STORED_FIELDS if k in data}, cached=True)
        except (ValueError, TypeError) as exc:  # a damaged entry is a miss: the request runs again
            log.warning("ignoring a damaged cache entry %s: %s", key[:12], exc)
            self.misses += 1
            return None
        self.hits += 1
        return response

    def put(self, key: str, response: ChatResponse, model_id: str = "") -> None:
        """Store a successful response (errors are never cached)."""
        if response.error is not None:
            return
        value = json.dumps({k: getattr(response, k) for k in _STORED_FIELDS}, ensure_ascii=False)
        for attempt in range(5):
            try:
                self._connect().execute(
                    "INSERT OR REPLACE INTO responses (key, model, value, created) VALUES (?, ?, ?, ?)",
                    (key, model_id, value, time.time()),
                )
                return
            except sqlite3.Error as exc:  # "database is locked" past busy_timeout, disk full, ...
                log.warning("cache write failed (%s), attempt %d", exc, attempt + 1)
                time.sleep(0.05 * (attempt + 1))
        log.error("giving up writing one cache entry; the answer is still returned")

    def __bool__(self) -> bool:  # an empty cache is still a cache
        return True

    def __len__(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def stats(self) -> dict[str, Any]:
        return {"path": str(self.path), "entries": len(self), "hits": self.hits, "misses": self.misses}

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:  # created in another thread that is gone
                    pass
            self._connections.clear()
        self._local = threading.local()
