"""Lexical and dense top-k from a Milvus chunk collection (``index.backend.Searcher``).

Lexical: the question's weighted tokens become one sparse vector ({term hash:
weight}) searched by inner product against the chunks' BM25 document weights,
which is the local backend's BM25 exactly. Dense: inner product on each
embedder's field. Scores of given candidates are asked of Milvus as searches
restricted to those chunk numbers, so no vector leaves the server.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from index.backend import NO_HITS, LexQuery
from index.errors import IndexCorrupt
from index.lexical import term_hash
from index.milvus_store import _MAX_TERM, MAX_K


def _ranges_filter(ids: np.ndarray) -> str:
    """A filter on ``no`` for sorted chunk numbers: runs as ranges, else a list."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) == 0:
        return "no < 0"
    breaks = np.flatnonzero(np.diff(ids) != 1)
    starts = np.concatenate([[ids[0]], ids[breaks + 1]])
    ends = np.concatenate([ids[breaks], [ids[-1]]])
    if len(starts) <= 32:
        return " or ".join(f"(no >= {a} and no <= {b})" for a, b in zip(starts.tolist(), ends.tolist()))
    return f"no in {ids.tolist()}"


class MilvusSearcher:
    """Lexical and dense top-k of one version's chunk collection (``index.backend.Searcher``).

    ``propose`` and ``score`` send their searches at once, from a few threads (the client
    waits on the network without the GIL), so a question costs about two round trips.
    """

    POOL = 4

    def __init__(self, c, coll: str, n_dense: int, dense_params: dict | None = None):
        self.c, self.coll, self.n_dense = c, coll, n_dense
        self.dense_params = dense_params or {"metric_type": "IP"}
        self._pool = ThreadPoolExecutor(self.POOL, thread_name_prefix="milvus-search")

    def lexical_soon(self, query, k):
        return self._pool.submit(self.lexical_top, query, k)

    def propose(self, query, k, dense, lexical=None):
        if lexical is None and k > 0:
            lexical = self._pool.submit(self.lexical_top, query, k)
        tops = [self._pool.submit(self.dense_top, i, v, kk) for i, v, kk in dense]
        return lexical.result() if lexical is not None else NO_HITS, [t.result() for t in tops]

    def score(self, query, vectors, ids):
        lexical = self._pool.submit(self.lexical_of, query, ids)
        dense = [self._pool.submit(self.dense_scores, i, v, ids) for i, v in enumerate(vectors)]
        return lexical.result(), [d.result() for d in dense]

    @staticmethod
    def sparse(query: LexQuery) -> dict[int, float]:
        out: dict[int, float] = {}
        for w, toks in query:
            for t in toks:
                h = min(term_hash(t), _MAX_TERM)
                out[h] = out.get(h, 0.0) + float(w)
        return out

    def _search(self, field: str, vec, k: int, flt: str = "") -> tuple[np.ndarray, np.ndarray]:
        params = {"metric_type": "IP"} if field == "lex" else self.dense_params
        res = self.c.search(self.coll, [vec], anns_field=field, limit=max(1, min(k, MAX_K)), filter=flt,
                            search_params=params, output_fields=[])[0]
        return (np.array([r["id"] for r in res], dtype=np.int64),
                np.array([r["distance"] for r in res], dtype=np.float32))

    def lexical_top(self, query, k, allowed=None):
        sp = self.sparse(query)
        if not sp or k <= 0 or (allowed is not None and len(allowed) == 0):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return self._search("lex", sp, k, "" if allowed is None else _ranges_filter(np.sort(allowed)))

    def lexical_of(self, query, ids):
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros(len(ids), np.float32)
        sp = self.sparse(query)
        if not sp or len(ids) == 0:
            return out
        pos = {int(j): n for n, j in enumerate(ids)}
        for s in range(0, len(ids), MAX_K):
            part = ids[s:s + MAX_K]
            got, scores = self._search("lex", sp, len(part), f"no in {part.tolist()}")
            for j, v in zip(got.tolist(), scores):
                out[pos[j]] = v
        return out

    def dense_top(self, i, vector, k):
        return self._search(f"d{i}", np.asarray(vector, np.float32).tolist(), k)[0]

    def dense_scores(self, i, vector, ids):
        """Scored by Milvus itself (a search restricted to ``ids``): no vector leaves the server."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros(len(ids), np.float32)
        if len(ids) == 0:
            return out
        pos = {int(j): n for n, j in enumerate(ids)}
        vec = np.asarray(vector, np.float32).tolist()
        found = 0
        for s in range(0, len(ids), MAX_K):
            part = ids[s:s + MAX_K]
            got, scores = self._search(f"d{i}", vec, len(part), f"no in {part.tolist()}")
            for j, v in zip(got.tolist(), scores):
                out[pos[j]] = v
            found += len(got)
        if found != len(set(ids.tolist())):
            raise IndexCorrupt(f"{self.coll} is missing chunk rows: rebuild with `verbatim index`")
        return out


class MilvusSentenceRows:
    """The sentence vectors of a Milvus store version (``index.backend.SentenceRows``): rows are
    fetched by primary key for the chunks a question quotes from, never held by the app."""

    def __init__(self, c, coll: str, n: int):
        self.c, self.coll, self.n = c, coll, n

    def __len__(self) -> int:
        return self.n

    def take(self, ranges):
        from index.milvus_store import sentence_rows

        ids = [j for a, b in ranges for j in range(a, b)]
        got = sentence_rows(self.c, self.coll, ids)
        if len(got) != len(set(ids)):
            raise IndexCorrupt(f"{self.coll} is missing sentence rows: rebuild with `verbatim index`")
        dim = len(next(iter(got.values()))) if got else 0
        return [np.stack([got[j] for j in range(a, b)]) if b > a else np.zeros((0, dim), np.float16)
                for a, b in ranges]
