"""The output folder's own files, damaged: each is reported with its name and how to repair it, and the repair
resumes the run without losing (or redoing) finished work. The teacher is the fault server in its own process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emopillars.synth import ConfigMismatchError, DamagedRunError, SynthesisConfig, synthesize
from emopillars.testing.fault_server import FaultServerProcess

DEMO = Path(__file__).resolve().parents[2] / "src" / "emopillars" / "synth" / "demo_plots.jsonl"


@pytest.fixture(scope="module")
def server():
    with FaultServerProcess() as server:
        yield server


@pytest.fixture
def finished(server, tmp_path):
    """A finished run (and its dataset), with the config that made it."""
    config = SynthesisConfig(
        corpus=str(DEMO), out_dir=str(tmp_path / "run"), llm=f"openai:{server.url}#stub", cache=False,
        progress=False, max_actors=1, plots=3,
    )  # fmt: skip
    synthesize(config)
    return config, _dataset(Path(config.out_dir))


def _dataset(out: Path) -> dict[str, list[str]]:
    return {str(p.relative_to(out)): p.read_text().splitlines() for p in sorted((out / "dataset").rglob("*.jsonl"))}


def test_a_truncated_config_is_reported_as_damaged_not_as_a_different_configuration(server, finished):
    config, dataset = finished
    path = Path(config.out_dir) / "config.json"
    path.write_text(path.read_text()[:40])  # cut by a full disk or a bad copy
    with pytest.raises(DamagedRunError) as info:
        synthesize(config)
    message = str(info.value)
    assert str(path) in message and "damaged" in message and "delete" in message
    assert "different configuration" not in message and not isinstance(info.value, ConfigMismatchError)
    path.unlink()  # the repair the message gives
    calls = server.stats()["requests"]
    manifest = synthesize(config)
    assert server.stats()["requests"] == calls  # every row came from the checkpoints
    assert manifest["status"] == "complete" and _dataset(Path(config.out_dir)) == dataset


def test_a_damaged_plots_snapshot_names_the_file_and_line(finished):
    config, dataset = finished
    path = Path(config.out_dir) / "steps" / "plots.jsonl"
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:30] + "\n" + "\n".join(lines[2:]) + "\n")
    with pytest.raises(DamagedRunError, match=r"plots.jsonl:2: damaged line"):
        synthesize(config)
    path.unlink()  # chosen again from the corpus: the same plots
    assert synthesize(config)["status"] == "complete" and _dataset(Path(config.out_dir)) == dataset


@pytest.mark.parametrize("damage", ["{not json", '{"seed": 0, "counts": []}', ""])
def test_a_damaged_balancer_state_names_the_file_and_is_rebuilt_identically(finished, damage):
    config, dataset = finished
    path = Path(config.out_dir) / "steps" / "balancer.json"
    original = json.loads(path.read_text())
    path.write_text(damage)
    with pytest.raises(DamagedRunError, match=r"balancer.json is damaged .* Delete it"):
        synthesize(config)
    path.unlink()
    assert synthesize(config)["status"] == "complete" and _dataset(Path(config.out_dir)) == dataset
    assert json.loads(path.read_text()) == original  # the same plan, rebuilt from the actors checkpoint
