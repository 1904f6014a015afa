"""Pick the sentences that answer: the extractive step.

Candidates are the whole sentences of the top passages (their offsets were
fixed at indexing time, so every quote is an exact slice of its document).
Each sentence is described by features (``FEATURES``, a pure function of the
question, the passages and the idf: ``sentence_features``) and scored by a
linear model fitted by ``bench/fit_scorer.py`` on the gold spans of named
question sets and a DRCD sample, shipped as data in ``qa/data/scorer.json``.
The features are:

- coverage: the idf-weighted share of the question's terms the sentence
  contains (unigrams and bigrams, as in BM25), of the clause that asks, and
  of the documents' terms for the question's everyday words; each also less
  the best coverage among the candidates;
- the fused retrieval score of its passage (min-max scaled), whether the
  passage is the best one, and its rank;
- the expected answer type (``Query.asks``): a question asking how many,
  when, which article, what to do, whether it is a crime, who, or what a
  term means wants a sentence with a number, a date, an article reference,
  an action or a service, a law, a person or body, or a definition; one
  feature per kind, so each kind gets its own weight;
- the cosine between the question and the sentence (USE vectors made at
  indexing time), which carries English questions over Chinese text, and the
  same less the best cosine among the candidates;
- its shape: short, length, first of its passage, pointing back;
- for a question with no Chinese, a copy of coverage, cosine and passage
  score, so a cross-lingual question weighs them on its own scale;
- for a question in words the documents do not use (``loose``: one minus
  the best coverage among the candidates), a copy of coverage, cosine and
  passage score scaled by it: retrieval's passage order is weaker evidence
  for a teacher's plain words than for the documents' own.

The best sentence is the answer. A sentence that opens by pointing back
(這是…, 他…, 也正是在這一年…, It…) is quoted with the sentence before it,
where its subject is: on DRCD this raised answer@1 (retrieval fixed) from
0.854 to 0.863. When the runner-up is its neighbour and
scores within the merge margin of it, the two are quoted together as one
contiguous span: the evidence cannot tell which of the two carries the
answer, and on DRCD this raised answer@1 from 0.833 to 0.856 for quotes 11%
longer on average (``bench/drcd.py``). The margin is on the model's scale,
so it is chosen by the fit script and shipped with the weights.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.lexical import tokens
from index.textnorm import fold
from qa.query import Query

log = logging.getLogger(__name__)

SCORER_PATH = Path(__file__).parent / "data" / "scorer.json"

# A question asking which article wants a sentence citing one (before the general kinds of ``Query.asks``).
_ASKS_ARTICLE = re.compile(r"哪一?条|第几条|什么条|哪个条文|which article|what article|which section")

# What a sentence holds, matched on its folded text: the kind of answer each ``Query.asks`` wants.
_HAS = {
    "number": re.compile(r"\d"),
    "date": re.compile(r"\d{2,4}\s*年|\d{1,2}\s*月|\d{1,2}\s*日|(19|20)\d{2}"),
    "article": re.compile(r"第\s*[\d一二三四五六七八九十百]+\s*条"),
    # an action or a service: report, take down, remove, help, counselling, a tool or body that does it, or a
    # measure someone should or may take (采取措施, 可设立, 应加强...; not that someone called for one: news)
    "action": re.compile(r"下架|移除|删除|通报|检举|申诉|报案|报警|警方|求助|协助|咨询|辅导|心理|保存证据|服务|机制|平台|"
                         r"专线|中心|措施|采取|应当|应该|可(以)?(要求|设立|增加|启用|强制|建立|提供|运用)|"
                         r"得运用|加强|强化|防止|预防|take it down|report|remov|take down|help|support|counsel|hotline|"
                         r"should|measure"),
    # a law, an article or an offence
    "legality": re.compile(r"法|条例|第\s*\d+\s*条|罪|刑|处罚|罚|违反|act\b|law|article|crime|criminal|penalt|illegal"),
    # a person or body
    "who": re.compile(r"部|署|会|局|院|机构|中心|协会|组织|基金会|公司|大学|教授|学者|ncmec|iwin|iwf|thorn|google|"
                      r"microsoft|meta|openai|white house|白宫"),
    "definition": re.compile(r"是指|系指|指的是|意指|定义|所谓|泛指|称为|即是|means|refers to|defined|definition"),
}


KINDS = tuple(_HAS)
FEATURES = ("coverage", "coverage_gap", "ask_coverage", "term_coverage", "dense", "dense_gap", "passage",
            "passage_gap", "top_passage", "passage_rank", "short", "length", "first", "points_back", "digit",
            *(f"type_{k}" for k in KINDS), "other_coverage", "other_dense", "other_dense_gap", "other_passage",
            "loose_coverage", "loose_dense", "loose_dense_gap", "loose_passage", "loose_top_passage",
            "prev_coverage", "next_coverage", "prev_dense", "next_dense")

# The hand-set weights the fitted model replaced (the score before ``bench/fit_scorer.py``), and its
# merge margin: used when no fitted model can be read, and as the baseline the fit is compared with.
HAND_WEIGHTS = {"coverage": 1.0, "other_coverage": -0.8, "passage": 0.15, "other_passage": 0.15, "dense": 0.5,
                "other_dense": 0.5, "short": -0.5, **{f"type_{k}": 0.25 for k in KINDS}}
HAND_MARGIN = 0.3


@dataclass(frozen=True)
class ExtractSettings:
    """How sentences are scored.

    Attributes:
        weights: (feature, weight) pairs of the linear score; None reads the
            fitted model (``qa/data/scorer.json``).
        merge_margin: quote the best sentence with an adjacent runner-up
            scoring within this margin; None takes the fitted model's.
        min_chars: a sentence shorter than this is ``short`` (a heading, a number alone).
    """

    weights: tuple[tuple[str, float], ...] | None = None
    merge_margin: float | None = None
    min_chars: int = 8


@functools.lru_cache(maxsize=4)
def load_model(path: Path = SCORER_PATH) -> tuple[np.ndarray, float]:
    """(weight of each of ``FEATURES``, merge margin) of the fitted model; the hand-set ones if unreadable."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        table = dict(zip(data["features"], data["weights"]))
        return weight_vector(table), float(data["merge_margin"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("no usable sentence scorer at %s (%s); using the hand-set weights", path, e)
        return weight_vector(HAND_WEIGHTS), HAND_MARGIN


def weight_vector(table: dict[str, float]) -> np.ndarray:
    """The weights of ``FEATURES`` in order (a feature not named weighs 0)."""
    return np.array([float(table.get(name, 0.0)) for name in FEATURES], dtype=np.float64)


def resolve(settings: ExtractSettings) -> tuple[np.ndarray, float]:
    """The weight vector and merge margin these settings mean."""
    w, margin = load_model()
    if settings.weights is not None:
        w = weight_vector(dict(settings.weights))
    return w, (margin if settings.merge_margin is None else settings.merge_margin)


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


def sentence_features(q: Query, passages: list[Sentences], idf: dict[str, float],
                      min_chars: int = 8) -> tuple[list[Candidate], np.ndarray]:
    """Every sentence of the passages, once, and its features (a pure function of its inputs).

    Args:
        q: the analysed question.
        passages: the passages' sentences, best passage first.
        idf: the weight of each of the question's tokens (``qa.answerer.question_idf``).
        min_chars: a sentence shorter than this is ``short``.

    Returns:
        The candidates in passage order (``score`` 0) and a matrix of their
        features, one row each, columns in ``FEATURES`` order.
    """
    col = {name: i for i, name in enumerate(FEATURES)}
    total = sum(idf.values()) or 1.0
    asked = set(q.ask_tokens)
    ask_idf = {t: w for t, w in idf.items() if t in asked}
    ask_total = sum(ask_idf.values())
    mine = set(q.tokens)
    term_idf = {t: w for t, w in idf.items() if t not in mine}
    term_total = sum(term_idf.values())
    kind = answer_type(q)
    other = 0.0 if q.cjk else 1.0
    if passages:
        ps = np.array([p.score for p in passages], dtype=np.float64)
        spread = ps.max() - ps.min()
        pnorm = (ps - ps.min()) / spread if spread > 1e-9 else np.ones_like(ps)
    seen: set[tuple[str, int, int]] = set()
    cands: list[Candidate] = []
    rows: list[np.ndarray] = []
    for rank, p in enumerate(passages):
        passage_toks = [set(tokens(p.doc_text[a:b])) for a, b in p.spans]
        passage_cov = [sum(w for t, w in idf.items() if t in toks) / total for toks in passage_toks]
        sims = p.similarities if p.similarities is not None else np.zeros(len(p.spans))
        for j, (a, b) in enumerate(p.spans):
            if (p.source, a, b) in seen:
                continue
            seen.add((p.source, a, b))
            sent = p.doc_text[a:b]
            s_toks = passage_toks[j]
            folded = fold(sent)
            cov = passage_cov[j]
            x = np.zeros(len(FEATURES), dtype=np.float64)
            x[col["coverage"]] = cov
            x[col["ask_coverage"]] = sum(w for t, w in ask_idf.items() if t in s_toks) / ask_total if ask_total else cov
            if term_total:
                x[col["term_coverage"]] = sum(w for t, w in term_idf.items() if t in s_toks) / term_total
            sim = float(sims[j])
            x[col["dense"]] = sim
            x[col["passage"]] = float(pnorm[rank])
            x[col["passage_gap"]] = p.score - float(ps.max())
            x[col["top_passage"]] = float(rank == 0)
            x[col["passage_rank"]] = 1.0 / (rank + 1)
            x[col["short"]] = float(b - a < min_chars)
            x[col["length"]] = min(b - a, 200) / 200.0
            x[col["first"]] = float(j == 0)
            x[col["points_back"]] = float(points_back(sent))
            x[col["digit"]] = float(_HAS["number"].search(folded) is not None)
            if kind is not None:
                x[col[f"type_{kind}"]] = type_match(kind, folded)
            x[col["other_coverage"]] = other * cov
            x[col["other_dense"]] = other * sim
            x[col["other_passage"]] = other * float(pnorm[rank])
            # what the sentences beside it in its passage hold: a question often restates the sentence
            # before the answer (its context) and asks what the next one says
            if j > 0:
                x[col["prev_coverage"]], x[col["prev_dense"]] = passage_cov[j - 1], float(sims[j - 1])
            if j + 1 < len(p.spans):
                x[col["next_coverage"]], x[col["next_dense"]] = passage_cov[j + 1], float(sims[j + 1])
            cands.append(Candidate(p.source, a, b, rank, 0.0, cov))
            rows.append(x)
    X = np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES))
    if len(X):
        X[:, col["coverage_gap"]] = X[:, col["coverage"]] - X[:, col["coverage"]].max()
        has_sim = any(p.similarities is not None for p in passages)
        if has_sim:
            X[:, col["dense_gap"]] = X[:, col["dense"]] - X[:, col["dense"]].max()
        X[:, col["other_dense_gap"]] = other * X[:, col["dense_gap"]]
        # how little of the question any sentence holds: the retrieval's passage order means less then
        loose = 1.0 - X[:, col["coverage"]].max()
        for name in ("coverage", "dense", "dense_gap", "passage", "top_passage"):
            X[:, col[f"loose_{name}"]] = loose * X[:, col[name]]
    return cands, X


def rank(cands: list[Candidate], X: np.ndarray, w: np.ndarray) -> list[Candidate]:
    """The candidates scored ``X @ w``, best first (ties keep passage order)."""
    scores = X @ w if len(X) else np.zeros(0)
    out = [Candidate(c.source, c.start, c.end, c.passage_rank, float(s), c.coverage) for c, s in zip(cands, scores)]
    out.sort(key=lambda c: -c.score)
    return out


def score_sentences(q: Query, passages: list[Sentences], idf: dict[str, float],
                    settings: ExtractSettings = ExtractSettings()) -> list[Candidate]:
    """Score every sentence of the given passages (a pure function of its inputs and the fitted model).

    Args:
        q: the analysed question.
        passages: the passages' sentences, best passage first.
        idf: the idf of the question's tokens.
        settings: the weights (default: the fitted model).

    Returns:
        Candidates, best first (ties keep passage order).
    """
    cands, X = sentence_features(q, passages, idf, settings.min_chars)
    return rank(cands, X, resolve(settings)[0])


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


def assemble(scored: list[Candidate], passages: list[Sentences], n: int,
             margin: float | None = None) -> list[Span]:
    """Turn scored sentences into up to ``n`` non-overlapping quotes, best first.

    Args:
        scored: candidates, best first.
        passages: the passages they were scored in (``Candidate.passage_rank`` indexes it).
        n: how many quotes.
        margin: merge the best sentence with an adjacent runner-up scoring
            within this margin (None: the fitted model's, ``load_model``).

    A quote whose first sentence points back (``points_back``) starts one
    sentence earlier, if that sentence is in the same passage.
    """
    if not scored:
        return []
    if margin is None:
        margin = load_model()[1]

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
