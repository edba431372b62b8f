"""Loading a script of benchmarks/ as a module (the folder is not a package; its scripts import their siblings)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="session")
def benchmark_script():
    """``load(stem, module_name=stem)``: benchmarks/<stem>.py executed as a fresh module; benchmarks/ goes on
    ``sys.path`` so that its ``from _machine import ...`` style imports resolve."""

    def load(stem: str, module_name: str | None = None):
        if str(BENCH) not in sys.path:
            sys.path.insert(0, str(BENCH))
        spec = importlib.util.spec_from_file_location(module_name or stem, BENCH / f"{stem}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
