"""A SQLite response cache: a rerun of the same requests makes zero LLM calls, a crashed run resumes.

The key is the sha256 of the canonical JSON of (backend model id, rendered messages, sampling
parameters, schema with sorted keys): what the model sees and how it decodes, never Python source
or the caller's tag. The model id names the model that actually answers: for a server, its kind, its
endpoint and the served model (see ``OpenAICompatBackend.model_id``), so two servers never share answers.
Only complete, clean answers are stored (no errors, no answers that needed a JSON repair), so a
rerun asks again for everything else.

SQLite in WAL mode lets one writer and many readers work at once; ``busy_timeout`` makes concurrent
writers (threads or processes) wait instead of failing. Each thread gets its own connection.

A damaged cache never stops a run. At open, the file is checked (``PRAGMA quick_check`` up to
:data:`QUICK_CHECK_MAX_BYTES`); a file that is not a database, is truncated or damaged, or a folder in its
place is moved aside to ``<name>.corrupt-<timestamp>`` and a new cache is started, with one log line that
says so. Damage found mid-run does the same; when the file cannot be moved or reopened, the run goes on
without a cache. A cache file that cannot be opened at all (permissions, read-only disk) turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from emopillars import settings
from emopillars.llm.types import ChatRequest, ChatResponse

log = logging.getLogger(__name__)

DEFAULT_FILENAME = "llm_cache.sqlite"
QUICK_CHECK_MAX_BYTES = 512 * 1024 * 1024  # larger files are checked as they are read
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


class CacheDamaged(Exception):
    """The cache file is not a usable SQLite database."""


def _is_damage(exc: sqlite3.Error) -> bool:
    """Damage (not a database, malformed) as opposed to "database is locked", a full disk or permissions."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


class ResponseCache:
    """Thread-safe get/put of responses by key, with hit/miss counts; survives a damaged file."""

    def __init__(self, path: str | Path | None = None, *, busy_timeout_ms: int = 60_000) -> None:
        self.path = Path(path) if path else default_cache_path()
        self.busy_timeout_ms = busy_timeout_ms
        self.hits = 0
        self.misses = 0
        self.disabled: str | None = None  # why the cache is off for the rest of this process
        self.moved_aside: list[Path] = []
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.RLock()
        self._open_checked()

    # -- opening and damage -------------------------------------------------------------------------
    def _open_checked(self) -> None:
        """Open the file and check it; move a damaged one aside and start anew; never raise."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._disable(f"cannot create its folder ({exc})")
            return
        for attempt in range(2):
            try:
                if self.path.is_dir():
                    raise CacheDamaged("a folder is where the cache file should be")
                conn = self._connect()
                self._check(conn)
                return
            except (CacheDamaged, sqlite3.DatabaseError) as exc:
                if isinstance(exc, sqlite3.Error) and not _is_damage(exc):
                    self._disable(f"cannot open it ({exc})")
                    return
                self._close_connections()
                if attempt or not self._move_aside(str(exc)):
                    self._disable(f"it is damaged ({exc}) and could not be replaced")
                    return

    def _check(self, conn: sqlite3.Connection) -> None:
        conn.execute("SELECT key, value FROM responses LIMIT 1").fetchall()
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        if size <= QUICK_CHECK_MAX_BYTES:
            result = conn.execute("PRAGMA quick_check").fetchall()
            if result != [("ok",)]:
                problems = "; ".join(str(row[0]) for row in result[:3])
                raise CacheDamaged(f"quick_check failed: {problems}")

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, value TEXT NOT NULL, "
                "created REAL NOT NULL)"
            )
        except BaseException:
            conn.close()
            raise
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def _move_aside(self, reason: str) -> bool:
        """Rename the damaged file (and its WAL and shared-memory files) to ``.corrupt-<timestamp>``."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        try:
            os.replace(self.path, target)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.replace(side, target.with_name(target.name + suffix))
        except OSError as exc:
            log.error("LLM cache %s is damaged (%s) and cannot be moved aside (%s)", self.path, reason, exc)
            return False
        self.moved_aside.append(target)
        log.error(
            "LLM cache %s is damaged (%s): moved it to %s and started a new, empty cache. Answers stored in it "
            "will be asked again; delete %s when you no longer need it.",
            self.path,
            reason,
            target,
            target,
        )
        return True

    def _disable(self, reason: str) -> None:
        self._close_connections()
        self.disabled = reason
        log.error(
            "LLM cache %s is off for this run: %s. Answers are not reused or saved; fix or delete the file "
            "(or pass another cache path, or --no-cache).",
            self.path,
            reason,
        )

    def _damaged_mid_run(self, exc: sqlite3.Error) -> None:
        """Damage found while running: move the file aside and reopen a new one, else turn the cache off."""
        with self._lock:
            if self.disabled:
                return
            self._close_connections()
            if self._move_aside(f"found while running: {exc}"):
                try:
                    self._check(self._connect())
                    return
                except (CacheDamaged, sqlite3.Error) as again:
                    exc = again
            self._disable(f"it was damaged while running ({exc})")

    def _close_connections(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:  # created in another thread that is gone, or already broken
                    pass
            self._connections.clear()
            self._local = threading.local()

    # -- use ----------------------------------------------------------------------------------------
    def get(self, key: str) -> ChatResponse | None:
        if self.disabled:
            self.misses += 1
            return None
        try:
            row = self._connect().execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            if _is_damage(exc):
                self._damaged_mid_run(exc)
            else:
                log.warning("cache read failed (%s); asking the LLM instead", exc)
            self.misses += 1
            return None
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
        if response.repairs:  # stored by an older version that cached repaired answers: ask again
            self.misses += 1
            return None
        self.hits += 1
        return response

    def put(self, key: str, response: ChatResponse, model_id: str = "") -> None:
        """Store a clean response (errors and repaired answers are never cached)."""
        if response.error is not None or response.repairs or self.disabled:
            return
        value = json.dumps({k: getattr(response, k) for k in _STORED_FIELDS}, ensure_ascii=False)
        for attempt in range(5):
            try:
                self._connect().execute(
                    "INSERT OR REPLACE INTO responses (key, model, value, created) VALUES (?, ?, ?, ?)",
                    (key, model_id, value, time.time()),
                )
                return
            except sqlite3.Error as exc:  # "database is locked" past busy_timeout, disk full, damage, ...
                if _is_damage(exc):
                    self._damaged_mid_run(exc)
                    if self.disabled:
                        return
                    continue
                log.warning("cache write failed (%s), attempt %d", exc, attempt + 1)
                time.sleep(0.05 * (attempt + 1))
        log.error("giving up writing one cache entry; the answer is still returned")

    def __bool__(self) -> bool:  # an empty cache is still a cache
        return True

    def __len__(self) -> int:
        if self.disabled:
            return 0
        try:
            return self._connect().execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        except sqlite3.Error as exc:
            if _is_damage(exc):
                self._damaged_mid_run(exc)
            return 0

    def stats(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "entries": len(self),
            "hits": self.hits,
            "misses": self.misses,
            "disabled": self.disabled,
        }

    def close(self) -> None:
        self._close_connections()
