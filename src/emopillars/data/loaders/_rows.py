"""Shared bookkeeping for malformed rows: raise on the first one, or skip, count and warn once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emopillars.data.loaders.errors import DataFormatError

log = logging.getLogger("emopillars.data")

ENCODING = "utf-8-sig"
"""UTF-8, tolerating the byte-order mark spreadsheet programs put at the start of CSV files."""


class BadRows:
    """Decides what happens to a malformed row.

    Without ``skip_bad`` the first bad row raises :class:`DataFormatError` naming file and line; with it,
    rows are counted and one warning with the count (and the first few reasons) is logged by :meth:`finish`.
    """

    def __init__(self, path: str | Path, skip_bad: bool) -> None:
        self.path = str(path)
        self.skip_bad = skip_bad
        self.count = 0
        self.examples: list[str] = []

    def bad(self, line: int | None, message: str) -> None:
        if not self.skip_bad:
            raise DataFormatError(message, self.path, line)
        self.count += 1
        if len(self.examples) < 3:
            self.examples.append(f"line {line}: {message}")

    def finish(self) -> int:
        if self.count:
            log.warning("%s: skipped %d malformed row(s) (e.g. %s)", self.path, self.count, "; ".join(self.examples))
        return self.count


def open_text(path: str | Path):
    """Open a text file for the csv module (``newline=""``), with a clear error for a missing file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        raise DataFormatError("is a directory, expected a data file", path)
    return path.open(encoding=ENCODING, newline="")


def require_nonempty(path: str | Path) -> None:
    """An empty (or whitespace-only) file is an error of its own, not 'zero examples'."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        raise DataFormatError("is a directory, expected a data file", path)
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head.strip() or head.strip() == b"\xef\xbb\xbf":
        raise DataFormatError("file is empty", path)


def require_examples(examples: list, path: str | Path, skipped: int) -> None:
    """A file that yields no example at all is an error, not an empty dataset that fails later."""
    if not examples:
        detail = f" ({skipped} malformed row(s) skipped)" if skipped else ""
        raise DataFormatError(f"no examples found{detail}", path)


@contextmanager
def decode_guard(path: str | Path) -> Iterator[None]:
    """Turn a UnicodeDecodeError into a DataFormatError naming the file (the csv module cannot say the line)."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not valid UTF-8 text ({exc.reason} at byte {exc.start})", path) from exc
