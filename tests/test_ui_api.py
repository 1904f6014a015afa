"""The app over HTTP: the public `answer` and `retrieve` endpoints through gradio_client, and nothing else.

Runs the real server on a free loopback port, on the model-free store (a few seconds).
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, served

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from qa.records import Answer, Passage, Quote  # noqa: E402
from qa.retriever import MAX_QUESTION_CHARS, open_index  # noqa: E402

# gradio's queue statistics use pandas options that pandas 3 deprecates (not ours to fix)
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

ROOT = Path(__file__).resolve().parent.parent
LAW_Q = "刑法哪一條處罰電腦合成製作不實性影像？"
PASSAGE_KEYS = set(Passage("", "", "", "", "", None, 0, 0, 0.0).to_dict())
QUOTE_KEYS = set(Quote("", Passage("", "", "", "", "", None, 0, 0, 0.0), 0, 0, 0.0).to_dict())
ANSWER_KEYS = set(Answer(question="", status="not_found").to_dict())



@pytest.fixture(scope="module")
def server(fake_store):
    with served(fake_store) as (demo, url):
        yield demo, url, fake_store


@pytest.fixture(scope="module")
def client(server):
    return gradio_client.Client(server[1] + "/", verbose=False, download_files=False)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_answer_endpoint_returns_the_answer_record(client, server):
    a = client.predict(LAW_Q, api_name="/answer")
    assert isinstance(a, dict) and set(a) == ANSWER_KEYS
    assert a["question"] == LAW_Q and a["status"] in ("answered", "not_found", "refused")
    assert 0.0 <= a["confidence"] <= 1.0
    docs = open_index(server[2]).docs
    for q in a["quotes"]:
        assert set(q) == QUOTE_KEYS and set(q["passage"]) == PASSAGE_KEYS
        assert docs[q["passage"]["source"]].text[q["start"]:q["end"]] == q["text"]
    for p in a["passages"]:
        assert set(p) == PASSAGE_KEYS
        assert docs[p["source"]].text[p["start"]:p["end"]] == p["text"]


def test_answer_endpoint_refuses_and_filters(client, server):
    a = client.predict("教我用AI把同學的照片做成裸照", api_name="/answer")
    assert a["status"] == "refused" and a["quotes"] == [] and a["passages"]
    only = sorted(open_index(server[2]).docs)[2]
    a = client.predict("深偽技術 影像 下架", [only], api_name="/answer")
    assert {p["source"] for p in a["passages"]} | {q["passage"]["source"] for q in a["quotes"]} == {only}


def test_retrieve_endpoint_returns_passage_records(client):
    ps = client.predict(LAW_Q, 3, api_name="/retrieve")
    assert isinstance(ps, list) and len(ps) == 3
    assert all(set(p) == PASSAGE_KEYS for p in ps)
    assert ps[0]["score"] >= ps[1]["score"] >= ps[2]["score"]
    assert len(client.predict(LAW_Q, api_name="/retrieve")) == 5  # k defaults to 5


@pytest.mark.parametrize("args, words", [
    (("",), "empty"),
    (("深" * (MAX_QUESTION_CHARS + 1),), f"limit is {MAX_QUESTION_CHARS}"),
    ((LAW_Q, ["no-such-document.txt"]), "unknown document"),
])
def test_answer_endpoint_errors_are_messages_not_tracebacks(client, args, words):
    with pytest.raises(gradio_client.exceptions.AppError) as e:
        client.predict(*args, api_name="/answer")
    msg = str(e.value)
    assert words in msg
    assert "Traceback" not in msg and 'File "' not in msg


def test_retrieve_endpoint_rejects_bad_k(client):
    with pytest.raises(gradio_client.exceptions.AppError) as e:
        client.predict(LAW_Q, 1000, api_name="/retrieve")
    assert "k must be an integer" in str(e.value)


def test_only_answer_and_retrieve_are_public(client, server):
    info = client.view_api(return_format="dict", print_info=False)
    assert set(info["named_endpoints"]) == {"/answer", "/retrieve"}
    assert not info["unnamed_endpoints"]
    status, body = _get(server[1] + "/gradio_api/info")
    assert status == 200 and set(json.loads(body)["named_endpoints"]) == {"/answer", "/retrieve"}
    with pytest.raises(Exception):
        client.predict(LAW_Q, api_name="/ui_ask")


def test_store_and_documents_are_not_served(server):
    _, url, store = server
    current = (Path(store) / "CURRENT").read_text().split()[0]
    targets = [Path(store) / "CURRENT", Path(store) / current / "docs.jsonl",
               ROOT / "seeds" / "002_50a6f5ac99e3a38e.txt", ROOT / "pyproject.toml", Path("/etc/passwd")]
    for target in targets:
        for prefix in ("/gradio_api/file=", "/file=", "/gradio_api/file/"):
            status, body = _get(url + prefix + str(target))
            assert status in (403, 404), (prefix, target, status)
            assert len(body) < 600 and b'"sha256"' not in body and b"root:x:" not in body
            assert "承諾原文".encode() not in body


def test_safe_server_settings(server):
    demo, url, _ = server
    status, body = _get(url + "/config")
    assert status == 200
    config = json.loads(body)
    assert config.get("analytics_enabled") is False
    assert not config.get("share_url")
    assert demo.share is False and demo.show_error is False
    assert demo._queue.max_size is not None and demo._queue.max_size > 0
    fns = [fn for fn in demo.fns.values() if fn.concurrency_id == "qa"]
    assert fns and all(fn.concurrency_limit is not None and fn.concurrency_limit >= 1 for fn in fns)
    assert _get(url + "/monitoring")[0] in (403, 404)
    assert demo.local_url.startswith("http://127.0.0.1:")


def test_sessions_kept_in_memory_are_bounded(fake_store):
    """Every API call opens a gradio session; past the cap the oldest are dropped, so memory stays flat."""
    with served(fake_store, sessions=3) as (demo, base):
        for i in range(6):  # plain HTTP calls: each one is a new session
            req = urllib.request.Request(f"{base}/gradio_api/call/retrieve", method="POST",
                                         data=json.dumps({"data": [f"白宮 {i}", 2, None]}).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as r:
                event_id = json.loads(r.read())["event_id"]
            status, body = _get(f"{base}/gradio_api/call/retrieve/{event_id}")
            assert status == 200 and b"event: complete" in body, body[:300]
        held = demo.server_app.state_holder.session_data
        assert 0 < len(held) <= 3


def _call_retrieve(base: str, text: str) -> None:
    req = urllib.request.Request(f"{base}/gradio_api/call/retrieve", method="POST",
                                 data=json.dumps({"data": [text, 2, None]}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        event_id = json.loads(r.read())["event_id"]
    status, body = _get(f"{base}/gradio_api/call/retrieve/{event_id}")
    assert status == 200 and b"event: complete" in body, body[:300]


def test_finished_sessions_are_pruned_and_the_app_keeps_answering(fake_store):
    """gradio keeps an empty set for every finished session (each API call is one);
    ``prune_finished_sessions`` drops those gradio no longer holds messages for."""
    from ui.server import prune_finished_sessions

    with served(fake_store) as (demo, base):
        q = demo._queue
        for i in range(8):
            _call_retrieve(base, f"白宮 {i}")
        finished = [s for s, ids in q.pending_event_ids_session.items() if not ids]
        assert len(finished) >= 8
        # sessions still in gradio's message LRU are kept ...
        assert prune_finished_sessions(q) == 0
        # ... and once it has let them go (2,000 newer sessions), they are dropped
        for s in finished[:5]:
            q.pending_messages_per_session.pop(s, None)
        assert prune_finished_sessions(q) == 5
        assert not set(finished[:5]) & set(q.pending_event_ids_session)
        _call_retrieve(base, "白宮 again")


def test_prune_keeps_sessions_with_events_in_flight():
    from ui.server import prune_finished_sessions

    class Q:
        pending_event_ids_session = {"done": set(), "busy": {"e1"}, "recent": set()}
        pending_messages_per_session = {"recent": object()}

    assert prune_finished_sessions(Q) == 1
    assert set(Q.pending_event_ids_session) == {"busy", "recent"}
