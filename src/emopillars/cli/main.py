"""The ``emopillars`` command. It only parses arguments and calls the library.

Each module of this package that defines ``register(subparsers)`` adds one sub-command, so a new
command is a new file here and nothing else changes.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import pkgutil
import shutil
import sys
from pathlib import Path

import emopillars
from emopillars import cli as cli_package
from emopillars.cli._errors import CLIError

__all__ = ["CLIError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emopillars", description=emopillars.__doc__)
    parser.add_argument("--version", action="version", version=f"emopillars {emopillars.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = []
    for info in pkgutil.iter_modules(cli_package.__path__):
        if info.name in {"main", "common"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"emopillars.cli.{info.name}")
        if hasattr(module, "register"):
            modules.append(module)
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.__name__)):
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        result = args.func(args)
    except (CLIError, FileNotFoundError, ValueError) as exc:
        print(f"emopillars {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"emopillars {args.command}: interrupted; finished work is saved, rerun to resume", file=sys.stderr)
        return 130
    except OSError as exc:  # disk full, permissions, a folder where a file goes: the environment, not a bug
        full = disk_full(exc, args)
        message = describe_os_error(exc) if full is None else full
        print(f"emopillars {args.command}: error: {message}", file=sys.stderr)
        return 1
    except Exception as exc:
        full = disk_full(exc, args)
        if full is not None:  # libraries report a full disk in their own words (safetensors, torch.save)
            print(f"emopillars {args.command}: error: {full}", file=sys.stderr)
            return 1
        if args.verbose:
            raise
        print(
            f"emopillars {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(a bug: rerun with -v for the traceback and report it)",
            file=sys.stderr,
        )
        return 1
    return int(result or 0)


OUTPUT_OPTIONS = ("out", "report", "output")
"""The argparse dests that name what a command writes."""
NEARLY_FULL = 1 << 20


def disk_full(exc: BaseException, args: argparse.Namespace) -> str | None:
    """A one-line message when ``exc`` comes from a full disk, else None.

    A full disk shows as an ENOSPC OSError somewhere in the exception chain, as "No space left on device" in a
    library's own error (safetensors), or only as a failed write (torch.save): then the device of an output
    option holding less than 1 MiB free tells.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current).lower()
        if (isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT)) or (
            "no space left on device" in text or "os error 28" in text
        ):
            where = getattr(current, "filename", None) or _output_of(args)
            return f"no space left on the device{f' ({where})' if where else ''}: free some space and rerun"
        current = current.__cause__ or current.__context__
    for name in OUTPUT_OPTIONS:
        value = getattr(args, name, None)
        if not isinstance(value, str) or not value:
            continue
        path = Path(value).absolute()
        existing = next((p for p in (path, *path.parents) if p.exists()), None)
        try:
            if existing is not None and shutil.disk_usage(existing).free < NEARLY_FULL:
                return f"no space left on the device ({value}): free some space and rerun"
        except OSError:
            continue
    return None


def _output_of(args: argparse.Namespace) -> str | None:
    return next((getattr(args, name) for name in OUTPUT_OPTIONS if getattr(args, name, None)), None)


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError: what failed, on which file, and (disk full) what to do."""
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device{where}: free some space and rerun"
    if exc.errno == errno.EDQUOT:
        return f"disk quota exceeded{where}: free some space and rerun"
    reason = exc.strerror or str(exc)
    return f"{reason}{where}"


if __name__ == "__main__":
    # ``python -m emopillars.cli.main`` runs this file as ``__main__``: call the imported module's main, so that
    # the CLIError the commands import (emopillars.cli.main.CLIError) is the class caught above.
    from emopillars.cli.main import main as package_main

    sys.exit(package_main())
