"""The one error every loader raises for bad input, so callers and the CLI can report it in one line."""

from __future__ import annotations

from pathlib import Path


class DataFormatError(ValueError):
    """A file that cannot be read as the requested format.

    ``path`` and ``line`` (1-based, the physical line where the bad row ends) are kept as attributes and
    written into the message, so the user can open the file at the right place.
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.reason = message
        where = self.path or ""
        if line is not None:
            where = f"{where}, line {line}" if where else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message)
