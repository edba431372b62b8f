"""Hugging Face datasets by id (``hf:<dataset id>``), when the hub is reachable.

``datasets`` is an optional extra (``pip install emopillars[hub]``) and is imported only here, only when used.
Class-label features are turned into names, so ``hf:google-research-datasets/go_emotions`` works with
``label_column="labels"``. Not usable offline (HF_HUB_OFFLINE=1): the error then says so in one line.
"""

from __future__ import annotations

from typing import Any

from emopillars.data.example import LabeledData
from emopillars.data.loaders._rows import BadRows
from emopillars.data.loaders.generic import ColumnSpec, build

PREFIX = "hf:"


def load_hub(
    dataset_id: str,
    *,
    skip_bad: bool = False,
    split: str = "train",
    config: str | None = None,
    revision: str | None = None,
    **columns: Any,
) -> LabeledData:
    """Load one split of a hub dataset through ``datasets.load_dataset`` and the generic column options."""
    dataset_id = dataset_id[len(PREFIX) :] if dataset_id.startswith(PREFIX) else dataset_id
    if not dataset_id:
        raise ValueError("empty dataset id: use hf:<owner/name>")
    try:
        import datasets
    except ImportError as exc:
        raise ValueError("loading hf:<id> needs the 'datasets' package: pip install 'emopillars[hub]'") from exc
    try:
        dataset = datasets.load_dataset(dataset_id, config, split=split, revision=revision)
    except Exception as exc:  # the hub raises many types (connection, offline, missing split); report one line
        raise ValueError(
            f"could not load hf:{dataset_id} (split {split!r}): {type(exc).__name__}: {str(exc).splitlines()[0]} "
            "(the hub may be unreachable: HF_HUB_OFFLINE / no network)"
        ) from exc
    spec = ColumnSpec(**columns)
    spec.resolve(list(dataset.column_names), f"hf:{dataset_id}", None)
    names = _class_names(dataset.features.get(spec.label_column)) if spec.label_column else None
    if names and spec.labels is None:
        spec.set_labels(names)
    source = f"hf:{dataset_id}:{split}"
    bad = BadRows(source, skip_bad)
    return build(((i + 1, row) for i, row in enumerate(dataset)), spec, bad, source)


def _class_names(feature: Any) -> list[str] | None:
    """Names of a ClassLabel feature, or of the ClassLabel inside a Sequence/list feature."""
    for candidate in (feature, getattr(feature, "feature", None)):
        names = getattr(candidate, "names", None)
        if names:
            return list(names)
    if isinstance(feature, list) and feature:
        return _class_names(feature[0])
    return None
