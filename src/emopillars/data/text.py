"""Text identity: the one normalisation that decides when two texts are "the same text".

Used to group duplicates, so that copies of one text never straddle a train/test split or a fold
(ISEAR's loader sets ``Example.group`` with it; ``adapt.folds`` groups by it).
"""

from __future__ import annotations

import re

_NON_WORD = re.compile(r"[^\w]+")


def normalize_text(text: str) -> str:
    """Lower-cased, with every run of punctuation and whitespace collapsed to one space, stripped.

    ``"Shared Text number 3!"`` and ``"shared text   number 3"`` both become ``"shared text number 3"``.
    """
    return _NON_WORD.sub(" ", text.lower()).strip()
