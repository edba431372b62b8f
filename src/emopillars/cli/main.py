"""The ``emopillars`` command. It only parses arguments and calls the library.

Each module of this package that defines ``register(subparsers)`` adds one sub-command, so a new
command is a new file here and nothing else changes.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

import emopillars
from emopillars import cli as cli_package


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2, no traceback."""


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
    return int(result or 0)


if __name__ == "__main__":
    # ``python -m emopillars.cli.main`` runs this file as ``__main__``: call the imported module's main, so that
    # the CLIError the commands import (emopillars.cli.main.CLIError) is the class caught above.
    from emopillars.cli.main import main as package_main

    sys.exit(package_main())
