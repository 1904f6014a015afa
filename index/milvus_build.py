"""Write a version of a Milvus store, and read back what a rebuild may reuse (``index.milvus_store``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator

import numpy as np

from index.backend import MilvusLocation
from index.errors import IndexCorrupt, IndexNotFound
from index.lexical import BM25Stats
from index.milvus_store import (
    BATCH,
    LAYOUT,
    client,
    count,
    create_chunks,
    create_sentences,
    drop_versions,
    ensure_loaded,
    idf_bytes,
    names,
    new_version,
    read_current,
    read_pointer,
    sentence_rows,
    sentences_name,
    sparse_row,
    swap_pointer,
)
from index.milvus_tables import create_tables, pieces, put_bytes, put_stream
from index.store import (
    CHUNKS,
    DOCS,
    VersionMeta,
    dump_records,
    manifest_record,
    table_file,
)

log = logging.getLogger(__name__)

# float16 rows per insert: pymilvus 2.5 builds a float16 field's bytes in a way whose memory grows
# with the square of the rows (1,000 rows of 512 dims: +700 MB for a moment; 100: none)
SENTENCE_ROWS = 100


def current_manifest(loc: MilvusLocation) -> dict | None:
    """The current manifest, or None when there is none, it is damaged or it is of an older layout
    (a rebuild replaces it)."""
    try:
        m = read_current(loc)[1]
    except (IndexNotFound, IndexCorrupt):
        return None
    return m if m.get("backend", {}).get("layout") == LAYOUT else None


class MilvusWriter:
    """Writes a new version's collections a batch of chunks at a time (``index.build``), then swaps
    the pointer to it.

    Each batch's rows (BM25 weights from the whole collection's statistics, one vector per
    embedder) are inserted as they come, and its sentence vectors appended to the ``sentences.npy``
    table, so the indexer holds one batch, never the corpus. On any failure (``abort``) the new
    collections are dropped and the pointer is left as it was.
    """

    def __init__(self, loc: MilvusLocation, settings, dims: list[int], stats: BM25Stats, sentence_embedder,
                 sentences: int):
        self.loc, self.stats, self.sentences = loc, stats, sentences
        self.c = client(loc)
        prev = None
        with contextlib.suppress(IndexCorrupt):  # a damaged pointer must not block the rebuild
            prev = read_pointer(loc)
        self.previous = prev["version"] if prev else None
        self.version = new_version()
        self.coll, self.tcoll = names(loc, self.version)
        self.scoll = sentences_name(loc, self.version) if sentence_embedder is not None else None
        self.rows = self._sent_rows = 0
        try:
            create_tables(self.c, self.tcoll)
            create_chunks(self.c, self.coll, dims, settings.faiss_index)
            if self.scoll:
                create_sentences(self.c, self.scoll, sentence_embedder.dim)
        except BaseException:
            self.abort()
            raise

    def add(self, first: int, texts: list[str], dense: list[np.ndarray], sentences: np.ndarray | None) -> None:
        lex = self.stats.rows(texts, first)
        rows = []
        for j, (terms, weights) in enumerate(lex):
            row = {"no": first + j, "lex": sparse_row(terms, weights)}
            for i, mat in enumerate(dense):
                row[f"d{i}"] = mat[j]
            rows.append(row)
        if rows:
            self.c.insert(self.coll, rows)
        self.rows += len(rows)
        if self.scoll:
            first_row, mat = self._sent_rows, np.ascontiguousarray(sentences, np.float16)
            for s in range(0, len(mat), SENTENCE_ROWS):
                self.c.insert(self.scoll, [{"id": first_row + s + k, "v": v}
                                           for k, v in enumerate(mat[s:s + SENTENCE_ROWS])])
            self._sent_rows += len(mat)

    def finish(self, spool, meta: VersionMeta, step=lambda done, total: None) -> None:
        """Write the tables, wait for Milvus to load (and index) the new rows, check every count,
        then swap the pointer; ``step(done, 5)`` after each of these."""
        c, coll, tcoll = self.c, self.coll, self.tcoll
        step(0, 5)
        checksums = {DOCS: put_stream(c, tcoll, DOCS, spool.parts(DOCS)),
                     CHUNKS: put_stream(c, tcoll, CHUNKS, spool.parts(CHUNKS)),
                     "idf": put_bytes(c, tcoll, "idf", idf_bytes(self.stats.idf_record()))}
        step(1, 5)
        if self.scoll:
            c.load_collection(self.scoll)
            if count(c, self.scoll) != self.sentences or self._sent_rows != self.sentences:
                raise IndexCorrupt(f"{self.scoll} holds {count(c, self.scoll)} rows for {self.sentences} sentences")
        step(2, 5)
        for name, records in meta.tables.items():
            table_file(name)  # checks the name
            checksums[f"table-{name}"] = put_bytes(c, tcoll, f"table-{name}", dump_records(records))
        step(3, 5)
        c.load_collection(coll)
        if count(c, coll) != meta.chunks or self.rows != meta.chunks:
            raise IndexCorrupt(f"{coll} holds {count(c, coll)} rows after writing {meta.chunks}: not swapped in")
        step(4, 5)
        manifest = manifest_record(meta, checksums, self.previous)
        manifest["backend"] = {"kind": "milvus", "version": self.version, "layout": LAYOUT}
        raw = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        put_bytes(c, tcoll, "manifest", raw)
        c.load_collection(tcoll)
        swap_pointer(self.loc, self.version, hashlib.sha256(raw).hexdigest(), self.previous)
        # keep the previous version too: a reader may still be opening it
        drop_versions(self.loc, keep={self.version, self.previous or ""})
        step(5, 5)

    def abort(self) -> None:
        for name in (self.coll, self.tcoll, self.scoll):
            with contextlib.suppress(Exception):
                self.c.drop_collection(name)


def _table_lines(c, coll: str, name: str, info: dict | None, where: str) -> Iterator[bytes]:
    """The lines of JSON-lines table ``name``, a hundred pieces at a time; its checksum is checked
    when the last line has been read (a reader stops using what it read if this raises)."""
    if info is None:
        raise IndexCorrupt(f"{name} is not listed in the manifest of {where}")
    h, size, rest = hashlib.sha256(), 0, b""
    for data in pieces(c, coll, name, int(info["pieces"]), where):
        h.update(data)
        size += len(data)
        lines = (rest + data).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"
    if rest:
        yield rest
    if size != info["size"] or h.hexdigest() != info["sha256"]:
        raise IndexCorrupt(f"{name} of {where} fails its checksum: rebuild with `verbatim index`")


def previous(loc: MilvusLocation):
    """The current version as a build reads it for reuse: (manifest, a table's lines, embedder
    ``i``'s vectors at chunk rows, sentence vectors at rows), or None when there is none."""
    try:
        version, m = read_current(loc)
    except (IndexNotFound, IndexCorrupt):
        return None
    c = client(loc)
    coll, tcoll = names(loc, version)
    where = f"{loc} ({version})"

    def lines(name: str) -> Iterator[bytes]:
        return _table_lines(c, tcoll, name, m.get("checksums", {}).get(name), where)

    def vectors(i: int, rows: np.ndarray) -> np.ndarray:
        ensure_loaded(c, coll)
        got: dict[int, np.ndarray] = {}
        ids = sorted(set(np.asarray(rows, dtype=np.int64).tolist()))
        for s in range(0, len(ids), BATCH):
            for row in c.query(coll, filter=f"no in {ids[s:s + BATCH]}", output_fields=[f"d{i}"]):
                got[int(row["no"])] = np.asarray(row[f"d{i}"], dtype=np.float32)
        if len(got) != len(ids):
            raise IndexCorrupt(f"{coll} is missing chunk rows")
        return np.stack([got[int(r)] for r in rows])

    def sentence_vectors(rows: np.ndarray) -> np.ndarray:
        scoll = sentences_name(loc, version)
        ensure_loaded(c, scoll)
        ids = np.asarray(rows, dtype=np.int64).tolist()
        got = sentence_rows(c, scoll, sorted(set(ids)))
        if len(got) != len(set(ids)):
            raise IndexCorrupt(f"{scoll} is missing sentence rows")
        return np.stack([got[j] for j in ids])

    has_sentences = m.get("settings", {}).get("sentence_embedder") and m.get("backend", {}).get("layout") == LAYOUT
    return m, lines, vectors, sentence_vectors if has_sentences else None
