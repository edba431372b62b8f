"""The same bad-input rules in every loader: huge fields, NUL bytes, non-UTF-8, byte-order marks, repeated ids."""

from __future__ import annotations

import json

import pytest

from emopillars.data.loaders import DataFormatError, load

HUGE = "h" * 5_000_000


def _synthetic(record_id: str, utterance: str | None = None) -> str:
    record = {
        "record_id": record_id,
        "plot_id": "p1",
        "actor_id": "p1/a1",
        "actor": "Ann",
        "utterance": utterance or f"The letter finally came ({record_id}).",
        "labels": {"joy": 1.0},
        "provenance": {"model": "stub"},
    }
    return json.dumps(record, ensure_ascii=False)


EP_HEADER = "text," + ",".join(map(str, range(28)))
# format -> (file name, header lines, a good row builder(i, text), options); row i has id i
FORMATS = {
    "goemotions": ("g.tsv", [], lambda i, text: f"{text}\t27\t{i}", {}),
    "isear": ("i.csv", ["id,emotion,text"], lambda i, text: f'{i},joy,"{text}"', {}),
    "emocontext": ("e.txt", ["id\tturn1\tturn2\tturn3\tlabel"], lambda i, text: f"{i}\ta\tb\t{text}\thappy", {}),
    "generic_csv": ("c.csv", ["id,text,label"], lambda i, text: f'{i},"{text}",joy', {"id_column": "id"}),
    "emopillars_csv": ("p.csv", [EP_HEADER], lambda i, text: f'"{text}"' + ",0" * 27 + ",1", {}),
}  # fmt: skip
ID_FORMATS = ["goemotions", "isear", "emocontext", "generic_csv"]


def _write(tmp_path, fmt: str, rows: list[str], raw: bytes = b"") -> tuple:
    name, header, _, options = FORMATS[fmt]
    path = tmp_path / name
    path.write_bytes(("\n".join(header + rows) + "\n").encode("utf-8") + raw)
    return path, options


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_5_mb_field_names_file_and_starting_line_and_can_be_skipped(tmp_path, fmt):
    build = FORMATS[fmt][2]
    rows = [build(1, "fine"), build(2, HUGE), build(3, "also fine")]
    path, options = _write(tmp_path, fmt, rows)
    first_data_line = len(FORMATS[fmt][1]) + 1
    with pytest.raises(DataFormatError, match=rf"line {first_data_line + 1}: a field is longer than") as info:
        load(path, fmt, **options)
    assert info.value.path == str(path)
    data = load(path, fmt, skip_bad=True, **options)
    assert [e.text for e in data] == ["fine", "also fine"] and data.skipped == 1


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_nul_byte_is_a_malformed_row(tmp_path, fmt):
    build = FORMATS[fmt][2]
    path, options = _write(tmp_path, fmt, [build(1, "fine"), build(2, "bro\x00ken")])
    with pytest.raises(DataFormatError, match="NUL"):
        load(path, fmt, **options)


@pytest.mark.parametrize("fmt", [*FORMATS, "synthetic", "lines"])
def test_non_utf8_names_the_file_and_the_line(tmp_path, fmt):
    if fmt == "synthetic":
        path, options = tmp_path / "s.jsonl", {}
        path.write_bytes((_synthetic("r1") + "\n").encode() + _synthetic("r2", "caf\xe9").encode("latin-1") + b"\n")
        line = 2
    elif fmt == "lines":
        path, options = tmp_path / "t.txt", {}
        path.write_bytes(b"one\ntwo\nthr\xe9e\n")
        line = 3
    else:
        build = FORMATS[fmt][2]
        path, options = _write(tmp_path, fmt, [build(1, "fine")], build(2, "caf\xe9").encode("latin-1") + b"\n")
        line = len(FORMATS[fmt][1]) + 2
    with pytest.raises(DataFormatError, match=rf"line {line}: not valid UTF-8") as info:
        load(path, fmt, **options)
    assert info.value.path == str(path)


@pytest.mark.parametrize("fmt", [*FORMATS, "synthetic", "lines", "generic_jsonl"])
def test_a_byte_order_mark_is_never_part_of_the_first_text(tmp_path, fmt):
    if fmt == "synthetic":
        path = tmp_path / "s.jsonl"
        path.write_bytes(b"\xef\xbb\xbf" + (_synthetic("r1") + "\n").encode())
        expected, options = "The letter finally came (r1).", {}
    elif fmt == "lines":
        path = tmp_path / "t.txt"
        path.write_bytes(b"\xef\xbb\xbfFirst text\n")
        expected, options = "First text", {}
    elif fmt == "generic_jsonl":
        path = tmp_path / "g.jsonl"
        path.write_bytes(b"\xef\xbb\xbf" + b'{"text": "First text", "label": "joy"}\n')
        expected, options = "First text", {}
    else:
        name, header, build, options = FORMATS[fmt]
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + ("\n".join([*header, build(1, "First text")]) + "\n").encode())
        expected = "First text"
    assert load(path, fmt, **options)[0].text == expected


@pytest.mark.parametrize("fmt", ID_FORMATS)
def test_a_repeated_id_names_the_id_and_both_lines_or_is_skipped_keeping_the_first(tmp_path, fmt):
    build = FORMATS[fmt][2]
    path, options = _write(tmp_path, fmt, [build(1, "first"), build(2, "second"), build(1, "again")])
    offset = len(FORMATS[fmt][1])
    with pytest.raises(DataFormatError, match=rf"line {offset + 3}: duplicate id '1' \(first on line {offset + 1}\)"):
        load(path, fmt, **options)
    data = load(path, fmt, skip_bad=True, **options)
    assert [e.text for e in data] == ["first", "second"] and data.skipped == 1


def test_a_repeated_synthetic_record_id_is_refused(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join([_synthetic("r1"), _synthetic("r2"), _synthetic("r1")]) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"line 3: duplicate id 'r1' \(first on line 1\)"):
        load(path)
    assert [e.id for e in load(path, skip_bad=True)] == ["r1", "r2"]


def test_lines_format_skips_blank_lines_and_numbers_by_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("  one  \n\n\r\ntwo\r\n", encoding="utf-8")
    data = load(path, "lines")
    assert [(e.id, e.text) for e in data] == [("1", "one"), ("4", "two")]
    assert data.label_names == [] and all(not e.labels for e in data)
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(DataFormatError, match="empty"):
        load(tmp_path / "blank.txt", "lines")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x1f\x8b\x08\x00" + bytes(range(200)), "gzip-compressed"),
        ("text\tlabel\n".encode("utf-16"), "UTF-16"),
        (b"ok\t27\tid1\n\xff\xfe\xfa garbage\t27\tid2\n", r"line 2: not valid UTF-8"),
        (b"ok\t27\tid1\nbro\x00ken\t27\tid2\n", r"line 2: holds NUL bytes"),
    ],
)
def test_format_detection_names_binary_and_foreign_encodings(tmp_path, content, reason):
    path = tmp_path / "data.tsv"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=reason):
        load(path)
