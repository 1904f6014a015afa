"""Build or update a store: read, clean, chunk and embed documents, then write a new version.

A rebuild re-embeds only text that is new: the vectors of chunks and
sentences whose text is unchanged are taken from the current version. The
version is written beside the current one and swapped in atomically
(``index.store``, which owns the format).
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from index.backend import MilvusLocation, parse_location
from index.chunk import Chunk, chunk_document, file_locator, line_locator
from index.clean import clean
from index.embed import Embedder, get_embedder
from index.errors import IndexCorrupt, IndexNotFound, UnreadableFile, UnsupportedFile
from index.laws import CITATIONS_TABLE, LAWS_TABLE, LawInfo, document_mentions
from index.lexical import BM25, BM25Stats
from index.local_build import LocalWriter
from index.reuse import Reuse, embed_missing, key, previous_of
from index.spool import Spool, sentence_texts
from index.store import (
    DocRecord,
    IndexSettings,
    VersionMeta,
    read_manifest,
    remove_old_versions,
    store_lock,
    text_key,
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


ROWS = 1000  # chunks embedded and written together (a Milvus insert takes at most a few MB)


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
    t0 = time.monotonic()
    location = parse_location(store_dir)
    milvus = isinstance(location, MilvusLocation)
    report = BuildReport(store=str(location))
    embs = embedders if embedders is not None else [get_embedder(s) for s in settings.embedders]
    fingerprint = settings.fingerprint({e.name: e.dim for e in embs})
    fingerprint["embedder_specs"] = list(settings.embedders)
    fingerprint["embedders"] = [e.name for e in embs]

    # Milvus Lite locks its file itself; a server's store has one indexer by deployment (docs/DEPLOY.md)
    with (contextlib.nullcontext() if milvus else store_lock(location, wait)):
        spool = Spool(None if milvus else location)
        try:
            return _build(files_of(paths, report), location, settings, embs, fingerprint, spool, report,
                          progress, force, tables, reuse_from, t0)
        finally:
            spool.remove()


def files_of(paths, report: BuildReport) -> list[tuple[Path, str]]:
    from index import loaders

    files, skipped = loaders.discover(paths)
    report.skipped.extend(skipped)
    return files


@dataclass
class _Read:
    """What the first pass learned (the corpus itself is in the spool)."""

    docs: list[DocRecord]  # without their text (the manifest's counts and titles)
    state: dict[str, str]  # source -> sha256
    chunks: int
    sentences: int
    chars: int
    tables: dict[str, list[dict]]


def _read(files, settings: IndexSettings, spool: Spool, report: BuildReport, progress) -> _Read:
    """Pass one: read, clean and chunk every file into the spool; find its legal citations."""
    from index import loaders

    docs: list[DocRecord] = []
    n_chunks = n_sentences = chars = 0
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
        doc = DocRecord(source, shown_title, cd.text, raw.meta, raw.sha256, raw.encoding, len(doc_chunks))
        n_sentences += spool.add(doc, [(c, index_text(title, c)) for c in doc_chunks])
        docs.append(replace(doc, text="", meta={}))
        n_chunks += len(doc_chunks)
        chars += len(cd.text)
        cites, cited = document_mentions(cd.text, title, file_locator(raw.pages, raw.body_line, raw.front_matter,
                                                                     cd.raw_position))
        for k, v in cited.items():  # a law named differently in two documents: every name kept
            known = laws_found.get(k, v)
            laws_found[k] = replace(known, aliases=tuple(dict.fromkeys((*known.aliases, *v.aliases))))
        mentions.extend({"source": source, **asdict(m)} for m in cites)
    if progress:
        progress("read", len(files), len(files))
    spool.seal()
    if not docs and files:
        raise UnreadableFile("none of the files could be read: " + "; ".join(f"{s}: {r}" for s, r in report.skipped))
    return _Read(docs, {d.source: d.sha256 for d in docs}, n_chunks, n_sentences, chars,
                 {LAWS_TABLE: [asdict(v) for v in laws_found.values()], CITATIONS_TABLE: mentions})


def _counted(items: Iterable, stage: str, total: int, progress, every: int = 4096) -> Iterator:
    """``items``, reporting ``progress(stage, done, total)`` every ``every`` items and at the end."""
    for n, x in enumerate(items):
        if progress and n % every == 0:
            progress(stage, n, total)
        yield x
    if progress:
        progress(stage, total, total)


def _unchanged(location, milvus: bool, fingerprint: dict, state: dict, spool: Spool) -> bool:
    """Does the current version already hold these documents with these settings?"""
    if milvus:
        from index import milvus_build

        manifest = milvus_build.current_manifest(location)
        return bool(manifest) and manifest.get("settings") == fingerprint and manifest.get("state") == state
    with contextlib.suppress(IndexNotFound, IndexCorrupt):
        vdir, manifest = read_manifest(location)
        if manifest.get("settings") == fingerprint and manifest.get("state") == state:
            # A run killed after its swap left what it would have removed: remove it now
            # (keeping, as a finished build does, the version before the current one).
            remove_old_versions(location, keep={vdir.name, str(manifest.get("previous") or ""), spool.dir.name})
            return True
    return False


def _build(files, location, settings: IndexSettings, embs: list[Embedder], fingerprint: dict, spool: Spool,
           report: BuildReport, progress, force: bool, tables, reuse_from, t0: float) -> BuildReport:
    milvus = isinstance(location, MilvusLocation)
    read = _read(files, settings, spool, report, progress)
    report.documents, report.chunks, report.chars = len(read.docs), read.chunks, read.chars
    if not force and _unchanged(location, milvus, fingerprint, read.state, spool):
        report.unchanged = True
        report.seconds = time.monotonic() - t0
        return report

    # Pass two, a batch of chunks at a time: vectors of unchanged text are taken from the previous
    # version, the rest embedded, and the batch written (FAISS indexes grow in memory on the local
    # backend; Milvus rows are inserted as they come). Memory stays near the final index.
    lexical = (BM25Stats.gather if milvus else BM25.build)(_counted(spool.texts(), "lexical index", read.chunks, progress),
                                                          k1=settings.k1, b=settings.b)
    places = [location] + ([parse_location(reuse_from)] if reuse_from is not None else [])
    reuse = Reuse([p for p in map(previous_of, places) if p is not None], fingerprint, settings.sentence_embedder)
    sent_emb = get_embedder(settings.sentence_embedder) if settings.sentence_embedder else None
    meta = VersionMeta(fingerprint, read.state, read.docs, read.chunks, read.chars, report.skipped,
                       {**(tables or {}), **read.tables})
    if milvus:
        from index.milvus_build import MilvusWriter

        writer = MilvusWriter(location, settings, [e.dim for e in embs], lexical, sent_emb, read.sentences)
    else:
        writer = LocalWriter(location, settings, [e.dim for e in embs], lexical, sent_emb, read.sentences)
    try:
        for lo, recs, texts in spool.batches(ROWS):
            if progress:
                progress("embed", lo, read.chunks)
            keys = np.array([key(c["text_sha"]) for c in recs], dtype=np.uint64)
            dense = []
            for i, emb in enumerate(embs):
                mat = np.zeros((len(texts), emb.dim), np.float32)
                n = embed_missing(emb, texts, mat, reuse.fill(mat, keys, i))
                report.embedded += n
                report.reused += len(texts) - n
                dense.append(mat)
            sentences = None
            if sent_emb is not None:
                stexts = [t for c in recs for t in sentence_texts(c)]
                sentences = np.zeros((len(stexts), sent_emb.dim), np.float16)
                skeys = np.array([key(text_key(t)) for t in stexts], dtype=np.uint64)
                embed_missing(sent_emb, stexts, sentences, reuse.fill(sentences, skeys, None), batch=128)
            writer.add(lo, texts, dense, sentences)
        if progress:
            progress("embed", read.chunks, read.chunks)
        writer.finish(spool, meta, lambda done, total: progress and progress("write", done, total))
    except BaseException:
        writer.abort()
        raise
    report.seconds = time.monotonic() - t0
    return report
