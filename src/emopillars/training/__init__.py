"""Training emotion classifiers: configuration, loss, the training loop, calibration and model cards.

Prediction is not here: :class:`emopillars.serving.EmotionClassifier` loads what training writes. Both build on
the inference core, :mod:`emopillars.inference` (model-folder checks, input encoding, the scoring loop).
"""

from __future__ import annotations

import os

# Must precede the first torch import to take effect: spinning OpenMP threads collapse CPU throughput when
# the cores are shared with other jobs (measured: 2.9 vs 26 training examples/s, 2 threads, busy machine).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from emopillars.training.config import TrainConfig  # noqa: E402
from emopillars.training.evaluate import evaluate_model  # noqa: E402
from emopillars.training.trainer import TrainResult, train  # noqa: E402

__all__ = ["TrainConfig", "TrainResult", "evaluate_model", "train"]
