"""Lexical matching: tokens and a BM25 index over them.

Tokens are taken from the folded text (see ``index.textnorm.fold``): every
CJK character and every Latin/digit word is a unit, and the index holds units
and pairs of adjacent units (character unigrams + bigrams for Chinese, words
and word pairs for English). ``第319條之4`` and ``第 三百一十九 條之四`` give the
same tokens. Terms are stored as 32-bit hashes (sorted, looked up with a binary
search) instead of a vocabulary dict, so a store loads fast at any size.
BM25 weights are precomputed into a sparse term-by-document matrix (as bm25s
does), so a query is a few column reads and one ``bincount``.
"""

from __future__ import annotations

import functools
import itertools
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.textnorm import IDEOGRAPHS, fold

_UNIT_RE = re.compile(
    rf"[{IDEOGRAPHS}]"  # one CJK ideograph
    r"|[a-z0-9]+(?:[.,][0-9]{3})*(?:\.[0-9]+)?%?"  # word, number, 5,000 / 12.6%
    r"|[^\s\w]"  # punctuation: breaks pairs, not a token
)
_EN_STOP = frozenset(
    "a an the of to in on at for by with from and or is are was were be been do does did "
    "what which who whom when where why how that this these those it its as into about "
    "can could should would may might will shall i you he she we they me my our your".split()
)


def units(text: str) -> list[list[str]]:
    """Runs of units of folded text, split at punctuation and at CJK/Latin changes."""
    runs: list[list[str]] = [[]]
    for m in _UNIT_RE.finditer(fold(text)):
        u = m.group(0)
        if len(u) == 1 and not u.isalnum():
            if runs[-1]:
                runs.append([])
            continue
        if u[0].isascii():
            u = u.replace(",", "") if u[0].isdigit() else u
            if u in _EN_STOP:
                if runs[-1]:
                    runs.append([])
                continue
        runs[-1].append(u)
    return [r for r in runs if r]


def tokens(text: str) -> list[str]:
    """Unigrams and adjacent-unit bigrams of ``text`` (with repeats)."""
    out: list[str] = []
    for run in units(text):
        out.extend(run)
        out.extend(f"{a}\x1f{b}" for a, b in zip(run, run[1:]))
    return out


def term_hash(token: str) -> int:
    return zlib.crc32(token.encode("utf-8"))


def hashes(toks: list[str]) -> np.ndarray:
    return np.fromiter((term_hash(t) for t in toks), dtype=np.uint32, count=len(toks))


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    """BM25 idf of terms found in ``df`` of ``n`` documents (float32)."""
    n1 = max(n, 1)
    return np.log1p((n1 - df.astype(np.float64) + 0.5) / (df.astype(np.float64) + 0.5)).astype(np.float32)


def _avgdl(lengths: np.ndarray) -> float:
    return float(lengths.mean()) if len(lengths) else 1.0


def _weights(idf: np.ndarray, tf: np.ndarray, dl: np.ndarray, avgdl: float, k1: float, b: float) -> np.ndarray:
    """BM25 weights of (term, document) pairs: the term's idf (float32), its count in the document
    (int64) and the document's length (float32). Every index (``BM25``, ``BM25Stats``) uses this one."""
    norm = k1 * (1 - b + b * dl / max(avgdl, 1e-9))
    return (idf * tf * (k1 + 1) / (tf + norm)).astype(np.float32)


def _pairs(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(term, document) pairs of ``texts`` sorted by term then document: terms (uint32), documents
    (positions in ``texts``, int64), counts (int32), and each text's length in tokens (float32)."""
    hs = [hashes(tokens(t)) for t in texts]
    lens = np.fromiter((len(h) for h in hs), dtype=np.int64, count=len(hs))
    all_terms = np.concatenate(hs) if hs else np.zeros(0, np.uint32)
    local = np.repeat(np.arange(len(texts), dtype=np.int64), lens)
    uniq, tf = np.unique((all_terms.astype(np.int64) << 32) | local, return_counts=True)
    return (uniq >> 32).astype(np.uint32), uniq & 0xFFFFFFFF, tf.astype(np.int32), lens.astype(np.float32)


@dataclass
class BM25Stats:
    """What BM25 weights need of a whole collection (every term's document frequency and every
    document's length), gathered a batch at a time, so that a document's weights can then be
    computed on its own: an index too large for one matrix in memory is written a batch of rows at a
    time (``index.milvus_build``). Its weights equal those of ``BM25.build`` on the same texts."""

    terms: np.ndarray  # sorted unique term hashes (uint32)
    df: np.ndarray  # documents holding each term (int64)
    lengths: np.ndarray  # tokens of each document (float32)
    k1: float
    b: float

    @classmethod
    def gather(cls, texts: Iterable[str], k1: float = 0.9, b: float = 0.6, batch: int = 2048) -> "BM25Stats":
        terms, df = np.zeros(0, np.uint32), np.zeros(0, np.int64)
        parts_t, parts_c, lengths, pending = [], [], [], 0
        it = iter(texts)

        def merge(terms, df, parts_t, parts_c):
            t = np.concatenate([terms, *parts_t])
            c = np.concatenate([df, *parts_c])
            u, inv = np.unique(t, return_inverse=True)
            return u, np.bincount(inv, weights=c, minlength=len(u)).astype(np.int64)

        while True:
            part = list(itertools.islice(it, batch))
            if not part:
                break
            pair_terms, _docs, _tf, lens = _pairs(part)
            u, c = np.unique(pair_terms, return_counts=True)
            parts_t.append(u)
            parts_c.append(c.astype(np.int64))
            lengths.append(lens)
            pending += len(u)
            if pending > max(len(terms), 1 << 20):  # merge now and then: memory stays near the vocabulary
                terms, df = merge(terms, df, parts_t, parts_c)
                parts_t, parts_c, pending = [], [], 0
        if parts_t:
            terms, df = merge(terms, df, parts_t, parts_c)
        return cls(terms, df, np.concatenate(lengths) if lengths else np.zeros(0, np.float32), k1, b)

    @property
    def n_docs(self) -> int:
        return len(self.lengths)

    @functools.cached_property
    def idf(self) -> np.ndarray:
        return _idf(self.df, self.n_docs)

    def rows(self, texts: list[str], first: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """BM25 weights of documents ``first``.. (whose texts are ``texts``): for each, its term
        hashes (uint32, sorted) and their weights (float32)."""
        pair_terms, docs, tf, _ = _pairs(texts)
        pos = np.searchsorted(self.terms, pair_terms)
        if len(pair_terms) and not np.array_equal(self.terms[np.minimum(pos, len(self.terms) - 1)], pair_terms):
            raise ValueError("texts with terms the statistics never saw: gather them from the same texts")
        w = _weights(self.idf[pos], tf.astype(np.int64), self.lengths[docs + first], _avgdl(self.lengths),
                     self.k1, self.b)
        order = np.lexsort((pair_terms, docs))  # by document, then term
        pair_terms, docs, w = pair_terms[order], docs[order], w[order]
        cuts = np.searchsorted(docs, np.arange(len(texts) + 1))
        return [(pair_terms[a:b], w[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]

    def idf_record(self) -> "BM25":
        """The terms and their idf as a ``BM25`` (what a Milvus store keeps beside its rows)."""
        return BM25.idf_only(self.terms, self.idf, self.n_docs, self.k1, self.b)


@dataclass
class BM25:
    """BM25 over a fixed set of documents.

    Attributes:
        terms: sorted unique term hashes (uint32).
        idf: idf of each term, aligned with ``terms``.
        indptr, indices, data: CSC matrix (terms x docs) of BM25 term weights.
        n_docs: number of documents.
    """

    terms: np.ndarray
    idf: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_docs: int
    k1: float
    b: float

    @classmethod
    def build(cls, texts: Iterable[str], k1: float = 0.9, b: float = 0.6, batch: int = 2048) -> "BM25":
        """Index ``texts`` (document i is the i-th text), ``batch`` texts at a time.

        Memory: per batch, the tokens of ``batch`` texts; over all, one (term,
        document, tf) triple per distinct term of each document, about 10 bytes,
        and a sort order (8 bytes) while the matrix is assembled.
        """
        terms_p, docs_p, tf_p, lengths_p = [], [], [], []
        n = 0
        it = iter(texts)
        while True:
            part = list(itertools.islice(it, batch))
            if not part:
                break
            pair_terms, local, tf, lens = _pairs(part)
            lengths_p.append(lens)
            terms_p.append(pair_terms)
            docs_p.append((local + n).astype(np.int32))
            tf_p.append(tf)
            n += len(part)
        lengths = np.concatenate(lengths_p) if lengths_p else np.zeros(0, np.float32)
        pair_terms = np.concatenate(terms_p) if terms_p else np.zeros(0, np.uint32)
        del terms_p
        # a stable sort by term keeps each term's documents in order (batches come in document order)
        order = np.argsort(pair_terms, kind="stable")
        pair_terms = pair_terms[order]
        docs = (np.concatenate(docs_p) if docs_p else np.zeros(0, np.int32))[order]
        del docs_p
        tf = (np.concatenate(tf_p) if tf_p else np.zeros(0, np.int32))[order].astype(np.int64)
        del tf_p, order
        bounds = np.flatnonzero(np.diff(pair_terms)) + 1 if len(pair_terms) else np.zeros(0, np.int64)
        starts = np.concatenate([[0], bounds]).astype(np.int64) if len(pair_terms) else np.zeros(0, np.int64)
        terms = pair_terms[starts]
        del pair_terms
        counts = np.diff(np.concatenate([starts, [len(docs)]])).astype(np.int64)
        idf = _idf(counts, n)
        cols = np.repeat(np.arange(len(terms), dtype=np.int64), counts)
        data = _weights(idf[cols], tf, lengths[docs], _avgdl(lengths), k1, b)
        del cols, tf
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(terms, idf, indptr, docs, data, n, k1, b)

    @classmethod
    def idf_only(cls, terms: np.ndarray, idf: np.ndarray, n_docs: int, k1: float, b: float) -> "BM25":
        """A BM25 holding the terms and their idf and no matrix (``idf_of``, ``lookup``; no ``scores``)."""
        return cls(terms, idf, np.zeros(len(terms) + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32),
                   int(n_docs), float(k1), float(b))

    def lookup(self, query_hashes: np.ndarray) -> np.ndarray:
        """Column numbers of the query's distinct terms that occur in the index."""
        q = np.unique(query_hashes)
        pos = np.searchsorted(self.terms, q)
        inside = pos < len(self.terms)
        pos, q = pos[inside], q[inside]
        return pos[self.terms[pos] == q]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (float32, length n_docs)."""
        return self.scores_of(tokens(query))

    def scores_of(self, toks: list[str]) -> np.ndarray:
        """BM25 score of every document for a query of these tokens (repeats count once)."""
        cols = self.lookup(hashes(toks))
        if len(cols) == 0 or self.n_docs == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        starts, ends = self.indptr[cols], self.indptr[cols + 1]
        idx = np.concatenate([self.indices[s:e] for s, e in zip(starts, ends)])
        w = np.concatenate([self.data[s:e] for s, e in zip(starts, ends)])
        return np.bincount(idx, weights=w, minlength=self.n_docs).astype(np.float32)

    def idf_of(self, toks: list[str]) -> dict[str, float]:
        """idf of each token (0 for a token the index never saw)."""
        uniq = list(set(toks))
        if not uniq or len(self.terms) == 0:
            return {t: 0.0 for t in uniq}
        # one vectorised search with the needles in the index's dtype: a Python
        # int needle makes numpy widen the whole term array on every call
        h = np.array([term_hash(t) for t in uniq], dtype=self.terms.dtype)
        pos = np.minimum(np.searchsorted(self.terms, h), len(self.terms) - 1)
        found = self.terms[pos] == h
        return {t: float(self.idf[p]) if ok else 0.0 for t, p, ok in zip(uniq, pos, found)}

    def save(self, path: Path) -> None:
        np.savez(path, terms=self.terms, idf=self.idf, indptr=self.indptr, indices=self.indices,
                 data=self.data, params=np.array([self.n_docs, self.k1, self.b], dtype=np.float64))

    @classmethod
    def load(cls, path) -> "BM25":
        """From a path or a binary file object (``.npz``)."""
        with np.load(path, allow_pickle=False) as z:
            n_docs, k1, b = z["params"]
            return cls(z["terms"], z["idf"], z["indptr"], z["indices"], z["data"], int(n_docs), float(k1), float(b))
