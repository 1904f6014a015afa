"""Answer a question with exact quotes: guard, retrieve, extract, abstain.

1. A question that seeks sexual material of minors, or how to make, find or
   alter it, is refused (``qa.guard``); the user is shown the passages on the
   law and on reporting and takedown instead, found by retrieval so they come
   from whatever documents are indexed.
2. Otherwise the top passages are retrieved and their sentences scored
   (``qa.extract``); the best sentences become quotes, each an exact slice of
   its document.
3. A calibrated model (``qa.abstain``) decides whether the evidence answers
   the question at all; if not, the status is ``not_found``, no quote is given
   as an answer, and the closest passages are returned for the user to judge.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.lexical import tokens
from index.textnorm import fold
from qa import guard
from qa.abstain import confidence, features
from qa.extract import (
    Candidate,
    ExtractSettings,
    Sentences,
    answer_type,
    assemble,
    score_sentences,
    type_match,
)
from qa.laws import reference_in
from qa.constraints import Constraint, unmet
from qa.query import Query, analyse
from qa.records import CLOSEST_SHOWN, Answer, Passage, Quote, Wording
from qa.retriever import BOILERPLATE, FirstAsk, Index, open_index
from qa.slots import holds

log = logging.getLogger(__name__)

# What the refusal shows: retrieval queries for the passages on the law and on
# reporting and takedown. They are queries, not text shown to anyone.
SAFETY_QUERIES = (
    "被害人 影像 下架 移除 檢舉 通報 Take It Down iWIN 合作機制",
    "刑法 處罰 兒童及少年性剝削防制條例 兒少性剝削製品 法律 規定",
)


SAFETY_SPARE = 3


@dataclass(frozen=True)
class AnswerSettings:
    passages: int = 5  # passages looked at
    quotes: int = 3  # quotes returned when answered
    extract: ExtractSettings = ExtractSettings()


def safety_passages(index: Index, k: int = 4) -> list[Passage]:
    """The passages on the law and on reporting and takedown, best first, no duplicates.

    They depend only on the store, so they are found once per opened store.
    """
    cache = index._safety
    if k not in cache:
        cache[k] = _find_safety_passages(index, k)
    return list(cache[k])


def _find_safety_passages(index: Index, k: int) -> list[Passage]:
    per = max(1, k // len(SAFETY_QUERIES))
    seen: set[str] = set()
    out: list[Passage] = []
    for q in SAFETY_QUERIES:
        # a few spare passages per query: some are duplicates of the other query's or navigation lists
        fresh = [p for p in index.search(q, per + SAFETY_SPARE) if p.chunk_id not in seen and p.kind != "list"][:per]
        seen.update(p.chunk_id for p in fresh)
        out.extend(fresh)
    return out[:k]


def warm_up(index: Index) -> None:
    """Answer once, and find the refusal passages, so that the next answer is
    timed (or waited for) without the engines' first-call setup (about 0.8 s)."""
    safety_passages(index)
    answer_with(index, "warm-up 暖身")


@dataclass(frozen=True)
class Evidence:
    """What retrieval and sentence scoring found for a question (before the decision)."""

    passages: list[Passage]
    sentences: list[Sentences]  # the passages' sentences, as sentence choice saw them
    scored: list[Candidate]  # scored sentence candidates, best first
    features: dict[str, float]
    missing: list[Constraint]  # the question's constraints that no passage meets


def question_idf(index: Index, q: Query, told: float = 0.5, terms: float = 0.5) -> dict[str, float]:
    """The weight of each of the question's tokens in sentence choice: its idf, times ``told`` for a
    word only in the story a question tells before it asks, plus the documents' terms for its
    everyday words at ``terms`` (``qa.glossary``)."""
    idf = index.bm25.idf_of(list(set(q.tokens) | set(q.term_tokens)))
    asked = set(q.ask_tokens) if q.tells_story else None
    mine = set(q.tokens)
    out = {}
    for t, w in idf.items():
        if t not in mine:
            out[t] = terms * w
        elif asked is not None and t not in asked:
            out[t] = told * w
        else:
            out[t] = w
    return out


# a word of an English question: letters, at least three
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")


def _nameable(q: Query, latin: bool = False) -> list[tuple[str, str]]:
    """The words a not-found may name, as written and folded: the question's nouns and names
    (``Query.words``; with ``latin``, for a question with none, such as an English one, its words),
    not an everyday word the glossary maps to the documents' term (the answer shows that mapping),
    nor a word too common to be indexed ("it", "the": nothing to look for)."""
    said = [fold(t.said) for t in q.terms]
    words = q.words or (tuple(dict.fromkeys(_LATIN_WORD.findall(q.text))) if latin else ())
    return [(w, f) for w, f in ((w, fold(w)) for w in words)
            if tokens(f) and not any(f in s or s in f for s in said)]


def unmentioned(index: Index, q: Query, most: int = 5) -> list[str]:
    """What a not-found names when no constraint is missing: the question's words (``_nameable``)
    that the documents never use."""
    return [w for w, f in _nameable(q) if not index.mentions(f)][:most]


def unmatched(q: Query, passages: list[Passage], most: int = 5) -> list[str]:
    """What a not-found names when the documents use every word of the question: its words
    (``_nameable``, an English question's too) that none of ``passages`` holds."""
    held = [fold(p.text) for p in passages]  # fold casefolds
    return [w for w, f in _nameable(q, latin=True) if not any(f in h for h in held)][:most]


def gather_evidence(index: Index, q: Query, settings: AnswerSettings = AnswerSettings(),
                    sources: list[str] | None = None, citing: frozenset[str] = frozenset(),
                    early: FirstAsk | None = None) -> Evidence | None:
    """Retrieve, score sentences and compute the abstention features; None if nothing matched.
    ``early``: ``index.begin(q, sources)``, if it was started."""
    cand, fused, signals = index.scored_candidates(q, sources, qvecs=index.query_vectors(q), early=early)
    if len(cand) == 0:
        return None
    order = np.argsort(-fused, kind="stable")
    if citing:  # the passages citing the article the question names come first
        first = [j for j in order if index.chunks[int(cand[j])].chunk_id in citing]
        order = np.array(first + [j for j in order if index.chunks[int(cand[j])].chunk_id not in citing])
    order = order[: settings.passages]
    passages = [index.passage(int(cand[j]), float(fused[j])) for j in order]
    rows = signals.get("sentence_rows")  # each candidate's sentence cosines, if the store has sentence vectors
    sentences = []
    for j in order:
        c = index.chunks[int(cand[j])]
        # navigation lists and citation lines may be shown as passages, never quoted as the answer
        quotable = c.kind not in BOILERPLATE
        sentences.append(Sentences(c.source, float(fused[j]), index.docs[c.source].text,
                                   tuple(c.sentences) if quotable else (),
                                   rows[j] if quotable and rows is not None else None))
    scored = score_sentences(q, sentences, question_idf(index, q), settings.extract)
    top = int(order[0])
    dense = [float(signals[f"dense{i}"][top]) for i in range(index.engine.n_dense)]
    best = scored[0] if scored else None
    missing = unmet(q.constraints, [p.text for p in passages], index.mentions, best.passage_rank if best else None)
    # the best sentence, folded, for what is asked; the best three for a number or date question's slot
    top = [fold(index.docs[c.source].text[c.start:c.end]) for c in scored[:3 if q.slot else 1]]
    feats = features(
        q, index.coverage(q, passages[0].text), best.coverage if best else 0.0, dense, missing=len(missing),
        ask_coverage=index.coverage(q, passages[0].text, q.ask_tokens) if q.ask is not None else None,
        term_coverage=index.coverage(q, passages[0].text, q.term_tokens) if q.terms else 0.0,
        type_match=type_match(answer_type(q), top[0]) if best else 0.0,
        margin=float(fused[order[0]] - fused[order[1]]) if len(order) > 1 else 0.0,
        slot_held=holds(q.slot, top))
    return Evidence(passages, sentences, scored, feats, missing)


def answer_with(index: Index, question: str | Query, settings: AnswerSettings = AnswerSettings(),
                sources: list[str] | None = None) -> Answer:
    """``answer`` on an opened Index (see ``answer``)."""
    q = question if isinstance(question, Query) else analyse(question)
    asked = question if isinstance(question, str) else q.text  # the question as asked, unstripped
    # the engine's first lexical ask runs while the question is encoded; the guard reads the
    # question's vectors too (the same ones retrieval uses: no second encoding)
    early = index.begin(q, sources)
    verdict = guard.check(q.text, dict(zip((e.name for e in index.embedders), index.query_vectors(q))))
    if verdict.refused:
        log.info("refused a question (%s)", verdict.reason)
        return Answer(question=asked, status="refused", quotes=[], passages=safety_passages(index),
                      refusal=verdict.reason)
    help_passages = safety_passages(index) if q.happening else []
    terms = [Wording(t.said, t.term) for t in q.terms]

    ref = reference_in(q.text, index.store)
    citing = frozenset(c.passage.chunk_id for c in ref.citations) if ref else frozenset()
    reference = ref.reference if ref else ""
    ev = gather_evidence(index, q, settings, sources, citing, early)
    if ev is None:
        return Answer(question=asked, status="not_found", help=help_passages, terms=terms, reference=reference,
                      missing=unmentioned(index, q))
    p, threshold = confidence(ev.features, tuple(e.name for e in index.embedders))
    # an article of a named law is judged by the law finder, which knows whose article a text cites
    # (the question's article and law constraints only see whether 第N條 or the law is written anywhere)
    by_law = ref is not None and ref.law is not None
    missing = [c.label for c in ev.missing if not (by_law and c.kind in ("article", "law"))]
    if by_law and not ref.citations:
        missing.append(ref.reference)
    if p < threshold or not ev.scored or missing:
        # the closest passages, for a person to judge; menus and link lines help no one
        closest = [ps for ps in ev.passages if ps.kind not in BOILERPLATE]
        missing = missing or unmentioned(index, q)
        # what a number or date question asks, when none of the best sentences holds it (qa.slots)
        unfilled = [q.slot.said] if ev.features.get("counted_unmet") or ev.features.get("dated_unmet") else []
        return Answer(question=asked, status="not_found", passages=closest, confidence=p, missing=missing,
                      unmatched=unfilled + (unmatched(q, closest[:CLOSEST_SHOWN]) if closest and not missing else []),
                      asks=q.asks, help=help_passages, terms=terms, reference=reference)

    quotes: list[Quote] = []
    for span in assemble(ev.scored, ev.sentences, settings.quotes, settings.extract.merge_margin):
        text = index.docs[span.source].text[span.start:span.end]
        quotes.append(Quote(text=text, passage=ev.passages[span.passage_rank], start=span.start,
                            end=span.end, score=float(span.score)))
    return Answer(question=asked, status="answered", quotes=quotes, passages=ev.passages, confidence=p,
                  asks=q.asks, help=[h for h in help_passages if all(h.chunk_id != x.passage.chunk_id for x in quotes)],
                  terms=terms, reference=reference)


def answer(question: str, *, store: str | Path | None = None, sources: list[str] | None = None,
           settings: AnswerSettings = AnswerSettings()) -> Answer:
    """Answer ``question`` with exact quotes from the indexed documents.

    Args:
        question: in Chinese (Traditional or Simplified) or English.
        store: the store folder (default ``$VERBATIM_STORE`` or ``.verbatim/store``).
        sources: restrict to these documents.
        settings: how many passages to read and quotes to return.

    Returns:
        An Answer whose status is ``answered`` (quotes, best first),
        ``not_found`` (no quote; the closest passages) or ``refused`` (no
        quote; the passages on the law and on reporting and takedown).

    Raises:
        InvalidQuestion: empty, too long or not text.
        IndexNotFound, IndexCorrupt, IndexMismatch: the store cannot be used.
    """
    return answer_with(open_index(store), question, settings, sources)
