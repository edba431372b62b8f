"""Dataset-report benchmark: wall time of ``emopillars inspect`` on ~10K records, and the report's statistics
beside the paper's on a real-teacher run.

    python benchmarks/data_report.py --real runs/neutral-base                     # time + statistics table
    python benchmarks/data_report.py --real runs/neutral-base --neutral-after runs/neutral-topics \
        --markdown BENCHMARKS.md                                              # + neutral diversity before/after

1. **Wall time.** A synthesis run against the zero-latency stub server (``emopillars.testing``; a
   deterministic stand-in for a teacher, so the texts are template-like but the records, contexts and
   manifest are real) on ``--plots`` Wikipedia plots gives ~10K records. On it, in one process: loading
   the records alone (the floor), ``inspect`` without embeddings, and ``inspect`` with the default
   MiniLM embeddings (at most 2,000 texts encoded per measure); each as a ratio to the load alone. The
   exact closed-form similarity means are also timed against the obvious baseline, the full pairwise
   cosine matrix of the same embedded texts.
2. **Statistics.** ``inspect`` on a real-teacher run (``--real DIR``, e.g. Qwen2.5-Coder-1.5B on
   Wikipedia plots), every embedded text (no limit): our figures beside the paper's.
3. **Neutral diversity** (``--neutral-after DIR``): the same figures for a second run made with the
   neutral-diversity option on the same plots, side by side with ``--real``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Scripts here once had stdlib names (inspect.py): keep this folder off the path when run as a script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import numpy as np  # noqa: E402

from emopillars.settings import data_dir  # noqa: E402
from emopillars.stats import diversity  # noqa: E402
from emopillars.stats.embeddings import Embedder  # noqa: E402
from emopillars.stats.paper import PAPER, PERCENT  # noqa: E402
from emopillars.stats.report import ReportOptions, build_report, inspect_dataset  # noqa: E402
from emopillars.stats.source import load_source  # noqa: E402
from emopillars.synth import SynthesisConfig, synthesize  # noqa: E402

_spec = importlib.util.spec_from_file_location("_machine", HERE / "_machine.py")
_machine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_machine)
cpu_model = _machine.cpu_model

SECTION = "## Dataset report (`emopillars inspect`)"


def start_stub():
    from emopillars.testing.stub_server import start_stub_server

    return start_stub_server()


def stub_run(out: Path, plots: int) -> Path:
    wiki = (data_dir() or Path("/nonexistent")) / "narratives" / "wikipedia_british_movie_plots.jsonl"
    if not wiki.exists():
        raise SystemExit(f"{wiki} not found: set EMOPILLARS_DATA")
    server = start_stub()
    try:
        config = SynthesisConfig(
            corpus=str(wiki),
            out_dir=str(out),
            llm=f"openai:{server.url}#stub",
            cache=False,
            progress=False,
            plots=plots,
            min_plot_chars=400,
            max_actors=3,
            concurrency=16,
            parquet=False,
        )
        synthesize(config)
    finally:
        server.shutdown()
    return out


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def wall_time(run_dir: Path, work: Path) -> dict:
    source, load_s = timed(lambda: load_source(run_dir))
    n = len(source.records)
    (report_plain, _), plain_s = timed(
        lambda: inspect_dataset(run_dir, work / "plain", None, ReportOptions(embeddings=False))
    )
    (report_embed, _), embed_s = timed(lambda: inspect_dataset(run_dir, work / "embed", None, ReportOptions()))
    # closed form vs the full pairwise matrix on the same texts
    with_actor = [r for r in source.records if r.actor_id]
    chosen = diversity.sample_groups([r.actor_id for r in with_actor], 2000)
    vectors = Embedder().encode([with_actor[i].text for i in chosen])
    groups = [with_actor[i].actor_id for i in chosen]
    exact, closed_s = timed(lambda: diversity.group_similarity(vectors, groups))

    def brute():
        gram = vectors @ vectors.T
        same = np.equal.outer(np.array(groups), np.array(groups))
        upper = np.triu(np.ones_like(same, dtype=bool), 1)
        return float(gram[same & upper].mean()), float(gram[~same & upper].mean())

    (within, across), brute_s = timed(brute)
    assert abs(within - exact["within"]) < 1e-4 and abs(across - exact["across"]) < 1e-4
    return {
        "records": n,
        "load_s": load_s,
        "plain_s": plain_s,
        "embed_s": embed_s,
        "plain_parts": report_plain["timing_s"],
        "embed_parts": report_embed["timing_s"],
        "embedded": report_embed["diversity"]["similarity"]["all"]["texts"],
        "closed_s": closed_s,
        "brute_s": brute_s,
        "pairs": len(chosen) * (len(chosen) - 1) // 2,
        "report": report_embed,
    }


def statistics(run_dir: Path) -> dict:
    return build_report(load_source(run_dir), ReportOptions(embed_limit=None))


def per_character_within(run_dir: Path, embedder: Embedder) -> dict[str, float]:
    """Character id -> mean cosine similarity among its utterances asked to be neutral (2+ of them), as the
    teacher generated them (before the duplicate filters, which drop a character's repeated thought)."""
    return character_within(load_source(run_dir).generated or [], embedder)


def character_within(generated, embedder: Embedder) -> dict[str, float]:
    """:func:`per_character_within` on records already read (e.g. ``source.read_generated`` of a run that has
    no dataset yet)."""
    records = [r for r in generated if r.actor_id and r.requested_emotion == "neutral"]
    by_actor: dict[str, list[str]] = {}
    for record in records:
        by_actor.setdefault(record.actor_id, []).append(record.text)
    out = {}
    for actor, texts in by_actor.items():
        if len(texts) > 1:
            out[actor] = diversity.group_similarity(embedder.encode(texts), [actor] * len(texts))["within"]
    return out


def paired(before: Path, after: Path) -> dict:
    embedder = Embedder()
    return paired_within(per_character_within(before, embedder), per_character_within(after, embedder))


TIE = 1e-6  # identical texts embed to cosine 1 +- rounding: a change this small is no change


def paired_within(a: dict[str, float], b: dict[str, float]) -> dict:
    """Mean within-character similarity before (``a``) and after (``b``) on the characters both have."""
    common = sorted(set(a) & set(b))
    diffs = [b[c] - a[c] for c in common]
    return {
        "characters": len(common),
        "before": float(np.mean([a[c] for c in common])) if common else None,
        "after": float(np.mean([b[c] for c in common])) if common else None,
        "lower_after": sum(d < -TIE for d in diffs),
        "unchanged": sum(abs(d) <= TIE for d in diffs),
        "mean_change": float(np.mean(diffs)) if diffs else None,
    }


def fmt(value, digits=3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def lookup(report: dict, key: str):
    node = report
    for part in key.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


EXTRA_ROWS = [
    ("generation.asked_neutral", "generated: utterances asked to be neutral"),
    ("generation.neutral_same_character_exact", "generated: neutral repeating the same character's word for word"),
    ("generation.neutral_requested.duplicates.duplicate_rate", "generated, asked neutral: exact + near duplicates"),
    ("generation.similarity.neutral_requested.within", "generated, asked neutral: within one character"),
    ("generation.similarity.neutral_requested.across", "generated, asked neutral: across characters"),
    ("generation.neutral_requested.distinct_2", "generated, asked neutral: distinct-2"),
    ("diversity.similarity.neutral_requested.texts", "dataset: utterances asked to be neutral (after the filters)"),
    ("diversity.similarity.neutral_requested.within", "utterances asked to be neutral: within one character"),
    ("diversity.similarity.neutral_requested.across", "utterances asked to be neutral: across characters"),
    ("diversity.similarity.all.within", "all utterances: within one character"),
    ("diversity.similarity.all.across", "all utterances: across characters"),
    ("diversity.utterances.distinct_2", "distinct-2 of the utterances"),
    ("diversity.neutral.distinct_2", "distinct-2 of the neutral utterances"),
    ("diversity.utterances.duplicates.near_rate", "near-duplicate rate (MinHash, Jaccard >= 0.8)"),
    ("labels.requested_vs_primary.primary_is_requested_share", "primary label = requested emotion"),
]


def stats_rows(reports: dict[str, dict]) -> list[str]:
    names = list(reports)
    header = "| statistic | " + " | ".join(names) + " | paper |"
    lines = [header, "| --- | " + " | ".join("---" for _ in names) + " | --- |"]
    for key, (value, what) in PAPER.items():
        if key in PERCENT:
            ours = [lookup(r, key) for r in reports.values()]
            cells = " | ".join("—" if v is None else f"{100 * v:.1f} %" for v in ours)
            lines.append(f"| {what} | {cells} | {100 * value:.1f} % |")
        else:
            lines.append(f"| {what} | " + " | ".join(fmt(lookup(r, key)) for r in reports.values()) + f" | {value} |")
    for key, what in EXTRA_ROWS:
        lines.append(f"| {what} | " + " | ".join(fmt(lookup(r, key)) for r in reports.values()) + " | — |")
    counts = " | ".join(
        f"{r['source']['records']} records, {lookup(r, 'diversity.similarity.neutral.texts') or 0} neutral, "
        f"{lookup(r, 'diversity.similarity.neutral_requested.groups') or 0} characters with an utterance asked to "
        "be neutral"
        for r in reports.values()
    )
    lines.append(f"| size | {counts} | 2,000 plots, 400K records |")
    return lines


def markdown(
    timing: dict | None, reports: dict[str, dict], command: str, notes: list[str], pairs: dict | None = None
) -> str:
    load = os.getloadavg()
    lines = [
        SECTION,
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: `{command}`",
        f"- machine: {os.cpu_count()} cores ({cpu_model()}), load average {load[0]:.1f} / {load[1]:.1f} at the end "
        "(shared machine)",
        *[f"- {note}" for note in notes],
        "",
    ]
    if timing:
        t = timing
        lines += [
            f"Wall time on a stub-server synthesis run of {t['records']:,} records (one process, the same run):",
            "",
            "| what | wall | vs loading alone |",
            "| --- | --- | --- |",
            f"| load the records (floor) | {t['load_s']:.2f} s | 1.0x |",
            f"| `inspect --no-embeddings` (all statistics but the similarity, plots, report) | {t['plain_s']:.2f} s | "
            f"{t['plain_s'] / t['load_s']:.1f}x |",
            f"| `inspect` (MiniLM, {t['embedded']:,} texts embedded per measure) | {t['embed_s']:.2f} s | "
            f"{t['embed_s'] / t['load_s']:.1f}x |",
            "",
            "Parts without embeddings: " + ", ".join(f"{k} {v:.2f} s" for k, v in t["plain_parts"].items()) + ".",
            "Parts with embeddings: " + ", ".join(f"{k} {v:.2f} s" for k, v in t["embed_parts"].items()) + ".",
            f"Similarity means over {t['pairs']:,} pairs: exact closed form {1000 * t['closed_s']:.1f} ms vs the full "
            f"pairwise cosine matrix {1000 * t['brute_s']:.1f} ms (x{t['brute_s'] / max(t['closed_s'], 1e-9):.0f}), "
            "same values.",
            "",
        ]
    if reports:
        lines += [
            "Statistics (`inspect`) beside the paper's (`--real` runs: every text embedded; the `--stub-stats` "
            "column: at most 2,000 texts per similarity measure, as `inspect` by default):",
            "",
        ]
        lines += stats_rows(reports) + [""]
    if pairs:
        names = list(reports)
        lines += [
            f"Paired, the same {pairs['characters']} characters (their two generated utterances asked to be neutral, "
            "before the filters): mean within-character similarity "
            f"{fmt(pairs['before'])} ({names[-2]}) -> {fmt(pairs['after'])} ({names[-1]}), "
            f"mean change {fmt(pairs['mean_change'])}; lower for {pairs['lower_after']} of {pairs['characters']} "
            "characters.",
            "",
        ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str, section: str = SECTION) -> None:
    """Replace a benchmark's section (default this one's) in ``path`` (or append it)."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(section) + r".*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text, old, count=1) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=1000, help="plots of the stub-server run (~10 records each)")
    parser.add_argument("--stub-run", help="reuse this stub-server synthesis folder instead of making one")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument(
        "--stub-stats",
        metavar="NAME",
        help="also put the timed stub run's report (default embed limit) in the statistics table as column NAME",
    )
    parser.add_argument("--real", help="a real-teacher synthesis folder for the statistics table")
    parser.add_argument("--real-name", default="before", help="column name of --real")
    parser.add_argument("--neutral-after", help="the same plots made with the neutral-diversity option")
    parser.add_argument("--after-name", default="after")
    parser.add_argument("--markdown", help="write (replace) the section in this Markdown file, e.g. BENCHMARKS.md")
    parser.add_argument("--note", action="append", default=[], help="a line for the section (repeatable)")
    args = parser.parse_args(argv)
    timing = None
    if not args.skip_timing:
        work = Path(tempfile.mkdtemp(prefix="inspect-bench-"))
        try:
            run_dir = Path(args.stub_run) if args.stub_run else None
            if run_dir is None:
                print(f"stub-server synthesis on {args.plots} plots ...", flush=True)
                run_dir, made_s = timed(lambda: stub_run(work / "run", args.plots))
                print(f"  done in {made_s:.1f} s", flush=True)
            timing = wall_time(run_dir, work)
            print({k: v for k, v in timing.items() if k != "report"}, flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    reports: dict[str, dict] = {}
    if args.stub_stats and timing:
        reports[args.stub_stats] = timing["report"]
    if args.real:
        reports[args.real_name] = statistics(Path(args.real))
    if args.neutral_after:
        reports[args.after_name] = statistics(Path(args.neutral_after))
    pairs = paired(Path(args.real), Path(args.neutral_after)) if args.real and args.neutral_after else None
    command = "python benchmarks/data_report.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(timing, reports, command.strip(), args.note, pairs)
    print(text)
    if args.markdown:
        write_section(Path(args.markdown), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
