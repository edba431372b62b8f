"""Pack a finished synthesis run into a small folder to commit (``benchmarks/data/NAME``), and unpack it again.

    python benchmarks/pack_dataset.py pack RUN_DIR benchmarks/data/wiki-1.5b [--max-mb 5]
    python benchmarks/pack_dataset.py unpack benchmarks/data/wiki-1.5b runs/wiki-1.5b

``pack`` writes ``dataset/<variant>/<split>.jsonl.gz`` for every JSONL file of the run's dataset (gzip level 9
with a zero timestamp: packing the same run twice gives the same bytes), the run's ``manifest.json`` and a
``README.md`` with what a reader needs first (teacher, prompt versions, record counts, label counts, how to
retrain). It refuses a run whose manifest is not ``complete`` or that made no records, and a pack larger than
``--max-mb``. ``unpack`` restores plain JSONL files (the loaders read plain text only) and checks that every
file loads as synthetic data.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path

VARIANTS = ("orig", "corig", "crewr")


class PackError(Exception):
    """The run cannot be packed, or the pack cannot be unpacked (the message says why)."""


def _gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def pack(run: Path, out: Path, max_mb: float) -> dict:
    manifest_path = run / "manifest.json"
    if not manifest_path.is_file():
        raise PackError(f"{run}: no manifest.json (not a synthesis run folder)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("status") != "complete":
        raise PackError(f"{run}: the run is {manifest.get('status')!r}, not complete; finish it first")
    if not manifest.get("records"):
        raise PackError(f"{run}: the run made no records")
    files = sorted((run / "dataset").glob("*/*.jsonl"))
    if not files:
        raise PackError(f"{run}: no dataset/<variant>/<split>.jsonl files")
    staging = out.with_name(out.name + ".packing")
    shutil.rmtree(staging, ignore_errors=True)
    counts: dict[str, dict[str, int]] = {}
    for file in files:
        variant, split = file.parent.name, file.stem
        data = file.read_bytes()
        counts.setdefault(variant, {})[split] = sum(1 for line in data.splitlines() if line.strip())
        target = staging / "dataset" / variant / f"{split}.jsonl.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_gzip_bytes(data))
    shutil.copyfile(manifest_path, staging / "manifest.json")
    (staging / "README.md").write_text(readme(manifest, counts, out.name), encoding="utf-8")
    size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    if size > max_mb * 1024 * 1024:
        shutil.rmtree(staging)
        raise PackError(f"the pack would be {size / 1024 / 1024:.1f} MB, over --max-mb {max_mb}")
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return {"out": str(out), "bytes": size, "counts": counts}


def readme(manifest: dict, counts: dict[str, dict[str, int]], name: str) -> str:
    labels = manifest.get("labels") or {}
    per_label = sorted((labels.get("per_label") or {}).items(), key=lambda kv: -kv[1])
    config = manifest.get("config") or {}
    lines = [
        f"# {name}: a reference dataset made by this project's own CPU teacher",
        "",
        f"- teacher: `{manifest.get('model')}`; prompt versions: "
        + ", ".join(f"{k} `{v}`" for k, v in (manifest.get("prompt_versions") or {}).items()),
        f"- corpus: `{Path(str(config.get('corpus', '?'))).name}`, {config.get('plots')} plots, up to "
        f"{config.get('max_actors')} characters each, context fraction {config.get('context_fraction')}, "
        f"seed {config.get('seed')}; schema {manifest.get('schema_version')}",
        f"- records: {manifest.get('records')} (Orig); per variant and split: "
        + "; ".join(
            f"{v} " + ", ".join(f"{s} {n}" for s, n in sorted(sp.items())) for v, sp in sorted(counts.items())
        ),
        f"- positive labels (level >= {labels.get('positive_threshold', 0.3)}), most frequent first: "
        + ", ".join(f"{k} {v}" for k, v in per_label if v),
        "",
        "Everything the run recorded (steps, drops by reason, tokens, wall time) is in `manifest.json`.",
        "",
        "Retrain without running the teacher:",
        "",
        "```bash",
        f"python benchmarks/pack_dataset.py unpack benchmarks/data/{name} runs/{name}",
        f"emopillars train --train runs/{name}/dataset/orig/train.jsonl --dev runs/{name}/dataset/orig/dev.jsonl "
        f"--out runs/{name}-minilm",
        f"python benchmarks/two_stage.py --data benchmarks/data/{name} --out runs/two_stage",
        "```",
    ]
    return "\n".join(lines) + "\n"


def unpack(pack_dir: Path, out: Path) -> dict:
    from emopillars.data.loaders import load

    files = sorted((pack_dir / "dataset").glob("*/*.jsonl.gz"))
    if not files:
        raise PackError(f"{pack_dir}: no dataset/<variant>/<split>.jsonl.gz files (not a pack)")
    counts: dict[str, int] = {}
    for file in files:
        target = out / "dataset" / file.parent.name / file.name[: -len(".gz")]
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_bytes(gzip.decompress(file.read_bytes()))
        except (OSError, EOFError) as exc:
            raise PackError(f"{file}: not a readable gzip file ({exc})") from None
        empty = not target.read_bytes().strip()
        counts[f"{file.parent.name}/{target.stem}"] = 0 if empty else len(load(target, format="synthetic"))
    if (pack_dir / "manifest.json").is_file():
        shutil.copyfile(pack_dir / "manifest.json", out / "manifest.json")
    return {"out": str(out), "examples": counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="a finished run folder -> a folder to commit")
    p.add_argument("run", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--max-mb", type=float, default=5.0, help="refuse a pack larger than this (default 5)")
    u = sub.add_parser("unpack", help="a pack -> plain JSONL files that the loaders read")
    u.add_argument("pack", type=Path)
    u.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    try:
        result = pack(args.run, args.out, args.max_mb) if args.command == "pack" else unpack(args.pack, args.out)
    except PackError as exc:
        print(f"pack_dataset: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
