"""`emopillars demo` wiring: synthesize (stub server as the teacher) -> train MiniLM -> evaluate -> report.

The real teacher's run is `make demo` itself (about 10 minutes); here the stub keeps it to seconds, and
the classifier training and evaluation are real (MiniLM, one epoch).
"""

from __future__ import annotations

import json

from emopillars.cli.main import main as cli_main
from emopillars.testing.stub_server import start_stub_server


def test_demo_synthesizes_trains_and_evaluates_stub_server(tmp_path, minilm_path, capsys):
    server = start_stub_server()
    try:
        out = tmp_path / "demo"
        code = cli_main(
            ["demo", "--out", str(out), "--llm", f"openai:{server.url}#stub", "--epochs", "1", "--no-progress"]
        )
    finally:
        server.shutdown()
    printed = capsys.readouterr().out
    assert code == 0, printed
    manifest = json.loads((out / "synthesis" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["plots"] == 5
    assert (out / "model").is_dir()
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert 0.0 <= metrics["macro_f1"] <= 1.0 and metrics["n_examples"] > 0
    for needle in ("macro-F1", "manifest", str(out / "model"), "report.md", "labels per example"):
        assert needle in printed
