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

import re
import zlib
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
    def build(cls, texts: list[str], k1: float = 0.9, b: float = 0.6) -> "BM25":
        """Index ``texts`` (document i is ``texts[i]``)."""
        doc_ids, term_ids, lengths = [], [], np.zeros(len(texts), dtype=np.float32)
        for i, text in enumerate(texts):
            h = hashes(tokens(text))
            lengths[i] = len(h)
            doc_ids.append(np.full(len(h), i, dtype=np.int32))
            term_ids.append(h)
        all_docs = np.concatenate(doc_ids) if doc_ids else np.zeros(0, np.int32)
        all_terms = np.concatenate(term_ids) if term_ids else np.zeros(0, np.uint32)
        terms, term_col = np.unique(all_terms, return_inverse=True)
        # term frequency per (term, doc): sort by term then doc and count runs
        key = term_col.astype(np.int64) * max(len(texts), 1) + all_docs
        uniq, tf = np.unique(key, return_counts=True)
        cols = (uniq // max(len(texts), 1)).astype(np.int64)
        docs = (uniq % max(len(texts), 1)).astype(np.int32)
        df = np.bincount(cols, minlength=len(terms)).astype(np.float64)
        n = max(len(texts), 1)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avgdl = float(lengths.mean()) if len(texts) else 1.0
        norm = k1 * (1 - b + b * lengths[docs] / max(avgdl, 1e-9))
        data = (idf[cols] * tf * (k1 + 1) / (tf + norm)).astype(np.float32)
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=len(terms)), out=indptr[1:])
        return cls(terms, idf, indptr, docs, data, len(texts), k1, b)

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
