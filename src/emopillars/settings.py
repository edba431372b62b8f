"""Where the toolkit finds data and keeps its caches.

- ``EMOPILLARS_DATA``: folder with the benchmark datasets (goemotions/, isear/, emocontext/, narratives/).
  Default: a ``shared/data`` folder beside the repository, when there is one.
- ``EMOPILLARS_CACHE``: models assembled from parts, LLM caches. Default ``~/.cache/emopillars``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path | None:
    """The benchmark data folder, or ``None`` when it is not on this machine."""
    env = os.environ.get("EMOPILLARS_DATA")
    candidates = [Path(env)] if env else [REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def dataset_path(*parts: str) -> Path:
    """A path inside the data folder; a clear error when the folder or file is missing."""
    root = data_dir()
    if root is None:
        raise FileNotFoundError(
            "benchmark data not found: set EMOPILLARS_DATA to the folder holding goemotions/, isear/, emocontext/"
        )
    path = root.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (EMOPILLARS_DATA={root})")
    return path


def cache_dir() -> Path:
    path = Path(os.environ.get("EMOPILLARS_CACHE", Path.home() / ".cache" / "emopillars"))
    path.mkdir(parents=True, exist_ok=True)
    return path
