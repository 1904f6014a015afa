"""Choosing the quote: sentence scoring and how sentences become quotes."""

from __future__ import annotations

import pytest

from qa.extract import Candidate, Sentences, answer_type, assemble, points_back
from qa.query import analyse

TEXT = "東德國歌由漢斯·艾斯勒作曲。這是東德第一首國歌。另一段話在這裡。"
S1, S2, S3 = (0, 14), (14, 24), (24, 32)


def test_spans_are_sentences_of_the_text():
    assert [TEXT[a:b] for a, b in (S1, S2, S3)] == ["東德國歌由漢斯·艾斯勒作曲。", "這是東德第一首國歌。", "另一段話在這裡。"]


@pytest.mark.parametrize("sentence, expected", [
    ("這是中國報紙第一次獲得最佳報紙稱號。", True),
    ("也正是在這一年，《泰晤士報》開始刊登新聞報導。", True),
    ("牠們在建造水壩的時候大幅改變了生態系統。", True),
    ("「這是一個例子。」", True),
    ("It was approved in May 2024.", True),
    ("东德国歌由汉斯·艾斯勒作曲。", False),
    ("臺灣成為新興工業化國家。", False),
    ("Italy approved the act.", False),
])
def test_points_back(sentence, expected):
    assert points_back(sentence) is expected


def _cand(span, score, rank=0):
    return Candidate("doc", span[0], span[1], rank, score, 0.0)


def _psg(*spans):
    return [Sentences("doc", 1.0, TEXT, tuple(spans))]


def test_a_quote_that_points_back_starts_with_its_antecedent():
    spans = assemble([_cand(S2, 1.0), _cand(S3, 0.1)], _psg(S1, S2, S3), 1, 0.3)
    assert [(s.start, s.end) for s in spans] == [(S1[0], S2[1])]
    assert TEXT[spans[0].start:spans[0].end] == "東德國歌由漢斯·艾斯勒作曲。這是東德第一首國歌。"


def test_without_a_pointer_the_sentence_stands_alone():
    assert [(s.start, s.end) for s in assemble([_cand(S3, 1.0)], _psg(S1, S2, S3), 1, 0.3)] == [S3]


def test_the_first_sentence_of_a_passage_has_no_antecedent_to_take():
    assert [(s.start, s.end) for s in assemble([_cand(S2, 1.0)], _psg(S2, S3), 1, 0.3)] == [S2]


def test_quotes_never_overlap_after_extension():
    spans = assemble([_cand(S1, 1.0), _cand(S2, 0.1)], _psg(S1, S2, S3), 3, 0.0)
    assert [(s.start, s.end) for s in spans] == [S1]


def test_neighbouring_runner_up_within_the_margin_is_merged():
    spans = assemble([_cand(S3, 1.0), _cand(S2, 0.9)], _psg(S1, S2, S3), 1, 0.3)
    assert [(s.start, s.end) for s in spans] == [(S1[0], S3[1])]  # S2 points back, so S1 comes too
    spans = assemble([_cand(S3, 1.0), _cand(S2, 0.5)], _psg(S1, S2, S3), 1, 0.3)
    assert [(s.start, s.end) for s in spans] == [S3]


@pytest.mark.parametrize("question, kind", [
    ("刑法哪一條處罰電腦合成製作不實性影像？", "article"),
    ("歐盟理事會何時通過人工智慧法？", "date"),
    ("NCMEC收到多少件檢舉？", "number"),
    ("How many reports did NCMEC receive?", "number"),
    ("深偽是什麼？", "definition"),
    ("學生的照片被做成假的裸照，該怎麼辦？", "action"),
    ("Who runs iWIN?", "who"),
    ("這樣做犯法嗎？", "legality"),
    ("為什麼會這樣", None),  # a reason: no sentence shape to prefer
])
def test_answer_type(question, kind):
    assert answer_type(analyse(question)) == kind


def test_sentence_scoring_prefers_the_sentence_that_covers_the_question_and_its_kind():
    from qa.extract import HAND_WEIGHTS, ExtractSettings, score_sentences

    text = "白宮在2024年5月23日發布呼籲。此舉引起廣泛討論。被害人可以向iWIN檢舉並請求下架。"
    spans = ((0, 18), (18, 27), (27, 45))
    assert [text[a:b] for a, b in spans][2].endswith("下架。")
    passages = [Sentences("doc", 1.0, text, spans)]
    when = analyse("白宮哪一天發布呼籲？")
    idf = {t: 1.0 for t in when.tokens}
    for settings in (ExtractSettings(), ExtractSettings(weights=tuple(HAND_WEIGHTS.items()))):  # fitted, hand-set
        best = score_sentences(when, passages, idf, settings)[0]
        assert (best.start, best.end) == spans[0]
    what_to_do = analyse("照片被散布了，可以向哪裡求助？")
    untyped = {k: v for k, v in HAND_WEIGHTS.items() if not k.startswith("type_")}
    plain = score_sentences(what_to_do, passages, {}, ExtractSettings(weights=tuple(untyped.items())))
    typed = score_sentences(what_to_do, passages, {}, ExtractSettings(weights=tuple(HAND_WEIGHTS.items())))
    assert typed[0].score > plain[0].score and (typed[0].start, typed[0].end) == spans[2]
    assert (score_sentences(what_to_do, passages, {})[0].start, score_sentences(what_to_do, passages, {})[0].end) \
        == spans[2]  # the fitted model prefers the action too


def test_the_shipped_scorer_loads_and_prefers_gold_over_distractors():
    import numpy as np

    from qa.extract import FEATURES, SCORER_PATH, load_model, score_sentences

    w, margin = load_model(SCORER_PATH)
    assert SCORER_PATH.exists() and w.shape == (len(FEATURES),) and np.isfinite(w).all() and margin >= 0
    assert np.abs(w).sum() > 0
    # a made-up passage: the gold sentence holds the question's terms and the asked-for article;
    # the distractors are a heading, a survey figure and a sentence on another topic
    text = "第三章。調查顯示有15%的學生聽過此事。天氣很好。製作不實性影像者依刑法第319條之4處罰。"
    spans = ((0, 4), (4, 20), (20, 25), (25, 48))
    assert text[spans[3][0]:spans[3][1]].startswith("製作不實性影像者")
    q = analyse("製作不實性影像違反刑法哪一條？")
    idf = {t: 1.0 for t in q.tokens}
    best = score_sentences(q, [Sentences("doc", 1.0, text, spans)], idf)[0]
    assert (best.start, best.end) == spans[3]
    # ... and when the gold sentence is in the second passage, it still comes first
    other = "天氣很好。今天是星期一。"
    passages = [Sentences("a", 2.0, other, ((0, 5), (5, 12))), Sentences("b", 1.0, text, spans)]
    best = score_sentences(q, passages, idf)[0]
    assert (best.source, best.start, best.end) == ("b", *spans[3])


def test_a_missing_scorer_falls_back_to_the_hand_set_weights(tmp_path):
    from qa.extract import HAND_MARGIN, HAND_WEIGHTS, load_model, weight_vector

    w, margin = load_model(tmp_path / "nothing.json")
    assert (w == weight_vector(HAND_WEIGHTS)).all() and margin == HAND_MARGIN


def test_features_are_per_sentence_and_scaled_by_script():
    from qa.extract import FEATURES, sentence_features

    text = "被害人可以向iWIN檢舉並請求下架。此舉引起廣泛討論。"
    spans = ((0, 18), (18, 27))
    passages = [Sentences("doc", 1.0, text, spans)]
    zh, en = analyse("可以向哪裡檢舉？"), analyse("Where can I report it?")
    cands, X = sentence_features(zh, passages, {t: 1.0 for t in zh.tokens})
    assert [(c.start, c.end) for c in cands] == list(spans) and X.shape == (2, len(FEATURES))
    col = FEATURES.index
    assert X[0, col("coverage")] > X[1, col("coverage")] and X[0, col("type_action")] == 1.0
    assert (X[:, col("other_coverage")] == 0).all()
    _, Xe = sentence_features(en, passages, {})
    assert (Xe[:, col("other_passage")] == Xe[:, col("passage")]).all()


def test_a_sentence_knows_what_its_neighbours_in_the_passage_hold():
    """A question often restates the sentence before the answer: the answer's features carry it."""
    import numpy as np

    from qa.extract import FEATURES, sentence_features

    text = "被害人可以向iWIN檢舉。檢舉後平台會在一日內下架。此舉引起討論。"
    spans = ((0, 13), (13, 26), (26, 33))
    sims = np.array([0.9, 0.5, 0.1], np.float32)
    q = analyse("向iWIN檢舉以後會怎樣？")
    idf = {t: 1.0 for t in q.tokens}
    cands, X = sentence_features(q, [Sentences("doc", 1.0, text, spans, sims)], idf)
    col = FEATURES.index
    assert [(c.start, c.end) for c in cands] == list(spans)
    assert X[0, col("prev_coverage")] == 0.0 and X[2, col("next_coverage")] == 0.0  # no sentence beside
    assert X[1, col("prev_coverage")] == X[0, col("coverage")] > 0
    assert X[1, col("next_coverage")] == X[2, col("coverage")]
    assert X[1, col("prev_dense")] == pytest.approx(0.9) and X[0, col("next_dense")] == pytest.approx(0.5)
    # a passage's neighbours are its own: the next passage's first sentence has none before it
    two = [Sentences("a", 1.0, text, spans[:2], sims[:2]), Sentences("b", 0.5, text, spans[2:], sims[2:])]
    _, X2 = sentence_features(q, two, idf)
    assert X2[2, col("prev_coverage")] == 0.0 and X2[1, col("next_coverage")] == 0.0


@pytest.mark.parametrize("sentence, holds", [
    ("被害人可以向iWIN檢舉並請求下架。", True),
    ("政府可設立第三方技術審查機構，對生成式人工智慧工具進行監管。", True),  # a measure one may take
    ("應用程式商店可要求開發人員採取措施。", True),
    ("白宮在2024年5月23日發布呼籲。", False),  # that someone called for something is news
])
def test_an_action_sentence_names_a_service_or_a_measure(sentence, holds):
    from index.textnorm import fold
    from qa.extract import type_match
    assert type_match("action", fold(sentence)) == float(holds)
