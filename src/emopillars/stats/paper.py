"""The paper's figures for the statistics it reports (METHOD.md; Shvets 2025), shown beside ours.

Keys are the dotted paths of the same numbers in ``report.json``; values are (the paper's figure, what it is).
"""

from __future__ import annotations

PAPER: dict[str, tuple[float, str]] = {
    "labels.labels_per_example.mean": (3.2, "positive labels per example (mean)"),
    "labels.neutral.of_labels": (0.027, "neutral share of positive labels"),
    "labels.neutral.of_examples": (0.09, "share of examples with a neutral label"),
    "diversity.similarity.neutral.within": (0.30, "neutral utterances: similarity within one character"),
    "diversity.similarity.neutral.across": (0.16, "neutral utterances: similarity across characters"),
    "contexts.raw_vs_cleaned_similarity.mean": (0.92, "raw vs cleaned context similarity (mean)"),
    "contexts.orig_vs_rewritten_similarity.mean": (0.78, "original vs rewritten utterance similarity (mean)"),
}

PERCENT = {"labels.neutral.of_labels", "labels.neutral.of_examples"}
"""Keys shown as percentages."""

PAPER_ANNOTATION: dict[str, tuple[float, str]] = {
    "agreement.cohen.mean_pooled": (0.365, "Cohen's kappa (mean over pairs, pooled; GoEmotions' own: 0.293)"),
    "accuracy.all_agree_accuracy": (0.86, "teacher accuracy where all annotators agree"),
    "accuracy.majority_accuracy": (0.70, "teacher accuracy where a majority agrees"),
}
"""Human evaluation: 3 annotators x 200 items, the teacher's 5 labels + 1 distractor + "none" to choose from."""


def lookup(data: dict, dotted: str):
    """The value at a dotted path of nested dicts, or None."""
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
