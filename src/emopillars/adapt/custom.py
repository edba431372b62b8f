"""A user's own labelled file for an adaptation task (task ``format: custom``).

There is no parser here: ``custom`` is the generic loader of :mod:`emopillars.data.loaders.generic` (its module
docstring states the rules: file kind and delimiter by extension, label cells, unique ids), given the task's
label list, so a label outside it is an error (a typo must not silently become a new class), or a counted
skip with ``skip_bad``. The row helpers the dialogue loader uses are re-exported from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emopillars.data.example import LabeledData
from emopillars.data.loaders import load
from emopillars.data.loaders.generic import parse_labels, read_rows, require_columns

__all__ = ["load_custom", "parse_labels", "read_rows", "require_columns"]


def load_custom(
    path: str | Path, labels: list[str], *, multi_label: bool = False, skip_bad: bool = False, **columns: Any
) -> LabeledData:
    """A labelled file as ``LabeledData`` over ``labels``; single-label rows must carry exactly one label."""
    return load(path, "custom", skip_bad=skip_bad, labels=list(labels), multi_label=multi_label, **columns)
