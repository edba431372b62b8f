"""The HTML annotation form in a real headless Chromium: it renders, limits 5 labels, reveals the context on a
click, keeps answers across a reload, and its downloaded CSV scores like the answers that were ticked."""

from __future__ import annotations

import csv
import io
import random

import numpy as np
import pytest

from emopillars.annotate import export_kit, score_kit
from emopillars.annotate.answers import read_answers
from emopillars.stats.agreement import agreement
from emopillars.stats.source import load_source
from emopillars.taxonomy import LABELS

pytestmark = pytest.mark.timeout(300)


def tick(page, item_id: str, labels: set[str]) -> None:
    card = page.locator(f"#item-{item_id}")
    if not labels:
        card.locator("input.none-box").check()
        return
    for label in labels:
        card.locator(f'input[type=checkbox][value="{label}"]').check()


def wait_until_stored(context, url: str, item_id: str, labels: list[str]) -> None:
    """Chromium hands a page's ``localStorage`` writes to its browser process asynchronously, so a reload right
    after a tick can read the state from before it on a loaded machine (seen once in CI). A second page of the
    same origin reads the browser process's copy: wait there until it holds the answer, then reload."""
    probe = context.new_page()
    probe.goto(url)
    probe.wait_for_function(
        """([id, labels]) => Object.keys(localStorage).some((key) => {
            const answer = (JSON.parse(localStorage.getItem(key) || "{}") || {})[id];
            return !!answer && JSON.stringify(answer.labels) === JSON.stringify(labels);
        })""",
        arg=[item_id, labels],
    )
    probe.close()


def download(page) -> str:
    with page.expect_download() as info:
        page.click("#download")
    return open(info.value.path(), encoding="utf-8").read()


def test_form_renders_screenshot(browser_context, dataset_file, tmp_path):
    from PIL import Image

    export_kit(load_source(dataset_file), tmp_path / "kit", n=6, annotators=1, seed=0)
    page = browser_context.new_page()
    page.goto((tmp_path / "kit" / "form-A1.html").as_uri())
    assert page.locator("section.item").count() == 6
    assert page.locator("section.item").first.locator("input[type=checkbox]").count() == len(LABELS) + 1
    assert page.locator("#progress").inner_text() == "0 / 6 answered"
    # the item text is shown as text, not parsed as HTML
    assert "<b>boat</b>" in page.locator("section.item .utterance").first.inner_text()
    shot = tmp_path / "form.png"
    page.screenshot(path=str(shot))
    image = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int32)
    assert image.shape[0] >= 800 and image.shape[1] >= 1000
    assert image.std() > 20  # not a blank page
    header = np.all(np.abs(image - np.array([32, 58, 92])) <= 3, axis=-1)  # the header's colour #203a5c
    assert header.mean() > 0.02
    page.close()


def test_form_limits_context_and_storage(browser_context, dataset_file, tmp_path):
    kit = export_kit(load_source(dataset_file), tmp_path / "kit", n=24, annotators=1, seed=0)
    page = browser_context.new_page()
    url = (tmp_path / "kit" / "form-A1.html").as_uri()
    page.goto(url)
    first = kit.annotators["A1"][0]
    card = page.locator(f"#item-{first}")
    for label in LABELS[:5]:
        card.locator(f'input[value="{label}"]').check()
    assert card.locator(f'input[value="{LABELS[5]}"]').is_disabled()  # at most 5
    assert card.locator(".count").inner_text() == "5 / 5 chosen"
    card.locator(f'input[value="{LABELS[0]}"]').uncheck()
    assert card.locator(f'input[value="{LABELS[5]}"]').is_enabled()
    with_context = next(i for i in kit.annotators["A1"] if kit.items[kit.item_ids().index(i)].context)
    context_card = page.locator(f"#item-{with_context}")
    assert not context_card.locator(".context").is_visible()
    context_card.locator(".context-toggle").click()
    assert context_card.locator(".context").is_visible()
    assert "Cleaned context" in context_card.locator(".context").inner_text()
    wait_until_stored(browser_context, url, first, list(LABELS[1:5]))
    page.reload()
    card = page.locator(f"#item-{first}")
    assert [card.locator(f'input[value="{label}"]').is_checked() for label in LABELS[:5]] == [
        False,
        True,
        True,
        True,
        True,
    ]
    assert page.locator("#progress").inner_text() == "1 / 24 answered"
    page.close()


def test_fill_download_score_round_trip(browser_context, dataset_file, tmp_path):
    kit = export_kit(load_source(dataset_file), tmp_path / "kit", n=8, annotators=3, seed=4)
    rng = random.Random(11)
    intended: dict[str, dict[str, set[str]]] = {}
    files = []
    for name, order in kit.annotators.items():
        page = browser_context.new_page()
        page.goto((tmp_path / "kit" / f"form-{name}.html").as_uri())
        page.evaluate("window.localStorage.clear()")
        page.reload()
        intended[name] = {}
        for item_id in order:
            item = kit.items[kit.item_ids().index(item_id)]
            labels = set(item.teacher_labels) if rng.random() < 0.6 else set(rng.sample(LABELS, rng.randint(0, 3)))
            intended[name][item_id] = labels
            tick(page, item_id, labels)
        text = download(page)
        assert "Saved all 8 answers" in page.locator("#status").inner_text()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["item_id"] for r in rows] == order  # the annotator's own order
        assert {r["item_id"]: set(filter(None, r["labels"].split(";"))) for r in rows} == intended[name]
        assert all(r["annotator"] == name for r in rows)
        files.append(tmp_path / f"answers-{name}.csv")
        files[-1].write_text(text, encoding="utf-8")
        assert read_answers(files[-1], kit.item_ids(), LABELS, 5) == intended[name]
        page.close()
    report = score_kit(tmp_path / "kit", files)
    expected = agreement(intended, LABELS, kit.item_ids())
    assert report["agreement"]["cohen"]["mean_pooled"] == pytest.approx(expected["cohen"]["mean_pooled"])
    assert report["agreement"]["fleiss"]["pooled"] == pytest.approx(expected["fleiss"]["pooled"])


def test_partial_download_says_what_is_missing(browser_context, dataset_file, tmp_path):
    kit = export_kit(load_source(dataset_file), tmp_path / "kit", n=5, annotators=1, seed=9)
    page = browser_context.new_page()
    page.goto((tmp_path / "kit" / "form-A1.html").as_uri())
    tick(page, kit.annotators["A1"][0], {"joy"})
    text = download(page)
    assert text.splitlines() == ["item_id,labels,annotator", f"{kit.annotators['A1'][0]},joy,A1"]
    assert "4 item(s) still unanswered" in page.locator("#status").inner_text()
    page.close()
