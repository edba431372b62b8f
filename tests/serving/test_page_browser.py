"""The try-the-model page in a real headless browser: type a text, click, see the 28 scores as sorted bars."""

from __future__ import annotations

import shutil

import httpx
import pytest

from emopillars.taxonomy import LABELS

SCREENSHOTS = "EMOPILLARS_SCREENSHOTS"


def _keep(path, name: str) -> None:
    """Copy a screenshot where a person can look at it (``$EMOPILLARS_SCREENSHOTS``), when set."""
    import os

    folder = os.environ.get(SCREENSHOTS)
    if folder:
        os.makedirs(folder, exist_ok=True)
        shutil.copy(path, os.path.join(folder, name))


def test_page_predicts_and_draws_sorted_bars(browser_page, tiny_model, start_server, tmp_path):
    server = start_server(tiny_model)
    page = browser_page
    page.goto(server.url + "/")
    page.wait_for_function("document.getElementById('meta').textContent.startsWith('model ')")
    assert page.is_hidden("#context-box")  # a context-less model shows no context box
    text = "Thank you so much for your help, I really appreciate it."
    page.fill("#text", text)
    page.click("#predict")
    page.wait_for_selector("#bars .row")
    rows = page.eval_on_selector_all(
        "#bars .row",
        "rows => rows.map(r => ({label: r.dataset.label, score: parseFloat(r.dataset.score),"
        " width: r.querySelector('.fill').getBoundingClientRect().width,"
        " track: r.querySelector('.track').getBoundingClientRect().width,"
        " positive: r.classList.contains('positive')}))",
    )
    assert sorted(row["label"] for row in rows) == sorted(LABELS)
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True)
    for row in rows:  # each bar is drawn to scale
        assert row["width"] == pytest.approx(row["score"] * row["track"], abs=1.5)
    api = httpx.post(server.url + "/predict", json={"text": text}, timeout=120).json()
    assert {row["label"] for row in rows if row["positive"]} == set(api["labels"])
    for row in rows:
        assert row["score"] == pytest.approx(api["scores"][row["label"]], abs=1e-5)
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    _keep(shot, "serve-page.png")


def test_page_shows_the_context_box_for_a_context_aware_model_and_errors_inline(
    browser_page, tiny_context_model, start_server, tmp_path
):
    server = start_server(tiny_context_model, "--max-text-chars", "50")
    page = browser_page
    page.goto(server.url + "/")
    page.wait_for_function("document.getElementById('meta').textContent.includes('context-aware')")
    assert page.is_visible("#context")
    page.fill("#context", "The cake fell on the floor.")
    page.fill("#text", "Well, that went well.")
    page.click("#predict")
    page.wait_for_selector("#bars .row")
    assert page.eval_on_selector_all("#bars .row", "rows => rows.length") == len(LABELS)
    page.fill("#text", "x" * 60)  # over the server's limit: the page shows the server's message
    page.click("#predict")
    page.wait_for_function("document.getElementById('error').textContent.length > 0")
    assert "at most 50" in page.text_content("#error")
    shot = tmp_path / "page-context.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot, "serve-page-context.png")
