"""Waiting for a file to reach a state, for tests that drive a run in another process (no fixed sleeps)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def wait_for_lines(path: str | Path, n: int, proc: subprocess.Popen | None = None, timeout: float = 120.0) -> int:
    """Return the line count of ``path`` once it holds at least ``n`` lines.

    Raises AssertionError when ``proc`` (the process writing it) ends first, or after ``timeout`` seconds.
    The synthesis runner writes landed answers within a quarter of a second, so this waits for an event
    (the lines being written), not for a guessed duration.
    """
    path = Path(path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = len(path.read_bytes().splitlines()) if path.exists() else 0
        if count >= n:
            return count
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended (exit {proc.returncode}) before {path} held {n} lines")
        time.sleep(0.01)
    raise AssertionError(f"{path} never held {n} lines")
