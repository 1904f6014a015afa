"""The milvus store backend on the real engine (Milvus Lite 2.5.1, embedded and as a loopback server).

No mocks: every test writes and reads real Milvus collections. The model-free
hash embedder keeps them fast; the comparison on the real models is ``slow``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import DEV, FAKE, SEEDS, free_port

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from index.backend import BadStoreLocation, MilvusLocation, parse_location  # noqa: E402
from index.build import build  # noqa: E402
from index.errors import IndexCorrupt, IndexNotFound  # noqa: E402
from index.store import IndexSettings  # noqa: E402
from qa.answerer import answer_with  # noqa: E402
from qa.retriever import Index, open_index  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:pkg_resources is deprecated")
ROOT = Path(__file__).resolve().parent.parent
FAST = IndexSettings(embedders=FAKE + ("hash:32",), sentence_embedder=None)
ODD = ["第 319條之 4", "\u2028line\u2029", "tab\tnul\x00", "😀 e\u0301", "\ud800 lone", "", "x" * 70000]


def questions() -> list[str]:
    return [json.loads(line)["question"] for line in DEV.read_text("utf-8").splitlines() if line.strip()]


def answers(index, qs) -> list[tuple]:
    out = []
    for q in qs:
        a = answer_with(index, q)
        out.append((a.status, [(x.passage.source, x.start, x.end, x.text) for x in a.quotes],
                    [(p.chunk_id, p.start, p.end) for p in a.passages]))
    return out


def milvus_collections(loc: MilvusLocation) -> list[str]:
    from index.milvus_store import client

    return sorted(c for c in client(loc).list_collections() if c.startswith(loc.name + "_"))


@pytest.fixture(scope="module")
def milvus_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("milvus") / "store.db"


@pytest.fixture(scope="module")
def pair(milvus_db, tmp_path_factory):
    """The seeds in a local store and in Milvus Lite, same settings, with a side table."""
    local = tmp_path_factory.mktemp("local") / "store"
    table = {"notes": [{"article": t, "n": i} for i, t in enumerate(ODD)]}
    build([SEEDS], local, FAST, tables=table)
    loc = parse_location(f"milvus://{milvus_db}?name=pair")
    report = build([SEEDS], loc, FAST, tables=table)
    assert report.chunks > 100 and report.embedded == 2 * report.chunks
    return local, loc


@pytest.mark.parametrize("bad", [
    "milvus://relative/file.db", "milvus:///abs/no-extension", "milvus:///abs/bad name.db", "milvus://host:notaport",
    "milvus://host:19530/path", "milvus://user:pw@host:19530", "milvus:///abs/f.db?name=1bad",
    "milvus:///abs/f.db?collection=x", "postgres://host/db", "milvus://relative.db",
])
def test_malformed_locations_are_refused_with_the_right_form(bad):
    with pytest.raises(BadStoreLocation, match="milvus|name|option|scheme"):
        parse_location(bad)


def test_locations_parse_and_never_show_the_token():
    loc = parse_location("milvus://db.example:19531?name=laws", token="secret")
    assert (loc.uri, loc.name, loc.token) == ("http://db.example:19531", "laws", "secret")
    assert "secret" not in str(loc) + repr(loc) and str(loc) == "milvus://db.example:19531?name=laws"
    assert parse_location(str(loc)) == loc  # what a supervisor passes to its child reads back the same
    assert parse_location("milvus:///srv/v.db").uri == "/srv/v.db" and parse_location("store") == Path("store")
    assert parse_location("milvus+https://h").uri == "https://h:19530"


def test_a_missing_store_and_a_missing_server_are_clear_errors(milvus_db):
    with pytest.raises(IndexNotFound, match="verbatim index"):
        Index(f"milvus://{milvus_db}?name=nothing_here")
    missing = milvus_db.parent / "missing.db"
    with pytest.raises(IndexNotFound, match="verbatim index"):
        Index(f"milvus://{missing}")
    assert not missing.exists()  # asking does not create an empty store
    from index.milvus_store import StoreUnavailable

    with pytest.raises(StoreUnavailable, match="cannot open the Milvus server"):
        Index(f"milvus://127.0.0.1:{free_port()}")


def test_texts_offsets_metadata_and_side_tables_round_trip_exactly(pair):
    local, loc = pair
    a, b = Index(local), Index(loc)
    assert a.chunks == b.chunks and a.docs == b.docs
    assert a.store.tables == b.store.tables and b.store.tables["notes"][4]["article"] == "\ud800 lone"
    assert b.store.tables["laws"] and b.store.tables["citations"]  # the law finder's tables ride along
    for c in b.chunks:  # the verbatim guarantee: every chunk is a slice of its canonical text
        assert b.docs[c.source].text[c.start:c.end] == c.text
    assert b.manifest["state"] == a.manifest["state"] and b.manifest["counts"] == a.manifest["counts"]


def test_lexical_and_dense_scores_equal_the_local_backend(pair):
    import numpy as np

    local, loc = pair
    a, b = Index(local), Index(loc)
    for q in questions()[:10]:
        from qa.query import analyse

        aq = analyse(q)
        lq = a.lexical_query(aq, 0.5)
        ids = np.arange(len(a.chunks))
        np.testing.assert_allclose(b.engine.lexical_of(lq, ids), a.engine.lexical_of(lq, ids), rtol=1e-5, atol=1e-5)
        top_a, _ = a.engine.lexical_top(lq, 20)
        top_b, _ = b.engine.lexical_top(lq, 20)
        bm = a.engine.lexical_of(lq, ids)
        assert sorted(bm[top_a]) == pytest.approx(sorted(bm[top_b]), abs=1e-5)  # same scores (ties may swap)
        v = a.query_vectors(aq)
        for i in range(2):
            assert set(a.engine.dense_top(i, v[i], 10)) == set(b.engine.dense_top(i, v[i], 10))
            np.testing.assert_allclose(a.engine.dense_scores(i, v[i], ids), b.engine.dense_scores(i, v[i], ids),
                                       rtol=1e-5, atol=1e-6)


def test_same_answers_as_the_local_backend_on_the_dev_questions(pair):
    local, loc = pair
    qs = questions()
    assert answers(Index(local), qs) == answers(Index(loc), qs)


def test_rebuild_reembeds_only_changed_text_and_swaps_versions(milvus_db, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    loc = parse_location(f"milvus://{milvus_db}?name=incr")
    first = build([docs], loc, FAST)
    assert build([docs], loc, FAST).unchanged
    v1 = Index(loc).store.version
    victim = sorted(docs.glob("*.txt"))[-1]
    victim.write_text(victim.read_text("utf-8") + "\n\n新增的一段：這是測試用的句子。\n", "utf-8")
    second = build([docs], loc, FAST)
    assert 0 < second.embedded <= 2 * 3 and second.reused >= 2 * (first.chunks - 3)
    idx = Index(loc)
    assert idx.store.version != v1 and any("測試用的句子" in c.text for c in idx.chunks)
    third = build([docs], loc, FAST, force=True)
    assert third.embedded == 0
    # the current version and the one before it are kept, older ones dropped
    versions = {c.split("_")[1] for c in milvus_collections(loc) if c.endswith("_chunks")}
    assert len(versions) == 2 and Index(loc).store.version in versions


def test_a_failed_build_leaves_the_current_version_and_no_collections(milvus_db):
    loc = parse_location(f"milvus://{milvus_db}?name=failing")
    build([SEEDS], loc, FAST)
    before, colls = Index(loc).store.version, milvus_collections(loc)
    with pytest.raises(ValueError, match="side table name"):
        build([SEEDS], loc, FAST, force=True, tables={"Bad Name": []})
    assert Index(loc).store.version == before and milvus_collections(loc) == colls


def test_readers_see_the_old_version_or_the_new_never_a_mix(milvus_db, tmp_path):
    """Readers open the store again and again while it is rebuilt with other documents."""
    docs_a, docs_b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(SEEDS, docs_a)
    docs_b.mkdir()
    for p in sorted(SEEDS.glob("*.txt"))[:2]:
        shutil.copy(p, docs_b / p.name)
    loc = parse_location(f"milvus://{milvus_db}?name=swap")
    build([docs_a], loc, FAST)
    states = {frozenset(p.name for p in docs_a.glob("*.txt")), frozenset(p.name for p in docs_b.glob("*.txt"))}
    seen, errors, stop = [], [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                idx = open_index(loc)
                n = idx.engine.lexical_top(((1.0, ("影", "像")),), len(idx.chunks))[0]
                assert n.max() < len(idx.chunks)  # the rows searched are this version's rows
                seen.append((frozenset(idx.docs), len(idx.chunks), idx.manifest["counts"]["chunks"]))
            except Exception as e:  # noqa: BLE001 - collected and reported below
                errors.append(repr(e))

    t = threading.Thread(target=reader)
    t.start()
    try:
        for docs in (docs_b, docs_a, docs_b):
            build([docs], loc, FAST)
            # let the reader open the new version twice before the next swap: the version before the
            # current one is kept for readers still opening it, not the one before that
            target, deadline = len(seen) + 2, time.monotonic() + 60
            while len(seen) < target and not errors and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        stop.set()
        t.join()
    assert not errors
    assert {s for s, _, _ in seen} == states and len(seen) >= 6
    assert all(n == m for _, n, m in seen)


def test_a_pointer_to_a_dropped_version_is_refused(milvus_db):
    from index.milvus_store import read_pointer, swap_pointer

    loc = parse_location(f"milvus://{milvus_db}?name=dangling")
    build([SEEDS], loc, FAST)
    p = read_pointer(loc)
    swap_pointer(loc, "v1", p["manifest_sha256"], p["version"])
    with pytest.raises(IndexCorrupt, match="gone"):
        Index(loc)
    assert not build([SEEDS], loc, FAST).unchanged  # a rebuild repairs it
    Index(loc)


@pytest.mark.slow
def test_the_real_models_answer_the_same_on_both_backends(seed_index, tmp_path):
    loc = parse_location(f"milvus://{tmp_path / 'real.db'}")
    build([SEEDS], loc, IndexSettings())
    qs = questions()
    assert answers(seed_index, qs) == answers(Index(loc), qs)


@pytest.fixture(scope="module")
def lite_server(tmp_path_factory):
    """Milvus Lite's server mode on a loopback port (standing in for a Milvus cluster)."""
    from milvus_lite.server import Server

    port = free_port()
    server = Server(str(tmp_path_factory.mktemp("server") / "shared.db"), f"127.0.0.1:{port}")
    if not server.init() or not server.start():
        pytest.skip("Milvus Lite's server mode could not start here")
    try:
        yield f"milvus://127.0.0.1:{port}"
    finally:
        server.stop()


def _serve(store: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--no-supervise", "--store", store,
                             "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_two_app_processes_on_one_milvus_server_answer_alike(lite_server):
    gradio_client = pytest.importorskip("gradio_client")
    build([SEEDS], parse_location(lite_server), FAST)
    ports = [free_port(), free_port()]
    procs = [_serve(lite_server, p) for p in ports]
    try:
        clients = []
        for proc, port in zip(procs, ports):
            deadline = time.monotonic() + 120
            while True:
                try:
                    clients.append(gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False,
                                                        download_files=False))
                    break
                except Exception:  # noqa: BLE001 - not up yet
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(f"serve did not start: {proc.stderr.read().decode()[-2000:]}")
                    time.sleep(1)
        qs = questions()[:8]
        got = [[c.predict(q, api_name="/answer") for q in qs] for c in clients]
        for a in got[0] + got[1]:
            a.pop("ms", None)
        assert got[0] == got[1]
        assert sum(a["status"] == "answered" for a in got[0]) >= 4
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def test_a_local_store_moves_to_milvus_without_embedding_again(pair, milvus_db):
    local, _ = pair
    report = build([SEEDS], parse_location(f"milvus://{milvus_db}?name=moved"), FAST, reuse_from=local)
    assert report.embedded == 0 and report.reused == 2 * report.chunks


def test_the_law_finder_reads_the_same_citations_from_either_backend(pair):
    from qa.laws import cited, laws

    local, loc = pair
    assert [(law.name, [a.reference for a in law.articles], len(law.citations)) for law in laws(local)] == \
        [(law.name, [a.reference for a in law.articles], len(law.citations)) for law in laws(loc)]
    a, b = cited("刑法319-4", local), cited("刑法319-4", loc)
    assert a.reference == b.reference == "中華民國刑法 第319條之4"
    assert [(c.surface, c.start, c.passage.chunk_id) for c in a.citations] == \
        [(c.surface, c.start, c.passage.chunk_id) for c in b.citations]


def test_sentence_vectors_round_trip_and_a_rebuild_embeds_none_again(milvus_db, tmp_path, monkeypatch):
    """Sentence vectors are rows of their own collection, read by the chunks a question quotes from;
    a forced rebuild reads them back instead of embedding them again."""
    import numpy as np

    import index.build as build_mod
    from index.backend import open_location

    def every_row(store) -> list[np.ndarray]:
        base = np.cumsum([0] + [len(c.sentences) for c in store.chunks])
        return store.sentence_vectors.take([(int(base[i]), int(base[i + 1])) for i in range(len(store.chunks))])

    settings = IndexSettings(embedders=FAST.embedders, sentence_embedder="hash:48")
    build([SEEDS], tmp_path / "local", settings)
    loc = parse_location(f"milvus://{milvus_db}?name=sent")
    build([SEEDS], loc, settings)
    want = every_row(open_location(tmp_path / "local"))
    assert sum(map(len, want)) > 100 and any(len(w) > 1 for w in want)
    assert all(np.array_equal(a, b) for a, b in zip(every_row(open_location(loc)), want, strict=True))

    calls = []
    real = build_mod.get_embedder

    def counting(spec):
        emb = real(spec)
        embed = emb.embed_passages
        emb.embed_passages = lambda texts: calls.append(len(texts)) or embed(texts)
        return emb

    monkeypatch.setattr(build_mod, "get_embedder", counting)
    for where in (loc, tmp_path / "local"):  # the local store reads them memory-mapped
        report = build([SEEDS], where, settings, force=True)
        assert report.embedded == 0 and calls == [], where
        assert all(np.array_equal(a, b) for a, b in zip(every_row(open_location(where)), want, strict=True))


def test_an_inverted_file_index_on_milvus_scores_every_candidate(milvus_db, tmp_path):
    """IVF_FLAT (what a large store is built with) still scores every given candidate exactly:
    a search restricted to the candidates returns them all, with the local store's scores."""
    import numpy as np

    from index.milvus_store import milvus_index, search_params

    settings = IndexSettings(embedders=FAST.embedders, sentence_embedder=None, faiss_index="IVF16,Flat")
    assert milvus_index(settings.faiss_index) == ("IVF_FLAT", {"nlist": 16})
    assert search_params(settings.faiss_index)["params"] == {"nprobe": 1}
    build([SEEDS], tmp_path / "local", settings)
    loc = parse_location(f"milvus://{milvus_db}?name=ivf")
    build([SEEDS], loc, settings)
    local, remote = Index(tmp_path / "local"), Index(loc)
    ids = np.arange(0, len(local.chunks), 3)
    for i, emb in enumerate(local.embedders):
        v = emb.embed_queries(["深偽影像的法律責任"])[0]
        assert np.allclose(remote.engine.dense_scores(i, v, ids), local.engine.dense_scores(i, v, ids), atol=1e-5)
    assert all(a[0] == "answered" for a in answers(remote, questions()[:5]))


def test_a_store_of_an_older_layout_is_rebuilt_not_kept(milvus_db, monkeypatch):
    """Same documents, same settings, but sentence vectors kept the old way: `verbatim index`
    rebuilds it (it used to say "unchanged" and leave a store that cannot be opened)."""
    import index.milvus_build as mb
    import index.milvus_store as ms
    from index.backend import open_location

    settings = IndexSettings(embedders=FAST.embedders, sentence_embedder="hash:16")
    loc = parse_location(f"milvus://{milvus_db}?name=old")
    with monkeypatch.context() as m:
        m.setattr(ms, "LAYOUT", 1)
        m.setattr(mb, "LAYOUT", 1)
        build([SEEDS], loc, settings)
    with pytest.raises(IndexCorrupt, match="older Verbatim"):
        open_location(loc)
    report = build([SEEDS], loc, settings)
    assert not report.unchanged
    assert len(open_location(loc).sentence_vectors) > 100


def test_a_milvus_build_reports_its_write_stage_step_by_step(milvus_db):
    """The write stage (tables, Milvus loading and indexing the rows, the swap) is minutes at 1M
    chunks: it counts its five steps instead of jumping from 0 to done."""
    seen: list[tuple[str, int, int]] = []
    build([SEEDS], parse_location(f"milvus://{milvus_db}?name=progress"), FAST, force=True,
          progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert list(dict.fromkeys(s for s, _, _ in seen)) == ["read", "lexical index", "embed", "write"]
    assert [d for s, d, _ in seen if s == "write"] == [0, 1, 2, 3, 4, 5]
