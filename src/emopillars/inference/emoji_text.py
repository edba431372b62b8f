"""Emoji as words, for encoders whose vocabulary has no emoji.

The BERT-family vocabularies of the bundled encoders (all-MiniLM-L6-v2, all-mpnet-base-v2) map every emoji to
``[UNK]``: "😂" and "😡" become the same token, so the strongest emotion cue of chat text is lost. On the
EmoContext dev set 308 of 2,755 conversations hold an ``[UNK]``, among them 66 of the 142 *happy* ones.
``names`` spells each emoji out with its CLDR name from the maintained ``emoji`` package ("😂" -> "face with
tears of joy"), words the encoder was pretrained on. The mode is a training setting (``TrainConfig.emoji``),
saved in ``training_config.json``, so prediction encodes text exactly as training did.
"""

from __future__ import annotations

import re

EMOJI_MODES = ("keep", "names")

_SPACES = re.compile(r"\s+")


def emoji_to_names(text: str) -> str:
    """``text`` with every emoji replaced by its name in words, set off by spaces (whitespace then collapsed)."""
    import emoji  # lazy: only models trained with ``emoji="names"`` need it

    named = emoji.replace_emoji(text, replace=_spelled)  # one pass; text without emoji comes back unchanged
    return text if named == text else _SPACES.sub(" ", named).strip()


def _spelled(chars: str, data: dict) -> str:
    # CLDR names join words with "_" between colons (":face_with_tears_of_joy:"); the text around stays as it is.
    return " " + data["en"].strip(":").replace("_", " ") + " "


def text_normalizer(mode: str):
    """The function that prepares raw text for the encoder under ``mode`` (``None`` for ``keep``)."""
    if mode not in EMOJI_MODES:
        raise ValueError(f"emoji mode must be one of {EMOJI_MODES}, got {mode!r}")
    return emoji_to_names if mode == "names" else None
