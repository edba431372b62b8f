"""Serving trained classifiers: load a model directory and predict."""

from emopillars.serving.predictor import EmotionClassifier, as_examples

__all__ = ["EmotionClassifier", "as_examples"]
