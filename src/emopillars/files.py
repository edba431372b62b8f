"""Writing files so that a kill, a full disk or a crash never leaves half a file behind.

Every file the toolkit writes as a whole (datasets, manifests, configs, reports, model side files) goes
through :func:`atomic_write_bytes`: the data goes to a temporary file in the same folder, is flushed and
fsynced, then renamed over the target (``os.replace`` is atomic on POSIX). Readers see the old file or
the new one, never a torn one; a failed write removes its temporary file and re-raises.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + fsync + rename); returns the path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, data: Any, *, indent: int | None = 2) -> Path:
    """JSON (UTF-8, non-ASCII kept, a final newline), written atomically; objects it cannot encode become str."""
    return atomic_write_text(path, json.dumps(data, indent=indent, ensure_ascii=False, default=str) + "\n")
