from __future__ import annotations

from collections import Counter

import pytest

from emopillars.synth.balancer import EmotionBalancer
from emopillars.taxonomy import EMOTIONS


def test_choices_are_distinct_and_balanced_over_the_run():
    balancer = EmotionBalancer(seed=3)
    counts: Counter[str] = Counter()
    for i in range(27):
        chosen = balancer.assign(f"actor{i}", 8)
        assert len(set(chosen)) == 8 and "neutral" not in chosen
        counts.update(chosen)
    # 27 calls x 8 = 216 = 27 emotions x 8: perfectly balanced
    assert set(counts.values()) == {8}
    assert set(counts) == set(EMOTIONS)


def test_not_always_the_same_emotions_and_seeded():
    a, b = EmotionBalancer(seed=0), EmotionBalancer(seed=1)
    first = [tuple(a.choose(8)) for _ in range(4)]
    assert len(set(first)) == 4
    assert first != [tuple(b.choose(8)) for _ in range(4)]
    assert first == [tuple(EmotionBalancer(seed=0).choose(8)) for _ in range(1)] + first[1:]


def test_state_round_trip_resumes_identically(tmp_path):
    path = tmp_path / "balancer.json"
    straight = EmotionBalancer(seed=5)
    expected = [straight.assign(f"a{i}", 8) for i in range(6)]
    first = EmotionBalancer.load_or_new(path, 5)
    got = [first.assign(f"a{i}", 8) for i in range(3)]
    first.save(path)
    resumed = EmotionBalancer.load_or_new(path, 5)
    got += [resumed.assign(f"a{i}", 8) for i in range(6)][3:]
    assert got == expected
    assert resumed.assign("a0", 8) == expected[0]  # planned ids keep their plan
    with pytest.raises(ValueError, match="seed"):
        EmotionBalancer.load_or_new(path, 6)


def test_bad_k():
    with pytest.raises(ValueError):
        EmotionBalancer().choose(28)
