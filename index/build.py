"""Build or update a store: read, clean, chunk and embed documents, then write a new version.

A rebuild re-embeds only text that is new: the vectors of chunks and
sentences whose text is unchanged are taken from the current version. The
version is written beside the current one and swapped in atomically
(``index.store``, which owns the format).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from index.backend import MilvusLocation, parse_location
from index.chunk import Chunk, chunk_document, file_locator, line_locator
from index.clean import clean
from index.embed import Embedder, get_embedder
from index.errors import IndexCorrupt, IndexNotFound, UnreadableFile, UnsupportedFile
from index.laws import CITATIONS_TABLE, LAWS_TABLE, LawInfo, document_mentions
from index.lexical import BM25
from index.store import (
    CHUNKS,
    SENTENCES,
    DocRecord,
    IndexSettings,
    current_version,
    dense_file,
    make_faiss,
    read_faiss,
    read_jsonl,
    read_manifest,
    read_npy,
    read_verified,
    remove_old_versions,
    store_lock,
    swap_in,
    text_key,
    write_version,
)

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class BuildReport:
    """What a build did: counts, skipped files with reasons, timings."""

    store: str
    documents: int = 0
    chunks: int = 0
    embedded: int = 0  # chunks whose vectors were computed (not reused)
    reused: int = 0
    chars: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    unchanged: bool = False


def document_title(meta: dict, text: str, blocks, fallback: str) -> str:
    """Title from front matter or PDF metadata, else the first heading, else the first short line."""
    t = meta.get("title") if isinstance(meta, dict) else None
    if isinstance(t, str) and t.strip():
        return t.strip()
    for b in blocks:
        if b.kind == "heading":
            return text[b.start:b.end].lstrip("#").strip()
        if b.kind == "para":
            first = text[b.start:b.end].split("\n", 1)[0].strip()
            if 0 < len(first) <= 80:
                return first
            break
    return fallback


def index_text(title: str, chunk: Chunk) -> str:
    """The text that is embedded and matched for a chunk: its title and section give context."""
    head = " › ".join((title, *chunk.section)) if title else " › ".join(chunk.section)
    return f"{head}\n{chunk.text}" if head else chunk.text


@dataclass
class _Previous:
    """A store version a build may take vectors from (the store's current one, or ``--reuse-from``)."""

    manifest: dict
    read: Callable[[str], bytes]  # one of its files (tables), checked against the manifest
    vectors: Callable[[int, list[int]], np.ndarray]  # embedder ``i``'s vectors at these chunk rows
    rows: dict[str, int] | None = None  # indexed-text hash -> first chunk row (read once, for every embedder)


def _previous(where) -> _Previous | None:
    if isinstance(where, MilvusLocation):
        from index import milvus_build

        got = milvus_build.previous(where)
        return _Previous(*got) if got else None
    try:
        vdir, manifest = read_manifest(where)
    except (IndexNotFound, IndexCorrupt):
        return None

    def read(name: str) -> bytes:
        return read_verified(vdir, manifest, name)

    def vectors(i: int, rows: list[int]) -> np.ndarray:
        return read_faiss(read(dense_file(i))).reconstruct_batch(np.asarray(rows, dtype=np.int64))

    return _Previous(manifest, read, vectors)


def _old_vectors(prev: _Previous, fingerprint: dict, wanted: set[str], i: int) -> dict[str, np.ndarray]:
    """Vectors of embedder ``i`` in ``prev``, by indexed-text hash (those in ``wanted``)."""
    old_fp = prev.manifest.get("settings", {})
    if [old_fp.get("embedders"), old_fp.get("dims")] != [fingerprint.get("embedders"), fingerprint.get("dims")]:
        return {}
    try:
        if prev.rows is None:
            prev.rows = {}
            for j, c in enumerate(read_jsonl(prev.read(CHUNKS))):
                if c["text_sha"] in wanted:
                    prev.rows.setdefault(c["text_sha"], j)
        if not prev.rows:
            return {}
        vecs = prev.vectors(i, list(prev.rows.values()))
        return {h: vecs[n] for n, h in enumerate(prev.rows)}
    except Exception as e:  # noqa: BLE001 - a damaged old store only means nothing to reuse
        log.warning("previous store not reusable (%s); embedding everything", e)
        return {}


def _old_sentence_vectors(prev: _Previous, spec: str | None) -> dict[str, np.ndarray]:
    """Sentence vectors of ``prev`` by sentence-text hash, if reusable."""
    m = prev.manifest
    if not spec or m.get("settings", {}).get("sentence_embedder") != spec or SENTENCES not in m.get("checksums", {}):
        return {}
    try:
        vecs = read_npy(prev.read(SENTENCES))
        out: dict[str, np.ndarray] = {}
        j = 0
        for c in read_jsonl(prev.read(CHUNKS)):
            for a, b in c["sentences"]:
                out[text_key(c["text"][a - c["start"]:b - c["start"]])] = vecs[j]
                j += 1
        return out
    except Exception as e:  # noqa: BLE001 - nothing to reuse is not an error
        log.warning("previous sentence vectors not reusable (%s)", e)
        return {}


def embed_with_reuse(emb: Embedder, texts: list[str], reuse: dict[str, np.ndarray], keys: list[str],
                     dtype=np.float32, batch: int = 32, stage: str = "embed",
                     progress: Progress | None = None) -> tuple[np.ndarray, int]:
    """Vectors of ``texts``: taken from ``reuse`` (by ``keys``) where present, else embedded in batches.

    Returns (matrix, how many were embedded).
    """
    mat = np.zeros((len(texts), emb.dim), dtype)
    todo = []
    for j, k in enumerate(keys):
        v = reuse.get(k)
        if v is None:
            todo.append(j)
        else:
            mat[j] = v
    for s in range(0, len(todo), batch):
        if progress:
            progress(stage, s, len(todo))
        part = todo[s:s + batch]
        mat[part] = emb.embed_passages([texts[j] for j in part]).astype(dtype)
    if progress:
        progress(stage, len(todo), len(todo))
    return mat, len(todo)


def sentence_vector_parts(emb: Embedder, chunks: list[Chunk], reuse: dict[str, np.ndarray], batch: int = 128,
                          progress: Progress | None = None):
    """``sentences.npy`` as a stream of bytes: the header, then float16 rows of every chunk's sentences,
    in chunk order, taken from ``reuse`` (by sentence-text hash) or embedded ``batch`` at a time."""
    import io

    n = sum(len(c.sentences) for c in chunks)
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float16)),
                                                "fortran_order": False, "shape": (n, emb.dim)})
    yield head.getvalue()

    def sentences():
        for c in chunks:
            for a, b in c.sentences:
                yield c.text[a - c.start:b - c.start]

    it, done = sentences(), 0
    while True:
        texts = list(itertools.islice(it, batch))
        if not texts:
            break
        if progress:
            progress("embed sentences", done, n)
        keys = [text_key(t) for t in texts]
        mat, _ = embed_with_reuse(emb, texts, reuse, keys, dtype=np.float16, batch=batch)
        yield mat.tobytes()
        done += len(texts)
    if progress:
        progress("embed sentences", n, n)


def build(
    paths: Iterable[str | Path],
    store_dir: "str | Path | MilvusLocation",
    settings: IndexSettings = IndexSettings(),
    *,
    embedders: list[Embedder] | None = None,
    progress: Progress | None = None,
    wait: float = 0.0,
    force: bool = False,
    tables: dict[str, list[dict]] | None = None,
    reuse_from: "str | Path | MilvusLocation | None" = None,
) -> BuildReport:
    """Index files and folders into ``store_dir`` (created or updated atomically).

    Args:
        paths: files and folders (.txt, .md, .pdf).
        store_dir: the store folder.
        settings: chunking, BM25 and embedder settings.
        embedders: embedder objects to use instead of ``settings.embedders``
            (tests pass fakes); their ``name`` is what the manifest records.
        progress: called as ``progress(stage, done, total)`` during long work.
        wait: seconds to wait for another indexer's lock before failing.
        force: rebuild even when nothing changed.
        tables: named side tables (lists of JSON records) stored with the version.
        reuse_from: another store (either backend) whose vectors of unchanged text are
            reused too, e.g. a local store moved to Milvus without embedding again.

    Returns:
        A BuildReport. Unreadable files are skipped, logged and listed there.

    Raises:
        IndexLocked: another indexer holds the store.
        UnreadableFile: no file at all could be read.
    """
    from index import loaders

    t0 = time.monotonic()
    location = parse_location(store_dir)
    milvus = isinstance(location, MilvusLocation)
    store_dir = location
    report = BuildReport(store=str(location))
    embs = embedders if embedders is not None else [get_embedder(s) for s in settings.embedders]
    names = [e.name for e in embs]
    fingerprint = settings.fingerprint({e.name: e.dim for e in embs})
    fingerprint["embedder_specs"] = list(settings.embedders)
    fingerprint["embedders"] = names

    # Milvus Lite locks its file itself; a server's store has one indexer by deployment (docs/DEPLOY.md)
    with (contextlib.nullcontext() if milvus else store_lock(store_dir, wait)):
        files, skipped = loaders.discover(paths)
        report.skipped.extend(skipped)
        docs: list[DocRecord] = []
        chunks: list[tuple[Chunk, str]] = []  # (chunk, indexed text)
        laws_found: dict[str, LawInfo] = {}
        mentions: list[dict] = []  # every legal citation, with its document
        for n, (path, source) in enumerate(files):
            if progress:
                progress("read", n, len(files))
            try:
                raw = loaders.load(path, source)
                cd = clean(raw.pages, raw.front_matter)
                if not cd.text.strip():
                    raise UnreadableFile("no text after cleaning")
            except (UnreadableFile, UnsupportedFile) as e:
                log.warning("skipping %s: %s", source, e)
                report.skipped.append((source, str(e)))
                continue
            title = document_title(raw.meta, cd.text, cd.blocks, "")
            # a file name is shown when there is no title, but never indexed
            shown_title = title or Path(source).stem
            doc_chunks = chunk_document(
                source, cd, line_of=line_locator(raw.pages, raw.body_line, raw.front_matter),
                paged=raw.encoding == "pdf",
                target_chars=settings.target_chars, max_chars=settings.max_chars,
            )
            docs.append(DocRecord(source, shown_title, cd.text, raw.meta, raw.sha256, raw.encoding, len(doc_chunks)))
            chunks.extend((c, index_text(title, c)) for c in doc_chunks)
            cites, cited = document_mentions(cd.text, title, file_locator(raw.pages, raw.body_line, raw.front_matter,
                                                                         cd.raw_position))
            for k, v in cited.items():  # a law named differently in two documents: every name kept
                known = laws_found.get(k, v)
                laws_found[k] = replace(known, aliases=tuple(dict.fromkeys((*known.aliases, *v.aliases))))
            mentions.extend({"source": source, **asdict(m)} for m in cites)
        if progress:
            progress("read", len(files), len(files))
        if not docs and files:
            raise UnreadableFile("none of the files could be read: " + "; ".join(f"{s}: {r}" for s, r in report.skipped))

        tables = {**(tables or {}), LAWS_TABLE: [asdict(v) for v in laws_found.values()], CITATIONS_TABLE: mentions}

        # Nothing changed? Then keep the current version as it is.
        state = {d.source: d.sha256 for d in docs}
        if not force and milvus:
            from index import milvus_build

            manifest = milvus_build.current_manifest(location)
            if manifest and manifest.get("settings") == fingerprint and manifest.get("state") == state:
                report.unchanged = True
                report.documents, report.chunks = len(docs), len(chunks)
                report.seconds = time.monotonic() - t0
                return report
        elif not force:
            with contextlib.suppress(IndexNotFound, IndexCorrupt):
                _vdir, manifest = read_manifest(store_dir)
                if manifest.get("settings") == fingerprint and manifest.get("state") == state:
                    # A run killed after its swap left what it would have removed: remove it now
                    # (keeping, as a finished build does, the version before the current one).
                    remove_old_versions(store_dir, keep={_vdir.name, str(manifest.get("previous") or "")})
                    report.unchanged = True
                    report.documents, report.chunks = len(docs), len(chunks)
                    report.seconds = time.monotonic() - t0
                    return report

        texts = [t for _, t in chunks]
        text_sha = [text_key(t) for t in texts]
        # Memory stays near the final index: BM25 is built in batches before any vector exists, each
        # embedder's vectors become its FAISS index before the next embedder runs, and the previous
        # version's vectors are read one embedder at a time.
        if progress:
            progress("lexical index", 0, 1)
        bm25 = BM25.build(texts, k1=settings.k1, b=settings.b)
        if progress:
            progress("lexical index", 1, 1)
        places = [location] + ([parse_location(reuse_from)] if reuse_from is not None else [])
        prevs = [p for p in map(_previous, places) if p is not None]
        wanted = set(text_sha)
        dense = []  # FAISS indexes (local) or matrices (milvus, inserted row batch by row batch)
        for i, emb in enumerate(embs):
            old: dict[str, np.ndarray] = {}
            for prev in prevs:
                old.update(_old_vectors(prev, fingerprint, wanted, i))
            mat, n = embed_with_reuse(emb, texts, old, text_sha, stage=f"embed {emb.name}", progress=progress)
            del old
            report.embedded += n
            report.reused += len(texts) - n
            dense.append(mat if milvus else make_faiss(settings.faiss_index, mat.shape[1], mat))
            del mat
        del wanted

        # sentence vectors are embedded while they are written, a batch at a time (never all in memory)
        sentence_parts = None
        if settings.sentence_embedder:
            sentence_parts = sentence_vector_parts(
                get_embedder(settings.sentence_embedder), [c for c, _ in chunks],
                {k: v for prev in prevs for k, v in _old_sentence_vectors(prev, settings.sentence_embedder).items()},
                progress=progress)

        if progress:
            progress("write", 0, 1)
        if milvus:
            from index import milvus_build

            milvus_build.write_version(location, settings, fingerprint, state, docs, chunks, text_sha, dense,
                                       sentence_parts, report.skipped, bm25, tables, progress)
        else:
            previous = None
            with contextlib.suppress(IndexCorrupt):  # a damaged pointer must not block the rebuild
                previous = current_version(store_dir)
            vdir = store_dir / f"v-{time.time_ns()}"
            vdir.mkdir(parents=True)
            try:
                write_version(vdir, fingerprint, state, docs, chunks, text_sha, dense, sentence_parts,
                              report.skipped, bm25, previous=previous[0].name if previous else None, tables=tables)
                swap_in(store_dir, vdir)
            except BaseException:
                shutil.rmtree(vdir, ignore_errors=True)
                raise
            # keep the previous version too: a reader may still be opening it
            remove_old_versions(store_dir, keep={vdir.name, previous[0].name if previous else ""})
        if progress:
            progress("write", 1, 1)
    report.documents, report.chunks = len(docs), len(chunks)
    report.chars = sum(len(d.text) for d in docs)
    report.seconds = time.monotonic() - t0
    return report


