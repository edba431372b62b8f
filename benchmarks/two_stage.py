"""Two-stage training: does MiniLM first trained on our synthetic data beat plain MiniLM on real tasks?

    python benchmarks/two_stage.py --data benchmarks/data/wiki-1.5b --out runs/two_stage \
        [--seeds 13,14,15] [--synthetic-epochs 10] [--low-resource 1000,3000] [--markdown BENCHMARKS.md]

1. **Stage 1.** ``emopillars train`` on the committed reference dataset (``DATA/orig/train.jsonl``, its dev split
   for the thresholds): the synthetic-data checkpoint, a 28-label MiniLM.
2. **Stage 2.** The adaptation suite (``emopillars benchmark``'s machinery, :func:`emopillars.adapt.suite.run_suite`):
   GoEmotions, ISEAR (5-fold) and EmoContext, each from the plain encoder and from the checkpoint, with every
   seed; then GoEmotions with only the first N training rows (low resource). Cells are cached: a rerun resumes.
3. **Control** (``--control``): the same encoder first trained on the same synthetic texts for the same steps, but
   with the label sets shuffled across records. It separates what the teacher's labels teach from what any
   warm-up of the 28-label head on these texts gives; the table then also shows synthetic minus control.
4. **Table.** Per task: mean +- std over seeds (ISEAR: each seed's mean over its 5 folds) of the primary
   metric, the difference, and whether it exceeds the seed noise: Welch's t over the per-seed values and the
   paired (same seed, same fold) differences, "yes" when |t| >= 2.

The profile is reduced for 2 shared CPU cores and stated under the table (epochs, training rows, max length);
the selection and report sets stay complete and nothing is chosen on a reported set.

**Baseline cells are kept in the repository** (``benchmarks/results/two_stage/<bf16|fp32>/<suite>/cells/``,
under the precision ``bf16: auto`` trains with on this machine): the plain-MiniLM cells do not depend on the
synthetic data, so each one is copied there the moment it finishes and copied back into ``--out`` before a run;
the suite reuses a copied cell only when its key (task, settings, seed, profile) matches, so a changed setting
recomputes it. ``--baseline-only`` runs just those cells (no reference dataset needed), so the half of the
comparison that costs the same for every dataset is paid once, on any machine of the same precision.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import append_section, cpu_model  # noqa: E402
from pack_dataset import describe, is_pack, unpack  # noqa: E402

SECTION = "## Two-stage: plain MiniLM vs MiniLM first trained on the synthetic reference data"
TASKS = ("goemotions", "isear", "emocontext")
STORE = Path(__file__).resolve().parent / "results" / "two_stage"
PLAIN = "plain MiniLM"
CONTROL = "MiniLM after shuffled synthetic labels"


def dataset_files(data: Path, work: Path) -> tuple[Path, Path]:
    """``orig/train.jsonl`` and ``orig/dev.jsonl`` of the reference dataset: a run folder, or a pack of
    ``benchmarks/pack_dataset.py`` (plain or sharded), unpacked into ``WORK/synthetic`` here."""
    if is_pack(data):
        unpack(data, work / "synthetic")
        data = work / "synthetic"
    root = data / "dataset" if (data / "dataset" / "orig").is_dir() else data
    paths = [root / "orig" / f"{split}.jsonl" for split in ("train", "dev")]
    for path in paths:
        if not path.exists():
            raise SystemExit(f"{data}: no orig/{path.name} (a synthesis run folder or a pack)")
    return paths[0], paths[1]


def shuffled_labels(data, seed: int):
    """``data`` with its label sets permuted across records (seeded): the texts and the label distribution stay,
    the link between a text and the teacher's labels for it is gone."""
    order = np.random.default_rng(seed).permutation(len(data.examples))
    examples = [replace(ex, labels=data.examples[j].labels) for ex, j in zip(data.examples, order, strict=True)]
    return replace(data, examples=examples)


def stage1(data: Path, out: Path, epochs: int, seed: int, shuffle: bool = False) -> Path:
    """The synthetic-data checkpoint; ``shuffle``: the control, trained on the same texts with shuffled labels."""
    from emopillars.data.loaders import load
    from emopillars.training import TrainConfig, train

    model_dir = out / ("synthetic-minilm-shuffled" if shuffle else "synthetic-minilm")
    if (model_dir / "thresholds.json").exists():
        print(f"stage 1: reusing {model_dir}", flush=True)
        return model_dir
    train_path, dev_path = dataset_files(data, out)
    config = TrainConfig(
        model="minilm", output_dir=str(model_dir), epochs=epochs, max_length=64, batch_size=32, seed=seed, bf16="auto"
    )
    started = time.perf_counter()
    train_data, dev_data = load(train_path, format="synthetic"), load(dev_path, format="synthetic")
    if shuffle:
        train_data, dev_data = shuffled_labels(train_data, seed), shuffled_labels(dev_data, seed)
    train(config, train_data, dev_data, progress=True)
    print(f"stage 1: {model_dir} in {time.perf_counter() - started:.0f} s", flush=True)
    return model_dir


def write_suite(
    path: Path,
    name: str,
    tasks: list[str],
    checkpoint: Path | None,
    seeds: list[int],
    out: Path,
    control: Path | None = None,
) -> Path:
    """The suite of one comparison; without ``checkpoint`` only the plain start (``--baseline-only``)."""
    starts = f"  - {{name: {PLAIN}, role: plain, from: minilm}}\n"
    if checkpoint is not None:
        starts += f"  - {{name: MiniLM after synthetic data, role: synthetic, from: '{checkpoint}'}}\n"
    if control is not None:
        starts += f"  - {{name: {CONTROL}, role: control, from: '{control}'}}\n"
    path.write_text(
        f"name: {name}\nprofile: quick\nout_dir: '{out}'\ntasks: [{', '.join(tasks)}]\nstarts:\n{starts}"
        f"heads: [keep]\nseeds: [{', '.join(map(str, seeds))}]\n",
        encoding="utf-8",
    )
    return path


def training_precision() -> str:
    """``bf16`` or ``fp32``: what the profiles' ``bf16: auto`` trains with here. Stored cells live under it, so a
    baseline trained in bf16 (a CPU with AVX512-BF16) is never compared with a synthetic start trained in fp32."""
    from emopillars.inference.precision import resolve_bf16

    return resolve_bf16("auto", "cpu").name


def restore_baseline(store: Path | None, folder: Path) -> int:
    """Copy the stored plain cells of ``folder``'s suite into ``folder/cells`` (those not there yet)."""
    if store is None or not (store / folder.name / "cells").is_dir():
        return 0
    copied = 0
    for cell in sorted((store / folder.name / "cells").glob("*.json")):
        target = folder / "cells" / cell.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cell, target)
            copied += 1
    return copied


def _rekeyed(source: Path, target: Path) -> bool:
    """``source`` holds ``target``'s result under another key (the suite re-keyed a restored cell)."""
    if not target.is_file():
        return False
    ours, theirs = json.loads(source.read_text()), json.loads(target.read_text())
    return ours["result"] == theirs["result"] and ours["key"] != theirs["key"]


def keep_baseline(store: Path | None, folder: Path):
    """A suite ``on_cell_done`` callback: a freshly finished plain cell is copied into the store at once, and a
    stored one that the suite re-keyed goes back with its new key."""

    def done(cell, result: dict, cached: bool) -> None:
        if store is None or cell.start.role != "plain":
            return
        source = folder / "cells" / f"{cell.cell_id}.json"
        target = store / folder.name / "cells" / source.name
        if source.is_file() and (not cached or _rekeyed(source, target)):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            print(f"baseline cell {'re-keyed' if cached else 'kept'}: {target}", flush=True)

    return done


def run(args) -> dict:
    from emopillars.adapt.suite import run_suite

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = None if args.store == "none" else Path(args.store) / training_precision()
    seeds = [int(s) for s in args.seeds.split(",")]
    checkpoint = control = None
    if not args.baseline_only:
        checkpoint = stage1(Path(args.data), out, args.synthetic_epochs, seeds[0]).resolve()
        if args.control:
            control = stage1(Path(args.data), out, args.synthetic_epochs, seeds[0], shuffle=True).resolve()
    tasks = args.tasks
    plans = [("main", "two-stage", tasks, {"epochs": args.epochs})] if tasks else []  # --tasks '': low resource only
    plans += [
        (f"goemotions_{n}", f"two-stage-ge{n}", ["goemotions"], {"limit": n, "epochs": args.low_resource_epochs})
        for n in args.low_resource
    ]
    results = {}
    for folder_name, name, plan_tasks, options in plans:
        folder = out / folder_name
        restored = restore_baseline(store, folder)
        if restored:
            print(f"{folder_name}: {restored} baseline cell(s) from {store}", flush=True)
        suite = write_suite(out / f"suite_{folder_name}.yaml", name, plan_tasks, checkpoint, seeds, folder, control)
        results[folder_name] = run_suite(suite, on_cell_done=keep_baseline(store, folder), **options)
    return results


def _cells(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "cells").glob("*.json"))]


def _values(cells: list[dict], task: str, role: str) -> dict[int, dict[str, float]]:
    """seed -> {run name: primary metric} for one task and start role (``plain`` / ``synthetic``)."""
    out: dict[int, dict[str, float]] = {}
    for cell in cells:
        result = cell.get("result") or cell
        if result.get("task") != task or result.get("role") != role:
            continue
        metric = result["primary_metric"]
        out[int(result["seed"])] = {name: float(run["metrics"][metric]) for name, run in result["runs"].items()}
    return out


def welch_t(a: list[float], b: list[float]) -> float | None:
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    if va + vb == 0:
        return math.inf if np.mean(a) != np.mean(b) else 0.0
    return float((np.mean(b) - np.mean(a)) / math.sqrt(va + vb))


def paired_t(diffs: list[float]) -> float | None:
    if len(diffs) < 2:
        return None
    sd = np.std(diffs, ddof=1)
    if sd == 0:
        return math.inf if np.mean(diffs) != 0 else 0.0
    return float(np.mean(diffs) / (sd / math.sqrt(len(diffs))))


def compare(cells: list[dict], task: str, base: str = "plain", other: str = "synthetic") -> dict | None:
    """``other`` against ``base`` (start roles) on the seeds both have: means, stds, differences, t values."""
    plain, synth = _values(cells, task, base), _values(cells, task, other)
    seeds = sorted(set(plain) & set(synth))
    if not seeds:
        return None
    per_seed_plain = [float(np.mean(list(plain[s].values()))) for s in seeds]
    per_seed_synth = [float(np.mean(list(synth[s].values()))) for s in seeds]
    diffs = [synth[s][r] - plain[s][r] for s in seeds for r in plain[s] if r in synth[s]]
    t_seeds, t_paired = welch_t(per_seed_plain, per_seed_synth), paired_t(diffs)
    metric = next(c["result"]["primary_metric"] for c in cells if c["result"].get("task") == task)
    return {
        "task": task,
        "metric": metric,
        "seeds": seeds,
        "base": (float(np.mean(per_seed_plain)), float(np.std(per_seed_plain, ddof=1)) if len(seeds) > 1 else 0.0),
        "other": (
            float(np.mean(per_seed_synth)),
            float(np.std(per_seed_synth, ddof=1)) if len(seeds) > 1 else 0.0,
        ),
        "diff": float(np.mean(per_seed_synth) - np.mean(per_seed_plain)),
        "paired_runs": len(diffs),
        "t_seeds": t_seeds,
        "t_paired": t_paired,
        "exceeds_noise": bool(
            t_paired is not None and abs(t_paired) >= 2 and t_seeds is not None and abs(t_seeds) >= 2
        ),
    }


def _data_line(data: str) -> list[str]:
    return [f"- synthetic data: `{data}`, {describe(Path(data))}"] if is_pack(Path(data)) else []


def table_rows(out: Path, tasks: list[str], low_resource: list[int]) -> list[dict]:
    """One row per task and low-resource size with finished cells: synthetic vs plain, and, where control cells
    exist, ``control``: synthetic vs the shuffled-labels control."""
    rows = []
    folders = [(out / "main", task, task) for task in tasks]
    folders += [(out / f"goemotions_{n}", "goemotions", f"GoEmotions, first {n} training rows") for n in low_resource]
    for folder, task, label in folders:
        cells = _cells(folder)
        row = compare(cells, task)
        if row:
            rows.append({**row, "label": label, "control": compare(cells, task, base="control")})
    return rows


def _command(argv: list[str]) -> str:
    """The command line without its ``--note`` texts (they are printed under the table)."""
    kept = [a for i, a in enumerate(argv) if a != "--note" and (i == 0 or argv[i - 1] != "--note")]
    return " ".join(kept)


def markdown(rows: list[dict], args, notes: list[str]) -> str:
    def pm(pair):
        return f"{pair[0]:.3f} ± {pair[1]:.3f}"

    def t(value):
        return "—" if value is None else ("inf" if math.isinf(value) else f"{value:+.1f}")

    def noise(row):
        return "yes" if row["exceeds_noise"] else "no"

    control = any(r["control"] for r in rows)
    extra = " control: shuffled labels | synthetic − control | t (paired runs) | larger than seed noise? |"
    lines = [
        SECTION,
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; command: `python benchmarks/two_stage.py "
        f"{_command(sys.argv[1:])}` (notes below)",
        f"- machine: {cpu_model()}, {os.cpu_count()} cores, shared; load average {os.getloadavg()[0]:.1f} at the end",
        *(_data_line(args.data) if args.data else []),
        "",
        "| task (metric) | plain MiniLM | MiniLM after synthetic data | difference | t (seeds) | t (paired runs) "
        "| larger than seed noise? |" + (extra if control else ""),
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |" + (" ---: | ---: | ---: | --- |" if control else ""),
    ]
    for r in rows:
        line = (
            f"| {r['label']} ({r['metric']}) | {pm(r['base'])} | {pm(r['other'])} | {r['diff']:+.3f} | "
            f"{t(r['t_seeds'])} | {t(r['t_paired'])} ({r['paired_runs']}) | {noise(r)} |"
        )
        if control:
            c = r["control"]
            line += (
                f" {pm(c['base'])} | {c['diff']:+.3f} | {t(c['t_paired'])} ({c['paired_runs']}) | {noise(c)} |"
                if c
                else " — | — | — | — |"
            )
        lines.append(line)
    lines += ["", *notes]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> Path:
    """Grouped bars per row (plain, synthetic, control when run), mean over seeds with the seed std as error bar."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    starts = [("plain MiniLM", lambda r: r["base"]), ("after synthetic data", lambda r: r["other"])]
    if any(r["control"] for r in rows):
        starts.append(("after shuffled labels (control)", lambda r: r["control"]["base"] if r["control"] else None))
    figure = Figure(figsize=(max(6, 1.8 * len(rows) + 2), 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.8 / len(starts)
    for i, (name, pick) in enumerate(starts):
        pairs = [pick(r) or (math.nan, 0.0) for r in rows]
        positions = np.arange(len(rows)) + (i - (len(starts) - 1) / 2) * width
        axes.bar(positions, [p[0] for p in pairs], width, yerr=[p[1] for p in pairs], capsize=3, label=name)
    names = [r["label"].replace(", ", ",\n") + f"\n({r['metric']})" for r in rows]
    axes.set_xticks(np.arange(len(rows)), labels=names, fontsize=8)
    axes.set_ylabel("primary metric, mean ± std over seeds")
    axes.legend(fontsize=8)
    axes.set_title("Two-stage: does first training on the synthetic data help?", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="reference dataset: a pack (benchmarks/data/NAME) or a synthesis run folder")
    parser.add_argument(
        "--baseline-only", action="store_true", help="run only the plain-MiniLM cells (no --data needed)"
    )
    parser.add_argument(
        "--store", default=str(STORE), help=f"where plain cells are kept and reused (default {STORE}; 'none': off)"
    )
    parser.add_argument("--out", default="runs/two_stage")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--seeds", default="13,14,15")
    parser.add_argument("--synthetic-epochs", type=int, default=10)
    parser.add_argument(
        "--epochs", type=int, help="stage-2 epochs for every task (default: each task's quick profile)"
    )
    parser.add_argument("--low-resource", default="1000,3000", help="GoEmotions training rows (comma-separated)")
    parser.add_argument("--low-resource-epochs", type=int, default=3)
    parser.add_argument(
        "--control", action="store_true", help="also start from MiniLM trained on the same texts, labels shuffled"
    )
    parser.add_argument("--table-only", action="store_true", help="only read the finished cells")
    parser.add_argument("--note", action="append", default=[], help="a line under the table (repeatable)")
    parser.add_argument("--markdown")
    parser.add_argument("--plot", help="a bar chart of the table (PNG); default OUT/two_stage.png")
    args = parser.parse_args(argv)
    args.tasks = [t for t in args.tasks.split(",") if t]
    args.low_resource = [int(x) for x in args.low_resource.split(",") if x]
    if not (args.data or args.baseline_only or args.table_only):
        parser.error("--data is required (or --baseline-only / --table-only)")
    out = Path(args.out)
    if not args.table_only:
        run(args)
    rows = table_rows(out, args.tasks, args.low_resource)
    text = markdown(rows, args, args.note)
    print(text)
    (out / "two_stage.json").write_text(json.dumps(rows, indent=2) + "\n")
    if rows:
        print(f"plot: {plot(rows, Path(args.plot) if args.plot else out / 'two_stage.png')}")
    if args.markdown:
        append_section(SECTION, text, Path(args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
