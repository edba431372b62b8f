"""Writing files and folders so that a kill, a full disk or a crash never leaves half of one behind.

The one place the toolkit writes anything atomically:

- **a file** (datasets, manifests, configs, reports, model side files, an assembled model): :func:`atomic_writer`
  (a handle to stream into; :func:`atomic_write_bytes` / ``_text`` / ``_json`` for data in memory). The data
  goes to a temporary file in the same folder, is flushed and fsynced, then renamed over the target
  (``os.replace`` is atomic on POSIX). Readers see the old file or the new one, never a torn one; a failed
  write removes its temporary file and re-raises.
- **a folder** (a training checkpoint, an ONNX export, a synthesis dataset, an unpacked model):
  :func:`replace_folder` builds it in a staging folder beside the target and swaps it in; the old folder is
  moved aside first and removed last, and a swap a kill interrupted is undone the next time (the old
  folder comes back), so the target is always whole: the old one or the new one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

FILE_MODE = 0o644  # what open() gives under the usual umask (mkstemp's own 0600 would hide shared outputs)


@contextmanager
def atomic_writer(path: str | Path, mode: int = FILE_MODE) -> Iterator[BinaryIO]:
    """A binary handle whose bytes replace ``path`` atomically when the block ends without an error.

    The handle writes a temporary file beside ``path``; on a clean exit it is flushed, fsynced, given ``mode``
    and renamed over ``path``; on an error (or a kill, which leaves only the hidden temporary file) ``path``
    is untouched and the temporary file is removed.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + fsync + rename); returns the path."""
    with atomic_writer(path) as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, data: Any, *, indent: int | None = 2) -> Path:
    """JSON (UTF-8, non-ASCII kept, a final newline), written atomically; objects it cannot encode become str."""
    return atomic_write_text(path, json.dumps(data, indent=indent, ensure_ascii=False, default=str) + "\n")


def _swap_names(target: Path) -> tuple[Path, Path]:
    """(staging folder, the old folder's place during a swap) of ``target``: hidden, beside it."""
    return target.with_name(f".{target.name}.partial"), target.with_name(f".{target.name}.old")


def recover_folder(target: str | Path) -> None:
    """Finish or undo a :func:`replace_folder` swap a kill interrupted, and drop its staging folder.

    The old folder moved aside and the new one not in place: the old one comes back. Both in place: the
    aside copy is dropped.
    """
    target = Path(target)
    staging, aside = _swap_names(target)
    if aside.exists():
        if target.exists():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(aside, target)
    shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def replace_folder(target: str | Path) -> Iterator[Path]:
    """An empty staging folder to fill; on a clean exit it replaces ``target`` (which may not exist yet).

    The swap: the old ``target`` is moved aside, the staging folder renamed to ``target``, then the old one
    removed; the renames are fsynced. On an error ``target`` stays as it was and the staging folder is
    removed. See :func:`recover_folder` for a kill in the middle.
    """
    target = Path(target)
    staging, aside = _swap_names(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(target)
    staging.mkdir()
    try:
        yield staging
        fsync_dir(staging)
        if target.exists():
            os.replace(target, aside)
        os.replace(staging, target)
        fsync_dir(target.parent)
    except BaseException:
        if aside.exists() and not target.exists():
            os.replace(aside, target)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def fsync_dir(path: str | Path) -> None:
    """Make the renames inside ``path`` durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
