"""Calibration of a teacher's levels over a whole set of answers: ``prior`` damps the labels it names everywhere.

A small teacher collapses onto a few labels: the 1.5B named *disappointment* in half of its GoEmotions answers,
whatever the text. ``prior:ALPHA`` divides each level by ``share(label) ** ALPHA``, where ``share`` is the
fraction of the set's answers that name the label (no gold labels are used: only the teacher's own answers, so
it applies to synthetic data as well as to an audit). Within each answer the labels are then re-ranked by the
damped score; the new first label takes the answer's highest level, the others keep their level scaled by
their damped score relative to the first (on the 0.1 grid), so a collapse label that was second to nothing
falls below the 0.3 threshold when a rarer label in the same answer outranks it. Labels the answer did not name
are never added: calibration only re-weighs what the teacher said.

Measured on recorded 1.5B answers (BENCHMARKS.md, "Teacher audit"): the table rows ``prior:0.5``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from emopillars.teacher.metrics import Prediction, positives

KINDS = ("none", "prior")
DEFAULT_ALPHA = 0.5


@dataclass(frozen=True)
class Calibration:
    """``none`` or ``prior`` with its exponent; written as ``none``, ``prior`` or ``prior:ALPHA``."""

    kind: str = "none"
    alpha: float = DEFAULT_ALPHA

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown label calibration {self.kind!r}: one of none, prior, prior:ALPHA")
        if not 0.0 < self.alpha <= 2.0:
            raise ValueError(f"the prior calibration's exponent must be in (0, 2], got {self.alpha}")

    @classmethod
    def parse(cls, spec: str | None) -> Calibration:
        if spec is None or spec.strip() in ("", "none"):
            return cls()
        kind, _, alpha_text = spec.strip().partition(":")
        try:
            alpha = float(alpha_text) if alpha_text else DEFAULT_ALPHA
        except ValueError:
            raise ValueError(f"label calibration {spec!r}: {alpha_text!r} is not a number") from None
        return cls(kind, alpha)

    def __str__(self) -> str:
        return "none" if self.kind == "none" else f"prior:{self.alpha:g}"

    @property
    def active(self) -> bool:
        return self.kind != "none"


def label_shares(predictions: Sequence[Prediction]) -> dict[str, float]:
    """label -> the fraction of the answers (failed ones included) that name it with a level above 0."""
    if not predictions:
        return {}
    counts = Counter(label for p in predictions if p for label, level in p.items() if level > 0)
    return {label: n / len(predictions) for label, n in counts.items()}


def damp(prediction: Prediction, shares: Mapping[str, float], alpha: float) -> dict[str, float] | None:
    """One answer re-weighed by the label shares (see the module docstring)."""
    if not prediction:
        return None if prediction is None else {}
    scores = {label: level / max(shares.get(label, 1.0), 1e-9) ** alpha for label, level in prediction.items()}
    order = sorted(scores, key=lambda label: -scores[label])  # stable: ties keep the teacher's order
    top, best = scores[order[0]], max(prediction.values())
    if top <= 0:
        return dict(prediction)
    out = {order[0]: best}
    for label in order[1:]:
        out[label] = round(prediction[label] * scores[label] / top, 1)
    return out


def calibrate(predictions: Sequence[Prediction], calibration: Calibration) -> list[dict[str, float] | None]:
    """Every answer of a set calibrated together (the shares come from the same set)."""
    if not calibration.active:
        return [None if p is None else dict(p) for p in predictions]
    shares = label_shares(predictions)
    return [damp(p, shares, calibration.alpha) for p in predictions]


def calibrate_records(records: list, calibration: Calibration) -> list:
    """Synthetic records (``labels`` calibrated over all of them, ``positive_labels`` recomputed; ``raw_labels``,
    the teacher's own answer, unchanged). Records are returned as they are when the calibration is ``none``."""
    if not calibration.active:
        return records
    levels = calibrate([r.labels for r in records], calibration)
    return [r.model_copy(update={"labels": new, "positive_labels": positives(new)}) for r, new in zip(records, levels)]
