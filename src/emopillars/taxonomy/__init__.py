"""The 28-label emotion taxonomy and the map of out-of-taxonomy emotion words onto it."""

from emopillars.taxonomy.labels import DEFINITIONS, EMOTIONS, ID2LABEL, LABEL2ID, LABELS, NEUTRAL, definitions_block
from emopillars.taxonomy.mapping import OUT_OF_TAXONOMY, map_label, normalize_label

POSITIVE_THRESHOLD = 0.3
"""A soft label is positive when its level is at least this (METHOD.md)."""

__all__ = [
    "DEFINITIONS",
    "EMOTIONS",
    "ID2LABEL",
    "LABEL2ID",
    "LABELS",
    "NEUTRAL",
    "OUT_OF_TAXONOMY",
    "POSITIVE_THRESHOLD",
    "definitions_block",
    "map_label",
    "normalize_label",
]
