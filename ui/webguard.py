"""The web guard: ASGI middleware in front of gradio that lets through only what the app uses.

Gradio serves far more than this app uses, and adds routes from release to
release. ``WebGuard`` therefore lets through only what is on ``ALLOWED``: the
page, its assets, the page's own events, and the two public API endpoints.
Everything else, including any route a new gradio adds, is answered 404
until someone adds it to the list (``tests/test_web_surface.py`` enumerates
the app's routes and checks each against it). On the allowed routes it also
holds:

* no request body over ``MAX_BODY_BYTES``; no gradio file-data object
  anywhere in a body (the app takes text only; gradio would read the path);
* ``/call/<name>`` only for the public API, with its optional arguments
  filled in; the page's events only by an ``fn_index`` the app has
  (an unknown one is a 422 and one log line, not gradio's traceback);
* JSON that is not JSON, or nests too deep, is a 400 before gradio sees it;
* no CORS: gradio echoes any ``Origin`` back with credentials behind a proxy;
  the page and the API clients need none, so the headers are stripped;
* ``/?deep_link=...`` is refused: a deep link shows a saved session to any
  visitor, and the app saves none.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Callable
from urllib.parse import parse_qs

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_TOO_LARGE = f"request body too large: the limit is {MAX_BODY_BYTES} bytes"
_DRAIN_BYTES = 16 * 1024 * 1024  # a refused body is read (and dropped) up to this, so the client sees the refusal
_MAX_JSON_DEPTH = 32  # nothing the app sends nests deeper
_CORS_HEADERS = (b"access-control-allow-origin", b"access-control-allow-credentials")

# name -> (parameters, defaults of the optional trailing ones); must match ``ui.app``'s ``answer``/``retrieve``
PUBLIC_API: dict[str, tuple[tuple[str, ...], tuple[Any, ...]]] = {
    "answer": (("question", "sources"), (None,)),
    "retrieve": (("query", "k", "sources"), (5, None)),
}
_PUBLIC = "|".join(PUBLIC_API)

# (methods, path) that the page and the API clients use, and nothing else.
# Seen in a browser session (ask, open a citation, switch language, examples,
# clear) and in gradio_client's calls; HEAD goes with GET.
ALLOWED: tuple[tuple[frozenset[str], re.Pattern[str], str], ...] = tuple(
    (frozenset(m), re.compile(p), why) for m, p, why in (
        ({"GET", "HEAD"}, r"/", "the page"),
        ({"GET", "HEAD"}, r"/assets/[^?#]+", "the page's compiled scripts and styles"),
        ({"GET", "HEAD"}, r"/static/[^?#]+", "gradio's own static files"),
        ({"GET", "HEAD"}, r"/theme\.css", "the theme"),
        ({"GET", "HEAD"}, r"/favicon\.ico", "the icon"),
        ({"GET"}, r"/config/?", "the page's layout (gradio_client reads it)"),
        ({"GET"}, r"/gradio_api/info/?", "the API's description"),
        ({"GET"}, r"/gradio_api/startup-events", "gradio_client's start-up check"),
        ({"GET"}, r"/gradio_api/heartbeat/[\w-]{1,64}", "the page's keep-alive"),
        ({"POST"}, r"/gradio_api/queue/join", "the page's queued events"),
        ({"GET"}, r"/gradio_api/queue/data", "their results"),
        ({"POST"}, r"/gradio_api/run/predict", "the page's quick events, by fn_index"),
        ({"POST"}, rf"/gradio_api/call/(?:v2/)?(?:{_PUBLIC})/?", "the public API"),
        ({"GET"}, rf"/gradio_api/call/(?:v2/)?(?:{_PUBLIC})/[0-9a-f]{{1,64}}", "its results"),
    )
)


def allowed(method: str, path: str) -> bool:
    """Whether ``method path`` is on the allowlist."""
    return any(method in methods and pattern.fullmatch(path) for methods, pattern, _ in ALLOWED)


def _depth(value: Any, limit: int = _MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON nests deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            return True
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return False


def _has_file_data(value: Any) -> bool:
    """True if ``value`` holds a gradio file-data object (``{"path": ...}`` / ``{"meta": {"_type": ...}}``)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if isinstance(v.get("path"), str) or isinstance(v.get("meta"), dict) or "url" in v:
                return True
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def _public_body(name: str, body: Any) -> tuple[Any, str | None]:
    """The body of ``POST /gradio_api/call/<name>``: checked, its optional arguments filled in (or an error)."""
    params, defaults = PUBLIC_API[name]
    usage = f'send JSON {{"data": [{", ".join(params)}]}}; only {params[0]} is required'
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return body, f"/{name}: {usage}"
    data = body["data"]
    if not data:
        return body, f"/{name}: the {params[0]} is missing; {usage}"
    if len(data) > len(params):
        return body, f"/{name} takes at most {len(params)} values ({', '.join(params)}), got {len(data)}"
    missing = len(params) - len(data)
    return dict(body, data=data + list(defaults[len(defaults) - missing:])), None


def _public_body_v2(name: str, body: Any) -> str | None:
    """The error in the body of ``POST /gradio_api/call/v2/<name>`` (arguments by name), if any."""
    params, _ = PUBLIC_API[name]
    usage = f'send JSON {{{", ".join(f"{p!r}: ..." for p in params)}}}'.replace("'", '"')
    if not isinstance(body, dict):
        return f"/v2/{name}: {usage}; only {params[0]!r} is required"
    unknown = sorted(set(body) - set(params))
    if unknown:
        return f"/v2/{name}: unknown argument(s) {unknown}; the arguments are {list(params)}"
    if params[0] not in body:
        return f"/v2/{name}: the {params[0]} is missing; {usage}"
    return None


class WebGuard:
    """ASGI middleware in front of gradio's app (see the module docstring).

    ``page_events``: the ``fn_index`` numbers the page may run (None: not checked).
    """

    def __init__(self, app: Any, page_events: Callable[[], set[int]] | None = None):
        self.app = app
        self.page_events = page_events

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # websockets: the app uses none
            await send({"type": "websocket.close", "code": 1008})
            return
        send = self._no_cors(send)
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        method = scope["method"]
        if not allowed(method, path):
            await self._refuse(scope, receive, send, 404, f"not served: {method} {path[:80]}")
            return
        if "deep_link" in parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
            await self._refuse(scope, receive, send, 400, "deep links are not served: this app saves no sessions")
            return
        if method != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > MAX_BODY_BYTES:
            await self._refuse(scope, receive, send, 413, _TOO_LARGE)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                if message.get("more_body", False):
                    await self._refuse(scope, receive, send, 413, _TOO_LARGE)
                else:
                    await self._send_error(send, 413, _TOO_LARGE)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        status, msg, body = self._check_body(path, b"".join(chunks))
        if status:
            log.warning("refused %s %s: %d %s", method, path[:80], status, msg[:120])
            await self._send_error(send, status, msg)
            return
        if size != len(body):
            scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k != b"content-length"]
                         + [(b"content-length", str(len(body)).encode())])
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server's own receive does

        await self.app(scope, replay, send)

    def _check_body(self, path: str, body: bytes) -> tuple[int, str, bytes]:
        try:
            data = json.loads(body)
        except RecursionError:
            return 400, f"the request body nests deeper than {_MAX_JSON_DEPTH} levels", body
        except (ValueError, UnicodeDecodeError):
            return 400, "the request body must be JSON", body
        if _depth(data):
            return 400, f"the request body nests deeper than {_MAX_JSON_DEPTH} levels", body
        if _has_file_data(data):
            return 422, "file data is not accepted: this app takes questions as text", body
        parts = path.strip("/").split("/")[1:]  # after "gradio_api"
        if parts[0] in ("run", "queue"):
            fn = data.get("fn_index") if isinstance(data, dict) else None
            if not isinstance(fn, int) or isinstance(fn, bool):
                return 422, "the page's events run by fn_index; the API is /gradio_api/call/<name>", body
            if self.page_events is not None and fn not in self.page_events():
                return 422, f"no such event: fn_index {fn}", body
            return 0, "", body
        if parts[0] == "call" and parts[1] == "v2":
            err = _public_body_v2(parts[2], data)
            return (422, err, body) if err else (0, "", body)
        if parts[0] == "call":
            fixed, err = _public_body(parts[1], data)
            if err:
                return 422, err, body
            return 0, "", json.dumps(fixed).encode() if fixed is not data else body
        return 0, "", body

    async def _refuse(self, scope, receive, send, status: int, msg: str) -> None:
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared <= _DRAIN_BYTES and (b"content-length" in headers or b"transfer-encoding" in headers):
            # read the body first (up to a bound) so the client, still sending, gets the answer
            seen = 0
            while seen <= _DRAIN_BYTES:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                seen += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        await self._send_error(send, status, msg)

    @staticmethod
    async def _send_error(send, status: int, msg: str) -> None:
        body = json.dumps({"detail": msg}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _no_cors(send):
        async def wrapped(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=[(k, v) for k, v in message.get("headers", [])
                                                 if k.lower() not in _CORS_HEADERS])
            await send(message)
        return wrapped
