"""Serving trained classifiers: load a model folder (PyTorch or ONNX) and predict, from Python or over HTTP."""

from emopillars.serving.predictor import EmotionClassifier, as_examples

__all__ = ["EmotionClassifier", "as_examples"]
