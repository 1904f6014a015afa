"""Pick the sentences that answer: the extractive step.

Candidates are the whole sentences of the top passages (their offsets were
fixed at indexing time, so every quote is an exact slice of its document).
A sentence scores by:

- coverage: the idf-weighted share of the question's terms it contains
  (unigrams and bigrams, as in BM25), which rewards the sentence that restates
  the question rather than the passage around it;
- the fused retrieval score of its passage;
- the expected answer type (``Query.asks``): a question asking how many,
  when, which article, what to do, whether it is a crime, who, or what a
  term means wants a sentence with a number, a date, an article reference,
  an action or a service, a law, a person or body, or a definition;
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
from qa.query import Query

# A question asking which article wants a sentence citing one (before the general kinds of ``Query.asks``).
_ASKS_ARTICLE = re.compile(r"哪一?条|第几条|什么条|哪个条文|which article|what article|which section")

# What a sentence holds, matched on its folded text: the kind of answer each ``Query.asks`` wants.
_HAS = {
    "number": re.compile(r"\d"),
    "date": re.compile(r"\d{2,4}\s*年|\d{1,2}\s*月|\d{1,2}\s*日|(19|20)\d{2}"),
    "article": re.compile(r"第\s*[\d一二三四五六七八九十百]+\s*条"),
    # an action or a service: report, take down, remove, help, counselling, a tool or body that does it
    "action": re.compile(r"下架|移除|删除|通报|检举|申诉|报案|报警|警方|求助|协助|咨询|辅导|心理|保存证据|服务|机制|平台|"
                         r"专线|中心|take it down|report|remov|take down|help|support|counsel|hotline"),
    # a law, an article or an offence
    "legality": re.compile(r"法|条例|第\s*\d+\s*条|罪|刑|处罚|罚|违反|act\b|law|article|crime|criminal|penalt|illegal"),
    # a person or body
    "who": re.compile(r"部|署|会|局|院|机构|中心|协会|组织|基金会|公司|大学|教授|学者|ncmec|iwin|iwf|thorn|google|"
                      r"microsoft|meta|openai|white house|白宫"),
    "definition": re.compile(r"是指|系指|指的是|意指|定义|所谓|泛指|称为|即是|means|refers to|defined|definition"),
}


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
    short_penalty: float = 0.5  # taken off a sentence shorter than ``min_chars`` (a heading, a number alone)
    merge_margin: float = 0.3


def answer_type(q: Query) -> str | None:
    """The kind of sentence the question wants (a key of ``_HAS``), or None."""
    if _ASKS_ARTICLE.search(q.folded):
        return "article"
    return q.asks if q.asks in _HAS else None


def type_match(kind: str | None, folded_sentence: str) -> float:
    """1.0 when the (folded) sentence holds what ``kind`` asks for."""
    pattern = _HAS.get(kind) if kind else None
    return 1.0 if pattern is not None and pattern.search(folded_sentence) else 0.0


@dataclass(frozen=True)
class Sentences:
    """A retrieved passage as sentence choice sees it: its sentences' document offsets, best passage first."""

    source: str
    score: float  # the passage's fused retrieval score
    doc_text: str  # the canonical text of its document
    spans: tuple[tuple[int, int], ...]  # its sentences (empty for navigation lists and citation lines)
    similarities: np.ndarray | None = None  # the question's cosine with each sentence, if the store has vectors


@dataclass(frozen=True)
class Candidate:
    """A scored sentence: document offsets, its passage's rank and the score parts."""

    source: str
    start: int
    end: int
    passage_rank: int
    score: float
    coverage: float


def score_sentences(q: Query, passages: list[Sentences], idf: dict[str, float],
                    settings: ExtractSettings = ExtractSettings()) -> list[Candidate]:
    """Score every sentence of the given passages (a pure function of its inputs).

    Args:
        q: the analysed question.
        passages: the passages' sentences, best passage first.
        idf: the idf of the question's tokens.

    Returns:
        Candidates, best first (ties keep passage order).
    """
    w_cov = settings.coverage_weight if q.cjk else settings.coverage_weight_other
    w_psg = settings.passage_weight if q.cjk else settings.passage_weight_other
    w_dense = settings.dense_weight if q.cjk else settings.dense_weight_other
    total = sum(idf.values()) or 1.0
    kind = answer_type(q)
    if passages:
        ps = np.array([p.score for p in passages], dtype=np.float64)
        spread = ps.max() - ps.min()
        pnorm = (ps - ps.min()) / spread if spread > 1e-9 else np.ones_like(ps)
    seen: set[tuple[str, int, int]] = set()
    out: list[Candidate] = []
    for rank, p in enumerate(passages):
        for j, (a, b) in enumerate(p.spans):
            if (p.source, a, b) in seen:
                continue
            seen.add((p.source, a, b))
            sent = p.doc_text[a:b]
            s_toks = set(tokens(sent))
            cov = sum(w for t, w in idf.items() if t in s_toks) / total
            score = w_cov * cov + w_psg * float(pnorm[rank])
            if kind is not None:
                score += settings.type_weight * type_match(kind, fold(sent))
            if p.similarities is not None:
                score += w_dense * float(p.similarities[j])
            if b - a < settings.min_chars:
                score -= settings.short_penalty
            out.append(Candidate(p.source, a, b, rank, score, cov))
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


def assemble(scored: list[Candidate], passages: list[Sentences], n: int, margin: float) -> list[Span]:
    """Turn scored sentences into up to ``n`` non-overlapping quotes, best first.

    Args:
        scored: candidates, best first.
        passages: the passages they were scored in (``Candidate.passage_rank`` indexes it).
        n: how many quotes.
        margin: merge the best sentence with an adjacent runner-up scoring
            within this margin.

    A quote whose first sentence points back (``points_back``) starts one
    sentence earlier, if that sentence is in the same passage.
    """
    if not scored:
        return []

    def sentences_of(rank: int) -> tuple[tuple[int, int], ...]:
        return passages[rank].spans

    def with_antecedent(source: str, rank: int, start: int, end: int) -> tuple[int, int]:
        if not points_back(passages[rank].doc_text[start:end]):
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
