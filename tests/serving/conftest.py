"""Tiny real models for the serving tests: MiniLM fine-tuned for one short epoch on the 28 labels."""

from __future__ import annotations

import shutil

import pytest

from emopillars.data.example import Example, LabeledData
from emopillars.taxonomy import LABELS

PHRASES = {
    "joy": "I am so happy today, this is wonderful!",
    "anger": "This makes me furious, I hate how they treated us.",
    "sadness": "I miss her so much, everything feels empty.",
    "gratitude": "Thank you so much for your help, I really appreciate it.",
    "fear": "I am terrified of what might happen tomorrow.",
    "neutral": "The meeting is at noon in room four.",
}


def tiny_data() -> LabeledData:
    examples = []
    for label in LABELS:
        text = PHRASES.get(label, f"That moment was pure {label}, honestly.")
        examples.append(Example(text=text, labels={label: 1.0}, context="Earlier that day, we talked."))
        examples.append(Example(text=f"Some {label} here, I think.", labels={label: 1.0}))
    return LabeledData(examples, list(LABELS), source="tiny-inline")


@pytest.fixture(scope="session")
def tiny_model(minilm_path, tmp_path_factory):
    """A 28-label model folder written by the real trainer (one epoch on 56 rows)."""
    from emopillars.training import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny-model") / "tiny-minilm"
    config = TrainConfig(model=minilm_path, output_dir=str(out), epochs=1, max_length=32, batch_size=16)
    train(config, tiny_data(), tiny_data(), progress=False)
    shutil.rmtree(out / "checkpoint", ignore_errors=True)
    return out


@pytest.fixture(scope="session")
def tiny_context_model(tiny_model, tmp_path_factory):
    """The same weights, marked context-aware (inputs become (context, utterance) pairs)."""
    from emopillars.training import TrainConfig

    out = tmp_path_factory.mktemp("tiny-context") / "tiny-context-minilm"
    shutil.copytree(tiny_model, out)
    config = TrainConfig.load(out)
    config.context_aware = True
    config.max_length = 64
    config.save(out)
    return out


@pytest.fixture(scope="session")
def tiny_onnx(tiny_model, tmp_path_factory):
    """The tiny model exported to ONNX fp32 and int8: {"fp32": folder, "int8": folder}."""
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (the serve extra installs it)")
    from emopillars.inference.onnx import export_onnx

    root = tmp_path_factory.mktemp("tiny-onnx")
    out = {}
    for name, int8 in (("fp32", False), ("int8", True)):
        export_onnx(tiny_model, root / name, int8=int8)
        out[name] = root / name
    return out


class ServerProcess:
    """``emopillars serve`` in its own process on a free loopback port (``--port 0``)."""

    def __init__(self, model, *options: str):
        import os
        import re
        import subprocess
        import sys
        import threading

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "emopillars.cli.main", "serve", "--model", str(model), "--port", "0"]
        self.proc = subprocess.Popen(
            [*command, *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.output: list[str] = []
        self.url = None
        for line in self.proc.stdout:  # blocks until the server says where it listens, or exits
            self.output.append(line)
            found = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
            if found:
                self.url = found.group(1)
                break
        if self.url is None:
            self.proc.wait()
            raise RuntimeError(f"the server did not start (exit {self.proc.returncode}):\n{''.join(self.output)}")
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _read_rest(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        import signal

        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self._drain.join(timeout=10)
        return self.proc.returncode


@pytest.fixture(scope="session")
def start_server():
    """Factory: ``start_server(model_dir, *options)`` -> a running ServerProcess, stopped at the end."""
    servers: list[ServerProcess] = []

    def start(model, *options: str) -> ServerProcess:
        server = ServerProcess(model, *options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
