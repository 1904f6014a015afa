"""Load test of the browser app's HTTP API: N concurrent clients asking questions.

Starts the app (``python -m ui.app``) on a free 127.0.0.1 port, or uses one
already running on this machine (``--url``; loopback only), then for each
concurrency level runs N client threads that call the public ``answer``
endpoint over plain HTTP (``POST /gradio_api/call/answer``, then read the
server-sent result), cycling through the dev-set questions. Each level stops
after ``--seconds`` or ``--max-requests``, whichever comes first; requests
already sent are waited for (each at most ``--timeout`` seconds).

Reports per level: requests, errors (by kind), throughput, latency p50 / p95 /
max, the answers' statuses, and the server's resident memory (RSS) at start
and end (and its peak, VmHWM) when the server is a local process we can see.

    python bench/load.py --store .verbatim/store                # 1, 10, 50 clients, 20 s each
    python bench/load.py --store .verbatim/store --levels 1 10 --seconds 5 --json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "eval" / "dev.jsonl"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def questions() -> list[str]:
    qs = []
    if DEV.exists():
        for line in DEV.read_text("utf-8").splitlines():
            if line.strip():
                qs.append(json.loads(line)["question"])
    return qs or ["刑法哪一條處罰電腦合成製作不實性影像？", "深偽是什麼？", "今天台北的天氣如何？"]


def rss_kb(pid: int | None) -> dict[str, int | None]:
    """VmRSS and VmHWM (peak) of ``pid`` in kB, from /proc (None when not available)."""
    out: dict[str, int | None] = {"rss_kb": None, "peak_rss_kb": None}
    if not pid:
        return out
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_kb"] = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                out["peak_rss_kb"] = int(line.split()[1])
    except OSError:
        pass
    return out


def find_server_pid(port: int) -> int | None:
    """The pid listening on 127.0.0.1:``port`` (Linux /proc; None if it cannot be told)."""
    try:
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                f = line.split()
                if f[3] == "0A" and int(f[1].split(":")[1], 16) == port:
                    inodes.add(f[9])
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        return int(pid)
            except OSError:
                continue
    except OSError:
        pass
    return None


def call_answer(base: str, question: str, timeout: float) -> tuple[str, str | None]:
    """One ``answer`` call over HTTP. Returns (status of the answer or "error", error kind or None)."""
    body = json.dumps({"data": [question, None]}).encode()
    req = urllib.request.Request(f"{base}/gradio_api/call/answer", data=body,
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            event_id = json.loads(r.read())["event_id"]
        with urllib.request.urlopen(f"{base}/gradio_api/call/answer/{event_id}", timeout=timeout) as r:
            event = None
            for raw in r:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = json.loads(line[5:].strip() or "null")
                    if event == "complete":
                        return (data[0].get("status", "?") if data and isinstance(data[0], dict) else "?"), None
                    msg = (data or {}).get("error") if isinstance(data, dict) else None
                    return "error", f"app error: {msg}" if msg else "app error"
        return "error", "stream ended without a result"
    except urllib.error.HTTPError as e:
        return "error", f"HTTP {e.code}"
    except (TimeoutError, socket.timeout):
        return "error", "timeout"
    except (urllib.error.URLError, ConnectionError, OSError) as e:
        return "error", type(e).__name__


def percentile(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def run_level(base: str, clients: int, seconds: float, max_requests: int, timeout: float,
              qs: list[str], pid: int | None, fresh: bool = False) -> dict:
    lock = threading.Lock()
    latencies: list[float] = []
    errors: Counter = Counter()
    statuses: Counter = Counter()
    sent = 0
    cycle = itertools.cycle(qs)
    mem_start = rss_kb(pid)
    t0 = time.perf_counter()
    deadline = t0 + seconds

    def worker():
        nonlocal sent
        while True:
            with lock:
                if time.perf_counter() >= deadline or sent >= max_requests:
                    return
                sent += 1
                q = next(cycle)
                if fresh:  # a distinct question each time: no cached query vectors
                    q = f"{q} {sent}"
            start = time.perf_counter()
            status, err = call_answer(base, q, timeout)
            ms = (time.perf_counter() - start) * 1000
            with lock:
                statuses[status] += 1
                if err:
                    errors[err] += 1
                else:
                    latencies.append(ms)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    mem_end = rss_kb(pid)
    r2 = lambda x: None if x is None else round(x, 1)  # noqa: E731
    return {
        "clients": clients, "requests": sent, "ok": len(latencies), "errors": sum(errors.values()),
        "error_kinds": dict(errors), "statuses": dict(statuses), "seconds": round(wall, 2),
        "throughput_rps": round(len(latencies) / wall, 2) if wall else None,
        "p50_ms": r2(percentile(latencies, 50)), "p95_ms": r2(percentile(latencies, 95)),
        "max_ms": r2(max(latencies) if latencies else None),
        "rss_start_mb": r2(mem_start["rss_kb"] / 1024 if mem_start["rss_kb"] else None),
        "rss_end_mb": r2(mem_end["rss_kb"] / 1024 if mem_end["rss_kb"] else None),
        "peak_rss_mb": r2(mem_end["peak_rss_kb"] / 1024 if mem_end["peak_rss_kb"] else None),
    }


def start_server(store: str, port: int, queue_max: int) -> subprocess.Popen:
    env = dict(os.environ, VERBATIM_QUEUE_MAX=str(queue_max), GRADIO_ANALYTICS_ENABLED="False")
    proc = subprocess.Popen([sys.executable, "-m", "ui.app", "--store", store, "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2):
                return proc
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the app did not start within 180 s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", default=os.environ.get("VERBATIM_STORE", ".verbatim/store"),
                   help="store to serve when starting the app (default .verbatim/store)")
    p.add_argument("--url", help="use an app already running on this machine, e.g. http://127.0.0.1:7860")
    p.add_argument("--levels", type=int, nargs="+", default=[1, 10, 50], help="concurrent clients per level")
    p.add_argument("--seconds", type=float, default=20.0, help="duration of each level (default 20)")
    p.add_argument("--max-requests", type=int, default=2000, help="cap on requests per level (default 2000)")
    p.add_argument("--timeout", type=float, default=120.0, help="per-request timeout in seconds (default 120)")
    p.add_argument("--queue-max", type=int, default=64, help="the started app's queue size (default 64)")
    p.add_argument("--fresh", action="store_true",
                   help="make every question distinct (a number appended) so no query vector is reused")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)
    if any(n < 1 or n > 500 for n in args.levels) or args.seconds <= 0 or args.seconds > 600:
        p.error("levels must be 1-500 clients and --seconds 0-600")

    proc = None
    if args.url:
        u = urllib.parse.urlparse(args.url)
        if u.scheme != "http" or u.hostname not in LOOPBACK:
            p.error("--url must be an http:// address on this machine (127.0.0.1 / localhost)")
        base = args.url.rstrip("/")
        pid = find_server_pid(u.port or 80)
    else:
        port = free_port()
        proc = start_server(args.store, port, args.queue_max)
        base, pid = f"http://127.0.0.1:{port}", proc.pid
    try:
        qs = questions()
        t = time.perf_counter()
        warm = call_answer(base, qs[0], args.timeout)  # load the models before measuring
        result = {
            "url": base, "server_pid": pid, "questions": len(qs),
            "warmup_ms": round((time.perf_counter() - t) * 1000, 1), "warmup": warm[1] or warm[0],
            "cpus": os.cpu_count(), "rss_after_warmup_mb": None, "levels": [],
        }
        mem = rss_kb(pid)
        result["rss_after_warmup_mb"] = round(mem["rss_kb"] / 1024, 1) if mem["rss_kb"] else None
        for n in args.levels:
            level = run_level(base, n, args.seconds, args.max_requests, args.timeout, qs, pid, args.fresh)
            result["levels"].append(level)
            if not args.json:
                print(f"{n:>3} clients: {level['ok']:>5} ok, {level['errors']:>3} errors "
                      f"{level['error_kinds'] or ''} in {level['seconds']:.1f} s = {level['throughput_rps']} req/s; "
                      f"p50 {level['p50_ms']} ms, p95 {level['p95_ms']} ms, max {level['max_ms']} ms; "
                      f"RSS {level['rss_start_mb']} -> {level['rss_end_mb']} MB (peak {level['peak_rss_mb']})",
                      flush=True)
        if args.json:
            print(json.dumps(result, ensure_ascii=False, indent=1))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
