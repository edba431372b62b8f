"""What every benchmark records about the machine it ran on."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def load_average() -> str:
    """The 1/5/15-minute load averages, "a / b / c" (the machine is shared: every timing notes it)."""
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def write_section(heading: str, text: str, path: Path) -> None:
    """Replace the section that starts with ``heading`` in BENCHMARKS.md (or append it), leaving the others."""
    import re

    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(re.escape(heading) + r".*?(?=^## |\Z)", re.S | re.M)
    updated = (
        pattern.sub(lambda _: text + "\n", current)
        if pattern.search(current)
        else (current.rstrip("\n") + "\n\n" + text + "\n")
    )
    path.write_text(updated, encoding="utf-8")


def append_section(heading: str, text: str, path: Path) -> None:
    """Drop the section that starts with ``heading`` from ``path`` (if there) and append ``text`` as the last section.

    Unlike :func:`write_section` (which keeps the section where it stands) the newest run ends up at the file's end.
    """
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if heading in old:
        start = old.index(heading)
        end = old.find("\n## ", start + len(heading))
        old = old[:start] + old[end + 1 :] if end != -1 else old[:start]
    path.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")


def publish(
    summary: dict, markdown: Callable[[dict], str], heading: str, json_path: str | Path | None, write: bool
) -> None:
    """A benchmark's last step: ``summary`` as JSON to ``json_path`` (when given) first, so the numbers are kept
    even if the table fails; then print ``markdown(summary)`` and, when ``write``, put it in BENCHMARKS.md under
    ``heading``."""
    if json_path:
        Path(json_path).write_text(json.dumps(summary, indent=2) + "\n")
    text = markdown(summary)
    print(text)
    if write:
        write_section(heading, text, REPO / "BENCHMARKS.md")
