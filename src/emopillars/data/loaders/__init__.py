"""Loaders for every supported data format, behind one function: :func:`load`.

Every loader returns :class:`~emopillars.data.example.LabeledData` of
:class:`~emopillars.data.example.Example`. A malformed row raises :class:`DataFormatError` naming file and line,
or with ``skip_bad=True`` is skipped, counted in ``LabeledData.skipped`` and reported in one warning.
The same rules hold in every loader: a missing file is a FileNotFoundError, a folder, an empty file, a file
that is not UTF-8 (a byte-order mark is fine and never part of the first text), a row the csv module cannot
parse (a field over its size limit, a NUL byte) and a repeated id are DataFormatErrors naming the file and line.

Formats are looked up in one registry, :data:`FORMATS`; :func:`register_format` adds one (the adaptation
package registers its dialogue layout there), so every caller loads every format through :func:`load`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emopillars.data.example import LabeledData
from emopillars.data.loaders.detect import HUB_PREFIX, detect_format
from emopillars.data.loaders.emocontext import EMOCONTEXT_EMOTIONS, EMOCONTEXT_LABELS, load_emocontext
from emopillars.data.loaders.emopillars_csv import load_emopillars_csv
from emopillars.data.loaders.errors import DataFormatError
from emopillars.data.loaders.generic import load_generic, load_generic_csv, load_generic_jsonl
from emopillars.data.loaders.goemotions import load_goemotions
from emopillars.data.loaders.hub import load_hub
from emopillars.data.loaders.isear import ISEAR_LABELS, load_isear
from emopillars.data.loaders.lines import load_lines
from emopillars.data.loaders.synthetic import load_synthetic

FORMATS: dict[str, Callable[..., LabeledData]] = {
    "goemotions": load_goemotions,
    "isear": load_isear,
    "emocontext": load_emocontext,
    "emopillars_csv": load_emopillars_csv,
    "synthetic": load_synthetic,
    "generic": load_generic,
    "generic_csv": load_generic_csv,
    "generic_jsonl": load_generic_jsonl,
    "custom": load_generic,
    "lines": load_lines,
    "hf": load_hub,
}
"""Format name -> loader. ``hf`` takes ``hf:<dataset id>`` in place of a path. ``custom`` (the adaptation task
format) is the generic loader; ``lines`` is plain text, one unlabelled text per line."""

_GENERIC_OPTIONS = (
    "text_column",
    "label_column",
    "labels",
    "context_column",
    "speaker_column",
    "id_column",
    "group_column",
    "multi_hot_columns",
    "label_separator",
    "multi_label",
)


def register_format(name: str, loader: Callable[..., LabeledData]) -> None:
    """Add (or replace) a format: ``loader(path, *, skip_bad=False, **options) -> LabeledData``."""
    if not name or name.startswith(HUB_PREFIX):
        raise ValueError(f"invalid format name {name!r}")
    FORMATS[name] = loader


def load(path: str | Path, format: str | None = None, *, skip_bad: bool = False, **options: Any) -> LabeledData:
    """Load a data file (or ``hf:<dataset id>``) in ``format``, detected from the file when None.

    ``options`` are the loader's keyword options (e.g. ``variant``/``split`` for synthetic JSON lines, the column
    options of the generic formats). Options set to None are ignored, so a CLI can pass its flags through; an
    option the format does not take is a clear ValueError.
    """
    options = {key: value for key, value in options.items() if value is not None}
    if format is not None and format.startswith(HUB_PREFIX):  # format="hf:<id>" names the dataset itself
        path, format = format, "hf"
    if format is None:
        format = detect_format(path)
    loader = FORMATS.get(format)
    if loader is None:
        raise ValueError(f"unknown data format {format!r}: expected one of {', '.join(FORMATS)} or hf:<dataset id>")
    accepted = options_of(format)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"format {format!r} does not take option(s) {unknown}; it takes: {', '.join(accepted) or 'none'}"
        )
    if format != "hf":
        path = Path(path)
    return loader(path, skip_bad=skip_bad, **options)


def options_of(format: str) -> list[str]:
    """The keyword options a format's loader accepts (besides ``skip_bad``)."""
    loader = FORMATS[format]
    params = list(inspect.signature(loader).parameters.values())[1:]  # the first is the path
    named = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in params if p.kind in named and p.name != "skip_bad"]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        names += list(_GENERIC_OPTIONS)
    return names


__all__ = [
    "EMOCONTEXT_EMOTIONS",
    "EMOCONTEXT_LABELS",
    "FORMATS",
    "ISEAR_LABELS",
    "DataFormatError",
    "detect_format",
    "load",
    "options_of",
    "register_format",
]
