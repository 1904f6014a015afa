"""The ``milvus`` backend: a store version as Milvus collections, swapped in by a pointer record.

One store named ``N`` (``?name=N``, default ``verbatim``) in one Milvus::

    N_pointer          one row, key "current": {"version", "manifest_sha256", "previous"}
    N_<ver>_chunks     one row per chunk: ``no`` (its number), ``lex`` (sparse BM25 weights
                       of the chunk's tokens, ``index.lexical``), ``d0``.. (one vector per embedder)
    N_<ver>_sentences  one row per sentence of every chunk, in chunk order: ``id`` (its row),
                       ``v`` (float16, the sentence embedder's vector); read per candidate
    N_<ver>_tables     the version's files as base64 pieces: manifest, docs, chunks,
                       idf and the named side tables (``table-<name>``)

The chunk rows hold BM25 *document* weights (idf x saturated tf, exactly those
of the local matrix) in a sparse field searched by inner product, so a
weighted query (the asking clause, the story at a lower weight, the
glossary's terms) scores exactly as the local backend does, and Milvus's
inverted index gives the top-k. Milvus Lite has neither aliases nor
transactions over collections: a build writes the new version's collections,
checks their counts, then upserts the single pointer row. A reader reads the
pointer once and opens that version, so it sees the old version or the new
one, never a mix; the version before the current one is kept for readers
still opening it.

Texts, offsets and metadata travel as the same JSON lines as the local
store's files, base64 encoded (exact for any string), each checked against
the sha256 in the manifest, whose own sha256 is in the pointer.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import threading
import time
import warnings

import numpy as np

from index.backend import MilvusLocation
from index.errors import IndexCorrupt, IndexNotFound, VerbatimError
from index.lexical import BM25
from index.milvus_tables import get_bytes, pieces
from index.threads import ensure_configured

log = logging.getLogger(__name__)

BATCH = 1000  # chunk rows per insert
MAX_K = 16384  # Milvus's largest topk / query window
_MAX_TERM = 2**32 - 2  # sparse indices must be below 2^32 - 1


class StoreUnavailable(VerbatimError):
    """The Milvus that holds a store cannot be reached or used."""


_CLIENTS: dict[tuple[str, str], object] = {}
_CLIENTS_LOCK = threading.Lock()


def client(loc: MilvusLocation):
    """A MilvusClient for ``loc``, one per process (Milvus Lite allows one process per file)."""
    key = (loc.uri, loc.token)
    with _CLIENTS_LOCK:
        c = _CLIENTS.get(key)
        if c is not None:
            return c
        # an embedded Milvus Lite engine is a child process: it inherits the engines' thread settings
        # (one sleeping OpenMP thread by default; a spinning engine would slow the query encoders)
        ensure_configured()
        # milvus-lite 2.5.1 imports pkg_resources, whose deprecation warning says nothing to our users
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
            try:
                from pymilvus import MilvusClient
            except ImportError as e:
                raise StoreUnavailable("the milvus backend needs pymilvus and milvus-lite: "
                                       "pip install -e '.[milvus]'") from e
            try:
                c = MilvusClient(uri=loc.uri, token=loc.token or "", timeout=10)
            except Exception as e:  # noqa: BLE001 - pymilvus raises many kinds; the message says which
                where = f"the Milvus Lite file {loc.uri}" if loc.embedded else f"the Milvus server at {loc.uri}"
                raise StoreUnavailable(f"cannot open {where}: {e}. Is the server running, the token right "
                                       "(VERBATIM_MILVUS_TOKEN), and for a .db file, is another process "
                                       "using it?") from e
        _CLIENTS[key] = c
        return c


_LOADED: set[tuple[int, str]] = set()


def ensure_loaded(c, coll: str) -> None:
    """Load ``coll`` for search and query, once per client (a restarted server may have released it)."""
    key = (id(c), coll)
    if key not in _LOADED:
        c.load_collection(coll)
        _LOADED.add(key)


def names(loc: MilvusLocation, version: str) -> tuple[str, str]:
    return f"{loc.name}_{version}_chunks", f"{loc.name}_{version}_tables"


def sentences_name(loc: MilvusLocation, version: str) -> str:
    return f"{loc.name}_{version}_sentences"


LAYOUT = 2  # 2: sentence vectors in their own collection (1: a table the app read whole)


def _pointer(loc: MilvusLocation) -> str:
    return f"{loc.name}_pointer"


def read_pointer(loc: MilvusLocation) -> dict | None:
    """The pointer record ({"version", "manifest_sha256", "previous"}) or None when there is no store."""
    if loc.embedded and not os.path.exists(loc.uri):
        return None  # no file, no store (and opening it would create an empty one)
    c = client(loc)
    if not c.has_collection(_pointer(loc)):
        return None
    ensure_loaded(c, _pointer(loc))
    rows = c.query(_pointer(loc), filter='k == "current"', output_fields=["v"])
    if not rows:
        return None
    try:
        p = json.loads(rows[0]["v"])
        if not isinstance(p.get("version"), str) or not isinstance(p.get("manifest_sha256"), str):
            raise ValueError("fields missing")
    except ValueError as e:
        raise IndexCorrupt(f"the pointer of store {loc} is damaged ({e}): rebuild with `verbatim index`") from e
    return p


def pointer_marker(loc: MilvusLocation) -> str:
    p = read_pointer(loc)
    return "" if p is None else f"{p['version']} {p['manifest_sha256']}"


# -- tables: a version's files as base64 pieces --------------------------------
def idf_bytes(bm25: BM25) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, terms=bm25.terms, idf=bm25.idf, params=np.array([bm25.n_docs, bm25.k1, bm25.b]))
    return buf.getvalue()


def idf_table(data: bytes) -> BM25:
    """A BM25 record holding only the terms and their idf (what ``coverage`` reads)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        n_docs, k1, b = z["params"]
        return BM25.idf_only(z["terms"], z["idf"], n_docs, k1, b)


# -- chunk rows ----------------------------------------------------------------
def milvus_index(kind: str) -> tuple[str, dict]:
    """The Milvus index of a FAISS kind (``IndexSettings.faiss_index``): "Flat" is FLAT (exact, as
    locally), "IVF<n>,Flat" is IVF_FLAT with n lists (searched with ``index.dense.nprobe``), "HNSW<M>"
    is HNSW (a Milvus server; Lite has no HNSW); anything else is left to Milvus (AUTOINDEX)."""
    from index.dense import ivf_lists

    if kind == "Flat":
        return "FLAT", {}
    lists = ivf_lists(kind)
    if lists:
        return "IVF_FLAT", {"nlist": lists}
    m = re.fullmatch(r"HNSW(\d+)", kind)
    if m:
        return "HNSW", {"M": int(m.group(1)), "efConstruction": 200}
    return "AUTOINDEX", {}


def search_params(kind: str) -> dict:
    """What a search of a dense field of this kind is given (the same nprobe as the local index)."""
    from index.dense import nprobe

    index, params = milvus_index(kind)
    if index == "IVF_FLAT":
        return {"metric_type": "IP", "params": {"nprobe": nprobe(params["nlist"])}}
    if index == "HNSW":
        return {"metric_type": "IP", "params": {"ef": 128}}
    return {"metric_type": "IP"}


def create_chunks(c, coll: str, dims: list[int], index_kind: str) -> None:
    from pymilvus import DataType

    s = c.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("no", DataType.INT64, is_primary=True)
    s.add_field("lex", DataType.SPARSE_FLOAT_VECTOR)
    for i, d in enumerate(dims):
        s.add_field(f"d{i}", DataType.FLOAT_VECTOR, dim=int(d))
    ip = c.prepare_index_params()
    ip.add_index("lex", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    kind, params = milvus_index(index_kind)
    for i in range(len(dims)):
        ip.add_index(f"d{i}", index_type=kind, metric_type="IP", params=params)
    c.create_collection(coll, schema=s, index_params=ip, consistency_level="Strong")


def sparse_row(terms: np.ndarray, weights: np.ndarray) -> dict[int, float]:
    """One chunk's BM25 weights (``index.lexical.BM25Stats.rows``) as a Milvus sparse row {term hash: weight}."""
    return dict(zip(np.minimum(terms.astype(np.int64), _MAX_TERM).tolist(), weights.tolist()))


def create_sentences(c, coll: str, dim: int) -> None:
    from pymilvus import DataType

    s = c.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("v", DataType.FLOAT16_VECTOR, dim=int(dim))
    ip = c.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="IP")  # never searched; Milvus loads only indexed fields
    c.create_collection(coll, schema=s, index_params=ip, consistency_level="Strong")


def sentence_rows(c, coll: str, ids: list[int]) -> dict[int, np.ndarray]:
    """Float16 vectors of sentence rows ``ids`` (primary-key lookups, a thousand at a time)."""
    got: dict[int, np.ndarray] = {}
    for s in range(0, len(ids), BATCH):
        for r in c.query(coll, filter=f"id in {ids[s:s + BATCH]}", output_fields=["id", "v"]):
            v = r["v"]
            got[int(r["id"])] = np.frombuffer(v[0] if isinstance(v, list) else v, dtype=np.float16)
    return got


def count(c, coll: str) -> int:
    return int(c.query(coll, filter="", output_fields=["count(*)"])[0]["count(*)"])


def drop_versions(loc: MilvusLocation, keep: set[str]) -> None:
    """Drop the collections of every version of this store not in ``keep``."""
    c = client(loc)
    prefix = f"{loc.name}_v"
    for coll in c.list_collections():
        if coll.startswith(prefix) and coll.endswith(("_chunks", "_tables", "_sentences")):
            version = coll[len(loc.name) + 1:].rsplit("_", 1)[0]
            if version not in keep:
                c.drop_collection(coll)


def swap_pointer(loc: MilvusLocation, version: str, manifest_sha: str, previous: str | None) -> None:
    """Make ``version`` current: one upsert of the one pointer row."""
    from pymilvus import DataType

    c = client(loc)
    coll = _pointer(loc)
    if not c.has_collection(coll):
        s = c.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("k", DataType.VARCHAR, is_primary=True, max_length=64)
        s.add_field("v", DataType.VARCHAR, max_length=4096)
        s.add_field("z", DataType.FLOAT_VECTOR, dim=2)
        ip = c.prepare_index_params()
        ip.add_index("z", index_type="FLAT", metric_type="L2")
        c.create_collection(coll, schema=s, index_params=ip, consistency_level="Strong")
    v = json.dumps({"version": version, "manifest_sha256": manifest_sha, "previous": previous})
    c.upsert(coll, [{"k": "current", "v": v, "z": [0.0, 0.0]}])


def new_version() -> str:
    return f"v{time.time_ns()}"


# -- reading -------------------------------------------------------------------
def read_current(loc: MilvusLocation) -> tuple[str, dict]:
    """(version, manifest) of the current version, the manifest checked against the pointer.

    Raises:
        IndexNotFound: no store of that name there.
        IndexCorrupt: the manifest is missing or does not match.
    """
    p = read_pointer(loc)
    if p is None:
        raise IndexNotFound(f"no store at {loc}: build one with `verbatim index PATH --store {loc}`")
    version = p["version"]
    c = client(loc)
    _, tables = names(loc, version)
    if not c.has_collection(tables):
        raise IndexCorrupt(f"store {loc} names version {version}, which is gone: rebuild with `verbatim index`")
    ensure_loaded(c, tables)
    data = b"".join(pieces(c, tables, "manifest"))
    if hashlib.sha256(data).hexdigest() != p["manifest_sha256"]:
        raise IndexCorrupt(f"the manifest of {loc} fails its checksum: rebuild with `verbatim index`")
    return version, json.loads(data)


def read_table(loc: MilvusLocation, version: str, manifest: dict, name: str) -> bytes:
    _, tables = names(loc, version)
    return get_bytes(client(loc), tables, name, manifest.get("checksums", {}).get(name), f"{loc} ({version})")


def open_milvus_store(loc: MilvusLocation):
    """The current version of the Milvus store at ``loc``, as an ``index.store.Store``."""
    from index.store import (
        CHUNKS,
        DOCS,
        Store,
        parse_chunks,
        parse_docs,
        read_jsonl,
    )

    version, m = read_current(loc)
    fp = m.get("settings", {})
    docs = parse_docs(read_table(loc, version, m, DOCS))
    chunks = parse_chunks(read_table(loc, version, m, CHUNKS))
    idf = idf_table(read_table(loc, version, m, "idf"))
    names_ = list(fp.get("embedders") or [])
    specs = list(fp.get("embedder_specs") or names_)
    dims = fp.get("dims") or {}
    c = client(loc)
    vectors = None
    if fp.get("sentence_embedder"):
        if m.get("backend", {}).get("layout") != LAYOUT:
            raise IndexCorrupt(f"{loc} was written by an older Verbatim: rebuild it with `verbatim index`")
        from index.milvus_search import MilvusSentenceRows

        scoll = sentences_name(loc, version)
        ensure_loaded(c, scoll)
        vectors = MilvusSentenceRows(c, scoll, count(c, scoll))
        if len(vectors) != sum(len(ch.sentences) for ch in chunks):
            raise IndexCorrupt(f"sentence vectors of {loc} do not match its chunks: rebuild")
    tables = {n[len("table-"):]: read_jsonl(read_table(loc, version, m, n))
              for n in m.get("checksums", {}) if n.startswith("table-")}
    coll, _ = names(loc, version)
    ensure_loaded(c, coll)
    if count(c, coll) != len(chunks):
        raise IndexCorrupt(f"the chunk rows of {loc} ({version}) do not match its chunks: rebuild")
    from index.milvus_search import MilvusSearcher

    search = MilvusSearcher(c, coll, len(names_), search_params(fp.get("faiss_index", "Flat")))
    return Store(loc, version, m, docs, chunks, idf, specs, names_, [], fp.get("sentence_embedder"), vectors,
                 search=search, dims=tuple(int(dims.get(n, 0)) for n in names_), tables=tables)
