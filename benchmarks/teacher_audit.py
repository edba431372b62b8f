"""Teacher audit table: teacher setups scored against people on the same GoEmotions dev texts and an ISEAR sample.

    python benchmarks/teacher_audit.py --setups qwen1.5b,qwen0.5b,smollm2 --data goemotions:300,isear:200 \
        --out runs/teacher/audit [--markdown BENCHMARKS.md]
    python benchmarks/teacher_audit.py --table-only runs/teacher/screen --title "Label prompt variants"

Each (setup, data) pair is one ``emopillars teacher audit`` (library call, same options) written to
``OUT/<setup>/<data>/audit.json``; answers go through the LLM cache, so a rerun only computes what is missing.
Then one table row per setup: GoEmotions macro-F1, primary-label accuracy, kappa, collapse share, labels per
example, seconds per text; ISEAR accuracy and macro-F1 of the primary label mapped to its 7 classes. The
paper's human agreement sits under the table.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import append_section, cpu_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PROMPTS = REPO / "benchmarks" / "prompts"
GE_MINILM = os.environ.get("EMOPILLARS_GE_MINILM", "/work/models/ge-minilm")
Q05, Q15, SMOL = "llamacpp:qwen2.5-0.5b", "llamacpp:qwen2.5-1.5b", "llamacpp:smollm2-135m"

# name -> (table label, AuditConfig options)
STOCK = {"engine": "llama-cpp-python"}  # the decoding of the code before the fast engine
SETUPS: dict[str, tuple[str, dict]] = {
    "qwen1.5b-before": (
        "Qwen2.5-Coder-1.5B as before (labels-v1, llama-cpp-python decoding)",
        {"llm": Q15, "prompts_dir": str(PROMPTS / "labels-v1"), "llm_options": STOCK},
    ),
    "qwen0.5b-before": (
        "Qwen2.5-Coder-0.5B as before (labels-v1, llama-cpp-python decoding)",
        {"llm": Q05, "prompts_dir": str(PROMPTS / "labels-v1"), "llm_options": STOCK},
    ),
    "smollm2-before": (
        "SmolLM2-135M as before (labels-v1, llama-cpp-python decoding)",
        {"llm": SMOL, "prompts_dir": str(PROMPTS / "labels-v1"), "llm_options": STOCK},
    ),
    "smollm2-v1": ("SmolLM2-135M, labels-v1", {"llm": SMOL, "prompts_dir": str(PROMPTS / "labels-v1")}),
    "qwen0.5b-v1": ("Qwen2.5-Coder-0.5B, labels-v1", {"llm": Q05, "prompts_dir": str(PROMPTS / "labels-v1")}),
    "qwen1.5b-v1": ("Qwen2.5-Coder-1.5B, labels-v1", {"llm": Q15, "prompts_dir": str(PROMPTS / "labels-v1")}),
    "qwen1.5b-v2": ("Qwen2.5-Coder-1.5B, labels-v2", {"llm": Q15, "prompts_dir": str(PROMPTS / "labels-v2")}),
    "qwen1.5b-v3": ("Qwen2.5-Coder-1.5B, labels-v3", {"llm": Q15, "prompts_dir": str(PROMPTS / "labels-v3")}),
    "qwen1.5b-v2-noenum": (
        "Qwen2.5-Coder-1.5B, labels-v2, token-by-token enum",
        {"llm": Q15, "prompts_dir": str(PROMPTS / "labels-v2"), "llm_options": {"enum_scoring": False}},
    ),
    "smollm2": ("SmolLM2-135M", {"llm": SMOL}),
    "qwen0.5b": ("Qwen2.5-Coder-0.5B", {"llm": Q05}),
    "qwen1.5b": ("Qwen2.5-Coder-1.5B", {"llm": Q15}),
    "qwen1.5b-k3": ("Qwen2.5-Coder-1.5B, K=3 (T=0.7)", {"llm": Q15, "samples": 3, "temperature": 0.7}),
    "qwen1.5b-prior": ("Qwen2.5-Coder-1.5B, calibration prior:0.5", {"llm": Q15, "calibration": "prior:0.5"}),
    "qwen1.5b-prior1": ("Qwen2.5-Coder-1.5B, calibration prior:1", {"llm": Q15, "calibration": "prior:1"}),
    "qwen1.5b+0.5b": ("1.5B + 0.5B (two LLM raters)", {"llm": Q15, "label_llms": [Q05]}),
    "ge-minilm": ("trained GoEmotions MiniLM alone", {"model": GE_MINILM}),
    "qwen1.5b+ge-minilm": ("1.5B + GoEmotions MiniLM rater", {"llm": Q15, "label_model": GE_MINILM}),
}


def run(setups: list[str], data: list[tuple[str, int]], out: Path, seed: int) -> None:
    from emopillars.teacher.audit import AuditConfig, run_audit

    for name in setups:
        label, options = SETUPS[name]
        for dataset, n in data:
            target = out / name / dataset
            print(f"== {name} on {dataset} (n={n}), load {os.getloadavg()[0]:.1f}", flush=True)
            started = time.perf_counter()
            result = run_audit(
                AuditConfig(out_dir=str(target), data=dataset, n=n, seed=seed, name=label, progress=True, **options)
            )
            m = result["metrics"]
            print(f"   macro-F1 {m['macro_f1']:.3f}  {time.perf_counter() - started:.0f} s", flush=True)


def _fmt(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def collect(folders: list[Path]) -> list[dict]:
    """One row per setup folder holding ``<data>/audit.json`` (or an ``audit.json`` itself)."""
    rows: dict[str, dict] = {}
    for folder in folders:
        for path in sorted(folder.rglob("audit.json")):
            result = json.loads(path.read_text())
            key = result["name"]
            row = rows.setdefault(key, {"setup": key, "order": len(rows)})
            m, data = result["metrics"], result["data"]
            sec = result["cost"]["seconds_per_text"]
            if data["multi_label"]:
                row.update(
                    ge_n=data["items"],
                    ge_macro_f1=m["macro_f1"],
                    ge_primary=m["primary_accuracy"],
                    ge_kappa=m["kappa"],
                    ge_collapse=f"{m['collapse_share']:.2f} {m['collapse_label']}",
                    ge_lpe=m["labels_per_example"],
                    ge_gold_lpe=m["gold_labels_per_example"],
                    ge_sec=sec,
                    ge_failed=m["failed"],
                )
            else:
                row.update(is_n=data["items"], is_acc=m["accuracy"], is_macro_f1=m["macro_f1"], is_kappa=m["kappa"])
    return sorted(rows.values(), key=lambda r: r["order"])


def table(rows: list[dict]) -> str:
    head = (
        "| setup | GoEmotions macro-F1 | primary-label acc. | kappa | collapse share | labels / example (gold) "
        "| s / text | ISEAR acc. | ISEAR macro-F1 |"
    )
    lines = [head, "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lpe = f"{r['ge_lpe']:.2f} ({r['ge_gold_lpe']:.2f})" if "ge_lpe" in r else "—"
        lines.append(
            f"| {r['setup']} | {_fmt(r.get('ge_macro_f1'))} | {_fmt(r.get('ge_primary'))} | {_fmt(r.get('ge_kappa'))} "
            f"| {r.get('ge_collapse', '—')} | {lpe} | {_fmt(r.get('ge_sec'), 1)} | {_fmt(r.get('is_acc'))} "
            f"| {_fmt(r.get('is_macro_f1'))} |"
        )
    ns = sorted({(r.get("ge_n"), r.get("is_n")) for r in rows})
    lines += [
        "",
        f"Texts per row (GoEmotions dev, ISEAR): {', '.join(f'{a} / {b}' for a, b in ns)}. "
        "People, for scale (Emo Pillars paper, 3 annotators x 200 items): kappa 0.365; accuracy 0.86 where all three "
        "agree, 0.70 where two do.",
    ]
    return "\n".join(lines)


def _at_least(levels, t):
    return {k: v for k, v in (levels or {}).items() if v >= t} or None


def _relative(levels, r):
    return {k: v for k, v in levels.items() if v >= r * max(levels.values())} if levels else levels


RULES = {
    "as answered (level >= 0.3)": lambda levels: levels,
    "primary label only": lambda levels: dict(list(levels.items())[:1]) if levels else levels,
    **{f"level >= {t}": functools.partial(_at_least, t=t) for t in (0.4, 0.5, 0.6, 0.7)},
    **{f"level >= {r} x the primary's": functools.partial(_relative, r=r) for r in (0.5, 0.75)},
}


def calibrate(path: Path, select_n: int) -> str:
    """Decision rules on one audit's answers: chosen on the first ``select_n`` sampled texts, reported on the rest."""
    from emopillars.teacher.items import sample_indices
    from emopillars.teacher.metrics import multilabel_audit

    result = json.loads(path.read_text())
    items = result["items"]
    population, seed = result["data"]["population"], result["config"]["seed"]
    select_ids = {f"item{i}" for i in sample_indices(population, select_n, seed)}
    parts = {
        "select": [it for it in items if it["id"] in select_ids],
        "report": [it for it in items if it["id"] not in select_ids],
    }
    lines = [
        f"Decision rules on the answers of `{path}` ({result['name']}): chosen on the {len(parts['select'])} "
        f"screening texts, reported on the other {len(parts['report'])}.",
        "",
        "| rule | macro-F1 (select) | macro-F1 (report) | primary acc. (report) | kappa (report) | labels / ex. |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, rule in RULES.items():
        scores = {}
        for part, rows in parts.items():
            if rows:
                preds = [rule(dict(it["predicted"])) if it["predicted"] else None for it in rows]
                scores[part] = multilabel_audit(preds, [it["gold"] for it in rows])
        sel, rep = scores.get("select"), scores.get("report")
        lines.append(
            f"| {name} | {_fmt(sel and sel['macro_f1'])} | {_fmt(rep and rep['macro_f1'])} | "
            f"{_fmt(rep and rep['primary_accuracy'])} | {_fmt(rep and rep['kappa'])} | "
            f"{_fmt(rep and rep['labels_per_example'], 2)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", default="", help=f"comma-separated, from: {', '.join(SETUPS)}")
    parser.add_argument("--data", default="goemotions:300,isear:200", help="DATA:N pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/teacher/audit")
    parser.add_argument("--table-only", nargs="*", help="only render the audits found under these folders")
    parser.add_argument("--title", default="Teacher audit")
    parser.add_argument("--markdown", help="replace the section with this title in this Markdown file")
    parser.add_argument("--calibrate", nargs="*", help="audit.json files: decision rules on their answers")
    parser.add_argument("--select-n", type=int, default=100, help="--calibrate: texts that choose the rule")
    args = parser.parse_args(argv)
    if args.calibrate:
        for path in args.calibrate:
            print(calibrate(Path(path), args.select_n), "\n")
        return 0
    out = Path(args.out)
    if args.table_only is None:
        setups = [s for s in args.setups.split(",") if s]
        unknown = [s for s in setups if s not in SETUPS]
        if unknown:
            parser.error(f"unknown setups {unknown}; known: {', '.join(SETUPS)}")
        data = [(d.split(":")[0], int(d.split(":")[1])) for d in args.data.split(",") if d]
        run(setups, data, out, args.seed)
        folders = [out / s for s in setups]
    else:
        folders = [Path(f) for f in args.table_only]
    rows = collect(folders)
    command = "python benchmarks/teacher_audit.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = "\n".join(
        [
            f"## {args.title}",
            "",
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; command: `{command}`",
            f"- machine: {cpu_model()}, {os.cpu_count()} cores, shared; load average {os.getloadavg()[0]:.1f} at the "
            "end",
            "",
            table(rows),
            "",
        ]
    )
    print(text)
    if args.markdown:
        append_section(f"## {args.title}", text, Path(args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
