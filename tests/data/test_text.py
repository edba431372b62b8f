"""One text-identity key: the loaders, the folds, the synthesis duplicate filter and the dataset report agree on
when two texts are "the same text"."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import emopillars
from emopillars.data.text import normalize_text
from emopillars.stats import diversity
from emopillars.synth import filters


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Shared Text number 3!", "shared text number 3"),
        ("  shared   text\tnumber 3 ", "shared text number 3"),
        ("Don't -- stop!", "don t stop"),
        ("Café, déjà vu", "café déjà vu"),
        ("...", ""),
    ],
)
def test_normalize_text(text, key):
    assert normalize_text(text) == key


def test_the_filter_and_the_report_use_the_same_key():
    texts = ["Don't stop", "don t STOP!!", "Café au lait", "cafe au lait"]
    assert [filters.normalize(t) for t in texts] == [diversity.normalize(t) for t in texts]
    # the report counts exactly the duplicates the filter removes (before: "don't" vs "don t" differed)
    assert diversity.normalize("Don't stop") == diversity.normalize("don t STOP!!")


def test_one_normalize_text_in_the_package():
    """No second duplicate-key normalisation defined anywhere in the package (the ISEAR loader, the folds, the
    filter and the report all import the one in ``emopillars.data.text``)."""
    defined = []
    for path in Path(emopillars.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name in {"normalize_text", "normalize"}:
                defined.append(str(path.relative_to(Path(emopillars.__file__).parent)))
    assert defined == ["data/text.py"], defined
