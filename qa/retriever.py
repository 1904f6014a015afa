"""Hybrid retrieval: BM25 and dense vectors, fused by weighted z-scores.

For a query, each signal (BM25 and one cosine similarity per embedder)
proposes its top candidates; every candidate gets every signal's score; each
signal is standardised over the candidates (z-score) and the fused score is
their weighted sum. On DRCD this beat reciprocal-rank fusion (see
``bench/drcd.py``), because a z-score keeps how far ahead a candidate is, which
RRF throws away. English questions over Chinese text find no BM25 terms, so
the dense signals decide them.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from functools import cached_property
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index.backend import LexQuery, Searcher, current_marker, location_key, open_location, parse_location
from index.chunk import Chunk
from index.embed import embed_queries_each, get_embedder
from index.errors import IndexCorrupt, IndexMismatch, InvalidQuestion, UnknownSource
from index.lexical import hashes, tokens
from index.store import DocRecord, Store, default_store
from qa import adapter
from qa.constraints import acronyms
from qa.fusion import RetrievalSettings, fuse  # noqa: F401 - re-exported
from qa.query import MAX_QUESTION_CHARS, Query, analyse, check_question  # noqa: F401 - re-exported
from qa.records import Passage

log = logging.getLogger(__name__)

BOILERPLATE = ("list", "reference")  # chunk kinds that never outrank prose nor become quotes
QUERY_CACHE = 256  # query vectors kept (the page and the benchmarks ask search and answer the same text)


def _latin_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(1 for ch in letters if ch.isascii()) / len(letters) if letters else 0.0


def passage_of(c: Chunk, title: str, score: float = 0.0) -> Passage:
    """The Passage record of one chunk of a document titled ``title``."""
    return Passage(chunk_id=c.chunk_id, text=c.text, source=c.source, title=title, section=" › ".join(c.section),
                   page=c.page, start=c.start, end=c.end, score=float(score), kind=c.kind, line=c.line)


@dataclass(frozen=True)
class FirstAsk:
    """A question's first ask of the engine (see ``Index._propose``): the plain BM25 query and its
    k, whether the weighted query is the plain one, the embedders that count however loose the
    question is, and the lexical ask once ``Index.begin`` has started it."""

    plain: LexQuery
    k: int
    fixed: bool
    always: tuple[int, ...]
    lexical: Future | None = None


class Index:
    """A store opened for reading: documents, chunks, BM25 and FAISS indexes."""

    def __init__(self, store_dir, settings: RetrievalSettings = RetrievalSettings(), embedders=None):
        self.store: Store = open_location(parse_location(store_dir))
        st = self.store
        self.store_dir, self.version_dir, self.manifest = st.path, st.version, st.manifest
        self.docs: dict[str, DocRecord] = st.docs
        self.chunks: list[Chunk] = st.chunks
        self.bm25 = st.bm25  # the idf of every term (and, on the local backend, its BM25 matrix)
        self.dense = st.dense  # FAISS indexes on the local backend; empty on milvus (ask ``search``)
        self.engine: Searcher = st.search  # lexical and dense top-k from the backend
        self.specs = list(st.embedder_specs)
        self.embedders = embedders if embedders is not None else [get_embedder(s) for s in self.specs]
        if [e.name for e in self.embedders] != st.embedder_names:
            raise IndexMismatch(
                f"store {self.store_dir} was built with embedders {st.embedder_names}, "
                f"but {[e.name for e in self.embedders]} are loaded: rebuild with `verbatim index --force`"
            )
        if any(d != e.dim for d, e in zip(st.dims, self.embedders)):
            raise IndexCorrupt(f"a dense index of {self.store_dir} does not match its embedder: rebuild")
        self.settings = settings
        self.adapter = adapter.load() if settings.adapt else adapter.NONE
        self._qcache: dict[str, list[np.ndarray]] = {}
        self._qcache_lock = threading.Lock()
        self._safety: dict[int, list[Passage]] = {}  # refusal passages, found once per store (qa.answerer)
        by_source: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            by_source.setdefault(c.source, []).append(i)
        self._by_source = {s: np.array(v, dtype=np.int64) for s, v in by_source.items()}
        self._boilerplate = np.array([c.kind in BOILERPLATE for c in self.chunks], dtype=bool)
        # chunks mostly in Latin script (an English abstract, citations): multilingual embedders score same-language
        # pairs higher, so for a question in another script dense scores are standardised per script group
        self._latin = np.array([_latin_share(c.text) > settings.latin_share for c in self.chunks], dtype=bool)
        self.sentence_spec = st.sentence_spec  # sentence vectors (for choosing quotes), aligned with chunks' sentences
        self.sentence_vectors = st.sentence_vectors  # SentenceRows, float16; a chunk's rows are widened when used
        self.sentence_base = np.cumsum([0] + [len(c.sentences) for c in self.chunks])
        if self.sentence_vectors is not None:
            self._sentence_qvec_index = self.specs.index(self.sentence_spec) if self.sentence_spec in self.specs else None
            self._sentence_embedder = None if self._sentence_qvec_index is not None else get_embedder(self.sentence_spec)

    def mentions(self, literal: str) -> bool:
        """Do the documents hold ``literal`` (folded)? Every unigram and bigram token of it is in the
        store's vocabulary (a lookup at any size of store), or it is the acronym of a name they write out."""
        h = np.unique(hashes(tokens(literal)))
        return (len(h) > 0 and len(self.bm25.lookup(h)) == len(h)) or literal in self.acronyms

    @cached_property
    def acronyms(self) -> frozenset[str]:
        """The initials of the names the documents write out (``qa.constraints.acronyms``), read once."""
        return acronyms(d.text for d in self.docs.values())

    # -- scoring ---------------------------------------------------------
    def query_vectors(self, q: Query) -> list[np.ndarray]:
        """One vector per embedder; the last few are cached (the UI and the
        benchmarks ask ``search`` and ``answer`` for the same text)."""
        with self._qcache_lock:
            hit = self._qcache.get(q.text)
        if hit is not None:
            return hit
        # a story told before the question: blend in the vector of the ask (encoded in the same call)
        share = self.settings.focus_dense
        story = share > 0 and q.tells_story
        mats = embed_queries_each(self.embedders, [q.embed_text] + ([q.ask] if story else []))
        vecs = [(v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)
                for v in ((1 - share) * m[0] + share * m[1] for m in mats)] if story else [m[0] for m in mats]
        with self._qcache_lock:
            self._qcache[q.text] = vecs
            while len(self._qcache) > QUERY_CACHE:
                self._qcache.pop(next(iter(self._qcache)))
        return vecs

    def search_vectors(self, qvecs: list[np.ndarray]) -> list[np.ndarray]:
        """The vectors retrieval searches with: each embedder's through its fitted adapter, if any."""
        if not self.adapter:
            return qvecs
        return [self.adapter.apply(e.name, v) for e, v in zip(self.embedders, qvecs)]

    def sentence_similarities(self, q: Query, qvecs: list[np.ndarray], chunks: list[int]) -> list[np.ndarray] | None:
        """Cosine of the query with each sentence of each of ``chunks`` (None without vectors), their
        rows read in one request; the query's vector is read through the fitted adapter, as in retrieval."""
        if self.sentence_vectors is None:
            return None
        if self._sentence_qvec_index is not None:
            v = self.adapter.apply(self.embedders[self._sentence_qvec_index].name, qvecs[self._sentence_qvec_index])
        else:
            v = self._sentence_embedder.embed_queries([q.embed_text])[0]
        rows = self.sentence_vectors.take([(int(self.sentence_base[c]), int(self.sentence_base[c + 1])) for c in chunks])
        return [r.astype(np.float32) @ v for r in rows]

    def begin(self, q: Query, sources: list[str] | None = None) -> FirstAsk | None:
        """``q``'s first ask, its lexical part started now, before the question is encoded (it
        needs no vector); ``scored_candidates(..., early=)`` reads it. None when the first ask
        depends on ``sources``."""
        n = len(self.chunks)
        if sources or n == 0:
            return None
        first = self._first_ask(q, min(self.settings.candidates, n), n)
        return replace(first, lexical=self.engine.lexical_soon(first.plain, first.k))

    def scored_candidates(self, q: Query, sources: list[str] | None = None, qvecs: list[np.ndarray] | None = None,
                          early: FirstAsk | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
        """Candidate chunk numbers, their fused scores, and the raw signals by name, one value per
        candidate: ``bm25``, ``dense{i}`` and, when the store has sentence vectors, ``sentence`` (the
        best sentence's cosine) and ``sentence_rows`` (every sentence's, which choosing quotes reads).
        ``early``: ``begin(q, sources)``, started before ``qvecs`` were computed."""
        n = len(self.chunks)
        if n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), {}
        s = self.settings
        allowed = None
        if sources:
            if isinstance(sources, str) or not all(isinstance(x, str) for x in sources):
                raise UnknownSource("sources must be a list of document names")
            sources = list(dict.fromkeys(sources))
            unknown = [x for x in sources if x not in self.docs]
            if unknown:
                raise UnknownSource(f"unknown document(s) {unknown}; known: {sorted(self.docs)}")
            allowed = np.concatenate([self._by_source[x] for x in sources if x in self._by_source]
                                     or [np.zeros(0, np.int64)])
        raw = qvecs if qvecs is not None else self.query_vectors(q)
        qvecs = self.search_vectors(raw)
        c = min(s.candidates, n)
        if allowed is not None:
            lexical = self.lexical_match(q, None, allowed)
            lq = self.lexical_query(q, self.loose_share(q, lexical))
            bw, dw = self.weights(q, lexical)
            if len(allowed) <= s.score_all_below * s.candidates:
                cand = np.sort(allowed)
            else:
                k = min(n, s.filtered_dense_factor * c)
                (ids, scores), dense_ids = self.engine.propose(lq, c if c < n else 0,
                                                               [(i, v, k) for i, (v, w) in enumerate(zip(qvecs, dw)) if w])
                cand = self._pool(ids, scores, dense_ids, c < n, n)
                cand = cand[np.isin(cand, allowed)]
        else:
            lexical, lq, (bw, dw), (ids, scores), dense_ids = self._propose(q, qvecs, c, n, early)
            cand = self._pool(ids, scores, dense_ids, c < n, n)
        if len(cand) == 0:
            return cand, np.zeros(0, np.float32), {}
        bm, dense = self.engine.score(lq, qvecs, cand)
        signals = {"bm25": bm, **{f"dense{i}": d for i, d in enumerate(dense)}}
        weights = {"bm25": bw, **{f"dense{i}": dw[i] for i in range(self.engine.n_dense)}}
        if self.sentence_vectors is not None:
            signals["sentence_rows"] = rows = self.sentence_similarities(q, raw, cand)
            signals["sentence"] = np.array([float(x.max()) if len(x) else 0.0 for x in rows], np.float32)
            weights["sentence"] = self.sentence_weight(q, lexical)
        fused = fuse(signals, weights, self.script_groups(q, cand), s.boilerplate_penalty * self._boilerplate[cand])
        return cand, fused, signals

    def script_groups(self, q: Query, cand: np.ndarray) -> list[np.ndarray] | None:
        """For a question with no Chinese, the candidates written mostly in Latin script and the
        others (each at least 3), among which dense scores are standardised apart; else None."""
        if not self.settings.script_groups or q.cjk:
            return None
        latin = self._latin[cand]
        return [latin, ~latin] if latin.sum() >= 3 and (~latin).sum() >= 3 else None

    @staticmethod
    def _pool(ids, scores, dense_ids, lexical: bool, n: int) -> np.ndarray:
        # BM25 proposes the chunks it scores above 0 (a chunk with none of the words is no match)
        return np.unique(np.concatenate(([ids[scores > 0]] if lexical else [np.arange(n)]) + list(dense_ids)))

    def _first_ask(self, q: Query, c: int, n: int) -> FirstAsk:
        plain = ((1.0, tuple(sorted(set(q.tokens)))),)
        fixed = q.ask_index is None and self.lexical_query(q) == plain  # the weighted query is the plain one
        always = tuple(i for i, (a, b) in enumerate(zip(self.weights(q, 1.0)[1], self.weights(q, 0.0)[1])) if a and b)
        lexical_k = c if c < n else 0
        return FirstAsk(plain, lexical_k if fixed and lexical_k else 1, fixed, always)  # at least the best chunk

    def _propose(self, q: Query, qvecs, c: int, n: int, early: FirstAsk | None = None):
        """(lexical match, weighted query, weights, BM25 proposals, dense proposals), asking the
        engine as few times as the question allows (each ask is a round trip on a remote engine).

        The first ask holds the plain BM25 query (its best chunk tells how loose the question
        is) and every embedder that counts however loose it is; when the weighted query cannot
        differ from the plain one, that ask's BM25 top ``c`` are the proposals. A second ask is
        made only for the weighted query or for an embedder that counts only at this looseness.
        The candidates are those of asking in order (best chunk, then weights, then proposals).
        """
        first = early or self._first_ask(q, c, n)
        fixed, always = first.fixed, list(first.always)
        lexical_k = c if c < n else 0
        (ids, scores), tops = self.engine.propose(first.plain, first.k, [(i, qvecs[i], c) for i in always],
                                                  first.lexical)
        lexical = 0.0
        if len(ids) and scores.max() > 0:
            best = int(ids[scores == scores.max()].min())  # ties: the first chunk, as an argmax
            lexical = self.coverage(q, self.chunks[best].text)
        lq = self.lexical_query(q, self.loose_share(q, lexical))
        bw, dw = self.weights(q, lexical)
        more = [i for i, w in enumerate(dw) if w and i not in always]
        if more or not fixed:
            (lids, lscores), extra = self.engine.propose(lq, 0 if fixed else lexical_k, [(i, qvecs[i], c) for i in more])
            if not fixed:
                ids, scores = lids, lscores
            tops, always = tops + extra, always + more
        # an embedder that does not count for this query proposes nothing
        dense_ids = [t for t, i in zip(tops, always) if dw[i]]
        return lexical, lq, (bw, dw), (ids, scores), dense_ids

    def lexical_query(self, q: Query, loose: float = 1.0) -> LexQuery:
        """The weighted BM25 query of a question. For a question that tells
        before it asks, words found only outside the asking clause count less:
        ``context_weight`` when the other clauses tell a story, else in
        proportion to ``loose`` (``loose_share``); the glossary's terms count
        at ``glossary_weight``."""
        w = 1.0 - (1.0 if q.tells_story else loose) * (1.0 - self.settings.context_weight)
        if q.ask_index is None or w >= 1.0:
            parts = [(1.0, tuple(sorted(set(q.tokens))))]
        else:
            asked = set(q.ask_tokens)
            parts = [(1.0, tuple(sorted(asked))), (w, tuple(sorted(t for t in set(q.tokens) if t not in asked)))]
        g = self.settings.glossary_weight
        if g > 0 and q.terms:
            terms = tuple(sorted(t for t in set(q.term_tokens) if t not in set(q.tokens)))
            if terms:
                parts.append((g, terms))
        return tuple(parts)

    def lexical_scores(self, q: Query, loose: float = 1.0, plain: np.ndarray | None = None) -> np.ndarray:
        """BM25 of every chunk for ``lexical_query`` (the local backend only: it scores every chunk)."""
        return self.engine.scores(self.lexical_query(q, loose))

    def coverage(self, q: Query, text: str, toks: tuple[str, ...] | None = None) -> float:
        """Share of the question's idf weight (its unigrams and bigrams, or ``toks``) found in ``text``."""
        idf = self.bm25.idf_of(list(q.tokens if toks is None else toks))
        total = sum(idf.values())
        if total <= 0:
            return 0.0
        have = set(tokens(text))
        return sum(w for t, w in idf.items() if t in have) / total

    def lexical_match(self, q: Query, bm: np.ndarray | None = None, allowed: np.ndarray | None = None) -> float:
        """``coverage`` of the question's best BM25 chunk (among ``allowed`` ones if given);
        ``bm``: every chunk's BM25 if known, else the backend finds the best."""
        if bm is None:
            ids, scores = self.engine.lexical_top(((1.0, tuple(sorted(set(q.tokens)))),), 1, allowed)
            return self.coverage(q, self.chunks[int(ids[0])].text) if len(ids) and scores[0] > 0 else 0.0
        if allowed is not None:
            if len(allowed) == 0:
                return 0.0
            top = int(allowed[np.argmax(bm[allowed])])
        else:
            top = int(np.argmax(bm))
        return self.coverage(q, self.chunks[top].text) if bm[top] > 0 else 0.0

    def loose_share(self, q: Query, lexical: float) -> float:
        """How loose a question is, 0 to 1: 0 for a question not written in
        Chinese or whose best BM25 chunk holds at least the top of
        ``lexical_band`` of it, 1 at or below the bottom, linear in between."""
        if not q.cjk:
            return 0.0
        lo, hi = self.settings.lexical_band
        return float(np.clip((hi - lexical) / (hi - lo), 0.0, 1.0)) if hi > lo else float(lexical < hi)

    def weights(self, q: Query, lexical: float = 1.0) -> tuple[float, list[float]]:
        """(BM25 weight, weight of each embedder) for this question's script and,
        for a Chinese question, how much of it the best BM25 chunk holds (``lexical_match``)."""
        s = self.settings
        if q.cjk:
            a = self.loose_share(q, lexical)
            tight, loose = dict(s.dense_weights), dict(s.dense_weights_loose)
            bw = (1 - a) * s.bm25_weight + a * s.bm25_weight_loose
            table = {k: (1 - a) * tight.get(k, 0.0) + a * loose.get(k, 0.0) for k in tight.keys() | loose.keys()}
        else:
            bw = s.bm25_weight_other
            table = dict(s.dense_weights_other)
        known = [table.get(spec) for spec in self.specs]
        rest = max(0.0, 1.0 - bw - sum(w for w in known if w is not None))
        n_unknown = sum(1 for w in known if w is None)
        return bw, [w if w is not None else rest / n_unknown for w in known]

    def sentence_weight(self, q: Query, lexical: float = 1.0) -> float:
        """Weight of a chunk's best sentence cosine (the answer may be one sentence of a long chunk about
        more), mixed by looseness as ``weights`` mixes the others."""
        tight, loose, other = self.settings.sentence_weights
        return (1 - (a := self.loose_share(q, lexical))) * tight + a * loose if q.cjk else other

    def passage(self, i: int, score: float) -> Passage:
        return passage_of(self.chunks[i], self.docs[self.chunks[i].source].title, score)

    def search(self, query: str | Query, k: int = 5, sources: list[str] | None = None) -> list[Passage]:
        """The ``k`` best passages for ``query`` (text, checked here, or an analysed Query), best first."""
        q = query if isinstance(query, Query) else analyse(query)
        cand, fused, _ = self.scored_candidates(q, sources, early=self.begin(q, sources))
        order = np.argsort(-fused, kind="stable")[:k]
        return [self.passage(int(cand[j]), float(fused[j])) for j in order]


_OPEN: dict[tuple[str, str], Index] = {}
_OPEN_LOCK = threading.Lock()


def open_index(store=None) -> Index:
    """The Index of ``store`` (a folder, a ``milvus://`` location, or default ``$VERBATIM_STORE``
    or ``.verbatim/store``), opened once.

    A store rebuilt since it was opened is opened again on the next call.

    Raises:
        IndexNotFound, IndexCorrupt, IndexMismatch.
    """
    path = parse_location(store if store is not None else default_store())
    key = (location_key(path), current_marker(path))
    with _OPEN_LOCK:
        idx = _OPEN.get(key)
        if idx is None:
            idx = Index(path)
            for k in [k for k in _OPEN if k[0] == key[0]]:
                del _OPEN[k]
            _OPEN[key] = idx
        return idx


def retrieve(query: str, k: int = 5, *, store: str | Path | None = None,
             sources: list[str] | None = None) -> list[Passage]:
    """Passages that best match ``query``, best first.

    Args:
        query: a question or keywords, in Chinese (Traditional or Simplified) or English.
        k: how many passages (1-100).
        store: the store folder (default ``$VERBATIM_STORE`` or ``.verbatim/store``).
        sources: restrict to these documents (source names as in the store).

    Returns:
        Up to ``k`` Passage records.

    Raises:
        InvalidQuestion: empty or too long query, bad ``k``, unknown source.
        IndexNotFound, IndexCorrupt, IndexMismatch: the store cannot be used.
    """
    q = analyse(query)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 100:
        raise InvalidQuestion(f"k must be an integer from 1 to 100, got {k!r}")
    return open_index(store).search(q, k, sources)
