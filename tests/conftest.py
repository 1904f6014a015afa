"""Shared fixtures: no network, seed paths, stores built once per session."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import pytest

# The test run has the machine to itself: let the engines' OpenMP threads use both cores and spin
# briefly, which halves the time to index the seeds. The library's default is one sleeping thread
# per question (index/threads.py says why); a deployment's environment wins, as here.
os.environ.setdefault("OMP_NUM_THREADS", str(min(2, os.cpu_count() or 1)))
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DEV = ROOT / "tests" / "eval" / "dev.jsonl"
FAKE = ("hash:64",)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection to a host other than this machine fails the test."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1", "")
                                          or self.family == socket.AF_UNIX):
            raise RuntimeError(f"network access to {address!r} during tests")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def fake_store(tmp_path_factory) -> Path:
    """The seeds indexed with the model-free hash embedder (fast)."""
    from index.build import build
    from index.store import IndexSettings

    store = tmp_path_factory.mktemp("fake") / "store"
    build([SEEDS], store, IndexSettings(embedders=FAKE, sentence_embedder=None))
    return store


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory) -> Path:
    """The seeds indexed with the real bundled models (about a minute)."""
    from index.build import build
    from index.store import IndexSettings

    store = tmp_path_factory.mktemp("real") / "store"
    build([SEEDS], store, IndexSettings())
    return store


@pytest.fixture(scope="session")
def seed_index(seed_store):
    from qa.retriever import open_index

    return open_index(seed_store)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(store, **settings):
    """The app on ``store``, served in this process on a free loopback port: yields (demo, base URL)."""
    from ui.server import ServeSettings, launch

    settings.setdefault("port", free_port())
    demo, url = launch(ServeSettings(store=Path(store), host="127.0.0.1", quiet=True, **settings),
                       prevent_thread_lock=True)
    try:
        yield demo, url.rstrip("/")
    finally:
        demo.close()
