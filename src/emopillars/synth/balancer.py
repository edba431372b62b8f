"""Which emotions each utterance call asks for: balanced over the whole run, deterministic, resumable.

Asking every actor for the same 8 emotions would make a few classes huge and leave the rest rare.
The balancer keeps a count per emotion and, for each call, picks the least-used emotions first; ties
are broken by a hash of (seed, call number, emotion), so the choice is random-looking but exactly
reproducible. Within one call the emotions are all different. Its state (counts, calls, and the
plan: actor id -> emotions) is saved to JSON before the utterance step runs, so a resumed run asks
exactly what an uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from emopillars.files import atomic_write_json
from emopillars.synth.errors import DamagedRunError
from emopillars.taxonomy import EMOTIONS


def _tiebreak(seed: int, call: int, emotion: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{call}:{emotion}".encode()).digest()[:8], "big")


@dataclass
class EmotionBalancer:
    seed: int = 0
    emotions: tuple[str, ...] = EMOTIONS
    counts: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    plan: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for emotion in self.emotions:
            self.counts.setdefault(emotion, 0)

    def choose(self, k: int) -> list[str]:
        """``k`` different emotions, least used first, and count them."""
        if not 0 < k <= len(self.emotions):
            raise ValueError(f"can ask for 1..{len(self.emotions)} different emotions per call, not {k}")
        ranked = sorted(self.emotions, key=lambda e: (self.counts[e], _tiebreak(self.seed, self.calls, e)))
        chosen = ranked[:k]
        for emotion in chosen:
            self.counts[emotion] += 1
        self.calls += 1
        return chosen

    def assign(self, key: str, k: int) -> list[str]:
        """The emotions planned for ``key`` (an actor id), choosing them on first request."""
        if key not in self.plan:
            self.plan[key] = self.choose(k)
        return list(self.plan[key])

    def to_dict(self) -> dict:
        return {"seed": self.seed, "counts": self.counts, "calls": self.calls, "plan": self.plan}

    @classmethod
    def from_dict(cls, data: dict) -> EmotionBalancer:
        return cls(
            seed=int(data["seed"]),
            counts={k: int(v) for k, v in data["counts"].items()},
            calls=int(data["calls"]),
            plan={k: list(v) for k, v in data["plan"].items()},
        )

    def save(self, path: str | Path) -> None:
        """Atomic write: a kill never leaves a half-written state file."""
        atomic_write_json(path, self.to_dict(), indent=1)

    @classmethod
    def load_or_new(cls, path: str | Path, seed: int) -> EmotionBalancer:
        """The saved state, or a new balancer; :class:`DamagedRunError` naming the file when it is unreadable."""
        path = Path(path)
        if not path.exists():
            return cls(seed=seed)
        try:
            balancer = cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DamagedRunError(
                f"{path} is damaged ({type(exc).__name__}: {exc}); it holds the emotions asked of each actor. "
                "Delete it and rerun the same command: it is rebuilt identically from the actors checkpoint"
            ) from None
        if balancer.seed != seed:
            raise DamagedRunError(f"{path} was made with seed {balancer.seed}, not {seed}")
        return balancer
