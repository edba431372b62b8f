"""Training emotion classifiers: configuration, input encoding, loss, the training loop and calibration.

``EmotionClassifier`` (prediction) lives in :mod:`emopillars.serving.predictor` and is re-exported here.
"""

from __future__ import annotations

import os

# Must precede the first torch import to take effect: spinning OpenMP threads collapse CPU throughput when
# the cores are shared with other jobs (measured: 2.9 vs 26 training examples/s, 2 threads, busy machine).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from emopillars.training.config import TrainConfig  # noqa: E402
from emopillars.training.trainer import TrainResult, train  # noqa: E402

__all__ = ["EmotionClassifier", "TrainConfig", "TrainResult", "evaluate_model", "train"]


def __getattr__(name: str):
    # Lazy, so that emopillars.serving can import emopillars.training.* without an import cycle.
    if name == "EmotionClassifier":
        from emopillars.serving.predictor import EmotionClassifier

        return EmotionClassifier
    if name == "evaluate_model":
        from emopillars.training.evaluate import evaluate_model

        return evaluate_model
    raise AttributeError(f"module 'emopillars.training' has no attribute {name!r}")
