"""DRCD dev as an external benchmark, through the real pipeline.

Every DRCD paragraph becomes one document (a .txt file) that is indexed with
the normal indexer; every question is asked with the normal ``answer``. It
prints ``recall_at_1``, ``recall_at_5``, ``recall_at_20``, ``mrr_at_10`` (the
question's own paragraph found), ``answer_hit_at_1`` (the top quote contains
the gold answer text, white space ignored), ``false_abstain`` (in-corpus
questions answered ``not_found``), ``index_seconds``, ``query_p50_ms`` and
``query_p95_ms``.

    python bench/drcd.py --data ../shared/bench/drcd/DRCD_dev.json [--backend local|milvus|both] [--json]

``--backend milvus`` answers from the same documents in embedded Milvus Lite
(``bench/out/drcd-milvus.db``), its vectors taken from the local store (built
first) so nothing is embedded twice; ``both`` runs the two in one run and
prints their differences.

The store is kept in ``bench/out/drcd`` and updated incrementally, so a second
run only re-embeds what changed; ``--fresh`` rebuilds it from nothing to
measure indexing. DRCD is CC BY-SA 3.0 (Delta Electronics, from Wikipedia);
it is read from where it lies and never copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.build import build  # noqa: E402
from qa.query import analyse  # noqa: E402

from index.store import IndexSettings  # noqa: E402
from qa.answerer import answer_with  # noqa: E402
from qa.retriever import Index  # noqa: E402

OUT = ROOT / "bench" / "out"


def load_drcd(path: Path) -> tuple[list[str], list[tuple[str, int, str]]]:
    """(paragraphs, [(question, paragraph number, gold answer text)])."""
    data = json.loads(Path(path).read_text("utf-8"))
    paragraphs, questions = [], []
    for article in data["data"]:
        for p in article["paragraphs"]:
            pid = len(paragraphs)
            paragraphs.append(p["context"])
            for qa in p["qas"]:
                questions.append((qa["question"], pid, qa["answers"][0]["text"]))
    return paragraphs, questions


def doc_name(pid: int) -> str:
    return f"drcd-{pid:04d}.txt"


def write_docs(paragraphs: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for pid, text in enumerate(paragraphs):
        path = folder / doc_name(pid)
        if not path.exists() or path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")


def build_store(paragraphs: list[str], fresh: bool = False, progress=None, backend: str = "local"):
    """(store location, seconds the build took or 0 when unchanged)."""
    docs, store = OUT / "drcd-docs", OUT / "drcd-store"
    if fresh:
        shutil.rmtree(store, ignore_errors=True)
    write_docs(paragraphs, docs)
    t = time.perf_counter()
    report = build([docs], store, IndexSettings(), progress=progress)
    seconds = (time.perf_counter() - t) if not report.unchanged else 0.0
    if backend == "local":
        return store, seconds
    db = OUT / "drcd-milvus.db"
    if fresh:
        db.unlink(missing_ok=True)
    loc = f"milvus://{db}"
    t = time.perf_counter()
    report = build([docs], loc, IndexSettings(), progress=progress, reuse_from=store)
    return loc, (time.perf_counter() - t) if not report.unchanged else 0.0


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def run(data: Path, limit: int | None = None, fresh: bool = False, progress=None, backend: str = "local") -> dict:
    paragraphs, questions = load_drcd(data)
    if limit:
        step = max(1, len(questions) // limit)
        questions = questions[::step][:limit]
    store, index_seconds = build_store(paragraphs, fresh, progress, backend)
    index = Index(store)
    r1 = r5 = r20 = mrr = hit = abstain = 0
    times = []
    for n, (q, pid, gold) in enumerate(questions):
        if progress:
            progress("questions", n, len(questions))
        t = time.perf_counter()
        aq = analyse(q)
        early = index.begin(aq)  # as the app does: the first lexical ask runs while the question is encoded
        cand, fused, _ = index.scored_candidates(aq, qvecs=index.query_vectors(aq), early=early)
        docs: list[str] = []
        for j in np.argsort(-fused, kind="stable"):
            s = index.chunks[int(cand[j])].source
            if s not in docs:
                docs.append(s)
                if len(docs) == 20:
                    break
        a = answer_with(index, q)
        times.append((time.perf_counter() - t) * 1000)
        want = doc_name(pid)
        r1 += docs[:1] == [want]
        r5 += want in docs[:5]
        r20 += want in docs[:20]
        if want in docs[:10]:
            mrr += 1 / (docs.index(want) + 1)
        abstain += a.status == "not_found"
        hit += bool(a.quotes) and _squash(gold) in _squash(a.quotes[0].text)
    n = len(questions)
    return {
        "questions": n, "paragraphs": len(paragraphs), "chunks": len(index.chunks),
        "recall_at_1": round(r1 / n, 4), "recall_at_5": round(r5 / n, 4), "recall_at_20": round(r20 / n, 4),
        "mrr_at_10": round(mrr / n, 4), "answer_hit_at_1": round(hit / n, 4), "false_abstain": round(abstain / n, 4),
        "index_seconds": round(index_seconds, 1),
        "index_chars_per_second": round(sum(map(len, paragraphs)) / index_seconds) if index_seconds else None,
        "query_p50_ms": round(float(np.percentile(times, 50)), 2),
        "query_p95_ms": round(float(np.percentile(times, 95)), 2),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "bench" / "drcd" / "DRCD_dev.json")
    ap.add_argument("--limit", type=int, help="evaluate an evenly spaced sample of this many questions")
    ap.add_argument("--fresh", action="store_true", help="rebuild the store from nothing (to time indexing)")
    ap.add_argument("--backend", choices=("local", "milvus", "both"), default="local",
                    help="the store backend to answer from (both: one after the other, in one run)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.data.exists():
        ap.error(f"no DRCD file at {args.data}")
    last = {}

    def progress(stage, done, total):
        if not args.json and (done == total or time.monotonic() - last.get(stage, 0) > 10):
            last[stage] = time.monotonic()
            print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)

    if args.backend == "both":
        result = {b: run(args.data, args.limit, args.fresh, progress, b) for b in ("local", "milvus")}
        result["milvus_minus_local"] = {k: round(result["milvus"][k] - result["local"][k], 4)
                                        for k in result["local"] if k.startswith(("recall", "mrr", "answer", "false"))}
    else:
        result = run(args.data, args.limit, args.fresh, progress, args.backend)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for k, v in result.items():
            print(f"{k:<24} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
