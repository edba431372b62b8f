"""Run ``emopillars`` (as ``python -m emopillars.cli.main``) and record every change this process makes under a
folder: files opened for writing, renames, removals, new folders (Python audit events, so nothing is missed
whatever helper made the change). Used by the torchrun test to check which rank writes.

Usage: ``python record_writes.py ROOT LOG_PREFIX -- emopillars arguments...``; the log is ``LOG_PREFIX.RANK.json``.
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
CHANGES = {"os.rename": "rename", "os.remove": "remove", "os.rmdir": "rmdir", "os.mkdir": "mkdir",
           "shutil.rmtree": "rmtree", "os.link": "link", "os.symlink": "symlink"}  # fmt: skip


def main() -> None:
    root, prefix = os.path.realpath(sys.argv[1]), sys.argv[2]
    assert sys.argv[3] == "--"
    changes: list[list[str]] = []

    def under_root(path) -> str | None:
        if isinstance(path, int) or path is None:
            return None
        full = os.path.realpath(os.fsdecode(path))
        return full if full == root or full.startswith(root + os.sep) else None

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS
            )
            if writes and (full := under_root(path)):
                changes.append(["open", full])
        elif event in CHANGES and args:
            for path in args[:2] if event == "os.rename" else args[:1]:  # a rename changes its source and target
                if full := under_root(path):
                    changes.append([CHANGES[event], full])

    def save() -> None:
        with open(f"{prefix}.{os.environ.get('RANK', '0')}.json", "w") as handle:
            json.dump(changes, handle)

    atexit.register(save)
    sys.addaudithook(hook)
    sys.argv = ["emopillars", *sys.argv[4:]]
    runpy.run_module("emopillars.cli.main", run_name="__main__")


if __name__ == "__main__":
    main()
