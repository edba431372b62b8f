"""Pack a finished synthesis run into a small folder to commit (``benchmarks/data/NAME``), and unpack it again.

    python benchmarks/pack_dataset.py pack RUN_DIR benchmarks/data/wiki-1.5b [--max-mb 5]
    python benchmarks/pack_dataset.py unpack benchmarks/data/wiki-1.5b runs/wiki-1.5b

``pack`` writes ``dataset/<variant>/<split>.jsonl.gz`` for every JSONL file of the run's dataset (gzip level 9
with a zero timestamp: packing the same run twice gives the same bytes), the run's ``manifest.json`` and a
``README.md`` with what a reader needs first (teacher, prompt versions, record counts, label counts, how to
retrain). It refuses a run whose manifest is not ``complete`` or that made no records, and a pack larger than
``--max-mb``. ``unpack`` restores plain JSONL files (the loaders read plain text only) and checks that every
file loads as synthetic data.

Shards: a run made with ``emopillars synthesize --shard I/N`` is packed into ``shards/I-of-N/`` (its dataset and
manifest) beside the shards already there, so the N parts of one sample can be made on different machines or
days and packed as each finishes; a shard whose settings differ from the others (teacher, prompts, corpus,
sample, seed, N) is refused. The README counts the shards present and names the missing ones; ``unpack``
concatenates every shard's ``<variant>/<split>`` into one file (splits are by plot and shards hold disjoint
plots, so no plot crosses splits).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from collections import Counter
from pathlib import Path

from emopillars.synth.config import NON_IDENTITY

VARIANTS = ("orig", "corig", "crewr")
# config keys that may differ between the shards of one sample: the shard itself and what does not change a run's
# answers (emopillars.synth.config.NON_IDENTITY), except the calibration, which each shard applies to its own records
SHARD_FREE = (NON_IDENTITY - {"label_calibration"}) | {"shard"}


class PackError(Exception):
    """The run cannot be packed, or the pack cannot be unpacked (the message says why)."""


def _gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _finished_manifest(run: Path) -> dict:
    manifest_path = run / "manifest.json"
    if not manifest_path.is_file():
        raise PackError(f"{run}: no manifest.json (not a synthesis run folder)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("status") != "complete":
        raise PackError(f"{run}: the run is {manifest.get('status')!r}, not complete; finish it first")
    if not manifest.get("records"):
        raise PackError(f"{run}: the run made no records")
    return manifest


def shard_of(manifest: dict) -> tuple[int, int] | None:
    """``(I, N)`` of a run made with ``--shard I/N``, else None."""
    shard = (manifest.get("config") or {}).get("shard")
    if not shard:
        return None
    index, _, count = str(shard).partition("/")
    return int(index), int(count)


def sample_identity(manifest: dict) -> dict:
    """What must be equal across the shards of one sample: teacher, prompts, schema and the run's settings."""
    config = {k: v for k, v in (manifest.get("config") or {}).items() if k not in SHARD_FREE}
    config["corpus"] = Path(str(config.get("corpus", ""))).name  # made on another machine: same file name
    shard = shard_of(manifest)
    return {
        "model": manifest.get("model"),
        "prompt_versions": manifest.get("prompt_versions"),
        "schema_version": manifest.get("schema_version"),
        "config": config,
        "shards": shard[1] if shard else None,
    }


def _shard_dirs(pack_dir: Path) -> list[Path]:
    return sorted((pack_dir / "shards").glob("*-of-*"), key=lambda p: int(p.name.split("-of-")[0]))


def pack(run: Path, out: Path, max_mb: float) -> dict:
    manifest = _finished_manifest(run)
    files = sorted((run / "dataset").glob("*/*.jsonl"))
    if not files:
        raise PackError(f"{run}: no dataset/<variant>/<split>.jsonl files")
    shard = shard_of(manifest)
    if shard and (out / "dataset").is_dir():
        raise PackError(f"{out} holds an unsharded pack; a shard goes into a pack of shards")
    if not shard and (out / "shards").is_dir():
        raise PackError(f"{out} is a pack of shards; {run} is not a shard (made without --shard)")
    others = [d for d in _shard_dirs(out) if shard and d.name != f"{shard[0]}-of-{shard[1]}"]
    for other in others:
        theirs = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
        if sample_identity(theirs) != sample_identity(manifest):
            raise PackError(f"{run} differs from {other} (teacher, prompts or settings): not a shard of one sample")
    staging = out.with_name(out.name + ".packing")
    shutil.rmtree(staging, ignore_errors=True)
    if others:
        shutil.copytree(out, staging)
        shutil.rmtree(staging / "shards" / f"{shard[0]}-of-{shard[1]}", ignore_errors=True)
    target_root = staging / "shards" / f"{shard[0]}-of-{shard[1]}" if shard else staging
    for file in files:
        target = target_root / "dataset" / file.parent.name / f"{file.stem}.jsonl.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_gzip_bytes(file.read_bytes()))
    shutil.copyfile(run / "manifest.json", target_root / "manifest.json")
    parts = [json.loads((d / "manifest.json").read_text(encoding="utf-8")) for d in _shard_dirs(staging)]
    counts = _counts(staging)
    (staging / "README.md").write_text(readme(parts or [manifest], counts, out.name), encoding="utf-8")
    size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    if size > max_mb * 1024 * 1024:
        shutil.rmtree(staging)
        raise PackError(f"the pack would be {size / 1024 / 1024:.1f} MB, over --max-mb {max_mb}")
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return {"out": str(out), "bytes": size, "counts": counts}


def _packed_files(pack_dir: Path) -> dict[str, list[Path]]:
    """``<variant>/<split>`` -> its packed files: one, or one per shard in shard order."""
    roots = _shard_dirs(pack_dir) or [pack_dir]
    files: dict[str, list[Path]] = {}
    for root in roots:
        for file in sorted((root / "dataset").glob("*/*.jsonl.gz")):
            files.setdefault(f"{file.parent.name}/{file.name[: -len('.jsonl.gz')]}", []).append(file)
    return dict(sorted(files.items()))


def _counts(pack_dir: Path) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for key, files in _packed_files(pack_dir).items():
        variant, split = key.split("/")
        counts.setdefault(variant, {})[split] = sum(
            1 for f in files for line in gzip.decompress(f.read_bytes()).splitlines() if line.strip()
        )
    return counts


def _number(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _shard_table(manifests: list[dict]) -> list[str]:
    """Per shard: plots, records per set, LLM calls, teacher wall time (all invocations) and records per hour."""
    lines = ["", "| shard | plots | Orig | COrig | CRewr | LLM calls | wall time | Orig records / hour |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for m in sorted(manifests, key=lambda m: shard_of(m)[0]):
        sets = {name: sum((m.get("dataset") or {}).get(name, {}).values()) for name in VARIANTS}
        wall = float(m.get("wall_time_total_s") or m.get("wall_time_s") or 0)
        rate = f"{sets['orig'] / wall * 3600:.0f}" if wall else "-"
        lines.append(
            f"| {m['config']['shard']} | {m.get('plots') or '-'} | {sets['orig']} | {sets['corig']} | "
            f"{sets['crewr']} | {(m.get('tokens') or {}).get('calls', '-')} | {wall / 60:.1f} min | {rate} |"
        )
    return lines


def readme(manifests: list[dict], counts: dict[str, dict[str, int]], name: str) -> str:
    """The pack's README: one run's manifest, or the manifests of the shards present (same settings)."""
    first = manifests[0]
    labels = first.get("labels") or {}
    per_label: Counter = Counter()
    for manifest in manifests:
        per_label.update((manifest.get("labels") or {}).get("per_label") or {})
    config = first.get("config") or {}
    shard = shard_of(first)
    records = sum(int(m.get("records") or 0) for m in manifests)
    lines = [
        f"# {name}: a reference dataset made by this project's own CPU teacher",
        "",
        f"- teacher: `{first.get('model')}`; prompt versions: "
        + ", ".join(f"{k} `{v}`" for k, v in (first.get("prompt_versions") or {}).items()),
        f"- corpus: `{Path(str(config.get('corpus', '?'))).name}`, {config.get('plots')} plots, up to "
        f"{config.get('max_actors')} characters each, context fraction {_number(config.get('context_fraction'))}, "
        f"seed {config.get('seed')}; schema {first.get('schema_version')}",
    ]
    if shard:
        present = sorted(shard_of(m)[0] for m in manifests)
        missing = [i for i in range(shard[1]) if i not in present]
        lines.append(
            f"- shards (`--shard I/{shard[1]}`, every {shard[1]}th plot of the sample): {len(present)} of {shard[1]} "
            f"present ({', '.join(map(str, present))})"
            + (f"; missing: {', '.join(map(str, missing))} (this dataset is partial)" if missing else "")
        )
    lines += [
        f"- records: {records} (Orig); per variant and split: "
        + "; ".join(
            f"{v} " + ", ".join(f"{s} {n}" for s, n in sorted(sp.items())) for v, sp in sorted(counts.items())
        ),
        f"- positive labels (level >= {labels.get('positive_threshold', 0.3)}), most frequent first: "
        + ", ".join(f"{k} {v}" for k, v in per_label.most_common() if v),
        *(_shard_table(manifests) if shard else []),
        "",
        "Everything the run recorded (steps, drops by reason, tokens, wall time) is in "
        + ("each shard's `shards/I-of-N/manifest.json`." if shard else "`manifest.json`."),
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

    files = _packed_files(pack_dir)
    if not files:
        raise PackError(f"{pack_dir}: no dataset/<variant>/<split>.jsonl.gz files (not a pack)")
    counts: dict[str, int] = {}
    for key, parts in files.items():
        target = out / "dataset" / f"{key}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_bytes(b"".join(gzip.decompress(part.read_bytes()) for part in parts))
        except (OSError, EOFError) as exc:
            raise PackError(f"{key} in {pack_dir}: not a readable gzip file ({exc})") from None
        empty = not target.read_bytes().strip()
        counts[key] = 0 if empty else len(load(target, format="synthetic"))
    if (pack_dir / "manifest.json").is_file():
        shutil.copyfile(pack_dir / "manifest.json", out / "manifest.json")
    for shard in _shard_dirs(pack_dir):
        (out / "manifests").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shard / "manifest.json", out / "manifests" / f"{shard.name}.json")
    return {"out": str(out), "examples": counts}


def describe(pack_dir: Path) -> str:
    """One line on a pack: its Orig records per split and, for a pack of shards, how many shards are in."""
    orig = _counts(pack_dir).get("orig", {})
    text = f"{sum(orig.values())} records (Orig " + ", ".join(f"{k} {v}" for k, v in sorted(orig.items())) + ")"
    shards = _shard_dirs(pack_dir)
    if shards:
        text += f"; shards {', '.join(d.name for d in shards)}"
    return text


def is_pack(folder: Path) -> bool:
    """A folder written by :func:`pack` (plain or sharded), as opposed to a run folder."""
    return bool(_packed_files(folder))


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
