"""The inference core that training and serving both build on.

- :mod:`~emopillars.inference.loading`: checking and reading a model folder (clear errors for damaged files);
- :mod:`~emopillars.inference.encoding`: examples -> token ids, the same way in training and in prediction;
- :mod:`~emopillars.inference.emoji_text`: emoji spelled out in words (the ``emoji`` training setting);
- :mod:`~emopillars.inference.scoring`: the batched, length-sorted scoring loop (any runtime);
- :mod:`~emopillars.inference.precision`: bf16 only where the hardware has it ("auto");
- :mod:`~emopillars.inference.onnx`: ONNX export (fp32 / dynamic int8) and ONNX Runtime inference.

Nothing here imports :mod:`emopillars.training` or :mod:`emopillars.serving`.
"""
