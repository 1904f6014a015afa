"""Where a store lives and how it is searched: the ``local`` folder or a ``milvus`` collection set.

A store is named by a *location*:

- a folder path (``.verbatim/store``): the local backend (``index.store``),
  FAISS files, a BM25 matrix and JSON lines, the default;
- ``milvus:///abs/path/file.db``: embedded Milvus Lite in that file;
- ``milvus://host:19530`` (or ``milvus+https://host:443``): a Milvus server or
  cluster; its token, if any, is given by the caller (the CLI reads it from the
  environment), never parsed from the URI.

``?name=NAME`` after either Milvus form chooses the store's name (a prefix of
its collections; default ``verbatim``), so one Milvus holds several stores.

Both backends give a reader the same ``index.store.Store`` record: the
documents, chunks and sentence vectors, plus a ``Searcher`` that answers the
two questions retrieval asks of the engine: the lexical (BM25) top-k and
scores of a weighted token query, and the dense top-k and vectors per
embedder. Fusion, sentence choice and abstention stay in ``qa`` and do not
know which backend answered.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Union
from urllib.parse import parse_qs, urlsplit

import numpy as np

from index.errors import VerbatimError

# A lexical query: parts of (weight, distinct tokens); the parts hold no token in common.
LexQuery = tuple[tuple[float, tuple[str, ...]], ...]

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,40}$")


class BadStoreLocation(VerbatimError, ValueError):
    """A ``--store`` value that names no usable store location."""


@dataclass(frozen=True)
class MilvusLocation:
    """A store in Milvus: ``uri`` as pymilvus takes it (a ``.db`` path for Milvus Lite, or
    ``http(s)://host:port``), the store's ``name`` (its collections' prefix) and an optional token."""

    uri: str
    name: str = "verbatim"
    token: str = field(default="", repr=False, compare=False)

    @property
    def embedded(self) -> bool:
        return not self.uri.startswith(("http://", "https://"))

    def __str__(self) -> str:  # what is shown and passed to a child process: never the token
        if self.embedded:
            base = f"milvus://{self.uri}"
        else:
            scheme, rest = self.uri.split("://", 1)
            base = f"milvus://{rest}" if scheme == "http" else f"milvus+https://{rest}"
        return base if self.name == "verbatim" else f"{base}?name={self.name}"


Location = Union[Path, MilvusLocation]


def parse_location(spec: "str | Path | MilvusLocation", token: str = "") -> Location:
    """A store location from a ``--store`` value.

    Raises:
        BadStoreLocation: a ``milvus://`` value without a host or an absolute ``.db`` path,
            a bad port, a relative file, or a bad ``name``.
    """
    if isinstance(spec, MilvusLocation):
        return spec
    if isinstance(spec, Path):
        return spec
    text = str(spec)
    if not text.startswith(("milvus://", "milvus+https://")):
        if "://" in text:
            raise BadStoreLocation(f"unknown store scheme in {text!r}: use a folder, milvus:///abs/file.db "
                                   "or milvus://host:19530")
        return Path(text)
    parts = urlsplit(text)
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"name"}
    if unknown:
        raise BadStoreLocation(f"unknown option(s) {sorted(unknown)} in {text!r}; only ?name=NAME is understood")
    name = query.get("name", ["verbatim"])[-1]
    if not _NAME_RE.match(name):
        raise BadStoreLocation(f"bad store name {name!r} in {text!r}: letters, digits and _, starting with a letter")
    if parts.netloc == "":
        path = parts.path
        if not path.startswith("/") or not path.endswith(".db") or path.endswith("/.db"):
            raise BadStoreLocation(f"{text!r}: an embedded Milvus Lite store is milvus:///absolute/path/file.db "
                                   "(three slashes, a .db file)")
        if not re.match(r"^[A-Za-z0-9.\-_]+$", Path(path).name):
            raise BadStoreLocation(f"{text!r}: Milvus Lite accepts only letters, digits, '.', '-' and '_' "
                                   "in the file name")
        return MilvusLocation(path, name, token)
    try:
        host, port = parts.hostname, parts.port
    except ValueError as e:
        raise BadStoreLocation(f"{text!r}: bad port ({e}); use milvus://host:19530") from None
    if host and host.endswith(".db") and parts.port is None:
        raise BadStoreLocation(f"{text!r} names a server called {host!r}; for a Milvus Lite file write "
                               "milvus:///absolute/path/file.db (three slashes)")
    if not host or parts.path not in ("", "/") or parts.username or parts.password:
        raise BadStoreLocation(f"{text!r}: a Milvus server is milvus://host:port (no path, no user or password "
                               "in the URI: give the token through the environment)")
    scheme = "https" if text.startswith("milvus+https://") else "http"
    hostport = f"[{host}]" if ":" in host else host
    return MilvusLocation(f"{scheme}://{hostport}:{port or 19530}", name, token)


class Searcher(Protocol):
    """What retrieval asks of a store's engine. Chunk numbers are positions in ``Store.chunks``."""

    n_dense: int

    def lexical_top(self, query: LexQuery, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(chunk numbers, BM25 scores) of the ``k`` best chunks (among ``allowed``), unordered."""

    def lexical_of(self, query: LexQuery, ids: np.ndarray) -> np.ndarray:
        """BM25 score of each chunk in ``ids`` (0 where no token matches)."""

    def dense_top(self, i: int, vector: np.ndarray, k: int) -> np.ndarray:
        """Chunk numbers of the ``k`` nearest chunks by inner product, embedder ``i``."""

    def dense_scores(self, i: int, vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Inner product of ``vector`` with the embedder-``i`` vector of each chunk in ``ids``."""

    def lexical_soon(self, query: LexQuery, k: int) -> Future:
        """``lexical_top(query, k)`` started now and read later: a question's first lexical ask
        needs no vector, so it runs while the question is encoded."""

    def propose(self, query: LexQuery, k: int, dense: list[tuple[int, np.ndarray, int]],
                lexical: Future | None = None):
        """``lexical_top(query, k)`` (skipped when ``k`` is 0; the result of ``lexical``, a
        ``lexical_soon`` of the same query, when given) and ``dense_top(i, v, k)`` of each
        (i, v, k) in ``dense``: ((ids, scores), [ids, ...]). A backend may ask them at once."""

    def score(self, query: LexQuery, vectors: list[np.ndarray], ids: np.ndarray):
        """``lexical_of(query, ids)`` and ``dense_scores(i, vectors[i], ids)`` of every embedder."""


class SentenceRows(Protocol):
    """Every chunk's sentence vectors (float16), in chunk order; a question reads a few chunks' rows."""

    def __len__(self) -> int: ...

    def take(self, ranges: list[tuple[int, int]]) -> list[np.ndarray]:
        """Rows ``a``..``b`` of each range, in one request."""


class ArrayRows:
    """``SentenceRows`` of a matrix in memory (the local backend's ``sentences.npy``)."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix

    def __len__(self) -> int:
        return len(self.matrix)

    def take(self, ranges):
        return [self.matrix[a:b] for a, b in ranges]


NO_HITS = (np.zeros(0, np.int64), np.zeros(0, np.float32))

# lexical asks started before a question is encoded (``lexical_soon``); the local engine's BM25
# and the query encoders release the GIL for most of their work, so the two overlap on two cores
_SOON = ThreadPoolExecutor(2, thread_name_prefix="lexical-soon")


class Sequential:
    """``propose`` and ``score`` as one call after the other (an engine in this process)."""

    def lexical_soon(self, query, k):
        return _SOON.submit(self.lexical_top, query, k)

    def propose(self, query, k, dense, lexical=None):
        if lexical is not None:
            lexical = lexical.result()
        else:
            lexical = self.lexical_top(query, k) if k > 0 else NO_HITS
        return lexical, [self.dense_top(i, v, kk) for i, v, kk in dense]

    def score(self, query, vectors, ids):
        return self.lexical_of(query, ids), [self.dense_scores(i, v, ids) for i, v in enumerate(vectors)]


class LocalSearcher(Sequential):
    """The local backend's searcher: the in-memory BM25 matrix and FAISS indexes."""

    CACHE = 8  # full score vectors kept: a question asks for the same weighted query two or three times

    def __init__(self, bm25, dense: list):
        self.bm25, self.dense = bm25, dense
        self.n_dense = len(dense)
        self._cache: OrderedDict[LexQuery, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def scores(self, query: LexQuery) -> np.ndarray:
        """BM25 of every chunk for the weighted query: parts summed in order, as float32."""
        with self._lock:
            hit = self._cache.get(query)
        if hit is not None:
            return hit
        out = None
        for w, toks in query:
            s = self.bm25.scores_of(list(toks))
            s = s if w == 1.0 else np.float32(w) * s
            out = s if out is None else out + s
        if out is None:
            out = np.zeros(self.bm25.n_docs, np.float32)
        with self._lock:
            self._cache[query] = out
            while len(self._cache) > self.CACHE:
                self._cache.popitem(last=False)
        return out

    # below this many chunks BM25 costs less than handing it to another thread (users' questions
    # on the seeds, 177 chunks: p50 +0.9 ms in the background; DRCD at 121,806 chunks: -2 to -3 ms)
    SOON_FROM = 10_000

    def lexical_soon(self, query, k):
        if self.bm25.n_docs >= self.SOON_FROM:
            return super().lexical_soon(query, k)
        done: Future = Future()
        done.set_result(self.lexical_top(query, k))
        return done

    def lexical_top(self, query, k, allowed=None):
        bm = self.scores(query)
        n = len(bm) if allowed is None else len(allowed)
        if n == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        sub = bm if allowed is None else bm[allowed]
        if k == 1:
            pos = np.array([int(np.argmax(sub))])
        elif k >= n:
            pos = np.arange(n)
        else:
            pos = np.argpartition(-sub, k - 1)[:k]
        ids = pos if allowed is None else allowed[pos]
        return ids.astype(np.int64), bm[ids]

    def lexical_of(self, query, ids):
        return self.scores(query)[ids]

    def dense_top(self, i, vector, k):
        _, ids = self.dense[i].search(vector[None, :].astype(np.float32), k)
        return ids[0][ids[0] >= 0]

    def dense_scores(self, i, vector, ids):
        return self.dense[i].reconstruct_batch(np.asarray(ids, dtype=np.int64)) @ vector


def open_location(location: Location):
    """The current version of the store at ``location`` (an ``index.store.Store``)."""
    if isinstance(location, MilvusLocation):
        from index.milvus_store import open_milvus_store

        return open_milvus_store(location)
    from index.store import open_store

    return open_store(location)


def current_marker(location: Location) -> str:
    """A cheap token that changes when the store at ``location`` swaps in a new version."""
    if isinstance(location, MilvusLocation):
        from index.milvus_store import pointer_marker

        return pointer_marker(location)
    try:
        return (Path(location) / "CURRENT").read_text("utf-8").strip()
    except OSError:
        return ""


def location_key(location: Location) -> str:
    """A stable key naming the store (for caches of opened stores)."""
    if isinstance(location, MilvusLocation):
        return f"milvus:{location.uri}?{location.name}"
    return str(Path(location).resolve())
