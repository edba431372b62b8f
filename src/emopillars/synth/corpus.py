"""Narrative corpora: read stories from JSONL, CSV, TXT or WikiPlots' layout, sample them, fit them to a budget.

Every reader returns :class:`Plot` objects. Which reader runs is chosen from the path (a directory
holding ``plots`` + ``titles`` is WikiPlots; otherwise the file suffix), or forced with ``format``.

Fitting a long plot to the teacher's context (:func:`fit_to_budget`): we keep whole sentences from
the start of the story up to a character budget (``max_tokens * chars_per_token``; by default
1,500 tokens estimated at 4 characters per token = 6,000 characters). The start of a plot summary
introduces its characters, which is what the actor and utterance steps need most; cutting at a
sentence boundary keeps the text readable. A single sentence longer than the budget is cut at a
word boundary.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "txt", "wikiplots")
TEXT_FIELDS = ("text", "plot", "story", "summary", "content")
ID_FIELDS = ("id", "plot_id", "story_id")
TITLE_FIELDS = ("title", "name")


class CorpusError(ValueError):
    """A corpus that cannot be read: names the file (and line) and what is wrong."""


@dataclass(frozen=True)
class Plot:
    """One narrative the synthetic data is grounded in."""

    id: str
    title: str | None
    text: str

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "text": self.text}

    @classmethod
    def from_dict(cls, row: dict) -> Plot:
        return cls(str(row["id"]), row.get("title"), str(row["text"]))


def detect_format(path: Path) -> str:
    if path.is_dir():
        if (path / "plots").exists():
            return "wikiplots"
        return "txt"
    if path.name == "plots" or (path.suffix == "" and (path.parent / "titles").exists()):
        return "wikiplots"
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in {".csv", ".tsv"}:
        return "csv"
    if suffix in {".txt", ".text", ".md"}:
        return "txt"
    raise CorpusError(f"{path}: cannot tell the corpus format from the name; pass format= one of {FORMATS}")


def read_corpus(
    path: str | Path,
    *,
    format: str | None = None,
    text_field: str | None = None,
    id_field: str | None = None,
    title_field: str | None = None,
) -> list[Plot]:
    """All plots of a corpus, in file order. Raises :class:`CorpusError` / FileNotFoundError on bad input."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"corpus not found: {path}")
    fmt = format or detect_format(path)
    try:
        plots = _read(path, fmt, text_field=text_field, id_field=id_field, title_field=title_field)
    except UnicodeDecodeError as exc:  # the readers that decode whole files
        raise _not_utf8(path, exc) from None
    except IsADirectoryError:
        raise CorpusError(f"{path}: a folder, not a {fmt} file (a folder holds .txt stories or WikiPlots)") from None
    _check_unique_ids(plots, path)
    return plots


def _read(path: Path, fmt: str, **fields) -> list[Plot]:
    text_field, id_field, title_field = fields["text_field"], fields["id_field"], fields["title_field"]
    if fmt == "jsonl":
        plots = read_jsonl(path, text_field=text_field, id_field=id_field, title_field=title_field)
    elif fmt == "csv":
        plots = read_csv(path, text_field=text_field, id_field=id_field, title_field=title_field)
    elif fmt == "txt":
        plots = read_txt(path)
    elif fmt == "wikiplots":
        plots = read_wikiplots(path)
    else:
        raise CorpusError(f"unknown corpus format {fmt!r}; expected one of {FORMATS}")
    return plots


def _pick_field(keys: Iterable[str], wanted: str | None, candidates: tuple[str, ...], what: str, where: str) -> str:
    keys = list(keys)
    if wanted:
        if wanted not in keys:
            raise CorpusError(f"{where}: no {what} field {wanted!r} (fields: {', '.join(keys)})")
        return wanted
    for candidate in candidates:
        if candidate in keys:
            return candidate
    raise CorpusError(f"{where}: no {what} field among {candidates}; pass the field name (fields: {', '.join(keys)})")


def _optional_field(keys: Iterable[str], wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    keys = list(keys)
    if wanted:
        return wanted if wanted in keys else None
    return next((c for c in candidates if c in keys), None)


def _make_plot(
    row: dict, index: int, text_key: str, id_key: str | None, title_key: str | None, stem: str, where: str
) -> Plot:
    """A plot from one row; :class:`CorpusError` naming ``where`` (file:line) for a malformed field."""
    text = row.get(text_key)
    if text is None or not isinstance(text, str):
        raise CorpusError(f"{where}: malformed story: the text field {text_key!r} is {_kind(text)}, expected a string")
    raw_id = row.get(id_key) if id_key else None
    if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, str | int)):
        raise CorpusError(f"{where}: malformed id: {id_key!r} is {_kind(raw_id)}, expected a string or an integer")
    title = row.get(title_key) if title_key else None
    if title is not None and (isinstance(title, bool) or not isinstance(title, str | int | float)):
        raise CorpusError(f"{where}: malformed title: {title_key!r} is {_kind(title)}, expected a string")
    return Plot(
        id=str(raw_id).strip() if raw_id not in (None, "") else f"{stem}_{index:06d}",
        title=str(title).strip() if title not in (None, "") else None,
        text=text.strip(),
    )


def _kind(value) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _not_utf8(path: Path, exc: UnicodeDecodeError, line_no: int | None = None) -> CorpusError:
    where = f"{path}:{line_no}" if line_no else str(path)
    return CorpusError(
        f"{where}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position {exc.start}); convert the file to "
        "UTF-8 first, e.g. iconv -f latin1 -t utf-8"
    )


def read_jsonl(
    path: Path, *, text_field: str | None = None, id_field: str | None = None, title_field: str | None = None
) -> list[Plot]:
    """One JSON object per line. The text field is auto-detected (``text``, ``plot``, ...) unless given."""
    plots: list[Plot] = []
    keys: tuple[str | None, str | None, str] | None = None
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, exc, line_no) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise CorpusError(f"{path}:{line_no}: expected a JSON object, got {type(row).__name__}")
            where = f"{path}:{line_no}"
            if keys is None:
                keys = (
                    _optional_field(row, id_field, ID_FIELDS),
                    _optional_field(row, title_field, TITLE_FIELDS),
                    _pick_field(row, text_field, TEXT_FIELDS, "text", where),
                )
            id_key, title_key, text_key = keys
            if text_key not in row:
                raise CorpusError(f"{where}: missing the text field {text_key!r}")
            plots.append(_make_plot(row, len(plots), text_key, id_key, title_key, path.stem, where))
    return plots


@contextlib.contextmanager
def _csv_field_limit(limit: int):
    """The csv module's field limit raised for one read (a story may be longer than its 131,072 characters), then
    put back: the limit is process-wide, and the data loaders rely on it to report an unclosed quote."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def read_csv(
    path: Path, *, text_field: str | None = None, id_field: str | None = None, title_field: str | None = None
) -> list[Plot]:
    """A CSV (or TSV) with a header row."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with _csv_field_limit(2**31 - 1), open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        try:
            if not reader.fieldnames:
                return []
            where = f"{path}:1"
            text_key = _pick_field(reader.fieldnames, text_field, TEXT_FIELDS, "text", where)
            id_key = _optional_field(reader.fieldnames, id_field, ID_FIELDS)
            title_key = _optional_field(reader.fieldnames, title_field, TITLE_FIELDS)
            plots = []
            for i, row in enumerate(reader):
                if row.get(text_key) is None:  # a short row: fewer fields than the header
                    raise CorpusError(f"{path}:{reader.line_num}: malformed row: no value for {text_key!r}")
                plots.append(_make_plot(row, i, text_key, id_key, title_key, path.stem, f"{path}:{reader.line_num}"))
            return plots
        except csv.Error as exc:
            raise CorpusError(f"{path}:{reader.line_num}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, exc) from None


def read_txt(path: Path) -> list[Plot]:
    """A folder of ``*.txt`` files (one story each, id = file stem, title = first line if short),
    or one text file with stories separated by blank lines."""
    if path.is_dir():
        plots = []
        for file in sorted(path.glob("*.txt")):
            try:
                text = file.read_text(encoding="utf-8-sig").strip()
            except UnicodeDecodeError as exc:
                raise _not_utf8(file, exc) from None
            first, _, rest = text.partition("\n")
            title = first.strip() if rest.strip() and len(first) <= 120 and not first.rstrip().endswith(".") else None
            plots.append(Plot(file.stem, title, rest.strip() if title else text))
        return plots
    text = path.read_text(encoding="utf-8-sig")
    stories = [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]
    return [Plot(f"{path.stem}_{i:06d}", None, " ".join(story.split())) for i, story in enumerate(stories)]


def read_wikiplots(path: Path) -> list[Plot]:
    """WikiPlots' layout: ``plots`` (one sentence per line, a line ``<EOS>`` ends each story) and ``titles``
    (one title per line, same order). ``path`` is the folder or the ``plots`` file."""
    plots_file = path / "plots" if path.is_dir() else path
    titles_file = plots_file.parent / "titles"
    if not plots_file.exists():
        raise FileNotFoundError(f"WikiPlots layout: {plots_file} not found")
    titles = titles_file.read_text(encoding="utf-8").splitlines() if titles_file.exists() else []
    if not titles:
        logger.warning("WikiPlots layout: no titles file beside %s; plots get no titles", plots_file)
    stories: list[str] = []
    current: list[str] = []
    with open(plots_file, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line == "<EOS>":
                stories.append(" ".join(current))
                current = []
            elif line:
                current.append(line)
    if current:
        stories.append(" ".join(current))
    if titles and len(titles) != len(stories):
        raise CorpusError(f"{plots_file}: {len(stories)} stories but {len(titles)} titles in {titles_file}")
    return [
        Plot(f"wikiplots_{i:06d}", titles[i].strip() if titles else None, story) for i, story in enumerate(stories)
    ]


def _check_unique_ids(plots: list[Plot], path: Path) -> None:
    seen: set[str] = set()
    for plot in plots:
        if plot.id in seen:
            raise CorpusError(f"{path}: duplicate plot id {plot.id!r}; ids must be unique")
        seen.add(plot.id)


def filter_min_length(plots: list[Plot], min_chars: int) -> list[Plot]:
    """Plots with at least ``min_chars`` characters: very short plots give thin grounding."""
    return [plot for plot in plots if len(plot.text) >= min_chars]


def sample_plots(plots: list[Plot], n: int | None, seed: int) -> list[Plot]:
    """``n`` plots drawn without replacement with ``seed``, kept in corpus order (all when n is None or >= len)."""
    if n is None or n >= len(plots):
        return list(plots)
    chosen = sorted(random.Random(seed).sample(range(len(plots)), n))
    return [plots[i] for i in chosen]


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def fit_to_budget(text: str, max_tokens: int = 1500, chars_per_token: float = 4.0) -> str:
    """Whole sentences from the start, up to ``max_tokens * chars_per_token`` characters (see module doc)."""
    text = re.sub(r"\[\d+\]", "", text)  # Wikipedia reference markers
    text = re.sub(r"[ \t]+", " ", text).strip()
    budget = int(max_tokens * chars_per_token)
    if len(text) <= budget:
        return text
    kept = ""
    for match in _SENTENCE_END.finditer(text):
        if match.start() > budget:
            break
        kept = text[: match.start()]
    if not kept:
        kept = text[:budget].rsplit(" ", 1)[0]
    return kept.strip()


def prepare_plots(
    plots: list[Plot],
    *,
    n: int | None = None,
    seed: int = 0,
    min_chars: int = 0,
    max_tokens: int = 1500,
    chars_per_token: float = 4.0,
) -> list[Plot]:
    """Filter by length, sample, and fit each plot to the budget: the plots a run works on."""
    kept = filter_min_length(plots, min_chars)
    sampled = sample_plots(kept, n, seed)
    return [Plot(p.id, p.title, fit_to_budget(p.text, max_tokens, chars_per_token)) for p in sampled]
