"""Pick the sentences that answer: the extractive step.

Candidates are the whole sentences of the top passages (their offsets were
fixed at indexing time, so every quote is an exact slice of its document).
A sentence scores by:

- coverage: the idf-weighted share of the question's terms it contains
  (unigrams and bigrams, as in BM25), which rewards the sentence that restates
  the question rather than the passage around it;
- the fused retrieval score of its passage;
- the expected answer type: a question asking how many, when, or which
  article wants a sentence with a number, a date or an article reference;
- the cosine between the question and the sentence (USE vectors made at
  indexing time), which carries English questions over Chinese text.

The best sentence is the answer. A sentence that opens by pointing back
(這是…, 他…, 也正是在這一年…, It…) is quoted with the sentence before it,
where its subject is: on DRCD this raised answer@1 (retrieval fixed) from
0.854 to 0.863. When the runner-up is its neighbour and
scores within ``merge_margin`` of it, the two are quoted together as one
contiguous span: the evidence cannot tell which of the two carries the
answer, and on DRCD this raised answer@1 from 0.833 to 0.856 for quotes 11%
longer on average (``bench/drcd.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.lexical import tokens
from index.textnorm import fold

# Folded (Simplified) question words -> the kind of answer they expect.
_ASKS_NUMBER = re.compile(r"多少|几[个件张则位名人次项%]|几成|比例|数量|how (many|much)|what (percentage|share|number)")
_ASKS_DATE = re.compile(r"什么时候|何时|哪一?(年|天|日|月)|几月|几年|日期|when|what (year|date|day)|since when")
_ASKS_ARTICLE = re.compile(r"哪一?条|第几条|什么条|哪个条文|which article|what article|which section")

_CJK = re.compile(r"[\u3400-\u9fff]")
_HAS_NUMBER = re.compile(r"\d")
_HAS_DATE = re.compile(r"\d{2,4}\s*年|\d{1,2}\s*月|\d{1,2}\s*日|(19|20)\d{2}")
_HAS_ARTICLE = re.compile(r"第\s*[\d一二三四五六七八九十百]+\s*[條条]")


@dataclass(frozen=True)
class ExtractSettings:
    """Weights of the sentence score; ``*_other`` apply to questions with no Chinese."""

    coverage_weight: float = 1.0
    passage_weight: float = 0.15
    type_weight: float = 0.25
    dense_weight: float = 0.5
    coverage_weight_other: float = 0.2
    passage_weight_other: float = 0.3
    dense_weight_other: float = 1.0
    min_chars: int = 8
    merge_margin: float = 0.3


def answer_type(question: str) -> str | None:
    q = fold(question)
    if _ASKS_ARTICLE.search(q):
        return "article"
    if _ASKS_DATE.search(q):
        return "date"
    if _ASKS_NUMBER.search(q):
        return "number"
    return None


def _type_match(kind: str | None, sentence: str) -> float:
    if kind == "article":
        return 1.0 if _HAS_ARTICLE.search(sentence) else 0.0
    if kind == "date":
        return 1.0 if _HAS_DATE.search(sentence) else 0.0
    if kind == "number":
        return 1.0 if _HAS_NUMBER.search(sentence) else 0.0
    return 0.0


@dataclass(frozen=True)
class Candidate:
    """A scored sentence: document offsets, its passage's rank and the score parts."""

    source: str
    start: int
    end: int
    passage_rank: int
    score: float
    coverage: float


def score_sentences(question: str, passages: list[tuple[str, float, list[tuple[int, int]], object]],
                    doc_text, idf_of, settings: ExtractSettings = ExtractSettings()) -> list[Candidate]:
    """Score every sentence of the given passages.

    Args:
        question: the question.
        passages: (source, fused passage score, sentence spans, sentence
            similarities or None) for each passage, best first.
        doc_text: function source -> canonical text.
        idf_of: function list[token] -> {token: idf}.

    Returns:
        Candidates, best first (ties keep passage order).
    """
    cjk = _CJK.search(question) is not None
    w_cov = settings.coverage_weight if cjk else settings.coverage_weight_other
    w_psg = settings.passage_weight if cjk else settings.passage_weight_other
    w_dense = settings.dense_weight if cjk else settings.dense_weight_other
    q_toks = set(tokens(question))
    idf = idf_of(list(q_toks))
    total = sum(idf.values()) or 1.0
    kind = answer_type(question)
    if passages:
        ps = np.array([p[1] for p in passages], dtype=np.float64)
        spread = ps.max() - ps.min()
        pnorm = (ps - ps.min()) / spread if spread > 1e-9 else np.ones_like(ps)
    seen: set[tuple[str, int, int]] = set()
    out: list[Candidate] = []
    for rank, (source, _pscore, spans, sims) in enumerate(passages):
        text = doc_text(source)
        for j, (a, b) in enumerate(spans):
            if (source, a, b) in seen:
                continue
            seen.add((source, a, b))
            sent = text[a:b]
            s_toks = set(tokens(sent))
            cov = sum(w for t, w in idf.items() if t in s_toks) / total
            score = w_cov * cov + w_psg * float(pnorm[rank]) + settings.type_weight * _type_match(kind, sent)
            if sims is not None:
                score += w_dense * float(sims[j])
            if b - a < settings.min_chars:
                score -= 0.5
            out.append(Candidate(source, a, b, rank, score, cov))
    out.sort(key=lambda c: -c.score)
    return out


@dataclass(frozen=True)
class Span:
    """A quote to be: document offsets, its passage's rank and its score."""

    source: str
    start: int
    end: int
    passage_rank: int
    score: float


# A sentence that opens by pointing back ("這是…", "他在…", "也正是在這一年…",
# "It was…") leaves its subject in the sentence before: quoted alone it does
# not say what it is about, and the answer is often that subject.
_POINTS_BACK = re.compile(
    r"^[「『（(\"']?(?:這|此|該|其|他|她|它|牠|是|也|並|但|而|因此|所以|同時|此外|另外|後來|之後|隨後|當時|同年|次年|翌年"
    r"|这|该|并|同时|后来|随后|当时"
    r"|(?:This|These|That|Those|It|Its|They|Their|He|His|She|Her|Such|Also)\b)")


def points_back(sentence: str) -> bool:
    """Whether a sentence opens with a reference to what came before it."""
    return _POINTS_BACK.match(sentence.lstrip()) is not None


def assemble(scored: list[Candidate], sentences_of, n: int, margin: float, doc_text=None) -> list[Span]:
    """Turn scored sentences into up to ``n`` non-overlapping quotes, best first.

    Args:
        scored: candidates, best first.
        sentences_of: function passage rank -> that passage's sentence spans.
        n: how many quotes.
        margin: merge the best sentence with an adjacent runner-up scoring
            within this margin.
        doc_text: function source -> canonical text; when given, a quote
            whose first sentence points back (``points_back``) starts one
            sentence earlier, if that sentence is in the same passage.
    """
    if not scored:
        return []

    def with_antecedent(source: str, rank: int, start: int, end: int) -> tuple[int, int]:
        if doc_text is None or not points_back(doc_text(source)[start:end]):
            return start, end
        spans = list(sentences_of(rank))
        for i, (a, _b) in enumerate(spans):
            if a == start and i > 0:
                return spans[i - 1][0], end
        return start, end

    best = scored[0]
    start, end = best.start, best.end
    if len(scored) > 1:
        second = scored[1]
        if second.source == best.source and second.score >= best.score - margin:
            spans = list(sentences_of(best.passage_rank))
            if (second.start, second.end) in spans and (best.start, best.end) in spans:
                i, j = spans.index((best.start, best.end)), spans.index((second.start, second.end))
                if abs(i - j) == 1:
                    start, end = min(start, second.start), max(end, second.end)
    start, end = with_antecedent(best.source, best.passage_rank, start, end)
    out = [Span(best.source, start, end, best.passage_rank, best.score)]
    for c in scored[1:]:
        if len(out) >= n:
            break
        a, b = with_antecedent(c.source, c.passage_rank, c.start, c.end)
        if any(c.source == o.source and a < o.end and o.start < b for o in out):
            continue
        out.append(Span(c.source, a, b, c.passage_rank, c.score))
    return out
