"""Write a version of a local store folder, a batch of chunks at a time (``index.build``)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from index.dense import load_faiss
from index.errors import IndexCorrupt
from index.lexical import BM25
from index.store import (
    BM25_FILE,
    CHUNKS,
    DOCS,
    MANIFEST,
    SENTENCES,
    VersionMeta,
    _sha256_file,
    _write,
    current_version,
    dense_file,
    dump_records,
    manifest_record,
    npy_header,
    remove_old_versions,
    swap_in,
    table_file,
)


class LocalWriter:
    """Writes a new version folder a batch of chunks at a time (``index.build``), then swaps it in.

    The FAISS indexes grow in memory (they are the final index); sentence vectors go to
    ``sentences.npy`` as they come; ``docs.jsonl`` and ``chunks.jsonl`` are moved in from the
    build's spool (in the store folder, so on the same file system). Every file is fsynced, the
    manifest written last with their checksums. A FAISS kind that needs training (an inverted
    file) keeps every vector until the end and is trained on all of them.
    """

    def __init__(self, store_dir: Path, settings, dims: list[int], bm25: BM25, sentence_embedder, sentences: int):
        self.store_dir, self.bm25, self.sentences = store_dir, bm25, sentences
        self.previous = None
        with contextlib.suppress(IndexCorrupt):  # a damaged pointer must not block the rebuild
            cur = current_version(store_dir)
            self.previous = cur[0].name if cur else None
        self.vdir = store_dir / f"v-{time.time_ns()}"
        self.vdir.mkdir(parents=True)
        faiss = load_faiss()
        self.dense = [faiss.index_factory(int(d), settings.faiss_index, faiss.METRIC_INNER_PRODUCT) for d in dims]
        self._untrained: list[list[np.ndarray]] = [[] for _ in dims]
        self._sent, self._rows = None, 0
        if sentence_embedder is not None:
            self._sent = open(self.vdir / SENTENCES, "wb")
            self._sent.write(npy_header(sentences, sentence_embedder.dim))

    def add(self, first: int, texts: list[str], dense: list[np.ndarray], sentences: np.ndarray | None) -> None:
        for index, mat, held in zip(self.dense, dense, self._untrained):
            if index.is_trained:
                index.add(mat)
            else:
                held.append(mat)
        if self._sent is not None:
            self._sent.write(np.ascontiguousarray(sentences, np.float16).tobytes())
            self._rows += len(sentences)

    def finish(self, spool, meta: VersionMeta, step=lambda done, total: None) -> None:
        """Train what needs it, write every file, fsync, swap; ``step(done, 3)`` after each."""
        faiss = load_faiss()
        vdir = self.vdir
        step(0, 3)
        if self._sent is not None:
            self._sent.close()
            if self._rows != self.sentences:
                raise IndexCorrupt(f"wrote {self._rows} sentence vectors for {self.sentences} sentences")
        for index, held in zip(self.dense, self._untrained):
            if held:
                mat = np.concatenate(held)
                index.train(mat)
                index.add(mat)
                held.clear()
        for name in (DOCS, CHUNKS):
            os.replace(spool.path(name), vdir / name)
        spool.remove()  # before the swap: after it, nothing is left to do but remove old versions
        self.bm25.save(vdir / BM25_FILE)
        step(1, 3)
        for i, index in enumerate(self.dense):
            faiss.write_index(index, str(vdir / dense_file(i)))
        for name, records in meta.tables.items():
            _write(vdir / table_file(name), dump_records(records))
        checksums = {}
        for p in sorted(vdir.iterdir()):
            with open(p, "rb") as f:
                os.fsync(f.fileno())
            checksums[p.name] = {"sha256": _sha256_file(p), "size": p.stat().st_size}
        step(2, 3)
        manifest = manifest_record(meta, checksums, self.previous)
        _write(vdir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
        swap_in(self.store_dir, vdir)
        # keep the previous version too: a reader may still be opening it
        remove_old_versions(self.store_dir, keep={vdir.name, self.previous or ""})
        step(3, 3)

    def abort(self) -> None:
        if self._sent is not None:
            self._sent.close()
        shutil.rmtree(self.vdir, ignore_errors=True)
