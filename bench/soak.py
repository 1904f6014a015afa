"""Soak test: many concurrent clients against the app for minutes, memory watched.

Starts the app (``python -m ui.app``) on a free 127.0.0.1 port, or uses one
already running on this machine (``--url``; loopback only), then runs
``--clients`` threads calling the public ``answer`` endpoint over HTTP for
``--minutes`` (bounded also by ``--max-requests``). Every question is the
dev-set text with a distinct number appended, so no cached query vector is
reused and every request does the full work. The server's resident memory is
sampled every ``--sample`` seconds.

Reports throughput, latency p50 / p95 / max, errors by kind, the answers'
statuses, and memory: RSS after warm-up, at the end of the first minute of
load, at the end, the peak, and the least-squares slope over the run after the
first minute (MB per minute; flat is near 0).

    python bench/soak.py                                  # 20 clients, 10 minutes
    python bench/soak.py --clients 5 --minutes 1 --json   # a quick check
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import (LOOPBACK, call_answer, find_server_pid, free_port, questions, rss_kb,  # noqa: E402
                        run_level, start_server)

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", default=".verbatim/store", help="store to serve when starting the app")
    p.add_argument("--url", help="use an app already running on this machine, e.g. http://127.0.0.1:7860")
    p.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    p.add_argument("--minutes", type=float, default=10.0, help="duration (default 10)")
    p.add_argument("--max-requests", type=int, default=100_000, help="cap on requests (default 100000)")
    p.add_argument("--timeout", type=float, default=120.0, help="per-request timeout in seconds")
    p.add_argument("--sample", type=float, default=10.0, help="seconds between memory samples")
    p.add_argument("--queue-max", type=int, default=64, help="the started app's queue size")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    if not 1 <= args.clients <= 200 or not 0 < args.minutes <= 120 or args.sample <= 0:
        p.error("--clients 1-200, --minutes up to 120, --sample > 0")

    proc = None
    if args.url:
        u = urllib.parse.urlparse(args.url)
        if u.scheme != "http" or u.hostname not in LOOPBACK:
            p.error("--url must be an http:// address on this machine (127.0.0.1 / localhost)")
        base, pid = args.url.rstrip("/"), find_server_pid(u.port or 80)
    else:
        port = free_port()
        proc = start_server(args.store, port, args.queue_max)
        base, pid = f"http://127.0.0.1:{port}", proc.pid
    samples: list[tuple[float, float]] = []  # (seconds since load began, RSS MB)
    stop = threading.Event()
    try:
        qs = questions()

        call_answer(base, qs[0], args.timeout)  # load the models before measuring
        warm = rss_kb(pid)["rss_kb"]
        t0 = time.perf_counter()

        def sampler():
            while not stop.is_set():
                kb = rss_kb(pid)["rss_kb"]
                if kb:
                    samples.append((time.perf_counter() - t0, kb / 1024))
                    if not args.json:
                        print(f"  {samples[-1][0]:6.0f} s  RSS {samples[-1][1]:.1f} MB", flush=True)
                stop.wait(args.sample)

        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        level = run_level(base, args.clients, args.minutes * 60, args.max_requests, args.timeout, qs, pid,
                          fresh=True)
        stop.set()
        th.join()
    finally:
        stop.set()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except Exception:  # noqa: BLE001 - the benchmark is over either way
                proc.kill()

    after_first = [(t, m) for t, m in samples if t >= 60] or samples
    slope = None
    if len(after_first) >= 3:
        ts, ms = np.array(after_first).T
        slope = round(float(np.polyfit(ts / 60, ms, 1)[0]), 2)
    first_minute = min(samples, key=lambda s: abs(s[0] - 60))[1] if samples else None
    result = {
        "clients": args.clients, "minutes": args.minutes, **{k: level[k] for k in (
            "requests", "ok", "errors", "error_kinds", "statuses", "seconds", "throughput_rps",
            "p50_ms", "p95_ms", "max_ms", "peak_rss_mb")},
        "rss_after_warmup_mb": round(warm / 1024, 1) if warm else None,
        "rss_at_1_min_mb": round(first_minute, 1) if first_minute else None,
        "rss_end_mb": level["rss_end_mb"],
        "rss_slope_mb_per_min_after_1_min": slope,
        "rss_samples": [(round(t), round(m, 1)) for t, m in samples],
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(f"{args.clients} clients for {level['seconds']:.0f} s: {level['ok']} ok, {level['errors']} errors "
              f"{level['error_kinds'] or ''}, {level['throughput_rps']} req/s; p50 {level['p50_ms']} ms, "
              f"p95 {level['p95_ms']} ms, max {level['max_ms']} ms; statuses {level['statuses']}\n"
              f"RSS after warm-up {result['rss_after_warmup_mb']} MB, at 1 min {result['rss_at_1_min_mb']} MB, "
              f"end {result['rss_end_mb']} MB, peak {level['peak_rss_mb']} MB; "
              f"slope after 1 min {slope} MB/min")
    return 0

if __name__ == "__main__":
    sys.exit(main())
