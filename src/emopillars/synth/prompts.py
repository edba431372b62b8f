"""Prompt templates: package files that a user can override, one file per step.

Templates are plain text with ``${name}`` placeholders (:class:`string.Template`), so JSON braces in
the instructions need no escaping. ``--prompts DIR`` points at a folder holding any of
``system.txt``, ``actors.txt``, ``utterances.txt``, ``labels.txt``, ``context.txt``, ``cleaning.txt``,
``rewriting.txt``; missing files fall back to the package's. An overridden template gets the version
``<package version>+user.<sha256 prefix>`` so records say which text produced them.
"""

from __future__ import annotations

import functools
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
        parts = _compiled(self.text)
        if parts is not None:  # the fast path: same result as string.Template.substitute
            try:
                return "".join([part if is_text else str(values[part]) for part, is_text in parts])
            except KeyError:
                pass  # substitute raises the error below
        try:
            return string.Template(self.text).substitute({k: str(v) for k, v in values.items()})
        except KeyError as exc:
            raise PromptError(
                f"prompt {self.source}: placeholder ${{{exc.args[0]}}} is not provided for step {self.name!r} "
                f"(available: {', '.join(sorted(values))})"
            ) from None
        except ValueError as exc:
            raise PromptError(f"prompt {self.source}: {exc}") from None


@functools.lru_cache(maxsize=64)
def _compiled(text: str) -> tuple[tuple[str, bool], ...] | None:
    """A template split once into (literal text, True) and (placeholder name, False) parts, by the pattern of
    :class:`string.Template`; None when it holds an invalid placeholder (``substitute`` reports it).
    Rendering by joining the parts costs a third of ``substitute``, which rescans the text on every call."""
    parts: list[tuple[str, bool]] = []
    pos = 0
    for match in string.Template.pattern.finditer(text):
        if match.group("invalid") is not None:
            return None
        parts.append((text[pos : match.start()], True))
        if match.group("escaped") is not None:
            parts.append((string.Template.delimiter, True))
        else:
            parts.append((match.group("named") or match.group("braced"), False))
        pos = match.end()
    parts.append((text[pos:], True))
    return tuple(part for part in parts if part != ("", True))


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
