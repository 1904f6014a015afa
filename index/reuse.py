"""What a rebuild takes from a previous version: the vectors of text that did not change.

A previous version (the store's current one, or another store given as
``--reuse-from``) is read as a ``Previous``: its chunk records line by line, and
vectors at given rows. ``Reuse`` keeps only sorted 64-bit text hashes and rows
(16 bytes a chunk or sentence), and a build asks it a batch at a time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.backend import MilvusLocation
from index.dense import read_faiss_file
from index.embed import Embedder
from index.errors import IndexCorrupt, IndexNotFound
from index.spool import sentence_texts
from index.store import (
    CHUNKS,
    SENTENCES,
    dense_file,
    read_manifest,
    text_key,
    verify_file,
)

log = logging.getLogger(__name__)


def key(text_sha: str) -> int:
    """A 64-bit number for a text hash (``index.store.text_key``): what reuse tables sort by."""
    return int(text_sha[:16], 16)


@dataclass
class Previous:
    """A store version a build may take vectors from (the store's current one, or ``--reuse-from``)."""

    manifest: dict
    lines: Callable[[str], Iterator[bytes]]  # one of its JSON-lines tables, checked against the manifest at its end
    vectors: Callable[[int, np.ndarray], np.ndarray]  # embedder ``i``'s vectors at these chunk rows
    sentence_vectors: Callable[[np.ndarray], np.ndarray] | None  # float16 sentence vectors at these rows


def previous_of(where) -> Previous | None:
    if isinstance(where, MilvusLocation):
        from index import milvus_build

        got = milvus_build.previous(where)
        return Previous(*got) if got else None
    try:
        vdir, manifest = read_manifest(where)
    except (IndexNotFound, IndexCorrupt):
        return None
    opened: dict[str, Any] = {}

    def verified(name: str) -> Path:  # checked once, streamed (a large file is never read whole)
        if name not in opened:
            opened[name] = verify_file(vdir, manifest, name)
        return opened[name]

    def lines(name: str) -> Iterator[bytes]:
        with open(verified(name), "rb") as f:
            yield from f

    def vectors(i: int, rows: np.ndarray) -> np.ndarray:
        name = f"faiss-{i}"
        if name not in opened:
            opened[name] = read_faiss_file(verified(dense_file(i)))
        return opened[name].reconstruct_batch(np.asarray(rows, dtype=np.int64))

    def sentence_vectors(rows: np.ndarray) -> np.ndarray:
        if "npy" not in opened:
            opened["npy"] = np.load(verified(SENTENCES), mmap_mode="r", allow_pickle=False)
        return np.asarray(opened["npy"][np.asarray(rows, dtype=np.int64)])

    return Previous(manifest, lines, vectors,
                    sentence_vectors if SENTENCES in manifest.get("checksums", {}) else None)


class Reuse:
    """Where the vectors of unchanged text are in previous versions: sorted 64-bit text hashes and
    their rows, of chunks (for the embedders) and of sentences (for the sentence embedder).
    A build asks for a batch at a time, so memory stays near these tables (16 bytes a row)."""

    def __init__(self, prevs: list[Previous], fingerprint: dict, sentence_spec: str | None):
        self.sources = []
        for prev in prevs:
            old = prev.manifest.get("settings", {})
            dense = [old.get("embedders"), old.get("dims")] == [fingerprint.get("embedders"), fingerprint.get("dims")]
            sent = bool(sentence_spec) and old.get("sentence_embedder") == sentence_spec \
                and prev.sentence_vectors is not None
            if not (dense or sent):
                continue
            try:
                ck, sk = [], []
                for line in prev.lines(CHUNKS):
                    c = json.loads(line.decode("utf-8", "surrogatepass"))
                    ck.append(key(c["text_sha"]))
                    if sent:
                        sk.extend(key(text_key(t)) for t in sentence_texts(c))
            except Exception as e:  # noqa: BLE001 - a damaged old store only means nothing to reuse
                log.warning("previous store not reusable (%s); embedding everything", e)
                continue
            self.sources.append((prev, self._table(ck) if dense else None, self._table(sk) if sent else None))

    @staticmethod
    def _table(keys: list[int]) -> tuple[np.ndarray, np.ndarray]:
        k = np.array(keys, dtype=np.uint64)
        order = np.argsort(k, kind="stable")  # the first row of a repeated text
        return k[order], order.astype(np.int64)

    @staticmethod
    def _find(table, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``keys`` found in ``table``, their rows there)."""
        k, rows = table
        if len(k) == 0 or len(keys) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pos = np.searchsorted(k, keys)  # leftmost: the first of a repeated text
        pos_c = np.minimum(pos, len(k) - 1)
        hit = np.flatnonzero(k[pos_c] == keys)
        return hit, rows[pos_c[hit]]

    def fill(self, mat: np.ndarray, keys: np.ndarray, i: int | None) -> np.ndarray:
        """Fill the rows of ``mat`` whose text a previous version has (embedder ``i``, or the
        sentence embedder when ``i`` is None); returns which rows are still missing."""
        missing = np.ones(len(keys), dtype=bool)
        for prev, chunks, sentences in self.sources:
            table = sentences if i is None else chunks
            if table is None or not missing.any():
                continue
            todo = np.flatnonzero(missing)
            hit, rows = self._find(table, keys[todo])
            if len(hit) == 0:
                continue
            try:
                got = prev.sentence_vectors(rows) if i is None else prev.vectors(i, rows)
            except Exception as e:  # noqa: BLE001 - nothing to reuse is not an error
                log.warning("previous vectors not reusable (%s); embedding them", e)
                continue
            mat[todo[hit]] = got.astype(mat.dtype)
            missing[todo[hit]] = False
        return missing


def embed_missing(emb: Embedder, texts: list[str], mat: np.ndarray, missing: np.ndarray, batch: int = 32) -> int:
    """Embed the ``texts`` whose rows of ``mat`` are ``missing``, ``batch`` at a time; returns how many."""
    todo = np.flatnonzero(missing)
    for s in range(0, len(todo), batch):
        part = todo[s:s + batch]
        mat[part] = emb.embed_passages([texts[j] for j in part]).astype(mat.dtype)
    return len(todo)
