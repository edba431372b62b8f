"""Quality filters for generated text; every drop is counted by reason for the manifest.

- utterances: empty, too short, overlong, off-language (a cheap English check: ASCII letters and
  stopwords), exact duplicates (case, punctuation and spaces normalized) and near-duplicates
  (MinHash LSH over word 3-shingles, Jaccard threshold configurable, default 0.8);
- rewritten utterances that still contain one of their own positive label words or its common
  inflections ("afraid" for fear, "angrily" for anger);
- contexts: :func:`emotion_words_in` finds emotion words left in a context (reported, not dropped).

The filters are pure functions of the ordered rows, so a resumed run filters exactly like an
uninterrupted one (the first occurrence of a duplicate is kept).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from emopillars.data.text import normalize_text as normalize  # the one text-identity key

# Label word + inflections + the plain adjective/verb that names it. Used to catch rewrites that still
# say their label, and contexts that still name emotions.
LABEL_WORDS: dict[str, str] = {
    "admiration": r"admir(?:e|es|ed|ing|ation|able|ably|er|ers)",
    "amusement": r"amus(?:e|es|ed|ing|ingly|ement)",
    "anger": r"anger(?:s|ed)?|angr(?:y|ier|iest|ily)",
    "annoyance": r"annoy(?:s|ed|ing|ingly|ance)?",
    "approval": r"approv(?:e|es|ed|ing|al)",
    "caring": r"car(?:e|es|ed|ing)|caringly",
    "confusion": r"confus(?:e|es|ed|ing|ingly|ion)",
    "curiosity": r"curio(?:us|usly|sity)",
    "desire": r"desir(?:e|es|ed|ing|able)",
    "disappointment": r"disappoint(?:s|ed|ing|ingly|ment|ments)?",
    "disapproval": r"disapprov(?:e|es|ed|ing|al)",
    "disgust": r"disgust(?:s|ed|ing|ingly)?",
    "embarrassment": r"embarrass(?:es|ed|ing|ingly|ment)?",
    "excitement": r"excit(?:e|es|ed|ing|edly|ement)",
    "fear": r"fear(?:s|ed|ing|ful|fully)?|afraid",
    "gratitude": r"gratitude|grateful(?:ly)?",
    "grief": r"grie(?:f|fs|ve|ves|ved|ving)",
    "joy": r"joy(?:s|ful|fully|ous)?",
    "love": r"lov(?:e|es|ed|ing|ingly)",
    "nervousness": r"nervous(?:ly|ness)?",
    "optimism": r"optimis(?:m|t|tic|tically)",
    "pride": r"pride|proud(?:ly|er|est)?",
    "realization": r"reali[sz](?:e|es|ed|ing|ation)",
    "relief": r"relie(?:f|ve|ves|ved)",
    "remorse": r"remorse(?:ful|fully)?",
    "sadness": r"sad(?:ly|ness|der|dest|den|dened)?",
    "surprise": r"surpris(?:e|es|ed|ing|ingly)",
    "neutral": r"neutral(?:ly)?",
}
_LABEL_RE = {label: re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE) for label, pattern in LABEL_WORDS.items()}

_STOPWORDS = frozenset(
    "the a an and or but i me my we our you your he him his she her it its they them their this that these those "
    "is are was were be been am do did does have has had will would can could should not no to of in on at for "
    "with from by as so if what when where who why how all just than then there here up out about into".split()
)
_WORD = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class FilterConfig:
    min_words: int = 3
    max_chars: int = 300
    min_english_ratio: float = 0.9
    near_dup_threshold: float = 0.8
    num_perm: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.near_dup_threshold <= 1:
            raise ValueError(f"near_dup_threshold must be in (0, 1], got {self.near_dup_threshold}")
        if self.max_chars <= 0 or self.min_words < 0:
            raise ValueError("max_chars must be > 0 and min_words >= 0")


def is_english(text: str, min_ratio: float = 0.9) -> bool:
    """Mostly ASCII letters and, for sentences of 6+ words, some English stopwords."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    if sum(c.isascii() for c in letters) / len(letters) < min_ratio:
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) >= 6 and sum(w in _STOPWORDS for w in words) / len(words) < 0.1:
        return False
    return True


def emotion_words_in(text: str, labels: list[str] | None = None) -> list[str]:
    """The emotion words of ``labels`` (default: all 28) that occur in ``text``, lower-cased."""
    found: list[str] = []
    for label in labels if labels is not None else LABEL_WORDS:
        pattern = _LABEL_RE.get(label)
        if pattern:
            found.extend(m.group(0).lower() for m in pattern.finditer(text))
    return found


def _shingles(text: str, k: int = 3) -> set[str]:
    words = normalize(text).split()
    if len(words) < k:
        return set(words)
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def filter_utterances(rows: list[dict], config: FilterConfig = FilterConfig(), field: str = "utterance"):
    """(kept rows in order, Counter of drop reasons)."""
    drops: Counter[str] = Counter()
    kept: list[dict] = []
    seen: set[str] = set()
    lsh = MinHashLSH(threshold=config.near_dup_threshold, num_perm=config.num_perm)
    # Draw the hash permutations once: a fresh MinHash would draw them again for every utterance.
    template = MinHash(num_perm=config.num_perm, seed=config.seed)
    permutations, scheme = template.permutations, template.scheme
    for row in rows:
        text = (row.get(field) or "").strip()
        reason = _text_problem(text, config)
        if reason is None:
            key = normalize(text)
            if key in seen:
                reason = "exact_duplicate"
            else:
                signature = MinHash(
                    num_perm=config.num_perm, seed=config.seed, permutations=permutations, scheme=scheme
                )
                signature.update_batch([shingle.encode("utf-8") for shingle in _shingles(text)])
                if lsh.query(signature):
                    reason = "near_duplicate"
                else:
                    seen.add(key)
                    lsh.insert(str(row["id"]), signature)
        if reason:
            drops[reason] += 1
        else:
            kept.append(row)
    return kept, drops


def _text_problem(text: str, config: FilterConfig) -> str | None:
    if not text:
        return "empty"
    if len(re.findall(r"\w+", text)) < config.min_words:
        return "too_short"
    if len(text) > config.max_chars:
        return "overlong"
    if not is_english(text, config.min_english_ratio):
        return "off_language"
    return None


def rewrite_problem(rewritten: str, positive_labels: list[str], config: FilterConfig = FilterConfig()) -> str | None:
    """Why a rewritten utterance is unusable, or None: text problems, or it still names its own labels."""
    problem = _text_problem(rewritten.strip(), config)
    if problem:
        return f"rewrite_{problem}"
    if emotion_words_in(rewritten, positive_labels):
        return "rewrite_names_label"
    return None
