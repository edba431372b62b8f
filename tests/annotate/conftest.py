"""A small synthetic dataset to annotate, and a headless Chromium for the HTML form.

The browser: Debian's ``chromium`` driven by Playwright from PyPI (never a downloaded browser), launched
with the shared flags of :mod:`emopillars.testing.browser` and a fresh profile folder. Tests that need it
skip with the reason when Playwright or the browser is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from emopillars.data.records import Provenance, SyntheticRecord
from emopillars.testing.browser import CHROMIUM_ARGS

EMOTIONS = ["joy", "anger", "fear", "sadness", "curiosity", "relief", "pride", "neutral"]


def _records(n: int = 24) -> list[SyntheticRecord]:
    out = []
    for i in range(n):
        first, second = EMOTIONS[i % len(EMOTIONS)], EMOTIONS[(i + 3) % len(EMOTIONS)]
        labels = {first: 0.8, second: 0.4} if first != "neutral" else {"neutral": 0.9}
        has_context = i % 3 == 0
        out.append(
            SyntheticRecord(
                record_id=f"rec-{i:03d}",
                plot_id=f"plot-{i % 4}",
                actor_id=f"plot-{i % 4}-a{i % 2}",
                actor=f"Actor {i % 2}",
                requested_emotion=first,
                utterance=f'Thought number {i}: the <b>boat</b> & the "harbour" again.',
                context=f"Context {i}: the storm had passed </script> and the pier was empty."
                if has_context
                else None,
                cleaned_context=f"Cleaned context {i}: the pier was empty." if has_context else None,
                rewritten_utterance=f"Rewritten {i}: so the boat is back." if has_context else None,
                labels=labels,
                raw_labels=dict(labels),
                positive_labels=list(labels),
                split="train",
                provenance=Provenance(model="fixture"),
            )
        )
    return out


@pytest.fixture
def dataset_file(tmp_path) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(r.model_dump_json() + "\n" for r in _records()), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("EMOPILLARS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def browser_context(chromium_path, tmp_path_factory):
    """A persistent Chromium context (fresh profile folder, downloads allowed), shared by the module's tests.

    Module scope: Playwright's sync API allows one instance per thread, so it must be closed before another
    module's browser fixture (the served page's, tests/conftest.py) starts its own."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
    )
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            viewport={"width": 1100, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
