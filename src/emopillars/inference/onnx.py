"""ONNX: export a trained model folder (fp32, or int8 with dynamic quantization) and run it on ONNX Runtime.

Export: ``torch.onnx`` traces the transformers classifier (eager attention, dynamic batch and sequence axes);
``onnxruntime.transformers``' optimizer fuses attention, LayerNorm and GELU for BERT-type encoders; for int8,
``onnxruntime.quantization.quantize_dynamic`` stores the MatMul weights as int8 (activations are quantized on
the fly). The export is checked against the torch model on sample inputs before it is written, and the
folder keeps everything prediction needs: ``config.json`` (labels), the tokenizer, ``thresholds.json``,
``training_config.json``, the model card, and ``onnx_export.json`` (how it was made, and the measured
difference to torch). :class:`OnnxModel` runs such a folder with the same batching as the torch path.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emopillars.files import atomic_write_json, replace_folder
from emopillars.inference.loading import (
    ONNX_FILE,
    ModelLoadError,
    check_model_dir,
    load_tokenizer,
    load_torch_model,
    read_json,
)

log = logging.getLogger(__name__)

EXPORT_FILE = "onnx_export.json"
OPSET = 17
SIDE_FILES = (
    "config.json",
    "thresholds.json",
    "training_config.json",
    "train_summary.json",
    "README.md",
    "model_card.json",
    "eval_results.json",
)
SKIP = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "checkpoint", ONNX_FILE}
SAMPLE_TEXTS = [
    "I can't believe you did this for me, thank you so much!",
    "This is the worst service I have ever had.",
    "ok",
    "Why would anyone think that was a good idea? I'm honestly confused and a bit worried about it.",
]


@dataclass
class ExportInfo:
    """What ``onnx_export.json`` records about an export."""

    quantization: str  # "fp32" or "int8 (dynamic)"
    opset: int
    optimized: bool
    source_model: str
    max_abs_diff_vs_torch: float
    onnxruntime_version: str
    torch_version: str


def export_onnx(
    model_dir: str | Path,
    out_dir: str | Path,
    int8: bool = False,
    optimize: bool = True,
    overwrite: bool = False,
) -> ExportInfo:
    """Export ``model_dir`` (a torch model folder) to ``out_dir`` as an ONNX model folder."""
    import onnxruntime
    import torch

    source = check_model_dir(model_dir)
    out = Path(out_dir).expanduser()
    if out.resolve() == source.resolve():
        raise ValueError(f"--out {out} is the model folder itself: export to a new folder")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"--out {out} is not empty: choose a new folder (or pass --force to replace it)")
    tokenizer = load_tokenizer(str(source))
    model = _eager_model(source)
    sample = _sample_inputs(tokenizer, model.config)
    with torch.inference_mode():
        reference = model(**{k: torch.from_numpy(v) for k, v in sample.items()}).logits.float().numpy()

    out.parent.mkdir(parents=True, exist_ok=True)  # the staging folder sits beside out: one rename ends it
    with replace_folder(out) as staging:  # out is replaced only by a complete, checked export
        raw = staging / "raw.onnx"
        _torch_export(model, sample, raw)
        current = raw
        if optimize:
            current = _optimize(raw, staging / "optimized.onnx", model.config) or raw
        final = staging / ONNX_FILE
        if int8:
            _quantize(current, final)
        else:
            shutil.copyfile(current, final)
        for leftover in staging.glob("*.onnx*"):
            if leftover.name != ONNX_FILE:
                leftover.unlink()
        diff = _max_diff(final, sample, reference)
        limit = 0.5 if int8 else 1e-3
        if not np.isfinite(diff) or diff > limit:
            raise RuntimeError(
                f"the exported model's logits differ from torch by {diff:.4g} (limit {limit}): export failed"
            )
        for item in source.iterdir():
            if item.name in SKIP or item.name.startswith("."):
                continue
            if item.is_file():
                shutil.copy2(item, staging / item.name)
        info = ExportInfo(
            quantization="int8 (dynamic)" if int8 else "fp32",
            opset=OPSET,
            optimized=current != raw,
            source_model=source.resolve().name,
            max_abs_diff_vs_torch=round(float(diff), 6),
            onnxruntime_version=onnxruntime.__version__,
            torch_version=torch.__version__.split("+")[0],
        )
        atomic_write_json(staging / EXPORT_FILE, asdict(info))
    log.info("exported %s to %s (%s, max |logit diff| vs torch %.2g)", source, out, info.quantization, diff)
    return info


def _eager_model(source: Path):
    """The fp32 CPU model with eager attention (the form every exporter traces cleanly)."""
    from transformers import AutoModelForSequenceClassification

    from emopillars.inference.loading import quiet_transformers

    try:
        with quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(source, attn_implementation="eager")
    except (TypeError, ValueError):
        model = load_torch_model(source)
    return model.float().eval()


def _sample_inputs(tokenizer, config) -> dict[str, np.ndarray]:
    enc = tokenizer(SAMPLE_TEXTS, padding=True, truncation=True, max_length=64, return_tensors="np")
    names = ["input_ids", "attention_mask"]
    if (getattr(config, "type_vocab_size", 1) or 1) > 1 and "token_type_ids" in enc:
        names.append("token_type_ids")
    return {name: enc[name].astype(np.int64) for name in names}


def _torch_export(model, sample: dict[str, np.ndarray], path: Path) -> None:
    import torch

    names = list(sample)
    args = tuple(torch.from_numpy(sample[name]) for name in names)

    class Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return self.inner(**dict(zip(names, inputs))).logits

    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["logits"] = {0: "batch"}
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            Logits(model),
            args,
            str(path),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _optimize(path: Path, out: Path, config) -> Path | None:
    """Fuse attention / LayerNorm / GELU with ONNX Runtime's transformer optimizer (BERT-type models)."""
    model_type = getattr(config, "model_type", "")
    if model_type not in ("bert", "roberta", "xlm-roberta", "distilbert", "mpnet", "electra", "camembert"):
        return None
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        optimized = optimize_model(
            str(path),
            model_type="bert",
            num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
            hidden_size=int(getattr(config, "hidden_size", 0) or 0),
            opt_level=1,
            use_gpu=False,
        )
        optimized.save_model_to_file(str(out))
    except Exception as exc:  # the optimizer is best-effort: an unfused graph is still correct
        log.warning("ONNX Runtime's transformer optimizer failed (%s): keeping the unfused graph", exc)
        return None
    return out


def _quantize(path: Path, out: Path) -> None:
    """Dynamic int8: weights stored as 8-bit per output channel, activations quantized per batch at run time.

    Unsigned 8-bit weights (u8u8 kernels): on CPUs without VNNI (AVX2 only), ONNX Runtime's u8s8 kernels sum
    pairs of products in 16 bits, which saturates. Measured on a GoEmotions-trained MiniLM (first 1,500 test
    texts, saved per-class thresholds): macro-F1 +0.0009 vs torch with unsigned weights, -0.0058 with signed ones
    (max |score diff| 0.078 vs 0.126). ``DefaultTensorType``: the fused attention / LayerNorm operators of the
    optimizer have no shape-inference types, and are left in fp32.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(path),
        str(out),
        weight_type=QuantType.QUInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def _max_diff(path: Path, sample: dict[str, np.ndarray], reference: np.ndarray) -> float:
    session = _session(path, num_threads=None)
    logits = session.run(["logits"], {k: v for k, v in sample.items() if k in _input_names(session)})[0]
    return float(np.abs(logits - reference).max())


def _session(path: Path, num_threads: int | None):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Threads that spin while waiting for work collapse throughput when the cores are shared (the same reason
    # as OMP_WAIT_POLICY=PASSIVE for torch): ONNX fp32 ran at 12.8 ex/s vs torch's 19.0 under load average 20.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for damaged files
        raise ModelLoadError(f"{path} is damaged or not an ONNX model ({str(exc).strip().splitlines()[0]})") from exc


def _input_names(session) -> list[str]:
    return [item.name for item in session.get_inputs()]


class OnnxModel:
    """An exported folder on ONNX Runtime: a forward function from a padded batch to logits."""

    def __init__(self, folder: str | Path, num_threads: int | None = None):
        from transformers import AutoConfig

        self.folder = Path(folder)
        path = self.folder / ONNX_FILE
        if not path.is_file():
            raise ModelLoadError(f"{self.folder} has no {ONNX_FILE}: export it with `emopillars export --onnx`")
        self.session = _session(path, num_threads)
        self.input_names = _input_names(self.session)
        self.hf_config = AutoConfig.from_pretrained(self.folder)
        info = self.folder / EXPORT_FILE
        self.quantization = "fp32"
        if info.is_file():
            data = read_json(info, "the export record")
            self.quantization = str(data.get("quantization", "fp32")) if isinstance(data, dict) else "fp32"

    def __call__(self, batch: dict) -> np.ndarray:
        feed = {}
        for name in self.input_names:
            value = batch.get(name)
            if value is None:  # e.g. token_type_ids the encoder does not produce: all zeros
                value = np.zeros_like(np.asarray(batch["input_ids"]))
            feed[name] = np.asarray(value, dtype=np.int64)
        return self.session.run(["logits"], feed)[0]


def read_export_info(folder: str | Path) -> dict | None:
    path = Path(folder) / EXPORT_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
