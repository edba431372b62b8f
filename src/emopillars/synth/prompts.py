"""Prompt templates: package files that a user can override, one file per step.

Templates are plain text with ``${name}`` placeholders (:class:`string.Template`), so JSON braces in
the instructions need no escaping. ``--prompts DIR`` points at a folder holding any of
``system.txt``, ``actors.txt``, ``utterances.txt``, ``labels.txt``, ``context.txt``, ``cleaning.txt``,
``rewriting.txt``; missing files fall back to the package's. An overridden template gets the version
``<package version>+user.<sha256 prefix>`` so records say which text produced them.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from pathlib import Path

PACKAGE_PROMPTS = Path(__file__).resolve().parent / "prompts"
SYSTEM = "system"
SYSTEM_VERSION = "system-v1"


class PromptError(ValueError):
    """A template that cannot be rendered (unknown placeholder, missing value)."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    text: str
    version: str
    source: str

    def render(self, **values: object) -> str:
        try:
            return string.Template(self.text).substitute({k: str(v) for k, v in values.items()})
        except KeyError as exc:
            raise PromptError(
                f"prompt {self.source}: placeholder ${{{exc.args[0]}}} is not provided for step {self.name!r} "
                f"(available: {', '.join(sorted(values))})"
            ) from None
        except ValueError as exc:
            raise PromptError(f"prompt {self.source}: {exc}") from None


def load_prompt(name: str, version: str, prompts_dir: str | Path | None = None) -> PromptTemplate:
    """The template for ``name``: the user's file in ``prompts_dir`` when present, else the package's."""
    if prompts_dir is not None:
        folder = Path(prompts_dir)
        if not folder.is_dir():
            raise FileNotFoundError(f"prompts folder not found: {folder}")
        user_file = folder / f"{name}.txt"
        if user_file.exists():
            text = user_file.read_text(encoding="utf-8")
            digest = hashlib.sha256(text.encode()).hexdigest()[:8]
            return PromptTemplate(name, text, f"{version}+user.{digest}", str(user_file))
    package_file = PACKAGE_PROMPTS / f"{name}.txt"
    return PromptTemplate(name, package_file.read_text(encoding="utf-8"), version, str(package_file))
