"""The web surface of the running app, attacked over HTTP on loopback (issue #4, "The web surface").

One server per module, on the model-free store. Every request is raw HTTP (``http.client``), so the
paths, headers and bodies are exactly what an attacker would send; nothing goes through gradio_client.

What the app must hold (see ``ui.webguard.WebGuard`` and ``ui.server.queue``):
  * no file is served by path, whatever the encoding; no URL on another host is fetched;
  * no upload is accepted, no body over ``MAX_BODY_BYTES`` is read;
  * a gradio file-data object in place of a question is refused and reads nothing;
  * no foreign ``Origin`` is allowed by CORS, whatever the Host header;
  * nothing runs outside the queue, and only ``answer`` and ``retrieve`` are reachable by name;
  * every bad question gets a message written for a person, never a traceback, and the app keeps serving.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import uuid
from pathlib import Path

import pytest
from conftest import free_port, served

pytest.importorskip("gradio")

from qa.retriever import MAX_QUESTION_CHARS  # noqa: E402

# gradio's queue statistics use pandas options that pandas 3 deprecates (not ours to fix)
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "002_50a6f5ac99e3a38e.txt"
LAW_Q = "刑法哪一條處罰電腦合成製作不實性影像？"
EVIL = "http://evil.example"
TRACE_MARKS = (b"Traceback", b'File "', b"site-packages", b"Error:")
PRIVATE_NAMES = ("ui_ask", "ui_open", "ui_switch", "clear_chat", "ui_lang_from_url", "lambda", "js_fn")



@pytest.fixture(scope="module")
def server(fake_store):
    with served(fake_store) as (demo, _):
        yield demo, demo.server_port, Path(fake_store)


class Web:
    """Raw HTTP to the app: (status, headers with lower-case names, body)."""

    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                chunked: bool = False, timeout: float = 15) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if body is not None and "Content-Type" not in hdrs:
                hdrs["Content-Type"] = "application/json"
            if chunked:
                conn.request(method, path, body=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                             headers=hdrs, encode_chunked=True)
            else:
                conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, payload=None, raw: bytes | None = None, **kw):
        body = raw if raw is not None else json.dumps(payload).encode()
        return self.request("POST", path, body, **kw)

    def call(self, name: str, payload=None, raw: bytes | None = None) -> tuple[int, str, object, bytes]:
        """``POST /gradio_api/call/<name>`` and read its result: (status, event, data, every byte received).

        ``event`` is "complete" or "error" (data: the output, or gradio's error object) when the call
        was queued, else "" (data: the refusal's JSON).
        """
        status, _, body = self.post(f"/gradio_api/call/{name}", payload, raw)
        if status != 200:
            return status, "", _json(body), body
        event_id = json.loads(body)["event_id"]
        status, _, stream = self.get(f"/gradio_api/call/{name}/{event_id}", timeout=30)
        event, data = "", None
        for line in stream.decode("utf-8", "replace").splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line[5:].strip() or "null")
                break
        return status, event, data, body + stream


def _json(body: bytes):
    try:
        return json.loads(body)
    except ValueError:
        return None


@pytest.fixture(scope="module")
def web(server) -> Web:
    return Web(server[1])


def secrets(store: Path) -> dict[str, bytes]:
    """Bytes that must never appear in a response: a piece of each file an attacker would want."""
    current, checksum = (store / "CURRENT").read_text().split()[:2]
    docs = (store / current / "docs.jsonl").read_bytes()
    return {  # (the version name is left out: a refusal may echo the path asked for)
        "/etc/passwd": b"root:",
        str(store / "CURRENT"): checksum.encode(),
        str(store / current / "docs.jsonl"): docs[:60],
        str(store / current / "manifest.json"): b'"embedders"',
        str(SEED): SEED.read_bytes()[:60],
        str(ROOT / "pyproject.toml"): b"[project]",
    }


def assert_clean(body: bytes) -> None:
    for mark in TRACE_MARKS:
        assert mark not in body, (mark, body[:400])


# -- 1. path traversal on the file routes ------------------------------------------------------------
FILE_PREFIXES = ("/gradio_api/file=", "/gradio_api/file/")


def traversal_paths(store: Path) -> list[str]:
    rel_store = os.path.relpath(store, ROOT)
    up = "../" * 12
    return [
        "/etc/passwd", up + "etc/passwd", "..%2f" * 12 + "etc/passwd",
        "%2e%2e/" * 12 + "etc/passwd", "%2e%2e%2f" * 12 + "etc/passwd",
        "%252e%252e/" * 12 + "etc/passwd", "%252e%252e%252f" * 12 + "etc/passwd",
        "....//" * 12 + "etc/passwd", "..\\" * 12 + "etc\\passwd", "/etc/./passwd", "//etc/passwd",
        "file:///etc/passwd", "/etc/passwd%00.png",
        str(store / "CURRENT"), str(store), rel_store + "/CURRENT",
        str(store / (store / "CURRENT").read_text().split()[0] / "docs.jsonl"),
        str(store / (store / "CURRENT").read_text().split()[0] / "manifest.json"),
        str(SEED), "seeds/" + SEED.name, "./seeds/" + SEED.name, "seeds/../seeds/" + SEED.name,
        str(ROOT / "pyproject.toml"), "pyproject.toml", "%70yproject.toml", "tests/../pyproject.toml",
    ]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_file_routes_serve_no_file_by_path(server, web, method):
    _, _, store = server
    leaks = secrets(store)
    for prefix in FILE_PREFIXES:
        for target in traversal_paths(store):
            status, _, body = web.request(method, prefix + target)
            assert 400 <= status < 500, (prefix + target, status)
            for secret in leaks.values():
                assert secret not in body, (prefix + target, body[:200])
            assert_clean(body)


def test_static_routes_do_not_climb_out(server, web):
    _, _, store = server
    leaks = secrets(store)
    for prefix in ("/static/", "/assets/", "/svelte/", "/gradio_api/custom_component/x/y/z/", "/"):
        for target in ("../../../../../../etc/passwd", "..%2f..%2f..%2f..%2f..%2f..%2fetc/passwd",
                       "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/pyproject.toml", "../../../../../pyproject.toml"):
            status, _, body = web.get(prefix + target)
            for secret in leaks.values():
                assert secret not in body, (prefix + target, body[:200])


# -- 2. a file-data object in place of a question ------------------------------------------------------
FILE_DATA = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
FILE_DATA_VARIANTS = [
    FILE_DATA,
    {"path": "/etc/passwd", "url": "http://127.0.0.1/gradio_api/file=/etc/passwd", "orig_name": "passwd",
     "meta": {"_type": "gradio.FileData"}},
    {"path": str(SEED)},  # gradio <= 4.20's file object
    {"path": "../../../../../../etc/passwd", "meta": {"_type": "gradio.FileData"}},
]


def refused_file_data(status: int, event: str, data, body: bytes) -> None:
    assert b"root:" not in body and SEED.read_bytes()[:60] not in body
    assert_clean(body)
    if event:  # queued: it must end in an error with a message, not an answer
        assert event == "error" and isinstance(data, dict) and data.get("error"), (event, data)
    else:
        assert 400 <= status < 500 and "file data" in json.dumps(data), (status, data)


@pytest.mark.parametrize("fd", FILE_DATA_VARIANTS, ids=["meta", "url", "old", "climb"])
def test_file_data_in_place_of_a_question_is_refused(web, fd):
    for name, data in (("answer", [fd, None]), ("answer", [fd]), ("answer", [LAW_Q, [fd]]),
                       ("retrieve", [fd, 5, None]), ("retrieve", [LAW_Q, fd, None])):
        refused_file_data(*web.call(name, {"data": data}))
    status, _, body = web.post("/gradio_api/call/v2/answer", {"question": fd})
    refused_file_data(status, "", _json(body), body)


def test_file_data_through_the_queue_join_route_is_refused(server, web):
    demo = server[0]
    fn_index = {fn.api_name: i for i, fn in demo.fns.items()}
    session = uuid.uuid4().hex
    for api_name, data in (("answer", [FILE_DATA, None]), ("retrieve", [FILE_DATA, 5, None]),
                           ("ui_ask", [FILE_DATA, None, None, "zh-TW"]), ("ui_open", [FILE_DATA, "zh-TW"])):
        status, _, body = web.post("/gradio_api/queue/join",
                                   {"data": data, "fn_index": fn_index[api_name], "session_hash": session})
        refused_file_data(status, "", _json(body), body)
    status, _, body = web.post("/gradio_api/run/predict",
                               {"data": [FILE_DATA, None, None], "fn_index": fn_index["ui_switch"],
                                "session_hash": session})
    refused_file_data(status, "", _json(body), body)


# -- 3. URLs on other hosts through the file route -----------------------------------------------------
@pytest.fixture
def lookups(monkeypatch):
    """Every name lookup or connection to a host other than loopback, made by anyone in this process."""
    seen: list[object] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def local(host) -> bool:
        if isinstance(host, bytes):
            host = host.decode()
        return host is None or (isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1", "")))

    def getaddrinfo(host, *a, **kw):
        if not local(host):
            seen.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "lookups are recorded, not made, in this test")
        return real_getaddrinfo(host, *a, **kw)

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family != socket.AF_UNIX and not local(host):
            seen.append(address)
            raise OSError("connections are recorded, not made, in this test")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: getaddrinfo(host, None)[0][4][0])
    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


OTHER_HOSTS = ["http://example.com/x", "https://example.com/x.png", "http://example.com:8080/a.txt",
               "http://93.184.215.14/x", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:a9fe:a9fe]/x",
               "http://localhost.example.com/x", "http://127.0.0.1.nip.io/x", "//example.com/x",
               "http%3A%2F%2Fexample.com%2Fx", "HTTP://EXAMPLE.COM/x", "ftp://example.com/x"]


def test_file_route_fetches_nothing_from_other_hosts(web, lookups):
    for url in OTHER_HOSTS:
        for prefix in FILE_PREFIXES + ("/gradio_api/proxy=",):
            for method in ("GET", "HEAD"):
                status, _, body = web.request(method, prefix + url)
                assert 400 <= status < 500, (method, prefix + url, status)
                assert_clean(body)
    assert lookups == [], f"the server looked up or connected to {lookups}"


# -- 4. uploads and request bodies ----------------------------------------------------------------------
def multipart(name: str, content: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def uploaded(demo, name: str) -> list[str]:
    """Files gradio took as uploads, by name."""
    return [f for f in demo.upload_file_set if Path(f).name == name]


@pytest.mark.parametrize("size", [5, 200_000, 2_000_000])
def test_uploads_are_refused(server, web, size):
    demo = server[0]
    name = f"verbatim-upload-{uuid.uuid4().hex}.txt"
    body, headers = multipart(name, b"x" * size)
    for path in ("/gradio_api/upload", "/gradio_api/upload?upload_id=abc", "/gradio_api/upload/",
                 "/gradio_api/process_recording"):
        status, _, resp = web.request("POST", path, body, headers)
        assert 400 <= status < 500, (path, size, status, resp[:200])
        assert name.encode() not in resp and b"/tmp" not in resp
        assert_clean(resp)
    assert uploaded(demo, name) == []


def test_request_bodies_are_capped(server, web):
    from ui.webguard import MAX_BODY_BYTES

    padded = json.dumps({"data": [LAW_Q, None], "pad": "x" * (MAX_BODY_BYTES + 1)}).encode()
    for chunked in (False, True):
        status, _, resp = web.request("POST", "/gradio_api/call/answer", padded, chunked=chunked)
        assert status == 413 and "too large" in json.loads(resp)["detail"], (chunked, status, resp[:200])
    status, _, resp = web.request("POST", "/gradio_api/queue/join", padded)
    assert status == 413
    # a normal body is still taken
    status, event, data, _ = web.call("answer", {"data": [LAW_Q, None]})
    assert status == 200 and event == "complete" and data[0]["question"] == LAW_Q


# -- 5. CORS ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("host", [None, "verbatim.example.org", "localhost", "evil.example"])
def test_cors_does_not_allow_a_foreign_origin(server, web, host):
    port = server[1]
    for origin in (EVIL, "null", "https://verbatim.example.org.evil.example"):
        headers = {"Origin": origin}
        if host:
            headers["Host"] = host
        preflight = dict(headers, **{"Access-Control-Request-Method": "POST",
                                     "Access-Control-Request-Headers": "content-type"})
        responses = [web.get("/config", headers=headers), web.get("/gradio_api/info", headers=headers),
                     web.get("/", headers=headers),
                     web.post("/gradio_api/call/answer", {"data": [LAW_Q]}, headers=headers),
                     web.request("OPTIONS", "/gradio_api/call/answer", headers=preflight),
                     web.request("OPTIONS", "/gradio_api/queue/join", headers=preflight)]
        for status, h, _ in responses:
            allowed = h.get("access-control-allow-origin")
            assert allowed not in (origin, "*"), (host, origin, status, h)
            assert allowed is None or allowed.startswith(f"http://127.0.0.1:{port}")


# -- 6. the queue cannot be bypassed --------------------------------------------------------------------
def test_direct_run_routes_do_not_bypass_the_queue(server, web):
    demo = server[0]
    fn_index = {fn.api_name: i for i, fn in demo.fns.items()}
    session = uuid.uuid4().hex
    attempts = [(f"/gradio_api/{route}/{name}", {"data": data})
                for route in ("run", "api")
                for name, data in (("answer", [LAW_Q, None]), ("retrieve", [LAW_Q, 5, None]))]
    attempts += [(f"/gradio_api/{route}/predict", {"data": data, "fn_index": fn_index[name], "session_hash": session})
                 for route in ("run", "api")
                 for name, data in (("answer", [LAW_Q, None]), ("retrieve", [LAW_Q, 5, None]),
                                    ("ui_ask", [LAW_Q, None, None, "zh-TW"]), ("ui_open", ["0-10@x", "zh-TW"]))]
    attempts += [("/gradio_api/run/predict", {"data": [LAW_Q, None]}),  # no fn_index
                 ("/run/predict", {"data": [LAW_Q, None], "fn_index": fn_index["answer"]}),
                 ("/api/predict", {"data": [LAW_Q, None], "fn_index": fn_index["answer"]}),
                 ("/gradio_api/run/answer/", {"data": [LAW_Q, None]})]
    for path, payload in attempts:
        status, _, body = web.post(path, payload)
        assert 400 <= status < 500, (path, payload, status, body[:300])
        assert b'"quotes"' not in body and b'"chunk_id"' not in body
        assert_clean(body)


def test_the_queue_limits_what_it_runs(server):
    demo = server[0]
    assert demo.api_open is False
    qa = [fn for fn in demo.fns.values() if fn.api_name in ("answer", "retrieve") or fn.concurrency_id == "qa"]
    assert {fn.api_name for fn in qa} >= {"answer", "retrieve"}
    assert all(fn.queue and fn.concurrency_id == "qa" and fn.concurrency_limit >= 1 for fn in qa)
    assert 0 < demo._queue.max_size


def test_the_pages_own_quick_events_still_run(server, web):
    """What the browser does for its unqueued events (a guard must not break the page)."""
    demo = server[0]
    fn_index = {fn.api_name: i for i, fn in demo.fns.items()}
    status, _, body = web.post("/gradio_api/run/predict", {"data": [], "fn_index": fn_index["clear_chat"],
                                                          "session_hash": uuid.uuid4().hex})
    assert status == 200 and json.loads(body)["data"][0] == []


# -- 7. only the public API is listed and callable by name ----------------------------------------------
def test_only_the_public_api_is_listed(web):
    for path in ("/gradio_api/info", "/gradio_api/info?all_endpoints=true", "/gradio_api/info/"):
        status, _, body = web.get(path)
        assert status == 200, path
        info = json.loads(body)
        assert set(info["named_endpoints"]) == {"/answer", "/retrieve"}, path
        assert not info["unnamed_endpoints"], path
    for path in ("/gradio_api/openapi.json", "/openapi.json", "/gradio_api/info"):
        status, _, body = web.get(path)
        assert status in (200, 404)
        for name in PRIVATE_NAMES:
            assert f'"/{name}'.encode() not in body and f"/call/{name}".encode() not in body, (path, name)
    for path in ("/docs", "/redoc", "/gradio_api/docs", "/monitoring", "/gradio_api/runs", "/gradio_api/dev/reload"):
        assert web.get(path, timeout=5)[0] in (403, 404), path  # dev/reload would stream forever


def test_private_events_cannot_be_called_by_name(server, web):
    demo = server[0]
    private = sorted({fn.api_name for fn in demo.fns.values() if fn.api_visibility != "public"})
    assert "ui_ask" in private and "answer" not in private
    for name in private:
        for path in (f"/gradio_api/call/{name}", f"/gradio_api/call/v2/{name}",
                     f"/gradio_api/run/{name}", f"/gradio_api/api/{name}"):
            status, _, body = web.post(path, {"data": [LAW_Q, None, None, "zh-TW"]})
            assert 400 <= status < 500, (path, status, body[:200])
            assert_clean(body)
        status, _, body = web.get(f"/gradio_api/call/{name}/{uuid.uuid4().hex}")
        assert 400 <= status < 500


# -- 8. bad questions through the HTTP API --------------------------------------------------------------
BAD = [  # (endpoint, JSON body or raw bytes, words the message must contain)
    ("answer", {"data": ["", None]}, "empty"),
    ("answer", {"data": [" \t\n\u3000 ", None]}, "empty"),
    ("retrieve", {"data": ["", 5, None]}, "empty"),
    ("answer", {"data": ["a" * 1_000_000, None]}, f"limit is {MAX_QUESTION_CHARS}"),
    ("retrieve", {"data": ["法" * 100_000, 5, None]}, f"limit is {MAX_QUESTION_CHARS}"),
    ("answer", {"data": ["\x00", None]}, "no words"),
    ("answer", {"data": ["\x00\x01\x07\x1b\x7f\x85", None]}, "no words"),
    ("answer", {"data": ["\ud800", None]}, "surrogate"),
    ("answer", {"data": ["刑法\udfff處罰", None]}, "surrogate"),
    ("retrieve", {"data": ["刑法\ud83d處罰", 3, None]}, "surrogate"),
    ("answer", {"data": ["\u202e\u202d\u2066\u200f", None]}, "no words"),
    ("answer", {"data": ["？！。、…「」!?.,;:()[]{}<>", None]}, "no words"),
    ("answer", {"data": ["😀🎉🔥👍🏽🇹🇼", None]}, "no words"),
    ("answer", {"data": [123, None]}, "must be text"),
    ("answer", {"data": [1.5e300, None]}, "must be text"),
    ("answer", {"data": [True, None]}, "must be text"),
    ("answer", {"data": [["刑法"], None]}, "must be text"),
    ("answer", {"data": [{"q": "刑法"}, None]}, "must be text"),
    ("answer", {"data": [None, None]}, "must be text"),
    ("retrieve", {"data": [None, 5, None]}, "must be text"),
    ("answer", {"data": [LAW_Q, 123]}, "sources must be a list"),
    ("answer", {"data": [LAW_Q, "002_50a6f5ac99e3a38e.txt"]}, "sources must be a list"),
    ("answer", {"data": [LAW_Q, [1, 2]]}, "sources must be a list"),
    ("answer", {"data": [LAW_Q, ["no-such-document.txt"]]}, "unknown document"),
    ("answer", {"data": [LAW_Q, ["\ud800"]]}, "surrogate"),
    ("retrieve", {"data": [LAW_Q, "5", None]}, "k must be an integer"),
    ("retrieve", {"data": [LAW_Q, -1, None]}, "k must be an integer"),
    ("retrieve", {"data": [LAW_Q, 0, None]}, "k must be an integer"),
    ("retrieve", {"data": [LAW_Q, 10 ** 30, None]}, "k must be an integer"),
    ("retrieve", {"data": [LAW_Q, 1e308, None]}, "k must be an integer"),
    ("retrieve", {"data": [LAW_Q, 2.5, None]}, "k must be an integer"),
    ("retrieve", {"data": [LAW_Q, None, None]}, "k must be an integer"),
    ("retrieve", {"data": [LAW_Q, [5], None]}, "k must be an integer"),
    ("retrieve", {"data": [LAW_Q, 5, {"a": 1}]}, "sources must be a list"),
    ("retrieve", b'{"data": ["\\u5211\\u6cd5", NaN, null]}', "k must be an integer"),
    ("retrieve", b'{"data": ["\\u5211\\u6cd5", Infinity, null]}', "k must be an integer"),
    ("answer", {"data": []}, "question is missing"),
    ("retrieve", {"data": []}, "query is missing"),
    ("answer", {"data": [LAW_Q, None, 3]}, "at most 2"),
    ("retrieve", {"data": [LAW_Q, 5, None, 1]}, "at most 3"),
    ("answer", {}, '{"data": [question'),
    ("answer", {"data": LAW_Q}, '{"data": [question'),
    ("answer", {"data": {"question": LAW_Q}}, '{"data": [question'),
    ("answer", [LAW_Q], '{"data": [question'),
    ("answer", LAW_Q, '{"data": [question'),
    ("answer", None, '{"data": [question'),
    ("retrieve", 5, '{"data": [query'),
    ("answer", b'{"data": ["\\u5211\\u6cd5", null', "JSON"),
    ("answer", b"{not json}", "JSON"),
    ("answer", b"\xff\xfe\x00garbage", "JSON"),
    ("answer", b"", ""),
    # the same by name (gradio's /call/v2/<name>)
    ("v2/answer", {}, "question is missing"),
    ("v2/answer", {"question": ""}, "empty"),
    ("v2/answer", {"question": "\ud800"}, "surrogate"),
    ("v2/answer", {"question": LAW_Q, "bogus": 1}, "unknown argument"),
    ("v2/retrieve", {"question": LAW_Q}, "unknown argument"),
    ("v2/retrieve", {"query": LAW_Q, "k": "x"}, "k must be an integer"),
    ("v2/answer", [LAW_Q], "send JSON"),
    ("v2/answer", b"{oops", "JSON"),
]


def message_of(status: int, event: str, data) -> str:
    """The message a client gets: gradio's error event, or the refusal's detail."""
    if event:
        assert event == "error", (event, str(data)[:200])
        assert isinstance(data, dict) and isinstance(data.get("error"), str) and data["error"], data
        return data["error"]
    assert 400 <= status < 500, status
    detail = data.get("detail") if isinstance(data, dict) else None
    assert detail, data
    return detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)


@pytest.mark.parametrize("name, payload, words", BAD,
                         ids=[f"{i:02d}-{b[0].replace('/', '-')}" for i, b in enumerate(BAD)])
def test_bad_questions_get_a_clear_message(web, name, payload, words):
    raw = payload if isinstance(payload, bytes) else None
    status, event, data, body = web.call(name, None if raw is not None else payload, raw)
    msg = message_of(status, event, data)
    assert words in msg, msg[:300]
    assert_clean(body)
    assert "Traceback" not in msg and "internal error" not in msg


def test_odd_but_wordy_questions_are_answered(web):
    """Control characters, a right-to-left override or emoji around words: answered, never an error."""
    for q in ("刑法\x00處罰\x1b[0m深偽", "\u202e刑法哪一條處罰電腦合成製作不實性影像", "😀 深偽影像 🙏 下架",
              LAW_Q + "\u200b\ufeff", "刑法\r\n\t處罰"):
        for name, data in (("answer", [q, None]), ("retrieve", [q, 3, None])):
            status, event, out, body = web.call(name, {"data": data})
            assert status == 200 and event == "complete", (q, name, out)
            assert_clean(body)
    # the optional arguments may be left out
    status, event, out, _ = web.call("retrieve", {"data": [LAW_Q]})
    assert event == "complete" and len(out[0]) == 5
    status, event, out, _ = web.call("answer", {"data": [LAW_Q]})
    assert event == "complete" and out[0]["question"] == LAW_Q
    status, event, out, _ = web.call("v2/retrieve", {"query": LAW_Q, "k": 2})
    assert event == "complete" and len(out[0]) == 2


def test_still_serving_after_the_bad_input(web):
    for name, payload, _ in BAD[::5]:
        raw = payload if isinstance(payload, bytes) else None
        web.call(name, None if raw is not None else payload, raw)
    status, event, out, _ = web.call("answer", {"data": [LAW_Q, None]})
    assert status == 200 and event == "complete"
    assert out[0]["status"] in ("answered", "not_found") and out[0]["question"] == LAW_Q
    status, event, out, _ = web.call("retrieve", {"data": [LAW_Q, 3, None]})
    assert status == 200 and event == "complete" and len(out[0]) == 3


def test_bad_input_leaves_no_traceback_in_the_server_log(web, capfd):
    """Refusing bad input is routine: no traceback per request (a cheap way to flood the log)."""
    capfd.readouterr()
    for name, payload, _ in BAD[:20]:
        raw = payload if isinstance(payload, bytes) else None
        web.call(name, None if raw is not None else payload, raw)
    err = capfd.readouterr().err
    assert "Traceback" not in err, err[-2000:]


def test_launch_refuses_to_serve_without_the_guard(fake_store, monkeypatch):
    import contextlib

    from ui import server

    @contextlib.asynccontextmanager
    async def unguarded(_app):
        yield

    monkeypatch.setattr(server, "_guarded", unguarded)
    port = free_port()
    with pytest.raises(RuntimeError, match="guard"):
        with served(fake_store, port=port):
            pass
    with pytest.raises(OSError):  # and nothing is left listening
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


# -- 9. an allowlist, not a blocklist (issue 9) ------------------------------------------------------
# Every (method, route) the app may serve; anything gradio adds later is refused until it is added here.
EXPECTED_ALLOWED = {
    ("GET", "/"), ("HEAD", "/"), ("GET", "/assets/{path:path}"), ("GET", "/static/{path:path}"),
    ("GET", "/theme.css"), ("GET", "/favicon.ico"), ("GET", "/config"), ("GET", "/config/"),
    ("GET", "/gradio_api/info"), ("GET", "/gradio_api/info/"), ("GET", "/gradio_api/startup-events"),
    ("GET", "/gradio_api/heartbeat/{session_hash}"), ("POST", "/gradio_api/queue/join"),
    ("GET", "/gradio_api/queue/data"), ("POST", "/gradio_api/run/{api_name}"), ("POST", "/gradio_api/run/{api_name}/"),
    ("POST", "/gradio_api/call/{api_name}"), ("POST", "/gradio_api/call/{api_name}/"),
    ("POST", "/gradio_api/call/v2/{api_name}"), ("POST", "/gradio_api/call/v2/{api_name}/"),
    ("GET", "/gradio_api/call/{api_name}/{event_id}"), ("GET", "/gradio_api/call/v2/{api_name}/{event_id}"),
}
SAMPLE = {"path:path": "index.js", "path": "x", "session_hash": "abc123", "api_name": "answer", "event_id": "0af3",
          "size": "192", "url_path:path": "http://evil.example/", "path_or_url:path": "/etc/passwd", "id": "1",
          "environment": "dev", "type": "js", "file_name": "x.js", "run": "1", "component_id": "1",
          "segment_id": "1", "ext": "ts", "key": "x"}


def app_routes(demo) -> set[tuple[str, str]]:
    """Every (method, path template) the running app registers, including gradio's API router."""
    out = set()

    def walk(routes):
        for r in routes:
            inner = getattr(getattr(r, "include_context", None), "included_router", None)
            if inner is not None:
                walk(inner.routes)
                continue
            for m in getattr(r, "methods", None) or {"GET"}:
                out.add((m, r.path))

    walk(demo.server_app.routes)
    return out


def concrete(template: str) -> str:
    import re

    path = re.sub(r"\{([^}]+)\}", lambda m: SAMPLE.get(m.group(1), "x"), template)
    return {"/gradio_api/run/answer": "/gradio_api/run/predict",
            "/gradio_api/run/answer/": "/gradio_api/run/predict"}.get(path, path)


def test_every_route_is_on_the_allowlist_or_refused(server, web):
    from ui.webguard import allowed

    routes = app_routes(server[0])
    assert len(routes) > 60 and ("GET", "/gradio_api/deep_link") in routes  # the walk sees gradio's router
    on_list = {(m, p) for m, p in routes if allowed(m, concrete(p))}
    assert on_list == {r for r in EXPECTED_ALLOWED if r in routes} | {("HEAD", "/")} & routes, sorted(on_list)
    for method, template in sorted(routes - on_list):
        path = concrete(template)
        body = b"{}" if method == "POST" else None
        status, _, resp = web.request(method, path, body, timeout=5)
        assert status == 404 and (method == "HEAD" or b"not served" in resp), (method, template, status, resp[:200])


def test_a_route_gradio_might_add_is_refused(web):
    for method, path in (("GET", "/gradio_api/some-new-route"), ("POST", "/gradio_api/vibe-edit"),
                         ("GET", "/gradio_api/deep_link"), ("GET", "/monitoring/summary"), ("OPTIONS", "/"),
                         ("PUT", "/gradio_api/queue/join"), ("DELETE", "/"), ("GET", "/login"), ("GET", "/robots.txt")):
        status, _, body = web.request(method, path, b"{}" if method in ("POST", "PUT") else None, timeout=5)
        assert status == 404, (method, path, status, body[:200])


def test_deep_links_are_neither_made_nor_shown(web):
    assert web.get("/gradio_api/deep_link?session_hash=abc")[0] == 404
    status, _, body = web.get("/?deep_link=0123456789abcdef")
    assert status == 400 and b"deep link" in body
    assert web.get("/?lang=en")[0] == 200


def test_unknown_events_and_deep_json_are_4xx_without_a_traceback(server, web, capfd):
    demo = server[0]
    unknown = max(demo.fns) + 1000
    bodies = [("/gradio_api/run/predict", {"data": [], "fn_index": unknown, "session_hash": "s1"}),
              ("/gradio_api/queue/join", {"data": [], "fn_index": unknown, "session_hash": "s1"}),
              ("/gradio_api/queue/join", {"data": [], "fn_index": "1", "session_hash": "s1"}),
              ("/gradio_api/run/predict", {"data": []})]
    for path, payload in bodies:
        status, _, body = web.post(path, payload)
        assert status == 422, (path, payload, status, body[:200])
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    for path in ("/gradio_api/queue/join", "/gradio_api/call/answer", "/gradio_api/run/predict"):
        status, _, body = web.post(path, raw=deep)
        assert status == 400 and b"nests deeper" in body, (path, status, body[:200])
        status, _, body = web.post(path, raw=b'{"data": [' + b'{"a":' * 40 + b'1' + b'}' * 40 + b']}')
        assert status == 400, (path, status, body[:200])
    assert web.post("/gradio_api/call/answer", raw=b"{not json")[0] == 400
    err = capfd.readouterr().err
    assert "Traceback" not in err and err.count("\n") <= 2 * (len(bodies) + 7), err[-2000:]
    # and the app still answers
    status, event, data, _ = web.call("answer", {"data": [LAW_Q]})
    assert status == 200 and event == "complete"


def test_deep_links_are_refused_on_every_route_however_written(web):
    for path in ("/config?deep_link=abc", "/?deep%5Flink=abc", "/gradio_api/info?x=1&deep_link=", "/?DEEP_LINK=a&deep_link=b"):
        status, _, body = web.get(path)
        assert status == 400 and b"deep link" in body, (path, status)
