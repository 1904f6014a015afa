"""The store: atomic versions, checksums, settings guard, lock, incremental embedding."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest

from index.build import build
from index.embed import HashEmbedder
from index.errors import (
    IndexCorrupt,
    IndexLocked,
    IndexMismatch,
    IndexNotFound,
    UnreadableFile,
)
from index.store import IndexSettings, read_manifest, store_lock
from qa.query import analyse
from qa.retriever import Index
from tests.conftest import FAKE, SEEDS

FAST = IndexSettings(embedders=FAKE, sentence_embedder=None)


class CountingEmbedder(HashEmbedder):
    def __init__(self, dim=64):
        super().__init__(dim)
        self.calls = 0
        self.texts = 0

    def embed_passages(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return super().embed_passages(texts)


@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    for p in SEEDS.iterdir():
        shutil.copy(p, d / p.name)
    return d


def test_build_open_and_search(corpus, tmp_path):
    report = build([corpus], tmp_path / "s", FAST)
    assert report.documents == 3 and report.chunks > 100 and not report.skipped
    idx = Index(tmp_path / "s")
    assert len(idx.docs) == 3 and len(idx.chunks) == report.chunks
    for c in idx.chunks:
        assert idx.docs[c.source].text[c.start:c.end] == c.text
    top = idx.search("第319條之4", 3)
    assert any("319條之 4" in p.text for p in top)


def test_faiss_matches_brute_force(corpus, tmp_path):
    build([corpus], tmp_path / "s", FAST)
    idx = Index(tmp_path / "s")
    vecs = idx.dense[0].reconstruct_n(0, idx.dense[0].ntotal)
    q = idx.query_vectors(analyse("兒少性剝削製品"))[0]
    _, ids = idx.dense[0].search(q[None, :], 10)
    np.testing.assert_array_equal(ids[0], np.argsort(-(vecs @ q), kind="stable")[:10])


def test_unchanged_folder_is_a_no_op_and_changes_reembed_only_what_changed(corpus, tmp_path):
    emb = CountingEmbedder()
    first = build([corpus], tmp_path / "s", FAST, embedders=[emb])
    assert first.embedded == first.chunks
    again = build([corpus], tmp_path / "s", FAST, embedders=[emb])
    assert again.unchanged and again.embedded == 0
    note = corpus / "new.md"
    note.write_text("# 新文件\n\n這是一份新的文件，只有一個句子。\n", "utf-8")
    third = build([corpus], tmp_path / "s", FAST, embedders=[emb])
    assert third.documents == 4
    assert 0 < third.embedded <= 2 and third.reused == first.chunks


def test_unreadable_files_are_skipped_and_reported(corpus, tmp_path):
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\x00\x00garbage\x00\x00")
    (corpus / "empty.md").write_text("", "utf-8")
    report = build([corpus], tmp_path / "s", FAST)
    assert report.documents == 3
    assert {s for s, _ in report.skipped} == {"bad.txt", "empty.md"}
    _, manifest = read_manifest(tmp_path / "s")
    assert {d["source"] for d in manifest["skipped"]} == {"bad.txt", "empty.md"}


def test_nothing_readable_is_an_error(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "empty.txt").write_text(" ", "utf-8")
    with pytest.raises(UnreadableFile, match="none of the files"):
        build([tmp_path / "d"], tmp_path / "s", FAST)


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(IndexNotFound, match="verbatim index"):
        Index(tmp_path / "nothing")


@pytest.mark.parametrize("victim", ["chunks.jsonl", "docs.jsonl", "bm25.npz", "dense-0.faiss", "manifest.json"])
@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_files_are_refused(corpus, tmp_path, victim, damage):
    build([corpus], tmp_path / "s", FAST)
    vdir, _ = read_manifest(tmp_path / "s")
    path = vdir / victim
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="rebuild"):
        Index(tmp_path / "s")


def test_other_embedder_is_refused(corpus, tmp_path):
    build([corpus], tmp_path / "s", FAST)
    with pytest.raises(IndexMismatch, match="hash/64"):
        Index(tmp_path / "s", embedders=[HashEmbedder(32)])


def test_swapped_manifest_from_another_store_is_refused(corpus, tmp_path):
    build([corpus], tmp_path / "a", FAST)
    build([corpus], tmp_path / "b", IndexSettings(embedders=("hash:32",), sentence_embedder=None))
    va, _ = read_manifest(tmp_path / "a")
    vb, _ = read_manifest(tmp_path / "b")
    shutil.copy(vb / "dense-0.faiss", va / "dense-0.faiss")
    with pytest.raises(IndexCorrupt):
        Index(tmp_path / "a")


def test_settings_change_rebuilds_and_old_version_is_pruned(corpus, tmp_path):
    build([corpus], tmp_path / "s", FAST)
    build([corpus], tmp_path / "s", IndexSettings(embedders=FAKE, sentence_embedder=None, target_chars=100))
    build([corpus], tmp_path / "s", IndexSettings(embedders=FAKE, sentence_embedder=None, target_chars=120))
    versions = [p for p in (tmp_path / "s").iterdir() if p.name.startswith("v-")]
    assert len(versions) == 2  # the current one and the one before it
    _, manifest = read_manifest(tmp_path / "s")
    assert manifest["settings"]["target_chars"] == 120


def test_second_indexer_fails_clearly_while_the_first_holds_the_lock(corpus, tmp_path):
    store = tmp_path / "s"
    held, release = threading.Event(), threading.Event()

    def holder():
        with store_lock(store):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    try:
        with pytest.raises(IndexLocked, match="another indexer"):
            build([corpus], store, FAST)
    finally:
        release.set()
        t.join()
    assert build([corpus], store, FAST).documents == 3


def test_manifest_records_what_the_store_was_built_with(corpus, tmp_path):
    build([corpus], tmp_path / "s", FAST)
    vdir, manifest = read_manifest(tmp_path / "s")
    assert manifest["settings"]["embedders"] == ["hash/64"]
    assert manifest["settings"]["dims"] == {"hash/64": 64}
    assert manifest["counts"]["documents"] == 3
    assert set(manifest["files"]) == {p.name for p in SEEDS.iterdir()}
    for name in ("chunks.jsonl", "docs.jsonl", "bm25.npz", "dense-0.faiss"):
        assert manifest["checksums"][name]["size"] == (vdir / name).stat().st_size
    for line in (vdir / "chunks.jsonl").read_text("utf-8").splitlines():
        json.loads(line)  # JSON lines, never pickle


def test_a_damaged_pointer_does_not_block_a_rebuild(corpus, tmp_path):
    build([corpus], tmp_path / "s", FAST)
    (tmp_path / "s" / "CURRENT").write_text("garbage", "utf-8")
    with pytest.raises(IndexCorrupt):
        Index(tmp_path / "s")
    assert build([corpus], tmp_path / "s", FAST).documents == 3
    assert len(Index(tmp_path / "s").chunks) > 100


def test_an_inverted_file_index_serves_and_gives_its_vectors_back_on_a_rebuild(tmp_path, monkeypatch):
    """"IVF<n>,Flat" is trained on every vector, not on the first batch (5 chunks here, too few for
    16 lists), searches nlist/32 lists (at least one), scores given candidates from its vectors,
    and a forced rebuild reuses them."""
    import faiss

    import index.build as build_mod
    from qa.answerer import answer_with

    monkeypatch.setattr(build_mod, "ROWS", 5)
    settings = IndexSettings(embedders=FAKE, sentence_embedder=None, faiss_index="IVF16,Flat")
    store = tmp_path / "ivf"
    first = build([SEEDS], store, settings)
    idx = Index(store)
    ivf = faiss.extract_index_ivf(idx.dense[0])
    assert ivf.nlist == 16 and ivf.nprobe == 1 and ivf.ntotal == first.chunks > 100
    a = answer_with(idx, "刑法第319條之4的罪名是什麼？")
    assert a.status == "answered" and a.passages
    again = build([SEEDS], store, settings, force=True)
    assert again.embedded == 0 and again.reused == first.chunks


def test_a_build_reports_progress_through_every_stage_in_order(tmp_path):
    """Long work shows progress: each stage counts up to its total, and the stages come in order."""
    import index.build as build_mod

    seen: list[tuple[str, int, int]] = []
    build_mod.build([SEEDS], tmp_path / "s", IndexSettings(embedders=FAKE, sentence_embedder=None),
                    progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = list(dict.fromkeys(s for s, _, _ in seen))
    assert stages == ["read", "lexical index", "embed", "write"]
    for stage in stages:
        steps = [(d, t) for s, d, t in seen if s == stage]
        assert steps[-1][0] == steps[-1][1] > 0, stage  # ends at its total
        assert all(a[0] <= b[0] for a, b in zip(steps, steps[1:])), stage  # never goes back
    chunks = [t for s, _, t in seen if s == "lexical index"][0]
    assert chunks == [t for s, _, t in seen if s == "embed"][0] > 100
