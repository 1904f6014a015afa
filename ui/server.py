"""Serving the app: settings, the queue, launch, gradio's session bookkeeping, and a supervisor.

``launch`` serves the app in this process, behind ``ui.webguard.WebGuard``;
``Supervisor`` (what ``verbatim serve`` runs) starts it in a child process and
starts it again if it dies, so one crash does not leave the site down
(docs/DEPLOY.md has the systemd unit for the same under a service manager).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ui.webguard import WebGuard

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
STATIC = Path(__file__).resolve().parent / "static"


# -- gradio's session bookkeeping ----------------------------------------------------------
PRUNE_EVERY_S = 30.0


def prune_finished_sessions(q: Any) -> int:
    """Forget sessions whose events have all finished; returns how many.

    gradio 6.31's queue keeps, in ``pending_event_ids_session``, a set of event
    ids for every session it has seen, and empties the set but never removes
    it when the session's last event completes. Every API call is a session
    of its own, so the dict grows by about 400 bytes a call for as long as the
    server runs (1.2 MB a minute in ``bench/soak.py``), and gradio scans it
    linearly on every ``GET /gradio_api/call/<name>/<event>``. An empty set
    whose session gradio no longer holds messages for (its LRU of the last
    2,000 sessions) is dropped; gradio makes a new one if the session returns.
    Runs on the event loop, so it never races gradio's own changes to the dict.
    """
    pending = q.pending_event_ids_session
    live = q.pending_messages_per_session
    stale = [s for s, ids in pending.items() if not ids and s not in live]
    for s in stale:
        del pending[s]
    return len(stale)


async def _prune_forever(app) -> None:
    while True:
        await asyncio.sleep(PRUNE_EVERY_S)
        try:
            q = getattr(app.get_blocks(), "_queue", None)
            if q is not None:
                prune_finished_sessions(q)
        except Exception:  # noqa: BLE001 - housekeeping must not stop the server
            log.exception("could not prune finished sessions")


def _page_events(app) -> Callable[[], set[int]]:
    """The ``fn_index`` numbers of the app's events (the page's, and gradio_client's calls of the API)."""
    def events() -> set[int]:
        return set(app.get_blocks().fns)
    return events


@contextlib.asynccontextmanager
async def _guarded(app):
    """FastAPI lifespan: put ``WebGuard`` in front of the app before the server
    accepts a connection, and prune finished sessions while it runs."""
    if not isinstance(app.middleware_stack, WebGuard):
        app.middleware_stack = WebGuard(app.middleware_stack or app.build_middleware_stack(), _page_events(app))
    task = asyncio.create_task(_prune_forever(app))
    try:
        yield
    finally:
        task.cancel()


# -- launching ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ServeSettings:
    """How the app is served; built by the command line (``verbatim serve``) from options and environment.

    Attributes:
        concurrency: questions answered at once (they share the CPU); the
            engines get ``cores // concurrency`` threads each.
        queue_max: questions waiting at most; a full queue turns new ones away with a message.
        sessions: browser tabs and API calls whose state gradio keeps (about 90 kB each).
        history: answers a tab's chat keeps (older ones leave the chat and the note).
    """

    store: Path = Path(".verbatim/store")
    host: str = "127.0.0.1"
    port: int = 7860
    concurrency: int = 2
    queue_max: int = 64
    sessions: int = 1000
    history: int = 20
    quiet: bool = False


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _quiet_gradio() -> None:
    """Before the queue is made: no telemetry, and none of gradio's per-event
    analytics (it turned its last 10,000 events into a pandas DataFrame after
    every event, for a /monitoring page this app does not serve: 9% of the CPU)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(2**62))


def launch_options(settings: ServeSettings) -> dict[str, Any]:
    """``Blocks.launch`` keyword arguments: local only, no share link, no analytics, nothing served by path."""
    from ui import app as page

    blocked = {str(ROOT / "seeds"), str(ROOT / ".verbatim"), str(ROOT)}
    if isinstance(settings.store, (str, Path)):  # a folder store (a Milvus store has no folder to serve)
        blocked.add(str(Path(settings.store).resolve()))
    return dict(
        server_name=settings.host, server_port=settings.port, share=False, inbrowser=False,
        show_error=False,  # only gr.Error messages (written for people) reach the browser
        allowed_paths=[], blocked_paths=sorted(blocked), max_file_size="64kb",
        enable_monitoring=False, ssr_mode=False, pwa=False, mcp_server=False,
        footer_links=["api"], run_history=False, favicon_path=None,
        state_session_capacity=settings.sessions,  # memory stays bounded under load
        theme=page.theme(), css=page.asset("app.css"), js=page.asset("page.js"), head=page.HEAD,
        app_kwargs=dict(lifespan=_guarded),  # WebGuard in front of every route
    )


def queue(demo, settings: ServeSettings = ServeSettings()):
    """The queue every question goes through: bounded, and not bypassed by direct ``/run`` calls."""
    _quiet_gradio()
    return demo.queue(default_concurrency_limit=8, max_size=settings.queue_max, api_open=False)


def launch(settings: ServeSettings, *, prevent_thread_lock: bool = False):
    """Build the app for ``settings.store`` and serve it (in this process).

    Returns (demo, local URL) once the server runs; blocks unless ``prevent_thread_lock``.
    """
    from index import threads
    from qa.answerer import warm_up
    from qa.retriever import open_index

    threads.configure(omp_threads=max(1, cores() // settings.concurrency))
    from ui import app as page

    demo = queue(page.build_demo(settings.store, settings), settings)
    warm_up(open_index(settings.store))  # the first person does not wait for the engines' setup
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=settings.quiet, **launch_options(settings))
    if not isinstance(getattr(demo.server_app, "middleware_stack", None), WebGuard):
        demo.close()  # never serve without the guard (its lifespan did not run)
        raise RuntimeError("the web guard is not in front of the app; refusing to serve")
    if not prevent_thread_lock:
        demo.block_thread()
    return demo, url


# -- supervision ----------------------------------------------------------------------------
@dataclass
class Supervisor:
    """Runs ``argv`` (the server, in a child process) and starts it again when it dies.

    A clean exit (0) or an exit on SIGINT/SIGTERM sent to the supervisor ends
    supervision. Any other death is logged and the child restarted after
    ``backoff`` seconds (doubling up to 30 s); more than ``max_restarts``
    restarts within ``window`` seconds gives up (a server that cannot start
    should not spin).
    """

    argv: list[str]
    backoff: float = 0.5
    max_restarts: int = 5
    window: float = 60.0
    env: dict[str, str] | None = None
    on_start: Callable[[int], None] | None = None
    restarts: list[float] = field(default_factory=list)

    def run(self) -> int:
        stopping = threading.Event()
        child: subprocess.Popen | None = None

        def stop(signum, _frame):
            stopping.set()
            if child is not None and child.poll() is None:
                child.send_signal(signum)

        old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            delay = self.backoff
            while not stopping.is_set():
                # its own session: a Ctrl-C in the terminal reaches the server once, through stop()
                child = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
                if stopping.is_set():  # a stop that came while it was starting
                    child.send_signal(signal.SIGTERM)
                if self.on_start:
                    self.on_start(child.pid)
                started = time.monotonic()
                rc = child.wait()
                if stopping.is_set() or rc == 0:
                    return 0 if stopping.is_set() else rc
                what = f"signal {_signal_name(-rc)}" if rc < 0 else f"exit code {rc}"
                now = time.monotonic()
                self.restarts = [t for t in self.restarts if now - t < self.window] + [now]
                if len(self.restarts) > self.max_restarts:
                    log.error("the server died (%s) %d times in %.0f s; giving up", what, len(self.restarts),
                              self.window)
                    return rc if rc > 0 else 128 - rc
                delay = self.backoff if now - started > self.window else min(30.0, delay * 2)
                log.error("the server died (%s); starting it again in %.1f s", what, delay)
                print(f"verbatim: the server died ({what}); starting it again", file=sys.stderr, flush=True)
                stopping.wait(delay)  # a stop during the wait ends supervision, and starts nothing
            return 0
        finally:
            for s, h in old.items():
                signal.signal(s, h)


def _signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:  # a real-time signal has no name
        return str(n)
