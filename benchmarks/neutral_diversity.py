"""Neutral diversity before/after (``--neutral-diversity``) from the utterances step alone.

    python benchmarks/neutral_diversity.py --before runs/neutral-before0 --after runs/neutral-after \
        --markdown BENCHMARKS.md --note "..."

Two synthesis runs on the same plots and characters (same seed and teacher), one with the default utterance
prompt and one with the neutral-diversity prompt, need not have a dataset yet: labelling is by far the slowest
step on a CPU, and the measure only needs the utterances. Each run's ``DIR/steps/utterances.jsonl`` is read
with :func:`emopillars.stats.source.read_generated` and measured with
:func:`emopillars.stats.report.generation_stats`, the function behind the "Generation" section of
``emopillars inspect`` (every text embedded, MiniLM): within- vs across-character mean cosine similarity of
the utterances asked to be neutral (the paper's 0.30 vs 0.16 is on its final dataset's neutral utterances),
exact / near duplicates and distinct-2. The paired per-character comparison is
``benchmarks/data_report.py``'s.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from emopillars.stats.embeddings import Embedder  # noqa: E402
from emopillars.stats.paper import PAPER  # noqa: E402
from emopillars.stats.report import ReportOptions, generation_stats  # noqa: E402
from emopillars.stats.source import read_generated  # noqa: E402


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


data_report = _load("data_report")
_machine = _load("_machine")

SECTION = "## Neutral diversity (`--neutral-diversity`, issue 11 point 3)"


def utterances(run_dir: Path):
    path = run_dir / "steps" / "utterances.jsonl"
    if not path.exists():
        raise SystemExit(f"{path} not found: run the utterances step first")
    return read_generated(path)


def measure(run_dir: Path, embedder: Embedder) -> dict:
    records = utterances(run_dir)
    started = time.perf_counter()
    stats = generation_stats(records, ReportOptions(embed_limit=None), embedder)
    return {
        "records": records,
        "characters": len({r.actor_id for r in records if r.actor_id}),
        "plots": len({r.plot_id for r in records if r.plot_id}),
        "generation": stats,
        "within": data_report.character_within(records, embedder),
        "seconds": time.perf_counter() - started,
    }


def row(what: str, values: list, paper="—", digits=3) -> str:
    return f"| {what} | " + " | ".join(data_report.fmt(v, digits) for v in values) + f" | {paper} |"


def markdown(runs: dict[str, dict], pairs: dict, command: str, notes: list[str]) -> str:
    names = list(runs)
    gens = [r["generation"] for r in runs.values()]
    lookup = data_report.lookup
    load = os.getloadavg()
    lines = [
        SECTION,
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: `{command}`",
        f"- machine: {os.cpu_count()} cores ({_machine.cpu_model()}), load average {load[0]:.1f} / {load[1]:.1f} "
        "(shared machine)",
        *[f"- {note}" for note in notes],
        "",
        "The teacher's utterances before the filters (`steps/utterances.jsonl`), measured with the function behind "
        "`inspect`'s Generation section (MiniLM, every text embedded):",
        "",
        "| statistic | " + " | ".join(names) + " | paper |",
        "| --- | " + " | ".join("---" for _ in names) + " | --- |",
        row("plots / characters", [f"{r['plots']} / {r['characters']}" for r in runs.values()]),
        row("utterances / asked to be neutral", [f"{g['utterances']} / {g['asked_neutral']}" for g in gens]),
        row(
            "asked neutral: similarity within one character",
            [lookup(g, "similarity.neutral_requested.within") for g in gens],
            f"{PAPER['diversity.similarity.neutral.within'][0]:.2f}",
        ),
        row(
            "asked neutral: similarity across characters",
            [lookup(g, "similarity.neutral_requested.across") for g in gens],
            f"{PAPER['diversity.similarity.neutral.across'][0]:.2f}",
        ),
        row(
            "asked neutral: across characters of the same plot",
            [lookup(g, "similarity.neutral_requested.across_same_plot") for g in gens],
        ),
        row(
            "asked neutral: exact + near duplicates (MinHash, Jaccard >= 0.8)",
            [lookup(g, "neutral_requested.duplicates.duplicate_rate") for g in gens],
        ),
        row("asked neutral: distinct-2", [lookup(g, "neutral_requested.distinct_2") for g in gens]),
        row(
            "asked neutral: repeating the same character's word for word",
            [g["neutral_same_character_exact"] for g in gens],
        ),
        row("all utterances: within one character", [lookup(g, "similarity.all.within") for g in gens]),
        row("all utterances: across characters", [lookup(g, "similarity.all.across") for g in gens]),
        row("all utterances: distinct-2", [lookup(g, "all.distinct_2") for g in gens]),
        "",
        f"Paired, the same {pairs['characters']} characters (each one's utterances asked to be neutral): mean "
        f"within-character similarity {data_report.fmt(pairs['before'])} ({names[0]}) -> "
        f"{data_report.fmt(pairs['after'])} ({names[-1]}), mean change {data_report.fmt(pairs['mean_change'])}; "
        f"lower for {pairs['lower_after']} of {pairs['characters']} characters, unchanged for {pairs['unchanged']}.",
        "",
    ]
    example = _example(runs)
    if example:
        lines += example
    return "\n".join(lines) + "\n"


def _example(runs: dict[str, dict]) -> list[str]:
    """The neutral utterances of the character whose within-character similarity dropped most, side by side."""
    before, after = runs.values()
    common = [a for a in before["within"] if a in after["within"]]
    if not common:
        return []
    actor = min(common, key=lambda a: after["within"][a] - before["within"][a])
    name = next(r.actor for r in before["records"] if r.actor_id == actor)
    lines = [f"Example, the character whose similarity dropped most: {name} ({actor}), asked to be neutral:", ""]
    for run_name, run in runs.items():
        texts = [r.text for r in run["records"] if r.actor_id == actor and r.requested_emotion == "neutral"]
        lines.append(f"- {run_name} ({run['within'][actor]:.3f}): " + " / ".join(repr(t) for t in texts))
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="run folder made with the default utterance prompt")
    parser.add_argument("--after", required=True, help="the same plots made with --neutral-diversity")
    parser.add_argument("--before-name", default="before (default prompt)")
    parser.add_argument("--after-name", default="after (--neutral-diversity)")
    parser.add_argument("--markdown", help="write (replace) the section in this Markdown file, e.g. BENCHMARKS.md")
    parser.add_argument("--note", action="append", default=[], help="a line for the section (repeatable)")
    args = parser.parse_args(argv)
    embedder = Embedder()
    runs = {
        args.before_name: measure(Path(args.before), embedder),
        args.after_name: measure(Path(args.after), embedder),
    }
    before, after = runs.values()
    if {r.actor_id for r in before["records"]} != {r.actor_id for r in after["records"]}:
        print("warning: the two runs do not hold the same characters; the paired figures use the common ones")
    pairs = data_report.paired_within(before["within"], after["within"])
    command = f"python benchmarks/neutral_diversity.py --before {args.before} --after {args.after}"
    text = markdown(runs, pairs, command, args.note)
    print(text)
    if args.markdown:
        data_report.write_section(Path(args.markdown), text, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
