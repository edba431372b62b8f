"""Reading a model folder: checks that name the damaged file, the tokenizer, the weights and the side files.

A model folder (what ``emopillars train`` writes, or ``emopillars export``) holds ``config.json`` (architecture,
labels), the weights (``model.safetensors``; ``model.onnx`` for an ONNX export), the tokenizer files,
``thresholds.json`` (the decision policy chosen on dev) and ``training_config.json`` (how inputs were encoded).

Every fault a user can hit while loading one (an empty folder, a truncated or garbled weights file, broken JSON,
missing tokenizer files) is one :class:`ModelLoadError` naming the file and what is wrong with it, raised
*before* transformers or safetensors get to it: their own errors for these cases are tracebacks or misleading
hints (an empty folder gives "install sentencepiece").
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

from emopillars.evaluation.thresholds import THRESHOLDS_FILE, ThresholdPolicy

log = logging.getLogger(__name__)

MODEL_CONFIG = "config.json"
TRAINING_CONFIG = "training_config.json"
SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PYTORCH_BIN = "pytorch_model.bin"
ONNX_FILE = "model.onnx"
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
)
BACKENDS = ("torch", "onnx")


class ModelLoadError(ValueError):
    """A model folder that cannot be loaded, said in one line: which file, and what is wrong with it."""


# --- transformers helpers ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_transformers():
    """Silence the load report transformers prints for a freshly initialised head (expected here)."""
    import transformers

    level = transformers.logging.get_verbosity()
    bars = transformers.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(level)
        if bars:
            transformers.logging.enable_progress_bar()


def not_found(source: str) -> FileNotFoundError:
    """``from_pretrained``'s OSError for a missing model, as one clear line."""
    return FileNotFoundError(
        f"cannot load model {source!r}: it is not a local model directory, and the hub is not reachable "
        "(or has no such id); train it first or pass an existing directory"
    )


def load_tokenizer(source: str):
    """The tokenizer of a local folder (checked first) or a hub id."""
    from transformers import AutoTokenizer

    path = Path(source)
    if path.is_dir():
        check_tokenizer(path)
    try:
        with quiet_transformers():
            return AutoTokenizer.from_pretrained(source)
    except OSError as exc:
        if path.is_dir():
            raise ModelLoadError(f"{path}: cannot load its tokenizer ({_one_line(exc)})") from exc
        raise not_found(source) from exc
    except Exception as exc:  # tokenizers/sentencepiece raise bare Exceptions for damaged files
        if path.is_dir():
            raise ModelLoadError(f"{path}: its tokenizer files are damaged ({_one_line(exc)})") from exc
        raise


# --- checks ---------------------------------------------------------------------------------------------------------


def check_model_dir(path: str | Path, weights: bool = True) -> Path:
    """A folder ``from_pretrained`` can load: config.json, weights that are whole, tokenizer files.

    ``weights=False`` skips the weights (an ONNX folder has ``model.onnx`` instead; it is checked on load).
    """
    folder = Path(path).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"model directory {folder} does not exist")
    if not folder.is_dir():
        raise ModelLoadError(f"{folder} is a file, not a model directory")
    config = folder / MODEL_CONFIG
    if not config.is_file():
        what = "it is empty" if not any(folder.iterdir()) else f"it has no {MODEL_CONFIG}"
        raise ModelLoadError(
            f"{folder} is not a model directory: {what} (a model folder holds {MODEL_CONFIG}, the weights "
            f"({SAFETENSORS}) and the tokenizer files; train one with `emopillars train`)"
        )
    data = read_json(config, "the model configuration")
    if not isinstance(data, dict) or not data.get("model_type"):
        raise ModelLoadError(f"{config} is not a transformers model configuration (no model_type)")
    if weights:
        check_weights(folder)
    check_tokenizer(folder)
    return folder


def check_tokenizer(folder: Path) -> None:
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(
            f"{folder} has no tokenizer files (one of {', '.join(TOKENIZER_FILES)}): copy them from the encoder "
            "the model was trained from, or re-save the model with its tokenizer"
        )
    tokenizer_json = folder / "tokenizer.json"
    if tokenizer_json.is_file():
        read_json(tokenizer_json, "the tokenizer")


def check_weights(folder: Path) -> Path:
    """The weights file of a torch model folder, verified to be whole (safetensors: header and length)."""
    single = folder / SAFETENSORS
    if single.is_file():
        check_safetensors(single)
        return single
    index = folder / SAFETENSORS_INDEX
    if index.is_file():
        data = read_json(index, "the weights index")
        shards = sorted(set((data.get("weight_map") or {}).values())) if isinstance(data, dict) else []
        if not shards:
            raise ModelLoadError(f"{index} lists no weight files")
        for shard in shards:
            if not (folder / shard).is_file():
                raise ModelLoadError(f"{folder / shard} is missing (listed in {index.name})")
            check_safetensors(folder / shard)
        return index
    legacy = folder / PYTORCH_BIN
    if legacy.is_file():
        if legacy.stat().st_size == 0:
            raise ModelLoadError(f"{legacy} is empty")
        return legacy
    if (folder / ONNX_FILE).is_file():
        raise ModelLoadError(f"{folder} is an ONNX export (it has {ONNX_FILE}, no torch weights): use --backend onnx")
    raise ModelLoadError(f"{folder} has no model weights ({SAFETENSORS} is missing)")


def check_safetensors(path: Path) -> None:
    """The file holds a readable safetensors header and every byte the header promises (not truncated)."""
    size = path.stat().st_size
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                raise ModelLoadError(f"{path} is truncated: {size} bytes, not even a safetensors header")
            (header_len,) = struct.unpack("<Q", head)
            if header_len > min(size - 8, 100_000_000):
                raise ModelLoadError(
                    f"{path} is damaged or not a safetensors file: its header claims {header_len:,} bytes "
                    f"and the file has {size:,}"
                )
            header = json.loads(handle.read(header_len))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path} is damaged: its safetensors header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise ModelLoadError(f"{path} is damaged: its safetensors header is not a JSON object")
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelLoadError(f"{path} is damaged: tensor {name!r} has no valid data offsets") from exc
    expected = 8 + header_len + end
    if size < expected:
        raise ModelLoadError(
            f"{path} is truncated: {size:,} of {expected:,} bytes (a copy or download was cut short; "
            "copy the model folder again or retrain)"
        )


def read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ModelLoadError(f"{path} ({what}) is not UTF-8 text: the file is damaged") from exc
    except json.JSONDecodeError as exc:
        raise ModelLoadError(
            f"{path} ({what}) is not valid JSON ({exc.msg} at line {exc.lineno}): the file is damaged"
        ) from exc


def detect_backend(path: str | Path) -> str:
    """``onnx`` for a folder with ``model.onnx`` and no torch weights, else ``torch``."""
    folder = Path(path)
    has_torch = any((folder / name).is_file() for name in (SAFETENSORS, SAFETENSORS_INDEX, PYTORCH_BIN))
    return "onnx" if (folder / ONNX_FILE).is_file() and not has_torch else "torch"


# --- what prediction needs besides the network ------------------------------------------------------------------


@dataclass(frozen=True)
class EncodingSettings:
    """How the model's inputs were encoded in training (from ``training_config.json``)."""

    context_aware: bool = False
    max_length: int = 128
    emoji: str = "keep"

    @classmethod
    def read(cls, folder: Path) -> EncodingSettings:
        path = folder / TRAINING_CONFIG
        if not path.is_file():
            log.warning("%s has no %s: encoding inputs context-less, max length 128", folder, TRAINING_CONFIG)
            return cls()
        from emopillars.training.config import TrainConfig  # lazy: training.config imports inference.precision

        data = read_json(path, "the training configuration")
        if not isinstance(data, dict):
            raise ModelLoadError(f"{path} is not a JSON object")
        try:  # the whole file, not only the fields read here: an invalid one was not written by training
            config = TrainConfig.from_dict(data)
        except (TypeError, ValueError) as exc:
            raise ModelLoadError(f"{path} is not a valid training configuration: {_one_line(exc)}") from exc
        return cls(bool(config.context_aware), config.max_length, config.emoji)


def model_labels(folder: Path) -> list[str]:
    """The label names in output order, from ``config.json``'s ``id2label``."""
    data = read_json(folder / MODEL_CONFIG, "the model configuration")
    id2label = data.get("id2label") or {}
    try:
        labels = [id2label[str(i)] for i in range(len(id2label))]
    except KeyError as exc:
        raise ModelLoadError(f"{folder / MODEL_CONFIG}: id2label is not numbered 0..{len(id2label) - 1}") from exc
    if not labels:
        raise ModelLoadError(f"{folder / MODEL_CONFIG} has no id2label: not a trained classifier")
    return labels


def read_policy(folder: Path, labels: list[str]) -> ThresholdPolicy:
    """The saved decision policy; a global 0.5 threshold (with a warning) where none was saved."""
    path = folder / THRESHOLDS_FILE
    if not path.is_file():
        log.warning("%s has no %s: using one global threshold of 0.5", folder, THRESHOLDS_FILE)
        return ThresholdPolicy(kind="global", global_threshold=0.5, label_names=labels)
    try:
        policy = ThresholdPolicy.load(path)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"{path}: {_one_line(exc)}") from exc
    if policy.label_names and policy.label_names != labels:
        raise ModelLoadError(f"{path}: its labels differ from the model's id2label in {MODEL_CONFIG}")
    return policy


def with_kind(policy: ThresholdPolicy, kind: str) -> ThresholdPolicy:
    """The same thresholds under another decision kind (global / per_class / argmax)."""
    if kind not in ThresholdPolicy.KINDS:
        raise ValueError(f"unknown threshold policy {kind!r}: one of {', '.join(ThresholdPolicy.KINDS)}")
    if kind == "per_class" and not policy.per_class:
        raise ValueError("this model has no per-class thresholds saved")
    return ThresholdPolicy.from_dict({**policy.to_dict(), "kind": kind})


@functools.cache
def _file_digest(path: str, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_id(folder: Path) -> str:
    """``NAME@HASH``: the folder's name and the first 12 hex digits of its weights' sha256."""
    for name in (SAFETENSORS, ONNX_FILE, SAFETENSORS_INDEX, PYTORCH_BIN):
        path = folder / name
        if path.is_file():
            stat = path.stat()
            return f"{folder.resolve().name}@{_file_digest(str(path), stat.st_size, stat.st_mtime)[:12]}"
    return folder.resolve().name


def load_torch_model(folder: Path, device=None):
    """The transformers sequence classifier of a checked folder, on ``device``."""
    from transformers import AutoModelForSequenceClassification

    try:
        with quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(folder)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelLoadError(f"{folder}: cannot load the model weights ({_one_line(exc)})") from exc
    except Exception as exc:  # safetensors' SafetensorError derives from Exception only
        if type(exc).__name__ == "SafetensorError":
            raise ModelLoadError(f"{folder}: the weights file is damaged ({_one_line(exc)})") from exc
        raise
    return model.to(device) if device is not None else model


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
