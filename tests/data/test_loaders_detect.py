from __future__ import annotations

import json

import pytest

from emopillars.data.loaders import FORMATS, DataFormatError, detect_format, load, options_of

PROV = {"provenance": {"model": "m"}}
SAMPLES = {
    "goemotions": ("a.tsv", "I love this bridge.\t0,18\tc1\nNope.\t27\tc2\n"),
    "emocontext": ("b.txt", "id\tturn1\tturn2\tturn3\tlabel\n0\thi\thello\tugh\tangry\n"),
    "isear": ("c.csv", "emotion,text\njoy,When I got the letter.\nfear,Thunder at night.\n"),
    "emopillars_csv": ("d.csv", f"text,{','.join(map(str, range(28)))}\nHey,{','.join(['0'] * 27 + ['1'])}\n"),
    "synthetic": (
        "e.jsonl",
        json.dumps({"record_id": "r", "plot_id": "p", "actor_id": "a", "actor": "B", "utterance": "u"} | PROV) + "\n",
    ),
    "generic_jsonl": ("f.jsonl", '{"text": "Hi", "label": "joy"}\n'),
    "generic_csv": ("g.csv", "text,emotion\nHi there,elation\n"),  # not ISEAR: emotion outside its 7 classes
}


@pytest.mark.parametrize("expected", sorted(SAMPLES))
def test_detects_each_format(tmp_path, expected):
    name, text = SAMPLES[expected]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert detect_format(path) == expected
    assert len(load(path)) >= 1


def test_format_override(tmp_path):
    path = tmp_path / "looks_like_isear.csv"
    path.write_text("emotion,text\njoy,When I got the letter.\n", encoding="utf-8")
    assert load(path).label_names == ["joy", "fear", "anger", "sadness", "disgust", "shame", "guilt"]
    data = load(path, format="generic_csv", label_column="emotion")
    assert data.label_names == ["joy"]


def test_unknown_file_format_option_and_missing_file(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# just some notes\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="cannot detect the format"):
        load(path)
    with pytest.raises(ValueError, match="unknown data format 'xml'"):
        load(path, format="xml")
    with pytest.raises(ValueError, match="does not take option"):
        load(path, format="goemotions", variant="crewr")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.tsv")
    empty = tmp_path / "empty.csv"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="empty"):
        load(empty)


def test_none_options_are_ignored_and_formats_listed(tmp_path):
    name, text = SAMPLES["goemotions"]
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert len(load(tmp_path / name, variant=None)) == 2
    assert set(FORMATS) >= {"goemotions", "isear", "emocontext", "emopillars_csv", "synthetic", "hf"}
    assert "variant" in options_of("synthetic") and "text_column" in options_of("generic_csv")


def test_hub_is_a_clear_error_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(ValueError, match="could not load hf:nobody/no-such-dataset"):
        load("hf:nobody/no-such-dataset")


def test_a_text_starting_with_a_bracket_is_not_json(tmp_path):
    """GoEmotions rows often start with "[NAME]": such a file is still the TSV it looks like."""
    from emopillars.data.loaders import detect_format, load

    path = tmp_path / "dev.tsv"
    path.write_text("[NAME] sees all\t27\tef14a5b\n{not json} either\t0,15\teeezvpp\n", encoding="utf-8")
    assert detect_format(path) == "goemotions"
    assert [e.text for e in load(path)] == ["[NAME] sees all", "{not json} either"]
    json_in_txt = tmp_path / "rows.txt"
    json_in_txt.write_text('{"text": "hi", "label": "joy"}\n', encoding="utf-8")
    assert detect_format(json_in_txt) == "generic_jsonl"
