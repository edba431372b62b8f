"""The output folder of a run: its layout, the lock that keeps a second run out, and the files that make a
rerun resume (the config, the plots snapshot) -- each read with a clear error naming the file when damaged.

Layout (``DIR`` = ``--out``)::

    DIR/.lock               held (flock) by the run working here; the holder's pid inside
    DIR/config.json         the run's settings; their identity is compared on resume
    DIR/manifest.json       written last; "running" from the start of a run until its end
    DIR/schema.json         the record's JSON schema
    DIR/steps/              plots.jsonl, balancer.json, <step>.jsonl checkpoints
    DIR/dataset/            the sets and splits, swapped in whole (see :meth:`RunDir.publish_dataset`)

**The lock** is ``fcntl.flock`` on ``DIR/.lock`` (stdlib, Linux and macOS). The kernel releases it when
its process ends, however it ends, so a run killed with SIGKILL leaves no stale lock behind; a PID file
alone cannot tell a live holder from a dead one, and the ``filelock`` package's lock file cannot carry
the holder's pid for the message. On a file system without ``flock`` the run goes on with a warning.

Every whole file is written atomically (:mod:`emopillars.files`); the dataset is written into a
temporary folder and swapped in, and the manifest says ``"running"`` until the final manifest replaces
it, so a kill at any moment never leaves a manifest saying "complete" beside missing dataset files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emopillars.files import atomic_write_json, atomic_write_text, recover_folder, replace_folder
from emopillars.synth import corpus as corpus_io
from emopillars.synth.config import SynthesisConfig
from emopillars.synth.errors import ConfigMismatchError, DamagedRunError, RunLockedError, SynthesisError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

logger = logging.getLogger(__name__)

_TMP_DATASET = ".dataset.tmp-"
_OLD_DATASET = ".dataset.old-"


class RunDir:
    """Paths of one output folder, and the operations on it that must be safe against kills."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.steps = self.root / "steps"
        self.dataset = self.root / "dataset"
        self.config = self.root / "config.json"
        self.manifest = self.root / "manifest.json"
        self.schema = self.root / "schema.json"
        self.lock_file = self.root / ".lock"
        self.plots = self.steps / "plots.jsonl"
        self.balancer = self.steps / "balancer.json"

    def checkpoint(self, step: str) -> Path:
        return self.steps / f"{step}.jsonl"

    # -- the folder and its lock --------------------------------------------------------------------
    def create(self) -> None:
        """Make the folder; a clear error when ``--out`` is a file or cannot be made."""
        if self.root.exists() and not self.root.is_dir():
            raise SynthesisError(f"--out {self.root} is an existing file, not a folder; choose another path")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise SynthesisError(f"cannot make the folder {self.root}: a part of that path is a file") from None
        except OSError as exc:
            raise SynthesisError(f"cannot make the folder {self.root}: {exc.strerror}") from None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock for the body; :class:`RunLockedError` when another run holds it."""
        if fcntl is None:
            logger.warning("no file locking on this platform: make sure no other run uses %s", self.root)
            yield
            return
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 300, 0).decode("utf-8", errors="replace").strip() or "unknown process"
                raise RunLockedError(
                    f"{self.root} is in use by another synthesize run ({holder}); two runs on one folder would "
                    "make every call twice and mix their checkpoints. Wait for it to finish (or stop it), or use "
                    "another --out folder"
                ) from None
            except OSError as exc:  # a file system without flock (some network mounts)
                logger.warning("cannot lock %s (%s): make sure no other run uses it", self.root, exc.strerror)
            else:
                started = datetime.now(UTC).isoformat(timespec="seconds")
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, started {started}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

    # -- the configuration ---------------------------------------------------------------------------
    def check_config(self, config: SynthesisConfig) -> None:
        """Refuse to mix two configurations in one folder (or wipe the old run when ``config.force``)."""
        if not self.config.exists():
            return
        old = self._stored_identity()
        new = json.loads(json.dumps(config.identity(), default=str))
        diffs = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if not diffs:
            return
        if not config.force:
            detail = "; ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in diffs[:6])
            raise ConfigMismatchError(
                f"{self.root} holds a run with a different configuration ({detail}); "
                "use another --out folder, rerun with the same options to resume, or pass --force to start over"
            )
        logger.warning("--force: discarding the previous run in %s (changed: %s)", self.root, ", ".join(diffs))
        self.discard()

    def _stored_identity(self) -> dict[str, Any]:
        how = (
            f"it records the settings of the run in {self.root}. To resume with exactly the same options as before, "
            f"delete {self.config} and rerun the same command: the checkpoints are kept and the settings are written "
            "again (--force would discard every checkpoint)"
        )
        try:
            stored = json.loads(self.config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DamagedRunError(f"{self.config} is damaged or unreadable ({_reason(exc)}); {how}") from None
        identity = stored.get("identity") if isinstance(stored, dict) else None
        if not isinstance(identity, dict):
            raise DamagedRunError(f"{self.config} is damaged (no 'identity' object); {how}")
        return identity

    def save_config(self, config: SynthesisConfig) -> None:
        atomic_write_json(self.config, {"identity": config.identity(), "config": config.to_dict()})

    def discard(self) -> None:
        """Delete a previous run's checkpoints, dataset, config and manifest (``--force``)."""
        shutil.rmtree(self.steps, ignore_errors=True)
        shutil.rmtree(self.dataset, ignore_errors=True)
        for path in (self.config, self.manifest, self.schema):
            path.unlink(missing_ok=True)

    # -- the plots snapshot --------------------------------------------------------------------------
    def load_plots(self) -> list[corpus_io.Plot] | None:
        """The stored plots of a run being resumed (``None`` when there are none yet)."""
        if not self.plots.exists():
            return None
        how = (
            "it holds the plots this run works on. Restore it, or delete it to choose them again from the corpus "
            "(the same corpus, --plots and --seed choose the same plots), then rerun"
        )
        try:
            text = self.plots.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DamagedRunError(f"{self.plots} is unreadable ({_reason(exc)}); {how}") from None
        plots = []
        for line_no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                plot = corpus_io.Plot.from_dict(row)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise DamagedRunError(f"{self.plots}:{line_no}: damaged line ({_reason(exc)}); {how}") from None
            plots.append(plot)
        return plots or None

    def save_plots(self, plots: list[corpus_io.Plot]) -> None:
        atomic_write_text(self.plots, "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in plots))

    # -- the manifest ---------------------------------------------------------------------------------
    def previous_manifest(self) -> dict[str, Any]:
        """The manifest of an earlier run in this folder ({} when none or unreadable, with a warning)."""
        if not self.manifest.exists():
            return {}
        try:
            data = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            logger.warning("%s is unreadable (%s); it will be written anew", self.manifest, _reason(exc))
            return {}
        return data if isinstance(data, dict) else {}

    def write_manifest(self, data: dict[str, Any]) -> None:
        atomic_write_json(self.manifest, data)

    # -- the dataset ----------------------------------------------------------------------------------
    def clean_leftovers(self) -> None:
        """Undo the dataset swap of a run killed while publishing its dataset (and drop its staging folder)."""
        recover_folder(self.dataset)
        for path in self.root.glob(".dataset.*-*"):  # the temporary folders of earlier versions
            if path.name.startswith((_TMP_DATASET, _OLD_DATASET)) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)

    def publish_dataset(self, write: Callable[[Path], Any]) -> Any:
        """``write(folder)`` into a staging folder, then swap it in for ``DIR/dataset``; returns what it returns.

        The old dataset stays whole until the new one is complete (:func:`emopillars.files.replace_folder`).
        """
        with replace_folder(self.dataset) as staging:
            return write(staging)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"
