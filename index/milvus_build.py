"""Write a version of a Milvus store, and read back what a rebuild may reuse (``index.milvus_store``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging

import numpy as np

from index.backend import MilvusLocation
from index.errors import IndexCorrupt, IndexNotFound
from index.lexical import BM25
from index.milvus_store import (
    BATCH,
    _create_tables,
    client,
    count,
    create_chunks,
    drop_versions,
    idf_bytes,
    insert_chunks,
    names,
    new_version,
    put_bytes,
    put_stream,
    read_current,
    read_pointer,
    read_table,
    swap_pointer,
)
from index.store import (
    CHUNKS,
    DOCS,
    SENTENCES,
    chunk_lines,
    docs_bytes,
    dump_records,
    manifest_record,
    table_file,
)

log = logging.getLogger(__name__)


def current_manifest(loc: MilvusLocation) -> dict | None:
    """The current manifest, or None when there is none (or it is damaged: a rebuild replaces it)."""
    try:
        return read_current(loc)[1]
    except (IndexNotFound, IndexCorrupt):
        return None


def write_version(loc: MilvusLocation, settings, fingerprint, state, docs, chunks, text_sha, matrices,
                  sentences, skipped, bm25: BM25, tables: dict[str, list[dict]] | None = None, progress=None) -> str:
    """Write a new version's collections, check them, then swap the pointer to it. Returns the version.

    On any failure the new collections are dropped and the pointer is left as it was.
    """
    c = client(loc)
    prev = None
    with contextlib.suppress(IndexCorrupt):  # a damaged pointer must not block the rebuild
        prev = read_pointer(loc)
    previous = prev["version"] if prev else None
    version = new_version()
    coll, tcoll = names(loc, version)
    try:
        _create_tables(c, tcoll)
        checksums = {DOCS: put_bytes(c, tcoll, DOCS, docs_bytes(docs)),
                     CHUNKS: put_stream(c, tcoll, CHUNKS, chunk_lines(chunks, text_sha))}
        checksums["idf"] = put_bytes(c, tcoll, "idf", idf_bytes(bm25))
        if sentences is not None:  # the bytes of sentences.npy as a stream of parts
            checksums[SENTENCES] = put_stream(c, tcoll, SENTENCES, sentences)
        for name, records in (tables or {}).items():
            table_file(name)  # checks the name
            checksums[f"table-{name}"] = put_bytes(c, tcoll, f"table-{name}", dump_records(records))
        create_chunks(c, coll, [m.shape[1] for m in matrices], settings.faiss_index)
        insert_chunks(c, coll, bm25, matrices, progress)
        del bm25
        c.load_collection(coll)
        if count(c, coll) != len(chunks):
            raise IndexCorrupt(f"{coll} holds {count(c, coll)} rows after writing {len(chunks)}: not swapped in")
        manifest = manifest_record(fingerprint, state, docs, len(chunks), skipped, checksums, previous)
        manifest["backend"] = {"kind": "milvus", "version": version}
        raw = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        put_bytes(c, tcoll, "manifest", raw)
        c.load_collection(tcoll)
        swap_pointer(loc, version, hashlib.sha256(raw).hexdigest(), previous)
    except BaseException:
        for name in (coll, tcoll):
            with contextlib.suppress(Exception):
                c.drop_collection(name)
        raise
    # keep the previous version too: a reader may still be opening it
    drop_versions(loc, keep={version, previous or ""})
    return version


def previous(loc: MilvusLocation):
    """The current version as a build reads it for reuse: (manifest, read a table, embedder ``i``'s
    vectors at chunk rows), or None when there is none."""
    try:
        version, m = read_current(loc)
    except (IndexNotFound, IndexCorrupt):
        return None

    def read(name: str) -> bytes:
        return read_table(loc, version, m, name)

    def vectors(i: int, rows: list[int]) -> np.ndarray:
        c = client(loc)
        coll, _ = names(loc, version)
        c.load_collection(coll)
        got: dict[int, np.ndarray] = {}
        ids = sorted(rows)
        for s in range(0, len(ids), BATCH):
            for row in c.query(coll, filter=f"no in {ids[s:s + BATCH]}", output_fields=[f"d{i}"]):
                got[int(row["no"])] = np.asarray(row[f"d{i}"], dtype=np.float32)
        if len(got) != len(set(rows)):
            raise IndexCorrupt(f"{coll} is missing chunk rows")
        return np.stack([got[r] for r in rows])

    return m, read, vectors
