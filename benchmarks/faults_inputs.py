"""Malformed-input matrix: the real CLI, in subprocesses, on small real files generated into a temp folder.

Each case runs one ``emopillars`` command (``train``, ``evaluate``, ``predict``, ``synthesize``, ``adapt``) on
one bad input: empty files, wrong columns, bad or unknown labels, bad encodings, byte-order marks, huge fields,
binary garbage, folders where files go, missing files, JSON lines with wrong types, repeated ids, bad numeric
options, missing / empty / truncated models, outputs that cannot be written, a full disk (a tiny tmpfs, when
the benchmark runs as root). A few inputs are awkward but valid (CRLF, a BOM, ``--skip-bad``): those must work.

For each case it records the exit code, whether stderr holds a traceback (or the CLI's "internal error"
line), whether the result is silently wrong (exit 0 on bad input, or exit 0 with missing / wrong output),
and whether the message names the problem (and the file, where a file is at fault). A tiny model for
evaluate / predict / adapt is trained once per run (1 epoch on 64 GoEmotions rows).

    python benchmarks/faults_inputs.py                  # the whole matrix, a table and a summary
    python benchmarks/faults_inputs.py --only predict   # one command
    python benchmarks/faults_inputs.py --json rows.json --jobs 2

``run_matrix()`` returns the rows (dicts) and ``summarize(rows)`` the totals, for ``benchmarks/faults.py``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("train", "evaluate", "predict", "synthesize", "adapt")
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "internal error:")

FALLBACK_TEXTS = (
    "Thank you so much, this made my day!",
    "I can't believe they cancelled it again.",
    "What a wonderful surprise, I love it.",
    "This is so sad, I miss her every day.",
    "Why would anyone do that? I don't get it.",
    "Ok, see you tomorrow then.",
    "That is disgusting, please stop.",
    "I'm scared of what happens next.",
)
FALLBACK_IDS = ("15", "3", "18", "25", "6", "27", "11", "14")
ISEAR_LABELS = ("joy", "fear", "anger", "sadness", "disgust", "shame", "guilt")


# --- cases and results ----------------------------------------------------------------------------------------------


@dataclass
class Run:
    """What one CLI call did."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


@dataclass
class Case:
    """One bad (or awkward but valid) input to one command.

    ``expect="error"``: the command must fail (non-zero exit) without a traceback, with one of ``keywords`` in
    its stderr (case-insensitive) and every string of ``names`` (e.g. the file's name). ``expect="ok"``: it must
    succeed and ``check(run)`` must return None (else it says what is wrong with the output).
    ``owner``: which part of the code base handles this input (for reading the table).
    """

    command: str
    name: str
    argv: list[str]
    expect: str = "error"
    keywords: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    check: Callable[[Run], str | None] | None = None
    owner: str = "cli/data"
    timeout: float = 600.0
    env: dict[str, str] = field(default_factory=dict)


def classify(case: Case, run: Run) -> dict:
    """The row of the table for ``case`` and what it did."""
    traceback = run.timed_out or run.code < 0 or any(marker in run.stderr for marker in TRACEBACK_MARKERS)
    lowered = run.stderr.lower()
    names_problem = (not case.keywords or any(word.lower() in lowered for word in case.keywords)) and all(
        name in run.stderr for name in case.names
    )
    problem = None
    if case.expect == "error":
        silent_wrong = run.code == 0
        if silent_wrong:
            problem = "accepted bad input (exit 0)"
    else:
        silent_wrong = False
        if run.code == 0 and case.check is not None:
            problem = case.check(run)
            silent_wrong = problem is not None
        elif run.code != 0:
            problem = "refused valid input"
    if run.timed_out:
        verdict = "timeout"
    elif traceback:
        verdict = "traceback"
    elif silent_wrong:
        verdict = "silent wrong"
    elif case.expect == "ok":
        verdict = "ok" if run.code == 0 else "refused valid"
    else:
        verdict = "clean error" if names_problem else "unclear message"
    message = next((line for line in run.stderr.splitlines() if "error" in line.lower()), "")
    if not message:
        message = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
    return {
        "command": case.command,
        "case": case.name,
        "expect": case.expect,
        "exit_code": run.code,
        "traceback": traceback,
        "silent_wrong": silent_wrong,
        "names_problem": names_problem if case.expect == "error" else None,
        "verdict": verdict,
        "problem": problem,
        "owner": case.owner,
        "message": message[:300],
        "seconds": round(run.seconds, 1),
    }


def run_cli(argv: list[str], cwd: Path, timeout: float, env: dict[str, str]) -> Run:
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_WAIT_POLICY": "PASSIVE",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        **env,
    }
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "emopillars.cli.main", *argv],
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return Run(-9, out, err, time.perf_counter() - started, timed_out=True)
    return Run(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


# --- the files ------------------------------------------------------------------------------------------------------


class Context:
    """The work folder: good files, the tiny model, and helpers that write bad variants."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = root / "files"
        self.files.mkdir(parents=True, exist_ok=True)
        self.outs = root / "outs"
        shutil.rmtree(self.outs, ignore_errors=True)  # outputs of an earlier run would change the verdicts
        self.outs.mkdir()
        self.rows = self._goemotions_rows()
        self.model = root / "model"
        self.full_disk: Path | None = None
        self._counter = 0

    def _goemotions_rows(self) -> list[str]:
        data = os.environ.get("EMOPILLARS_DATA")
        source = Path(data) / "goemotions" / "train.tsv" if data else None
        if source and source.is_file():
            lines = []
            with source.open(encoding="utf-8") as handle:
                for line in handle:
                    line = line.rstrip("\n")
                    if line.count("\t") == 2 and '"' not in line:  # unquoted rows: the bad variants stay simple
                        lines.append(line)
                    if len(lines) == 96:
                        return lines
        return [
            f"{FALLBACK_TEXTS[i % 8]} ({i})\t{FALLBACK_IDS[i % 8]}\tc{i}" for i in range(96)
        ]  # no data folder: the same shape, written here

    def tsv(self, rows: list[str]) -> str:
        return "".join(row + "\n" for row in rows)

    def write(self, name: str, content: bytes | str) -> Path:
        path = self.files / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    def out(self, name: str) -> Path:
        """A fresh output path (not created)."""
        self._counter += 1
        return self.outs / f"{self._counter:03d}-{name}"


def train_tiny_model(ctx: Context) -> None:
    """The model evaluate / predict / adapt cases use: MiniLM, 1 epoch on 64 GoEmotions rows."""
    train = ctx.write("good/train.tsv", ctx.tsv(ctx.rows[:64]))
    run = run_cli(
        [
            "train",
            "--train",
            str(train),
            "--out",
            str(ctx.model),
            "--epochs",
            "1",
            "--max-length",
            "32",
            "--no-progress",
        ],  # fmt: skip
        ctx.root,
        900,
        {},
    )
    if run.code != 0 or not (ctx.model / "model.safetensors").is_file():
        raise RuntimeError(f"could not train the tiny model (exit {run.code}):\n{run.stderr[-3000:]}")


def broken_models(ctx: Context) -> dict[str, Path]:
    """Model folders that are wrong in one way each."""
    models = {}
    empty = ctx.root / "models" / "empty"
    empty.mkdir(parents=True, exist_ok=True)
    models["empty model folder"] = empty
    truncated = ctx.root / "models" / "truncated"
    if not truncated.exists():
        shutil.copytree(ctx.model, truncated, ignore=shutil.ignore_patterns("checkpoint"))
        weights = truncated / "model.safetensors"
        data = weights.read_bytes()
        weights.write_bytes(data[: len(data) // 2])
    models["truncated model.safetensors"] = truncated
    garbage = ctx.root / "models" / "garbage_config"
    if not garbage.exists():
        shutil.copytree(ctx.model, garbage, ignore=shutil.ignore_patterns("checkpoint"))
        (garbage / "config.json").write_text("{not json", encoding="utf-8")
    models["config.json not JSON"] = garbage
    thresholds = ctx.root / "models" / "bad_thresholds"
    if not thresholds.exists():
        shutil.copytree(ctx.model, thresholds, ignore=shutil.ignore_patterns("checkpoint"))
        (thresholds / "thresholds.json").write_text("[1, 2", encoding="utf-8")
    models["thresholds.json not JSON"] = thresholds
    config = ctx.root / "models" / "bad_training_config"
    if not config.exists():
        shutil.copytree(ctx.model, config, ignore=shutil.ignore_patterns("checkpoint"))
        (config / "training_config.json").write_text('{"epochs": 0}', encoding="utf-8")
    models["invalid training_config.json"] = config
    no_weights = ctx.root / "models" / "no_weights"
    if not no_weights.exists():
        shutil.copytree(ctx.model, no_weights, ignore=shutil.ignore_patterns("checkpoint", "model.safetensors"))
    models["model folder without weights"] = no_weights
    models["a file as model"] = ctx.write("models/model.bin", b"\x00" * 64)
    models["missing model folder"] = ctx.root / "models" / "does-not-exist"
    return models


MODEL_KEYWORDS = {
    "empty model folder": ("model", "config.json"),
    "truncated model.safetensors": ("safetensors", "truncated", "corrupt", "incomplete", "damaged"),
    "config.json not JSON": ("config.json",),
    "thresholds.json not JSON": ("thresholds",),
    "invalid training_config.json": ("training_config", "epochs"),
    "model folder without weights": ("weights", "safetensors", "model"),
    "a file as model": ("model", "directory", "folder"),
    "missing model folder": ("does not exist", "not found", "no such", "not a model"),
}


def table_faults(ctx: Context, stem: str, rows: list[str], n_good: int) -> list[tuple]:
    """Bad variants of a GoEmotions TSV: (case name, path, expect, keywords, names, extra argv, expected count)."""
    good = ctx.tsv(rows)
    first_text, first_labels, first_id = rows[0].split("\t")
    path = ctx.files / stem
    cases: list[tuple] = []

    def add(name, content, expect="error", keywords=(), names_file=True, extra=(), count=None, suffix=".tsv"):
        file = path / (name.replace(" ", "_").replace("/", "_") + suffix)
        if content is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        names = (file.name,) if names_file and expect == "error" else ()
        cases.append((name, file, expect, tuple(keywords), names, list(extra), count))

    add("missing file", None, keywords=("does not exist",))
    folder = path / "a_folder.tsv"
    folder.mkdir(parents=True, exist_ok=True)
    cases.append(("folder instead of a file", folder, "error", ("directory", "folder"), (), [], None))
    add("empty file", b"", keywords=("empty",))
    add("whitespace only", "  \n\n\t\n", keywords=("empty",))
    add("byte-order mark only", b"\xef\xbb\xbf", keywords=("empty",))
    add("binary garbage", garbage(7, 4096), keywords=("UTF-8", "binary", "NUL"))
    add("NUL byte in a text", good.replace(first_text, first_text[:5] + "\x00" + first_text[5:], 1), keywords=("NUL",))
    latin = good + "Caf\u00e9 cr\u00e8me, tr\u00e8s bien\t0\tlatin1\n"
    add("latin-1 row", latin.encode("latin-1", errors="replace"), keywords=("UTF-8",))
    add("UTF-16 file", good.encode("utf-16"), keywords=("UTF-8",))
    add("gzip file named .tsv", gzip.compress(good.encode()), keywords=("compressed", "UTF-8", "binary"))
    add("5 MB text field", good + '"' + "x" * 5_000_000 + '"\t27\thuge\n', keywords=("field limit", "longer than"))
    add("5 MB unquoted field", good + "y" * 5_000_000 + "\t27\thuge\n", keywords=("field limit", "longer than"))
    add("unclosed quote", good + '"this quote never closes\t27\tq1\n' + good, keywords=("fields", "quote"))
    add("2 columns", good + "only text\t27\n", keywords=("fields",))
    add("4 columns", good + "text\t27\tid9\textra\n", keywords=("fields",))
    add("label id not a number", good + "some text\tjoy\tid9\n", keywords=("label",))
    add("label id out of range", good + "some text\t28\tid9\n", keywords=("label",))
    add("negative label id", good + "some text\t-1\tid9\n", keywords=("label",))
    add("empty label cell", good + "some text\t\tid9\n", keywords=("label",))
    add("empty text", good + "\t27\tid9\n", keywords=("empty text",))
    add("duplicated id", good + f"another text\t27\t{first_id}\n", keywords=("duplicate",))
    add("truncated last row", good + "half a row cut off", keywords=("fields",))
    add("header row", "text\tlabels\tid\n" + good, keywords=("label",))
    add("JSON lines in a .tsv", json.dumps({"a": 1}) + "\n", keywords=("column", "format", "fields"))
    add("CRLF line endings", good.replace("\n", "\r\n"), expect="ok", count=n_good)
    add("byte-order mark then rows", b"\xef\xbb\xbf" + good.encode(), expect="ok", count=n_good)
    add("one bad row, --skip-bad", good + "x\tjoy\tid9\n", expect="ok", extra=["--skip-bad"], count=n_good)
    add("duplicated id, --skip-bad", good + f"x\t27\t{first_id}\n", expect="ok", extra=["--skip-bad"], count=n_good)
    base = path / "base.tsv"
    base.write_text(good, encoding="utf-8")
    cases.append(("unknown --format", base, "error", ("unknown data format",), (), ["--format", "nope"], None))
    cases.append(
        ("--format isear on GoEmotions", base, "error", ("isear", "emotion"), (), ["--format", "isear"], None)
    )
    cases.append(("--format synthetic on a TSV", base, "error", ("JSON",), (), ["--format", "synthetic"], None))
    return cases


def synthetic_record(i: int, **changes) -> dict:
    record = {
        "record_id": f"r{i}",
        "plot_id": f"p{i % 4}",
        "actor_id": f"p{i % 4}/a1",
        "actor": "Ann",
        "utterance": FALLBACK_TEXTS[i % 8],
        "context": "Earlier that day the letter had arrived.",
        "cleaned_context": "Earlier that day the letter had arrived.",
        "rewritten_utterance": FALLBACK_TEXTS[(i + 1) % 8],
        "labels": {"joy": 0.9, "surprise": 0.4} if i % 2 else {"sadness": 0.8},
        "positive_labels": ["joy", "surprise"] if i % 2 else ["sadness"],
        "split": "train" if i % 5 else "dev",
        "provenance": {"model": "stub"},
    }
    record.update(changes)
    return {key: value for key, value in record.items() if value is not ...}


def garbage(seed: int, size: int) -> bytes:
    """``size`` random bytes (not UTF-8: random bytes almost never are)."""
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(size))


def jsonl(records: list) -> str:
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in records)


# --- the cases, command by command ----------------------------------------------------------------------------------


def count_check(command: str, out: Path, expected: int | None, first_text: str | None = None):
    def check(run: Run) -> str | None:
        if command == "train":
            if not (out / "model.safetensors").is_file():
                return "exit 0 but no model.safetensors"
            try:
                json.loads(run.stdout)
            except json.JSONDecodeError:
                return "exit 0 but no JSON summary"
            return None
        if command == "evaluate":
            metrics = out / "metrics.json"
            if not metrics.is_file():
                return "exit 0 but no metrics.json"
            n = json.loads(metrics.read_text(encoding="utf-8")).get("n_examples")
            return None if expected is None or n == expected else f"evaluated {n} rows, expected {expected}"
        if command == "predict":
            if not out.is_file():
                return "exit 0 but no output file"
            rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
            if expected is not None and len(rows) != expected:
                return f"{len(rows)} predictions, expected {expected}"
            if first_text is not None and rows and rows[0]["text"] != first_text:
                return f"first text is {rows[0]['text'][:40]!r}, expected {first_text[:40]!r}"
            return None
        return None

    return check


def data_cases(ctx: Context, command: str) -> list[Case]:
    rows = ctx.rows[:24]
    cases = []
    first_text = rows[0].split("\t")[0]
    for name, path, expect, keywords, names, extra, count in table_faults(ctx, command, rows, len(rows)):
        out = ctx.out(command)
        if command == "train":
            argv = ["train", "--train", str(path), "--out", str(out), "--epochs", "1", "--max-length", "16",
                    "--limit", "16", "--no-progress"]  # fmt: skip
        elif command == "evaluate":
            argv = ["evaluate", "--model", str(ctx.model), "--data", str(path), "--report", str(out)]
        else:
            argv = ["predict", "--model", str(ctx.model), "--input", str(path), "--output", str(out)]
            if not any(option == "--format" for option in extra):
                extra = [*extra, "--format", "goemotions"]
        check = count_check(command, out, count, first_text if "mark" in name else None)
        cases.append(Case(command, name, [*argv, *extra], expect, keywords, names, check))
    return cases


def train_cases(ctx: Context) -> list[Case]:
    cases = data_cases(ctx, "train")
    good = ctx.write("train/good.tsv", ctx.tsv(ctx.rows[:24]))

    def train_argv(*extra, data=good, out=None):
        out = out or ctx.out("train")
        return ["train", "--train", str(data), "--out", str(out), "--epochs", "1", "--max-length", "16",
                "--limit", "16", "--no-progress", *map(str, extra)]  # fmt: skip

    # synthetic JSON lines with wrong types
    records = [synthetic_record(i) for i in range(12)]
    bad_records = {
        "labels as a list": (records[:5] + [synthetic_record(5, labels=["joy"])], ("labels",)),
        "labels as a string": (records[:5] + [synthetic_record(5, labels="joy")], ("labels",)),
        "label level above 1": (records[:5] + [synthetic_record(5, labels={"joy": 3})], ("[0, 1]", "level")),
        "label outside the taxonomy": (records[:5] + [synthetic_record(5, labels={"glee": 1.0})], ("taxonomy",)),
        "record_id a number": (records[:5] + [synthetic_record(5, record_id=5)], ("record_id",)),
        "record_id null": (records[:5] + [synthetic_record(5, record_id=None)], ("record_id",)),
        "provenance missing": (records[:5] + [synthetic_record(5, provenance=...)], ("provenance",)),
        "unknown field": (records[:5] + [synthetic_record(5, mood="x")], ("mood", "extra")),
        "utterance a number": (records[:5] + [synthetic_record(5, utterance=42)], ("utterance",)),
        "a line that is an array": (records[:5] + [[1, 2, 3]], ("JSON object",)),
        "a line that is null": (records[:5] + ["null"], ("JSON object",)),
        "broken JSON line": (records[:5] + ['{"record_id": "r9", '], ("JSON",)),
        "duplicated record_id": (records[:5] + [synthetic_record(1, plot_id="p9")], ("duplicate",)),
    }
    for name, (lines, keywords) in bad_records.items():
        path = ctx.write(f"train/synthetic/{name.replace(' ', '_')}.jsonl", jsonl(lines))
        cases.append(Case("train", f"synthetic: {name}", train_argv(data=path), "error", keywords, (path.name,)))
    good_synth = ctx.write("train/synthetic/good.jsonl", jsonl(records))
    cases.append(
        Case(
            "train",
            "synthetic: split with no records",
            train_argv("--train-split", "test", data=good_synth),
            "error",
            ("no 'orig' examples", "split"),
        )  # fmt: skip
    )
    no_context = ctx.write(
        "train/synthetic/no_context.jsonl", jsonl([synthetic_record(i, context=None) for i in range(6)])
    )
    cases.append(
        Case(
            "train",
            "synthetic: --variant corig without contexts",
            train_argv("--variant", "corig", data=no_context),
            "error",
            ("context",),
        )  # fmt: skip
    )
    ok_out = ctx.out("train")
    cases.append(
        Case(
            "train",
            "synthetic: valid records",
            train_argv(data=good_synth, out=ok_out),
            "ok",
            check=count_check("train", ok_out, None),
        )  # fmt: skip
    )
    # numeric options
    for option, value in [("--epochs", "0"), ("--batch-size", "0"), ("--batch-size", "-8"), ("--grad-accum", "0"),
                          ("--max-length", "4"), ("--lr", "0"), ("--lr", "nan"), ("--head-lr", "abc"),
                          ("--pos-weight", "-1"), ("--seed", "-1"), ("--threads", "0"), ("--dev-limit", "0"),
                          ("--limit", "-3")]:  # fmt: skip
        argv = train_argv()
        argv = argv[: argv.index("--limit")] + ["--no-progress", option, value]
        cases.append(Case("train", f"{option} {value}", argv, "error", (f"argument {option}",)))
    # models and outputs
    existing = ctx.write("train/existing_file", b"keep me")
    cases.append(Case("train", "--out is an existing file", train_argv(out=existing), "error", ("existing file",)))
    cases.append(Case("train", "--out under a file", train_argv(out=existing / "sub"), "error", ("is a file",)))
    models = broken_models(ctx)
    for name in ("empty model folder", "truncated model.safetensors", "missing model folder"):
        cases.append(
            Case(
                "train",
                f"--model {name}",
                [*train_argv(), "--model", str(models[name])],
                "error",
                MODEL_KEYWORDS[name],
                owner="serving (model loading)",
            )  # fmt: skip
        )
    cases.append(
        Case(
            "train",
            "--init-from truncated model.safetensors",
            [*train_argv(), "--init-from", str(models["truncated model.safetensors"])],
            "error",
            MODEL_KEYWORDS["truncated model.safetensors"],
            owner="serving (model loading)",
        )  # fmt: skip
    )
    cases.append(
        Case(
            "train",
            "--model unknown hub id (offline)",
            [*train_argv(), "--model", "nobody/no-such-model"],
            "error",
            ("nobody/no-such-model",),
            owner="serving (model loading)",
        )  # fmt: skip
    )
    dev_bad = ctx.write("train/dev_latin1.tsv", ctx.tsv(ctx.rows[:4]).encode() + "Caf\xe9\t0\tl1\n".encode("latin-1"))
    cases.append(
        Case("train", "--dev not UTF-8", [*train_argv(), "--dev", str(dev_bad)], "error", ("UTF-8",), (dev_bad.name,))
    )
    return cases


def evaluate_cases(ctx: Context) -> list[Case]:
    cases = data_cases(ctx, "evaluate")
    good = ctx.write("evaluate/good.tsv", ctx.tsv(ctx.rows[64:80]))

    def argv(*extra, model=None, data=good, report=None):
        report = report or ctx.out("evaluate")
        return ["evaluate", "--model", str(model or ctx.model), "--data", str(data), "--report", str(report),
                *map(str, extra)]  # fmt: skip

    for option, value in [("--limit", "0"), ("--limit", "-1"), ("--batch-size", "0"), ("--batch-size", "-2"),
                          ("--batch-size", "x"), ("--threads", "0")]:  # fmt: skip
        cases.append(Case("evaluate", f"{option} {value}", argv(option, value), "error", (f"argument {option}",)))
    ok_report = ctx.out("evaluate")
    cases.append(
        Case(
            "evaluate",
            "--limit 3",
            argv("--limit", "3", report=ok_report),
            "ok",
            check=count_check("evaluate", ok_report, 3),
        )  # fmt: skip
    )
    existing = ctx.write("evaluate/existing_report", b"x")
    cases.append(Case("evaluate", "--report is an existing file", argv(report=existing), "error", ("existing file",)))
    for name, model in broken_models(ctx).items():
        owner = "cli/data" if name == "missing model folder" else "serving (model loading)"
        cases.append(
            Case("evaluate", f"--model {name}", argv(model=model), "error", MODEL_KEYWORDS[name], owner=owner)
        )
    isear = ctx.write("evaluate/isear.csv", "id,emotion,text\n1,joy,I won.\n2,fear,A dog chased me.\n")
    cases.append(Case("evaluate", "labels the model does not predict (ISEAR)", argv(data=isear), "error", ("labels",)))
    return cases


def predict_cases(ctx: Context) -> list[Case]:
    cases = data_cases(ctx, "predict")

    def argv(*extra, model=None, output=None):
        output = output or ctx.out("predict.jsonl")
        return ["predict", "--model", str(model or ctx.model), "--output", str(output), *map(str, extra)]

    texts = ["I love it", "This is awful", "What?"]
    plain = {
        "empty .txt": (b"", "error", ("empty",), None),
        "blank lines only .txt": (b"\n\n  \n", "error", ("empty", "no examples"), None),
        "latin-1 .txt": ("Caf\u00e9\nna\u00efve\n".encode("latin-1"), "error", ("UTF-8",), None),
        "binary .txt": (garbage(3, 2048), "error", ("UTF-8", "NUL"), None),
        "NUL byte in a .txt": (b"fine\nbro\x00ken\n", "error", ("NUL",), None),
        ".txt with a byte-order mark": (b"\xef\xbb\xbf" + "\n".join(texts).encode() + b"\n", "ok", (), 3),
        ".txt with CRLF": ("\r\n".join(texts).encode() + b"\r\n", "ok", (), 3),
        ".txt with a 5 MB line": (("z" * 5_000_000 + "\nshort\n").encode(), "ok", (), 2),
    }
    for name, (content, expect, keywords, count) in plain.items():
        path = ctx.write(f"predict/plain/{name.replace(' ', '_').lstrip('.')}.txt", content)
        output = ctx.out("predict.jsonl")
        first = "I love it" if "mark" in name else None
        cases.append(
            Case(
                "predict",
                name,
                ["predict", "--model", str(ctx.model), "--input", str(path), "--output", str(output)],
                expect,
                keywords,
                (path.name,) if expect == "error" else (),
                count_check("predict", output, count, first),
            )  # fmt: skip
        )
    folder = ctx.files / "predict" / "a_folder"
    folder.mkdir(parents=True, exist_ok=True)
    cases.append(Case("predict", "--input a folder (plain)", argv("--input", folder), "error", ("directory",)))
    out = ctx.out("predict.jsonl")
    cases.append(
        Case(
            "predict",
            "--text with --output",
            argv("--text", "So happy today!", output=out),
            "ok",
            check=count_check("predict", out, 1),
        )  # fmt: skip
    )
    cases.append(Case("predict", "--text empty", argv("--text", "  "), "error", ("empty",)))
    cases.append(Case("predict", "--context without --text", argv("--input", folder, "--context", "c"), "error",
                      ("--context",)))  # fmt: skip
    existing_dir = ctx.files / "predict" / "out_dir"
    existing_dir.mkdir(parents=True, exist_ok=True)
    cases.append(Case("predict", "--output is a folder", argv("--text", "hi", output=existing_dir), "error",
                      ("folder",)))  # fmt: skip
    a_file = ctx.write("predict/a_file", b"x")
    cases.append(Case("predict", "--output under a file", argv("--text", "hi", output=a_file / "p.jsonl"), "error",
                      ("is a file",)))  # fmt: skip
    for option, value in [("--batch-size", "0"), ("--batch-size", "-1"), ("--threads", "0")]:
        cases.append(Case("predict", f"{option} {value}", argv("--text", "hi", option, value), "error",
                          (f"argument {option}",)))  # fmt: skip
    for name, model in broken_models(ctx).items():
        owner = "cli/data" if name == "missing model folder" else "serving (model loading)"
        cases.append(Case("predict", f"--model {name}", argv("--text", "hi", model=model), "error",
                          MODEL_KEYWORDS[name], owner=owner))  # fmt: skip
    return cases


def adapt_cases(ctx: Context) -> list[Case]:
    cases = []
    labels = ["joy", "sadness", "anger", "other"]
    good_rows = [("I won the lottery!", "joy"), ("My dog died.", "sadness"), ("Stop lying to me!", "anger"),
                 ("The bus is at nine.", "other")] * 6  # fmt: skip

    def csv_text(rows, header="text,label"):
        return header + "\n" + "".join(f'"{text}",{label}\n' for text, label in rows)

    def task(name: str, data: Path | str, **changes) -> Path:
        spec = {
            "name": "faults",
            "format": "custom",
            "paths": {"data": str(data)},
            "labels": labels,
            "label_map": {"joy": "joy", "sadness": "sadness", "anger": "anger", "other": None},
            "protocol": {"kind": "kfold", "folds": 2, "dev_fraction": 0.0},
            "epochs": 1,
            "metrics": ["macro_f1"],
        }
        spec.update(changes)
        import yaml

        return ctx.write(f"adapt/tasks/{name}.yaml", yaml.safe_dump(spec))

    def argv(task_path, *extra, start=None, out=None):
        out = out or ctx.out("adapt")
        return ["adapt", "--task", str(task_path), "--out", str(out), "--from", str(start or ctx.model),
                "--head", "new", "--epochs", "1", "--limit", "8", "--max-length", "16", *map(str, extra)]  # fmt: skip

    files = {
        "missing data file": (None, ("does not exist",)),
        "empty data file": (b"", ("empty",)),
        "data file not UTF-8": (csv_text(good_rows).encode() + "Caf\xe9,joy\n".encode("latin-1"), ("UTF-8",)),
        "label outside the task's labels": (csv_text(good_rows + [("Hm.", "envy")]), ("envy",)),
        "no label column": (csv_text(good_rows, header="text,feeling"), ("label",)),
        "row with an extra field": (csv_text(good_rows) + "a,joy,extra\n", ("fields",)),
        "5 MB text field": (csv_text(good_rows) + '"' + "w" * 5_000_000 + '",joy\n', ("field limit",)),
        "two labels in a single-label task": (csv_text(good_rows) + '"x","joy,anger"\n', ("single-label",)),
        "binary garbage": (garbage(5, 2048), ("UTF-8", "NUL")),
    }
    for name, (content, keywords) in files.items():
        path = ctx.files / "adapt" / f"{name.replace(' ', '_')}.csv"
        if content is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        cases.append(Case("adapt", f"custom task: {name}", argv(task(name, path)), "error", keywords))
    good = ctx.write("adapt/good.csv", csv_text(good_rows))
    bom = ctx.write("adapt/bom.csv", b"\xef\xbb\xbf" + csv_text(good_rows).encode())
    for name, data in (("valid custom task", good), ("custom task, data with a byte-order mark", bom)):
        out = ctx.out("adapt")
        cases.append(
            Case(
                "adapt",
                name,
                argv(task(name.replace(" ", "_").replace(",", ""), data), out=out),
                "ok",
                check=lambda run, out=out: None if (out / "result.json").is_file() else "no result.json",
            )  # fmt: skip
        )
    cases.append(Case("adapt", "unknown task name", argv("no_such_task"), "error", ("unknown task",)))
    cases.append(Case("adapt", "task YAML missing", argv(ctx.files / "adapt" / "missing.yaml"), "error",
                      ("does not exist",)))  # fmt: skip
    broken_yaml = ctx.write("adapt/tasks/broken.yaml", "name: [unclosed\n")
    cases.append(Case("adapt", "task YAML not valid YAML", argv(broken_yaml), "error", ("YAML",)))
    listing = ctx.write("adapt/tasks/list.yaml", "- a\n- b\n")
    cases.append(Case("adapt", "task YAML is a list", argv(listing), "error", ("mapping",)))
    cases.append(Case("adapt", "task with an unknown format", argv(task("unknown_format", good, format="nope")),
                      "error", ("format",)))  # fmt: skip
    cases.append(Case("adapt", "task with one label", argv(task("one_label", good, labels=["joy"])), "error",
                      ("2 labels",)))  # fmt: skip
    models = broken_models(ctx)
    for name in ("missing model folder", "empty model folder", "truncated model.safetensors"):
        owner = "cli/data" if name == "missing model folder" else "serving (model loading)"
        cases.append(Case("adapt", f"--from {name}", argv(task("from_" + name.replace(" ", "_"), good),
                                                          start=models[name]), "error", MODEL_KEYWORDS[name],
                          owner=owner))  # fmt: skip
    for option, value in [("--epochs", "0"), ("--limit", "0"), ("--batch-size", "0"), ("--max-length", "2"),
                          ("--lr", "-1"), ("--seed", "-1")]:  # fmt: skip
        cases.append(Case("adapt", f"{option} {value}", [*argv(task("options", good)), option, value], "error",
                          (f"argument {option}",)))  # fmt: skip
    existing = ctx.write("adapt/existing_out", b"x")
    cases.append(Case("adapt", "--out is an existing file", argv(task("out_file", good), out=existing), "error",
                      ("existing file",)))  # fmt: skip
    return cases


def synthesize_cases(ctx: Context, stub_url: str | None) -> list[Case]:
    cases = []
    story = (
        "Mara, a lighthouse keeper, finds a letter from her brother Tomas, who left the island ten years ago. "
        "He writes that he is coming home on the next ferry. Mara cleans the cottage, bakes bread and waits on the "
        "pier. The ferry arrives without him; the captain hands her a second letter saying he is ill. Mara takes "
        "the next boat to the mainland to find him."
    )
    llm = f"openai:{stub_url}#stub" if stub_url else "openai:http://127.0.0.1:9/v1#stub"

    def argv(corpus, *extra, out=None):
        out = out or ctx.out("synth")
        return ["synthesize", "--corpus", str(corpus), "--out", str(out), "--llm", llm, "--no-progress",
                "--plots", "1", "--max-actors", "1", *map(str, extra)]  # fmt: skip

    def records_check(out: Path):
        def check(run: Run) -> str | None:
            files = list((out / "dataset").rglob("*.jsonl")) if (out / "dataset").is_dir() else []
            n = sum(len(f.read_text(encoding="utf-8").splitlines()) for f in files)
            return None if n > 0 else "exit 0 but no records"

        return check

    owner = "synth (corpus)"
    rows = {
        "empty corpus file": ("corpus.jsonl", b"", ("empty", "no plots", "no stories")),
        "corpus not UTF-8": ("corpus.jsonl", (json.dumps({"id": "1", "text": story}) + "\n").encode()
                             + '{"id": "2", "text": "Caf\xe9"}\n'.encode("latin-1"), ("UTF-8",)),
        "plot text null": ("corpus.jsonl", jsonl([{"id": "1", "text": None}]), ("text",)),
        "plot text a number": ("corpus.jsonl", jsonl([{"id": "1", "text": 42}]), ("text",)),
        "id a JSON object": ("corpus.jsonl", jsonl([{"id": {"a": 1}, "text": story}]), ("id",)),
        "duplicated plot ids": ("corpus.jsonl", jsonl([{"id": "1", "text": story}, {"id": "1", "text": story}]),
                                ("duplicate",)),
        "broken JSON line": ("corpus.jsonl", jsonl([{"id": "1", "text": story}, '{"id": "2", "text": ']),
                             ("JSON",)),
        "a line that is an array": ("corpus.jsonl", jsonl([[1, 2]]), ("object",)),
        "binary garbage": ("corpus.jsonl", garbage(9, 2048),
                           ("UTF-8", "JSON")),
        # a story may be long (it is cut at --max-plot-tokens); this one has no characters: no records, exit != 0
        "CSV with a 5 MB field": ("corpus.csv", 'id,text\n1,"' + "s" * 5_000_000 + '"\n', ("field", "no records")),
        "CSV without a text column": ("corpus.csv", "id,body\n1,hello\n", ("text",)),
    }  # fmt: skip
    for name, (filename, content, keywords) in rows.items():
        path = ctx.write(f"synth/{name.replace(' ', '_')}/{filename}", content)
        names = () if "no records" in keywords else (path.name,)  # a failed run names its manifest instead
        cases.append(Case("synthesize", name, argv(path), "error", keywords, names, owner=owner))
    cases.append(Case("synthesize", "missing corpus", argv(ctx.files / "synth" / "none.jsonl"), "error",
                      ("does not exist", "not found"), owner=owner))  # fmt: skip
    empty_dir = ctx.files / "synth" / "empty_dir"
    empty_dir.mkdir(parents=True, exist_ok=True)
    cases.append(Case("synthesize", "empty corpus folder", argv(empty_dir), "error", ("no", "empty"), owner=owner))
    good = ctx.write("synth/good/corpus.jsonl", jsonl([{"id": "1", "title": "The letter", "text": story}]))
    bom = ctx.write("synth/bom/corpus.jsonl", b"\xef\xbb\xbf" + jsonl([{"id": "1", "text": story}]).encode())
    if stub_url:
        for name, corpus in (("valid corpus (stub server)", good), ("corpus with a byte-order mark", bom)):
            out = ctx.out("synth")
            cases.append(Case("synthesize", name, argv(corpus, out=out), "ok", check=records_check(out), owner=owner))
    for option, value in [("--plots", "0"), ("--batch-size", "0"), ("--context-fraction", "2"),
                          ("--concurrency", "0"), ("--max-actors", "-1"), ("--min-plot-chars", "-5"),
                          ("--max-tokens", "labels=abc")]:  # fmt: skip
        field = option.lstrip("-").replace("-", "_")  # SynthesisConfig.<field> names it too
        cases.append(Case("synthesize", f"{option} {value}", [*argv(good), option, value], "error",
                          (option, field), owner="synth (cli)"))  # fmt: skip
    existing = ctx.write("synth/existing_out", b"x")
    cases.append(Case("synthesize", "--out is an existing file", argv(good, out=existing), "error",
                      ("file", "directory", "folder"), owner="synth (cli)"))  # fmt: skip
    bad_llm = argv(good)
    bad_llm[bad_llm.index("--llm") + 1] = "openai:http://[::1/v1#stub"
    cases.append(Case("synthesize", "malformed --llm URL", bad_llm, "error", ("url", "--llm"), owner="llm"))
    unknown = argv(good)
    unknown[unknown.index("--llm") + 1] = "nosuchbackend:thing"
    cases.append(Case("synthesize", "unknown --llm backend", unknown, "error", ("backend", "nosuchbackend"),
                      owner="llm"))  # fmt: skip
    cases.append(Case("synthesize", "--prompts folder missing", [*argv(good), "--prompts", ctx.files / "nope"],
                      "error", ("prompts", "does not exist"), owner="synth (cli)"))  # fmt: skip
    return cases


def disk_full_cases(ctx: Context) -> list[Case]:
    """train / evaluate / predict writing onto a full (tiny tmpfs) disk; skipped where mounting is not allowed."""
    mount = ctx.root / "full"
    mount.mkdir(exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        return []
    ctx.full_disk = mount
    free = shutil.disk_usage(mount).free
    with (mount / "filler").open("wb") as handle:  # leave about 8 KB free
        handle.write(b"\0" * max(0, free - 8192))
    texts = ctx.write("full/texts.txt", "".join(f"text number {i}\n" for i in range(400)))
    good = ctx.write("full/test.tsv", ctx.tsv(ctx.rows[64:96]))
    train = ctx.write("full/train.tsv", ctx.tsv(ctx.rows[:16]))

    keywords = ("no space left",)
    return [
        Case("predict", "disk full while writing --output",
             ["predict", "--model", str(ctx.model), "--input", str(texts), "--output", str(mount / "p.jsonl")],
             "error", keywords),
        Case("evaluate", "disk full while writing --report",
             ["evaluate", "--model", str(ctx.model), "--data", str(good), "--report", str(mount / "report")],
             "error", keywords),
        Case("train", "disk full while writing --out",
             ["train", "--train", str(train), "--out", str(mount / "model"), "--epochs", "1", "--max-length", "16",
              "--no-progress"], "error", keywords, owner="training (trainer saves)"),
    ]  # fmt: skip


def leftover_temp_files(ctx: Context) -> list[str]:
    """Temporary files left anywhere under the outputs (a failed write must remove its own)."""
    roots = [ctx.outs] + ([ctx.full_disk] if ctx.full_disk else [])
    return [str(p) for root in roots for p in root.rglob("*") if p.name.endswith((".tmp", ".part", ".partial"))]


# --- running the matrix ---------------------------------------------------------------------------------------------


def start_stub_server() -> tuple[subprocess.Popen | None, str | None]:
    """The synthesis stub server in its own process (wherever it lives now), or (None, None)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for module in ("emopillars.testing.stub_server", "emopillars.synth.stub_server"):
        probe = subprocess.run([sys.executable, "-c", f"import {module}"], env=env, capture_output=True)
        if probe.returncode != 0:
            continue
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
        )
        line = proc.stdout.readline()
        if "at" in line and "http" in line:
            return proc, line.rsplit(" ", 1)[-1].strip()
        proc.kill()
    return None, None


def build_cases(ctx: Context, only: set[str], stub_url: str | None) -> list[Case]:
    builders = {
        "train": lambda: train_cases(ctx),
        "evaluate": lambda: evaluate_cases(ctx),
        "predict": lambda: predict_cases(ctx),
        "adapt": lambda: adapt_cases(ctx),
        "synthesize": lambda: synthesize_cases(ctx, stub_url),
    }
    cases = [case for command in COMMANDS if command in only for case in builders[command]()]
    if {"train", "evaluate", "predict"} & only:
        cases += [case for case in disk_full_cases(ctx) if case.command in only]
    return cases


def run_matrix(
    workdir: str | Path | None = None,
    *,
    only: list[str] | None = None,
    jobs: int = 1,
    progress: bool = True,
) -> list[dict]:
    """Build the files and the tiny model, run every case, and return one row (dict) per case."""
    only_set = set(only or COMMANDS)
    unknown = only_set - set(COMMANDS)
    if unknown:
        raise ValueError(f"unknown command(s) {sorted(unknown)}; choose from {COMMANDS}")
    own_tmp = workdir is None
    root = Path(tempfile.mkdtemp(prefix="emopillars-faults-")) if own_tmp else Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    ctx = Context(root)
    stub, stub_url = (None, None)
    try:
        if progress:
            print(f"work folder {root}; training the tiny model ...", file=sys.stderr, flush=True)
        if {"evaluate", "predict", "adapt", "train"} & only_set and not (ctx.model / "model.safetensors").is_file():
            train_tiny_model(ctx)
        if "synthesize" in only_set:
            stub, stub_url = start_stub_server()
        cases = build_cases(ctx, only_set, stub_url)
        rows: list[dict | None] = [None] * len(cases)
        done = 0
        started = time.perf_counter()

        def one(index: int) -> None:
            nonlocal done
            case = cases[index]
            run = run_cli(case.argv, root, case.timeout, case.env)
            rows[index] = classify(case, run)
            done += 1
            if progress:
                rate = done / max(time.perf_counter() - started, 1e-9)
                eta = (len(cases) - done) / max(rate, 1e-9)
                print(f"[{done}/{len(cases)}] {rows[index]['verdict']:<15} {case.command} {case.name} "
                      f"(ETA {eta:.0f}s)", file=sys.stderr, flush=True)  # fmt: skip

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(one, range(len(cases))))
        leftovers = leftover_temp_files(ctx)
        for row in rows:
            row["leftover_temp_files"] = leftovers
        return [row for row in rows if row is not None]
    finally:
        if stub is not None:
            stub.kill()
        if ctx.full_disk is not None:
            subprocess.run(["umount", str(ctx.full_disk)], capture_output=True)
        if own_tmp:
            shutil.rmtree(root, ignore_errors=True)


def summarize(rows: list[dict]) -> dict:
    """Totals: inputs, clean errors, valid inputs handled, tracebacks (goal 0), silent wrong results (goal 0)."""
    verdicts = Counter(row["verdict"] for row in rows)
    leftovers = rows[0]["leftover_temp_files"] if rows and "leftover_temp_files" in rows[0] else []
    return {
        "inputs": len(rows),
        "bad_inputs": sum(row["expect"] == "error" for row in rows),
        "clean_errors": verdicts["clean error"],
        "valid_inputs_ok": verdicts["ok"],
        "tracebacks": sum(row["traceback"] for row in rows),
        "silent_wrong": sum(row["silent_wrong"] for row in rows),
        "unclear_messages": verdicts["unclear message"],
        "valid_inputs_refused": verdicts["refused valid"],
        "timeouts": verdicts["timeout"],
        "leftover_temp_files": len(leftovers),
        "by_command": {
            command: dict(Counter(row["verdict"] for row in rows if row["command"] == command)) for command in COMMANDS
        },
    }


def format_table(rows: list[dict]) -> str:
    """A Markdown table of every case."""
    lines = [
        "| command | input | expect | exit | traceback | silent wrong | names problem | verdict | owner | message |",
        "| --- | --- | --- | ---: | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        names = "-" if row["names_problem"] is None else ("yes" if row["names_problem"] else "no")
        message = row["message"].replace("|", "\\|")[:120]
        lines.append(
            f"| {row['command']} | {row['case']} | {row['expect']} | {row['exit_code']} | "
            f"{'YES' if row['traceback'] else 'no'} | {'YES' if row['silent_wrong'] else 'no'} | {names} | "
            f"{row['verdict']} | {row['owner']} | {message} |"
        )
    return "\n".join(lines)


def format_summary(summary: dict) -> str:
    lines = [
        f"inputs: {summary['inputs']} ({summary['bad_inputs']} bad, {summary['inputs'] - summary['bad_inputs']} "
        "awkward but valid)",
        f"clean errors: {summary['clean_errors']} / {summary['bad_inputs']}",
        f"valid inputs handled: {summary['valid_inputs_ok']}",
        f"tracebacks: {summary['tracebacks']} (goal 0)",
        f"silent wrong results: {summary['silent_wrong']} (goal 0)",
        f"unclear messages: {summary['unclear_messages']}; valid inputs refused: {summary['valid_inputs_refused']}; "
        f"timeouts: {summary['timeouts']}; leftover temp files: {summary['leftover_temp_files']}",
    ]
    for command, verdicts in summary["by_command"].items():
        if verdicts:
            lines.append(f"  {command}: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=COMMANDS, help="run one command's cases (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once (each is its own process)")
    parser.add_argument("--workdir", help="keep the files and outputs here (default: a temp folder, removed)")
    parser.add_argument("--json", help="write the rows and the summary here")
    parser.add_argument("--quiet", action="store_true", help="no per-case progress lines")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still unmount the tmpfs and stop the stub server
    started = time.perf_counter()
    rows = run_matrix(args.workdir, only=args.only, jobs=args.jobs, progress=not args.quiet)
    summary = summarize(rows)
    print(format_table(rows))
    print()
    print(format_summary(summary))
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"wall time {time.perf_counter() - started:.0f} s, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "summary": summary}, indent=2) + "\n")
    return 0 if summary["tracebacks"] == 0 and summary["silent_wrong"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
