from __future__ import annotations

import pytest

from emopillars.data.loaders import DataFormatError, load
from emopillars.taxonomy import LABELS

HEADER = "text," + ",".join(str(i) for i in range(28))


def row(text, hot: dict[int, str]):
    return text + "," + ",".join(hot.get(i, "0") for i in range(28))


def write(tmp_path, lines, name="pillars.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_multi_hot_rows_map_to_taxonomy(tmp_path):
    lines = [
        HEADER,
        row("I wonder what waits for us past the mountains.", {7: "1", 20: "1"}),
        row('"Well, that lantern finally gave up."', {9: "1"}),
        row("Soft row.", {17: "0.6", 27: "0.2"}),
    ]
    data = load(write(tmp_path, lines))
    assert data.label_names == list(LABELS) and data.multi_label
    assert data[0].labels == {"curiosity": 1.0, "optimism": 1.0}
    assert data[1].text == "Well, that lantern finally gave up."
    assert data[2].labels == {"joy": 0.6, "neutral": 0.2}
    assert data.targets()[2].tolist().count(1.0) == 1  # 0.2 is below the 0.3 positive threshold


def test_bad_values_and_widths(tmp_path):
    path = write(tmp_path, [HEADER, row("ok", {0: "1"}), row("bad", {3: "yes"}), "short,1,0"])
    with pytest.raises(DataFormatError, match="line 3: label columns"):
        load(path)
    assert load(path, skip_bad=True).skipped == 2


def test_wrong_header(tmp_path):
    with pytest.raises(DataFormatError, match="text,0,1"):
        load(write(tmp_path, ["text,0,1", "x,1,0"]), format="emopillars_csv")
