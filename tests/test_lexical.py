"""BM25 against a plain reference implementation; folding of scripts and article numbers."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from index.lexical import BM25, tokens
from index.textnorm import cn_to_int, fold

DOCS = [
    "刑法第 319條之 4所設之「電腦合成製作不實性影像罪」",
    "兒童及少年性剝削防制條例第 2 條第 3 款明確界定兒少性剝削製品",
    "Take It Down tool removes images; PhotoDNA creates digital fingerprints.",
    "深偽一詞最早於 2017年出現在Reddit網路社交平台",
    "白宮於2024年5月23日公開呼籲採取行動",
]


def reference_bm25(docs, query, k1, b):
    toks = [tokens(d) for d in docs]
    n, avgdl = len(docs), sum(len(t) for t in toks) / len(docs)
    df = Counter(t for ts in toks for t in set(ts))
    out = []
    for ts in toks:
        tf = Counter(ts)
        s = 0.0
        for q in set(tokens(query)):
            if q in tf:
                idf = math.log(1 + (n - df[q] + 0.5) / (df[q] + 0.5))
                s += idf * tf[q] * (k1 + 1) / (tf[q] + k1 * (1 - b + b * len(ts) / avgdl))
        out.append(s)
    return np.array(out)


@pytest.mark.parametrize("query", ["第319條之4", "兒少性剝削製品的定義", "PhotoDNA fingerprints", "深伪", "2024年5月23日", "無關"])
def test_scores_match_reference(query):
    bm = BM25.build(DOCS, k1=0.9, b=0.6)
    np.testing.assert_allclose(bm.scores(query), reference_bm25(DOCS, query, 0.9, 0.6), rtol=1e-5, atol=1e-6)


def test_save_and_load_roundtrip(tmp_path):
    bm = BM25.build(DOCS)
    bm.save(tmp_path / "bm.npz")
    again = BM25.load(tmp_path / "bm.npz")
    np.testing.assert_array_equal(bm.scores("第2條"), again.scores("第2條"))


def test_article_numbers_in_any_writing_match():
    assert fold("第319條之4") == fold("第 319條之 4") == fold("第三百一十九條之四")
    assert fold("第2條第1項第3款") == fold("第二條第一項第三款") == fold("第 2 條第 1 項第 3 款")
    bm = BM25.build(DOCS)
    for q in ("第三百一十九條之四", "第 319 條之 4"):
        assert int(np.argmax(bm.scores(q))) == 0
    assert int(np.argmax(bm.scores("第二條第三款"))) == 1
    assert cn_to_int("三百一十九") == 319 and cn_to_int("十") == 10 and cn_to_int("二十五") == 25


def test_simplified_matches_traditional():
    assert set(tokens("深伪技术")) == set(tokens("深偽技術"))
    bm = BM25.build(DOCS)
    assert int(np.argmax(bm.scores("深伪这个词最早出现在哪里"))) == 3


def test_numbers_keep_their_separators_apart():
    assert "5000" in tokens("近 5,000條")
    assert "12.6%" in tokens("全球有 12.6%")


def test_statistics_gathered_in_batches_give_the_weights_of_the_whole_matrix():
    """A store written a batch of rows at a time (Milvus) has exactly the local matrix's weights."""
    from index.lexical import BM25Stats

    texts = [d * (1 + i % 3) + f" 第{i}條" for i, d in enumerate(DOCS * 7)]
    bm = BM25.build(texts, batch=4)
    stats = BM25Stats.gather(iter(texts), batch=3)
    assert np.array_equal(stats.terms, bm.terms) and np.array_equal(stats.idf, bm.idf)
    by_doc = {}
    for col, t in enumerate(bm.terms):
        for j in range(bm.indptr[col], bm.indptr[col + 1]):
            by_doc.setdefault(int(bm.indices[j]), {})[int(t)] = bm.data[j]
    for first in (0, 5, len(texts) - 2):
        for n, (terms, weights) in enumerate(stats.rows(texts[first:first + 4], first)):
            assert dict(zip(terms.tolist(), weights)) == by_doc[first + n]
    with pytest.raises(ValueError, match="never saw"):
        stats.rows(["一段統計沒看過的文字"], 0)
