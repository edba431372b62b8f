"""The annotation form: one self-contained HTML file per annotator, no server, no network.

The template (``form.html`` beside this module) holds the page and its script; the kit's data for one
annotator (items in that annotator's order, without the teacher's labels; labels and definitions) is
embedded as JSON. In the browser: the 28 labels as checkboxes (their definitions as tooltips and in a
table), at most ``max_labels`` per item, "none of these" as an explicit answer, the context behind a
button, answers kept in ``localStorage`` as they are given, and a button that downloads them as CSV with
the columns ``item_id``, ``labels`` (names joined by ``;``; empty for "none") and ``annotator``. Every text
is put into the page with ``textContent``, never parsed as HTML.
"""

from __future__ import annotations

import html
import json
import string
from pathlib import Path

from emopillars.annotate.kit import Kit, guidelines
from emopillars.taxonomy import DEFINITIONS

TEMPLATE = Path(__file__).with_name("form.html")


def form_data(kit: Kit, annotator: str) -> dict:
    by_id = {item.item_id: item for item in kit.items}
    return {
        "kit_id": kit.kit_id,
        "annotator": annotator,
        "max_labels": kit.max_labels,
        "guidelines": guidelines(kit.max_labels),
        "labels": kit.labels,
        "definitions": {label: DEFINITIONS.get(label, "") for label in kit.labels},
        "items": [
            {"item_id": i, "text": by_id[i].text, "context": by_id[i].context or ""} for i in kit.annotators[annotator]
        ],
    }


def render_form(kit: Kit, annotator: str) -> str:
    data = json.dumps(form_data(kit, annotator), ensure_ascii=False)
    # Inside <script>, "</script" or "<!--" in a text would end or confuse the element: no "<" at all.
    data = data.replace("<", "\\u003c")
    template = string.Template(TEMPLATE.read_text(encoding="utf-8"))
    return template.substitute(title=html.escape(f"Emotion annotation - {annotator}"), data=data)
