"""Model cards: a ``README.md`` in the model hub's card format in every model folder that train or adapt writes.

The card is YAML front matter (license, base_model, datasets, metrics and their values as ``model-index``,
pipeline_tag, tags) and then Markdown: labels and thresholds, how ``transformers.pipeline`` users apply
``thresholds.json``, training data and settings, measured metrics, intended use and limitations, so a model folder
can be pushed to a hub as it is. Its structured content lives beside it in ``model_card.json``: evaluations
recorded later (``record_evaluation``, used by ``adapt``) and exports (``emopillars export``) re-render it.

Nothing private goes in: paths are reduced to file names (no home folder, no absolute path) and anything that
looks like a URL credential is redacted.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import yaml

from emopillars.files import atomic_write_json, atomic_write_text
from emopillars.llm.secrets import redact_spec

log = logging.getLogger(__name__)

CARD_FILE = "README.md"
CARD_DATA = "model_card.json"
BASE_MODELS = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "mpnet": "sentence-transformers/all-mpnet-base-v2",
    "all-mpnet-base-v2": "sentence-transformers/all-mpnet-base-v2",
}
BASE_LICENSES = {
    "sentence-transformers/all-MiniLM-L6-v2": "apache-2.0",
    "sentence-transformers/all-mpnet-base-v2": "apache-2.0",
}
# (substring of the data file's path, display name, hub dataset id or None, slug for model-index)
KNOWN_DATASETS = (
    ("goemotions", "GoEmotions", "google-research-datasets/go_emotions", "go_emotions"),
    ("go_emotions", "GoEmotions", "google-research-datasets/go_emotions", "go_emotions"),
    ("isear", "ISEAR", None, "isear"),
    ("emocontext", "EmoContext (SemEval-2019 Task 3)", None, "emocontext"),
    ("emopillars", "Emo Pillars synthetic data", None, "emopillars-synthetic"),
)
_HOME_PATH = re.compile(r"(?:/home/|/root/|/Users/|[A-Za-z]:\\Users\\)[^\s'\"`)]*")


# --- building the card's content ---------------------------------------------------------------------------------


def _public(value):
    """A value safe to publish: credentials redacted, absolute paths reduced to their last part."""
    if isinstance(value, str):
        text = redact_spec(value) or ""
        if text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:\\", text):
            return Path(text.rstrip("/\\")).name or "."
        return _HOME_PATH.sub(lambda m: Path(m.group(0)).name, text)
    if isinstance(value, dict):
        return {key: _public(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_public(item) for item in value]
    return value


def base_model_id(name: str | None) -> str | None:
    """The hub id of the encoder (aliases resolved), or None for a local folder."""
    if not name:
        return None
    key = name.lower().removeprefix("sentence-transformers/")
    if key in BASE_MODELS:
        return BASE_MODELS[key]
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name or Path(name).expanduser().exists():
        return None
    return name


def describe_dataset(source: str | None, role: str, rows: int) -> dict:
    """What the card says about one data file: a display name, a hub id when there is one, the file name."""
    text = (source or "").replace("\\", "/")
    lowered = text.lower()
    name, hub_id, slug = Path(text).name or "unnamed data", None, None
    for needle, display, known_id, known_slug in KNOWN_DATASETS:
        if needle in lowered:
            name, hub_id, slug = display, known_id, known_slug
            break
    return {
        "role": role,
        "name": name,
        "id": hub_id,
        "slug": slug or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "data",
        "file": _public(Path(text).name) if text else None,
        "rows": int(rows),
    }


def card_data_from_training(config, result, train_data, dev_data) -> dict:
    """The card's structured content after a training run."""
    from emopillars.inference.precision import resolve_bf16

    policy = result.policy
    datasets = [describe_dataset(train_data.source, "train", len(train_data))]
    if dev_data is not None and len(dev_data):
        datasets.append(describe_dataset(dev_data.source, "dev (epoch selection and thresholds)", len(dev_data)))
    metrics = []
    if result.dev_metrics:
        dev = datasets[-1]
        for key, label in (("macro_f1", "macro-F1"), ("micro_f1", "micro-F1")):
            if key in result.dev_metrics:
                metrics.append(
                    {
                        "dataset": dev["name"],
                        "dataset_id": dev["id"] or dev["slug"],
                        "split": "dev",
                        "name": label,
                        "type": "f1",
                        "average": key.split("_")[0],
                        "value": round(float(result.dev_metrics[key]), 4),
                        "note": "on the data the thresholds were chosen on (optimistic)",
                    }
                )
    try:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover - torch is a dependency
        device = "cpu"
    settings = {
        "epochs": config.epochs,
        "best_epoch": result.best_epoch,
        "learning_rate": config.lr,
        "head_learning_rate": config.head_lr,
        "batch_size": config.batch_size,
        "gradient_accumulation": config.grad_accum,
        "max_length": config.max_length,
        "context_aware": config.context_aware,
        "soft_targets": config.soft_targets,
        "label_threshold": config.label_threshold,
        "positive_class_weight_cap": config.pos_weight,
        "pooling": config.pooling,
        "warmup_ratio": config.warmup_ratio,
        "weight_decay": config.weight_decay,
        "seed": config.seed,
        "bf16": f"{config.bf16} -> {resolve_bf16(config.bf16, device).describe()}",
        "threshold_policy": config.threshold_policy,
        "initialised_from": Path(config.init_from).name if config.init_from else None,
        "train_examples_per_s": round(float(result.train_examples_per_s), 1),
        "wall_time_s": round(float(result.wall_time_s), 1),
    }
    return _public(
        {
            "name": Path(result.model_dir).resolve().name,
            "base_model": base_model_id(config.model),
            "base_model_name": config.model,
            "labels": list(config.label_names or []),
            "multi_label": bool(getattr(train_data, "multi_label", True)),
            "context_aware": bool(config.context_aware),
            "datasets": datasets,
            "settings": settings,
            "policy": {"kind": policy.kind, "global_threshold": policy.global_threshold},
            "metrics": metrics,
        }
    )


# --- writing -------------------------------------------------------------------------------------------------------


def write_model_card(model_dir: str | Path, config, result, train_data, dev_data=None) -> Path:
    """Write ``model_card.json`` and ``README.md`` into a freshly trained model folder."""
    folder = Path(model_dir)
    data = card_data_from_training(config, result, train_data, dev_data)
    atomic_write_json(folder / CARD_DATA, data)
    return refresh_model_card(folder)


def record_evaluation(model_dir: str | Path, dataset: str, split: str, metrics: dict[str, float]) -> Path:
    """Add measured metrics (e.g. the test split of a protocol) to the card and re-render it."""
    folder = Path(model_dir)
    data = _read_card_data(folder)
    slug, hub_id = dataset, None
    for needle, display, known_id, known_slug in KNOWN_DATASETS:
        if needle in dataset.lower():
            dataset, hub_id, slug = display, known_id, known_slug
            break
    kept = [m for m in data.get("metrics", []) if not (m.get("dataset") == dataset and m.get("split") == split)]
    for name, value in metrics.items():
        kept.append(
            {
                "dataset": dataset,
                "dataset_id": hub_id or slug,
                "split": split,
                "name": name,
                "type": "f1" if "f1" in name.lower() else ("accuracy" if "acc" in name.lower() else name),
                "value": round(float(value), 4),
            }
        )
    data["metrics"] = kept
    atomic_write_json(folder / CARD_DATA, _public(data))
    return refresh_model_card(folder)


def refresh_model_card(model_dir: str | Path) -> Path:
    """Re-render ``README.md`` from ``model_card.json`` and the folder's files (thresholds, export record)."""
    folder = Path(model_dir)
    data = _read_card_data(folder)
    export = folder / "onnx_export.json"
    if export.is_file():
        try:
            data["export"] = _public(json.loads(export.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            log.warning("%s is unreadable: the card does not describe the export", export)
    data["name"] = folder.resolve().name
    data["thresholds"] = _thresholds(folder, data.get("labels") or [])
    text = render_model_card(data)
    return atomic_write_text(folder / CARD_FILE, text)


def _read_card_data(folder: Path) -> dict:
    path = folder / CARD_DATA
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
        except json.JSONDecodeError:
            log.warning("%s is damaged: rebuilding the card from the folder's other files", path)
    return _card_data_from_folder(folder)


def _card_data_from_folder(folder: Path) -> dict:
    """A card for a folder without ``model_card.json`` (trained before cards existed)."""
    config = _json(folder / "training_config.json") or {}
    labels = list(config.get("label_names") or [])
    if not labels:
        id2label = (_json(folder / "config.json") or {}).get("id2label") or {}
        labels = [id2label[k] for k in sorted(id2label, key=int)] if id2label else []
    summary = _json(folder / "train_summary.json") or {}
    metrics = []
    for key, label in (("dev_macro_f1", "macro-F1"), ("dev_micro_f1", "micro-F1")):
        if summary.get(key) is not None:
            metrics.append(
                {"dataset": "dev data", "dataset_id": "dev", "split": "dev", "name": label, "type": "f1",
                 "value": round(float(summary[key]), 4), "note": "on the data the thresholds were chosen on"}
            )  # fmt: skip
    return _public(
        {
            "name": folder.resolve().name,
            "base_model": base_model_id(config.get("model")),
            "base_model_name": config.get("model"),
            "labels": labels,
            "multi_label": True,
            "context_aware": bool(config.get("context_aware")),
            "datasets": [],
            "settings": {k: config.get(k) for k in ("epochs", "lr", "head_lr", "batch_size", "max_length", "seed")},
            "metrics": metrics,
        }
    )


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, json.JSONDecodeError):
        return None


def _thresholds(folder: Path, labels: list[str]) -> dict:
    saved = _json(folder / "thresholds.json") or {}
    kind = saved.get("kind", "global")
    names = saved.get("label_names") or labels
    per_class = saved.get("per_class") or []
    global_threshold = float(saved.get("global_threshold", 0.5))
    used = per_class if kind == "per_class" and len(per_class) == len(names) else [global_threshold] * len(names)
    return {
        "kind": kind,
        "global_threshold": global_threshold,
        "by_label": dict(zip(names, [round(float(t), 4) for t in used])),
        "dev_macro_f1": saved.get("dev_macro_f1") or {},
    }


# --- rendering -----------------------------------------------------------------------------------------------------


def front_matter(data: dict) -> dict:
    """The YAML metadata block of the card (the hub's model card fields)."""
    base = data.get("base_model")
    license_id = BASE_LICENSES.get(base or "", "other")
    hub_datasets = sorted({d["id"] for d in data.get("datasets", []) if d.get("id")})
    tags = ["emotion-classification", "emopillars", "text-classification"]
    tags.append("multi-label" if data.get("multi_label", True) else "single-label")
    if data.get("context_aware"):
        tags.append("context-aware")
    if data.get("export"):
        tags.append("onnx")
        if "int8" in str(data["export"].get("quantization", "")):
            tags.append("int8")
    meta: dict = {"license": license_id}
    if license_id == "other":
        meta["license_name"] = "same-as-base-model-and-data"
    if base:
        meta["base_model"] = base
    meta["library_name"] = "onnx" if data.get("export") else "transformers"
    meta["pipeline_tag"] = "text-classification"
    if hub_datasets:
        meta["datasets"] = hub_datasets
    meta["language"] = ["en"]
    meta["tags"] = tags
    metrics = data.get("metrics", [])
    if metrics:
        meta["metrics"] = sorted({m["type"] for m in metrics})
        results = []
        groups: dict[tuple, list] = {}
        for metric in metrics:
            groups.setdefault((metric["dataset"], metric["dataset_id"], metric["split"]), []).append(metric)
        for (name, dataset_id, split), items in groups.items():
            results.append(
                {
                    "task": {"type": "text-classification", "name": "Emotion classification"},
                    "dataset": {"name": name, "type": dataset_id, "split": split},
                    "metrics": [
                        {"type": m["type"], "value": m["value"], "name": f"{m['name']} ({split})"} for m in items
                    ],
                }
            )
        meta["model-index"] = [{"name": data.get("name", "model"), "results": results}]
    return meta


def _table(header: list[str], rows: list[list]) -> str:
    def cell(value) -> str:
        return "—" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


PIPELINE_SNIPPET = """```python
import json
from transformers import pipeline

classifier = pipeline("text-classification", model="{model}", top_k=None)
policy = json.load(open("{model}/thresholds.json"))
labels = policy["label_names"]
if policy["kind"] == "per_class":
    thresholds = dict(zip(labels, policy["per_class"]))
else:
    thresholds = {{label: policy["global_threshold"] for label in labels}}

{call}
for row in results:
    scores = {{item["label"]: item["score"] for item in row}}
    {decide}
    print(picked, scores)
```"""


def pipeline_snippet(data: dict, model: str = "MODEL_FOLDER") -> str:
    """Python that applies ``thresholds.json`` to the pipeline's scores (executed as it is by the tests)."""
    if data.get("context_aware"):
        call = (
            'results = classifier([{"text": "The cake fell on the floor.", "text_pair": "Well, that went well."}])\n'
            "results = [row if isinstance(row, list) else [row] for row in results]"
        )
    else:
        call = 'results = classifier(["I can\'t wait to see you!", "This is the worst service ever."])'
    if data.get("thresholds", {}).get("kind") == "argmax":
        decide = "picked = [max(scores, key=scores.get)]  # single-label model: the top label"
    else:
        decide = "picked = [label for label, score in scores.items() if score >= thresholds[label]]"
    return PIPELINE_SNIPPET.format(model=model, call=call, decide=decide)


def render_model_card(data: dict) -> str:
    """The card's text (front matter + Markdown)."""
    name = data.get("name", "model")
    labels = data.get("labels") or []
    thresholds = data.get("thresholds") or {"kind": "global", "by_label": {}}
    base = data.get("base_model") or data.get("base_model_name") or "an encoder"
    kind = thresholds.get("kind")
    multi = data.get("multi_label", True)
    reads = (
        "context-aware: it reads the context before the utterance"
        if data.get("context_aware")
        else "context-less: it reads the utterance alone"
    )
    out = ["---", yaml.safe_dump(front_matter(data), sort_keys=False, allow_unicode=True).strip(), "---", ""]
    out.append(f"# {name}")
    out.append("")
    out.append(
        f"A {'multi-label' if multi else 'single-label'} emotion classifier over {len(labels)} labels, fine-tuned "
        f"from `{base}` with [Emo Pillars](https://arxiv.org/abs/2504.16856) "
        f"({reads}). "
        "It is a plain `transformers` sequence classifier (sigmoid scores, one per label) plus the decision "
        "thresholds chosen on dev data in `thresholds.json`."
    )
    out += ["", "## Labels and thresholds", ""]
    if kind == "argmax":
        out.append("Decision: the label with the highest score (single-label data).")
    elif kind == "per_class":
        out.append("Decision: a label is predicted when its score reaches its own threshold, chosen on dev data.")
    else:
        out.append(
            f"Decision: a label is predicted when its score reaches {thresholds.get('global_threshold')} "
            "(one threshold for all labels, chosen on dev data)."
        )
    dev_f1 = thresholds.get("dev_macro_f1") or {}
    if dev_f1:
        compared = ", ".join(f"{k} {float(v):.4f}" for k, v in dev_f1.items())
        out.append(f"Dev macro-F1 of the candidate policies (cross-fitted where the toolkit chose one): {compared}.")
    out.append("")
    out.append(
        _table(["label", "threshold"], [[label, thresholds.get("by_label", {}).get(label)] for label in labels])
    )
    out += ["", "## Use with `transformers.pipeline`", ""]
    out.append(
        "The pipeline gives every label's sigmoid score (the config sets `problem_type: multi_label_classification`); "
        "apply `thresholds.json` to turn scores into labels:"
    )
    out += ["", pipeline_snippet(data), ""]
    out += ["## Use with Emo Pillars", ""]
    out.append("```bash")
    out.append('emopillars predict --model MODEL_FOLDER --text "I can\'t wait to see you!"')
    out.append("emopillars serve --model MODEL_FOLDER            # HTTP API and a page to try it")
    if not data.get("export"):
        out.append("emopillars export --model MODEL_FOLDER --onnx --int8 --out MODEL_FOLDER-int8")
    out.append("```")
    datasets = data.get("datasets") or []
    out += ["", "## Training data", ""]
    if datasets:
        out.append(
            _table(
                ["role", "dataset", "file", "rows"],
                [[d["role"], d["name"], d.get("file"), d["rows"]] for d in datasets],
            )
        )
    else:
        out.append("Not recorded (the model was trained before model cards were written).")
    settings = data.get("settings") or {}
    if settings:
        out += ["", "## Training settings", ""]
        out.append(_table(["setting", "value"], [[k, v] for k, v in settings.items() if v is not None]))
    out += ["", "## Measured metrics", ""]
    metrics = data.get("metrics") or []
    if metrics:
        out.append(
            _table(
                ["dataset", "split", "metric", "value", "note"],
                [[m["dataset"], m["split"], m["name"], f"{m['value']:.4f}", m.get("note")] for m in metrics],
            )
        )
    else:
        out.append("None recorded yet: `emopillars evaluate --model MODEL_FOLDER --data TEST_FILE --report DIR`.")
    export = data.get("export")
    if export:
        out += ["", "## ONNX export", ""]
        out.append(
            f"This folder holds `model.onnx` ({export.get('quantization')}, opset {export.get('opset')}, "
            f"{'graph fusions by ONNX Runtime' if export.get('optimized') else 'no graph fusions'}), exported from "
            f"`{export.get('source_model')}`; its logits differ from the torch model's by at most "
            f"{export.get('max_abs_diff_vs_torch')} on the export's check inputs. Run it with ONNX Runtime "
            "(`emopillars predict/evaluate/serve --backend onnx`, detected automatically); the `pipeline` snippet "
            "above needs the torch weights of the source folder."
        )
    out += ["", "## Intended use", ""]
    out.append(
        "Research and analysis of emotions expressed in short English texts (comments, dialogue turns, "
        "utterances of characters), as scores to aggregate or rank, with a person reviewing decisions that matter."
    )
    out += ["", "## Limitations", ""]
    out += [
        "- English only; trained on the data above, so its domain (e.g. Reddit comments for GoEmotions, "
        "synthetic narrative utterances for Emo Pillars data) shapes what it recognises.",
        "- Rare labels (e.g. grief, relief, nervousness) have few training examples and much lower F1 than "
        "frequent ones; the per-label F1 of an evaluation report shows which.",
        "- Thresholds were chosen on dev data; on another domain, re-choose them on labelled data of that domain.",
        "- Emotions are subjective and annotators disagree; the scores are not a diagnosis of anyone's state and "
        "must not be used for decisions about individuals (hiring, health, policing, credit).",
        "- Inherits the biases of its encoder's pre-training data and of its training labels.",
    ]
    text = "\n".join(out) + "\n"
    return _HOME_PATH.sub(lambda m: Path(m.group(0)).name, text)
