"""Argument types and help shared by the sub-commands.

Two rules keep the CLI from drifting away from the library:

- An option the user did not give is ``None`` and is *not passed on*: the library's own default applies
  (``TrainConfig``'s fields, the keyword defaults of ``adapt``/``evaluate_model``/...). The CLI never repeats a
  default as a literal, so changing it in the library changes it everywhere. :func:`given` keeps the options
  that were set.
- The defaults shown by ``--help`` are read from the library when the help is printed
  (:class:`LibraryDefaultsFormatter`), so the CLI start-up does not import torch for them.

Numeric options are checked by their argparse ``type`` (``positive_int``, ...), so ``--batch-size 0`` is a
one-line usage error naming the option, not an exception from deep inside a loop.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emopillars.cli._errors import CLIError


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _int_at_least(text, 1)


def nonnegative_int(text: str) -> int:
    """An integer >= 0."""
    return _int_at_least(text, 0)


def int_at_least(minimum: int) -> Callable[[str], int]:
    """A type for integers >= ``minimum``."""

    def parse(text: str) -> int:
        return _int_at_least(text, minimum)

    return parse


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def learning_rate(text: str) -> float:
    """A learning rate: a number in (0, 1)."""
    value = _finite_float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1), got {text}")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1]."""
    value = _finite_float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def given(args: argparse.Namespace, names: dict[str, str] | list[str]) -> dict[str, Any]:
    """``{target name: value}`` of the options that were given (not None).

    ``names`` maps argparse dests to the library's names (a list when they are equal).
    """
    mapping = dict(zip(names, names)) if isinstance(names, list) else names
    return {target: getattr(args, dest) for dest, target in mapping.items() if getattr(args, dest, None) is not None}


def library_default(
    action: argparse.Action, owner: str, name: str, show: Callable[[Any], str] | None = None
) -> argparse.Action:
    """Mark ``action`` to show the default of ``name`` in ``owner`` (``module:Class``, ``module:function`` or
    ``module:Class.method``).

    For a class, the default is the class attribute (a dataclass field default); for a function, the keyword
    default in its signature. Read only when ``--help`` is printed.
    """
    action.library_default = (owner, name, show)  # type: ignore[attr-defined]
    return action


def resolve_default(owner: str, name: str) -> Any:
    module_name, _, path = owner.partition(":")
    target: Any = importlib.import_module(module_name)
    for attr in path.split("."):
        target = getattr(target, attr)
    if inspect.isclass(target):
        fields = getattr(target, "__dataclass_fields__", {})
        if name in fields:
            return fields[name].default
        return getattr(target, name)
    return inspect.signature(target).parameters[name].default


class LibraryDefaultsFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` read from the library to the help of options marked by :func:`library_default`."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        marker = getattr(action, "library_default", None)
        if marker is None or "(default" in text:
            return text
        owner, name, show = marker
        try:
            value = resolve_default(owner, name)
        except Exception:  # help must never fail; the option still works without the hint
            return text
        shown = show(value) if show else str(value)
        return text + f" (default: {shown})".replace("%", "%%")


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path.cwd()


def check_output_dir(path: str | Path, option: str) -> Path:
    """Refuse, before any work starts, an output folder that cannot be written: an existing file, a path under
    a file, or a read-only place. The folder itself is created later, by whoever writes into it."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise CLIError(f"{option} {path} is an existing file, not a folder: give a folder (created if missing)")
    ancestor = _existing_ancestor(target.parent if not target.exists() else target)
    if not ancestor.is_dir():
        raise CLIError(f"{option} {path}: {ancestor} is a file, so no folder can be created under it")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise CLIError(f"{option} {path}: {ancestor} is not writable")
    return target


def check_output_file(path: str | Path, option: str) -> Path:
    """Refuse, before any work starts, an output file that cannot be written: an existing folder, a path under
    a file, or a read-only place. Missing parent folders are created when the file is written."""
    target = Path(path)
    if target.is_dir():
        raise CLIError(f"{option} {path} is a folder; give a file name")
    ancestor = _existing_ancestor(target.parent)
    if not ancestor.is_dir():
        raise CLIError(f"{option} {path}: {ancestor} is a file, so {target.name} cannot be written under it")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise CLIError(f"{option} {path}: {ancestor} is not writable")
    return target


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Name ``path`` in an OSError raised while writing it (a failed fsync or rename carries no file name)."""
    try:
        yield
    except OSError as exc:
        if not exc.filename:
            exc.filename = str(path)
        raise
