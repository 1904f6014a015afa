"""The sentence scorer's fit (bench/fit_scorer.py) on a tiny made-up set."""

from __future__ import annotations

import numpy as np

from bench.fit_scorer import Question, fit, quote_hit, score
from qa.extract import FEATURES, Candidate, Sentences


def _question(group: str, rng: np.random.Generator) -> Question:
    """Four one-sentence candidates; the gold one covers the question best, the others are noise."""
    text = "甲。乙。丙。丁。"
    spans = ((0, 2), (2, 4), (4, 6), (6, 8))
    gold = int(rng.integers(4))
    X = rng.normal(0, 1, (4, len(FEATURES)))
    X[:, FEATURES.index("coverage")] = 0.2
    X[gold, FEATURES.index("coverage")] = 0.9
    cands = [Candidate("doc", a, b, 0, 0.0, 0.0) for a, b in spans]
    label = np.arange(4) == gold
    return Question(group, group, cands, X, label, [Sentences("doc", 1.0, text, spans)], (text[spans[gold][0]],))


def test_the_fit_learns_what_marks_the_gold_sentence():
    rng = np.random.default_rng(0)
    questions = [_question(g, rng) for g in ("a", "b") for _ in range(30)]
    w = fit(questions, C=1.0)
    assert w.shape == (len(FEATURES),)
    assert FEATURES[int(np.argmax(w))] == "coverage"
    assert all(quote_hit(qu, w, 0.0) for qu in questions)
    assert score(questions, w, 0.0) == {"a": 1.0, "b": 1.0, "mean": 1.0}
