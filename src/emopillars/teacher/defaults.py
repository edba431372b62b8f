"""The teacher ``synthesize`` uses when none is named.

Qwen2.5-Coder-1.5B (embedded llama.cpp, from PyPI) audits best of the models that run here on a CPU (see
BENCHMARKS.md, "Teacher audit"); with the fast decoding engine it is also fast enough for real runs. The
0.5B collapses onto one or two labels (disappointment, disapproval) whatever the utterance. ``$EMOPILLARS_LLM``
still overrides it, as it does for every other command.
"""

from __future__ import annotations

import os

DEFAULT_TEACHER = "llamacpp:qwen2.5-1.5b"


def teacher_spec(spec: str | None = None) -> str:
    """``spec``, else ``$EMOPILLARS_LLM``, else :data:`DEFAULT_TEACHER`."""
    return spec or os.environ.get("EMOPILLARS_LLM") or DEFAULT_TEACHER
