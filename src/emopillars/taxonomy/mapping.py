"""Map emotion words outside the 28-label taxonomy onto it.

LLM teachers often answer with labels that are not in the taxonomy ("anxiety", "hope",
"frustration"). :func:`map_label` normalises a raw label and returns the taxonomy label it stands
for, or ``None`` when it cannot be mapped (callers count those).
"""

from __future__ import annotations

import re

from emopillars.taxonomy.labels import LABEL2ID

# Out-of-taxonomy emotion word -> taxonomy label. Chosen by the nearest GoEmotions definition.
OUT_OF_TAXONOMY: dict[str, str] = {
    # fear / nervousness family
    "anxiety": "nervousness",
    "anxious": "nervousness",
    "worry": "nervousness",
    "worried": "nervousness",
    "apprehension": "nervousness",
    "unease": "nervousness",
    "uneasiness": "nervousness",
    "tension": "nervousness",
    "stress": "nervousness",
    "nervous": "nervousness",
    "insecurity": "nervousness",
    "restlessness": "nervousness",
    "dread": "fear",
    "terror": "fear",
    "horror": "fear",
    "panic": "fear",
    "fright": "fear",
    "scared": "fear",
    "afraid": "fear",
    "alarm": "fear",
    "paranoia": "fear",
    # anger family
    "indignation": "anger",
    "rage": "anger",
    "fury": "anger",
    "outrage": "anger",
    "wrath": "anger",
    "hatred": "anger",
    "hate": "anger",
    "hostility": "anger",
    "resentment": "anger",
    "bitterness": "anger",
    "vengefulness": "anger",
    "defiance": "anger",
    "frustration": "annoyance",
    "irritation": "annoyance",
    "impatience": "annoyance",
    "exasperation": "annoyance",
    "agitation": "annoyance",
    "jealousy": "annoyance",
    "envy": "desire",
    "contempt": "disgust",
    "revulsion": "disgust",
    "loathing": "disgust",
    "repulsion": "disgust",
    "scorn": "disapproval",
    "disdain": "disapproval",
    "skepticism": "disapproval",
    "scepticism": "disapproval",
    "suspicion": "disapproval",
    "distrust": "disapproval",
    "mistrust": "disapproval",
    "doubt": "confusion",
    # sadness family
    "sorrow": "sadness",
    "despair": "sadness",
    "hopelessness": "sadness",
    "loneliness": "sadness",
    "melancholy": "sadness",
    "misery": "sadness",
    "unhappiness": "sadness",
    "heartbreak": "sadness",
    "longing": "desire",
    "yearning": "desire",
    "nostalgia": "sadness",
    "helplessness": "sadness",
    "resignation": "sadness",
    "depression": "sadness",
    "hurt": "sadness",
    "pain": "sadness",
    "mourning": "grief",
    "bereavement": "grief",
    "regret": "remorse",
    "guilt": "remorse",
    "repentance": "remorse",
    "contrition": "remorse",
    "shame": "embarrassment",
    "humiliation": "embarrassment",
    "awkwardness": "embarrassment",
    "shyness": "embarrassment",
    "self-consciousness": "embarrassment",
    "dissatisfaction": "disappointment",
    "disillusionment": "disappointment",
    "letdown": "disappointment",
    # positive family
    "hope": "optimism",
    "hopefulness": "optimism",
    "confidence": "optimism",
    "determination": "optimism",
    "anticipation": "excitement",
    "eagerness": "excitement",
    "enthusiasm": "excitement",
    "thrill": "excitement",
    "elation": "joy",
    "happiness": "joy",
    "delight": "joy",
    "contentment": "joy",
    "satisfaction": "joy",
    "cheerfulness": "joy",
    "bliss": "joy",
    "euphoria": "joy",
    "triumph": "pride",
    "accomplishment": "pride",
    "self-satisfaction": "pride",
    "affection": "love",
    "tenderness": "love",
    "adoration": "love",
    "passion": "love",
    "fondness": "love",
    "infatuation": "love",
    "compassion": "caring",
    "empathy": "caring",
    "sympathy": "caring",
    "concern": "caring",
    "protectiveness": "caring",
    "kindness": "caring",
    "thankfulness": "gratitude",
    "appreciation": "gratitude",
    "respect": "admiration",
    "awe": "admiration",
    "reverence": "admiration",
    "wonder": "surprise",
    "astonishment": "surprise",
    "amazement": "surprise",
    "shock": "surprise",
    "disbelief": "surprise",
    "humor": "amusement",
    "humour": "amusement",
    "playfulness": "amusement",
    "mirth": "amusement",
    "interest": "curiosity",
    "intrigue": "curiosity",
    "inquisitiveness": "curiosity",
    "fascination": "curiosity",
    "bewilderment": "confusion",
    "perplexity": "confusion",
    "uncertainty": "confusion",
    "puzzlement": "confusion",
    "understanding": "realization",
    "insight": "realization",
    "epiphany": "realization",
    "recognition": "realization",
    "acceptance": "approval",
    "agreement": "approval",
    "trust": "approval",
    "calm": "relief",
    "calmness": "relief",
    "serenity": "relief",
    "peace": "relief",
    "reassurance": "relief",
    "wanting": "desire",
    "lust": "desire",
    "greed": "desire",
    "ambition": "desire",
    "indifference": "neutral",
    "boredom": "neutral",
    "none": "neutral",
    "no emotion": "neutral",
}

_SUFFIXES = ("ness", "ment", "ion", "ity", "ed", "ing", "y")


def normalize_label(raw: str) -> str:
    """Lower-case, strip punctuation, numbering and surrounding words like 'emotion'."""
    text = raw.strip().lower()
    text = re.sub(r"^[\s\-*\d.)(]+", "", text)
    text = re.sub(r"[\"'`*_:;.,!?()\[\]{}]", " ", text)
    text = re.sub(r"\b(emotion|feeling|feelings|of|a|an|the|sense)\b", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def map_label(raw: str) -> str | None:
    """The taxonomy label for ``raw``, or ``None`` when it cannot be mapped."""
    label = normalize_label(raw)
    if not label:
        return None
    if label in LABEL2ID:
        return label
    if label in OUT_OF_TAXONOMY:
        return OUT_OF_TAXONOMY[label]
    # Inflected forms: "annoyed" -> "annoyance", "excited" -> "excitement", "grateful" -> gratitude
    for candidate in (label.replace(" ", "-"), label.replace("-", " ")):
        if candidate in LABEL2ID:
            return candidate
        if candidate in OUT_OF_TAXONOMY:
            return OUT_OF_TAXONOMY[candidate]
    stem = label
    for suffix in _SUFFIXES:
        if stem.endswith(suffix) and len(stem) - len(suffix) >= 4:
            stem = stem[: -len(suffix)]
            break
    for target in list(LABEL2ID) + list(OUT_OF_TAXONOMY):
        if len(stem) >= 4 and target.startswith(stem):
            return target if target in LABEL2ID else OUT_OF_TAXONOMY[target]
    return _ADJECTIVES.get(label)


_ADJECTIVES: dict[str, str] = {
    "happy": "joy",
    "glad": "joy",
    "sad": "sadness",
    "angry": "anger",
    "mad": "anger",
    "furious": "anger",
    "grateful": "gratitude",
    "thankful": "gratitude",
    "proud": "pride",
    "relieved": "relief",
    "ashamed": "embarrassment",
    "embarrassed": "embarrassment",
    "curious": "curiosity",
    "confused": "confusion",
    "disgusted": "disgust",
    "surprised": "surprise",
    "hopeful": "optimism",
    "optimistic": "optimism",
    "loving": "love",
    "fearful": "fear",
    "remorseful": "remorse",
    "guilty": "remorse",
    "lonely": "sadness",
    "jealous": "annoyance",
    "excited": "excitement",
    "amused": "amusement",
    "annoyed": "annoyance",
    "disappointed": "disappointment",
    "grieving": "grief",
    "calm": "relief",
    "joyful": "joy",
    "cheerful": "joy",
    "content": "joy",
    "hopeless": "sadness",
    "nostalgic": "sadness",
    "heartbroken": "sadness",
    "anxious": "nervousness",
    "worried": "nervousness",
    "terrified": "fear",
    "scared": "fear",
    "resentful": "anger",
    "irritated": "annoyance",
    "frustrated": "annoyance",
    "impatient": "annoyance",
    "sympathetic": "caring",
    "compassionate": "caring",
    "admiring": "admiration",
    "impressed": "admiration",
    "eager": "excitement",
    "determined": "optimism",
    "regretful": "remorse",
    "apologetic": "remorse",
    "shocked": "surprise",
    "astonished": "surprise",
    "puzzled": "confusion",
    "skeptical": "disapproval",
    "suspicious": "disapproval",
    "indifferent": "neutral",
}
