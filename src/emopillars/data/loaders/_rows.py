"""Shared bookkeeping for malformed rows: raise on the first one, or skip, count and warn once.

Also the pieces every CSV/TSV loader needs so that no bad file ends in a traceback: :func:`csv_rows` turns
the csv module's own errors (a field over its size limit, a NUL byte) into malformed rows naming the line
where the row starts; :func:`decode_guard` names the file *and line* of the first byte that is not UTF-8;
:class:`UniqueIds` refuses a second row with an id already seen.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Hashable, Iterator
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
    """Turn a UnicodeDecodeError into a DataFormatError naming the file and the line of the first bad byte."""
    try:
        yield
    except UnicodeDecodeError as exc:
        line, offset, reason = first_undecodable(path)
        detail = f"{reason or exc.reason} at byte {offset}" if offset is not None else exc.reason
        raise DataFormatError(f"not valid UTF-8 text ({detail}); re-save the file as UTF-8", path, line) from None


def first_undecodable(path: str | Path) -> tuple[int | None, int | None, str | None]:
    """(line, byte offset in the file, reason) of the first byte sequence that is not UTF-8; Nones if none."""
    offset = 0
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            chunk = raw[3:] if number == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, offset + exc.start + (len(raw) - len(chunk)), exc.reason
            offset += len(raw)
    return None, None, None


def csv_rows(reader, bad: BadRows) -> Iterator[list[str]]:
    """The rows of a ``csv.reader``; a row the csv module cannot parse (see :func:`csv_reason`) or that holds a
    NUL byte is a malformed row reported at the line where it starts. With ``skip_bad`` reading goes on."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if reader.line_num < start:  # nothing consumed: going on would fail the same way forever
                raise DataFormatError(csv_reason(exc), bad.path, start) from None
            bad.bad(start, csv_reason(exc))
            continue
        if any("\x00" in cell for cell in row):  # the csv module reads NUL bytes since Python 3.11
            bad.bad(start, "the row holds a NUL byte: is this a binary file?")
            continue
        yield row


def read_header(reader, path: str | Path) -> list[str] | None:
    """The first row of a ``csv.reader`` (None for no rows); a header the csv module cannot parse is an error."""
    try:
        return next(reader, None)
    except csv.Error as exc:
        raise DataFormatError(csv_reason(exc), path, 1) from None


def csv_reason(exc: csv.Error) -> str:
    """A csv module error in words a user can act on."""
    message = str(exc)
    if "field larger than field limit" in message:
        return (
            f"a field is longer than {csv.field_size_limit():,} characters (the csv field limit): a quote opened "
            "here is probably never closed, or the text is far longer than any utterance"
        )
    if "NUL" in message:
        return "the row holds a NUL byte: is this a binary file?"
    return f"unreadable CSV/TSV row ({message})"


class UniqueIds:
    """Ids must be unique within a file: a second row with an id already seen is a malformed row that names the
    id and both lines (with ``skip_bad`` it is skipped and the first row kept). Rows without an id pass."""

    def __init__(self, bad: BadRows) -> None:
        self.bad = bad
        self.first_line: dict[Hashable, int | None] = {}

    def accept(self, identifier: Hashable | None, line: int | None) -> bool:
        if identifier is None or identifier == "":
            return True
        if identifier in self.first_line:
            first = self.first_line[identifier]
            where = f" (first on line {first})" if first is not None else ""
            self.bad.bad(line, f"duplicate id {identifier!r}{where}: ids must be unique within a file")
            return False
        self.first_line[identifier] = line
        return True
