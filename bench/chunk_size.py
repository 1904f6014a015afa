"""How chunk size changes retrieval and answers.

    python bench/chunk_size.py [--sizes 100,160,240,400] [--json]

For each target size: the seed store is built with the full pipeline (all
embedders) and the dev set is evaluated; DRCD paragraphs are chunked at that
size and searched with BM25 alone (embedding DRCD at every size would take an
hour here), reporting paragraph recall@1/@5.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.drcd import load_drcd  # noqa: E402
from index.chunk import chunk_document  # noqa: E402
from index.clean import clean  # noqa: E402
from index.lexical import BM25  # noqa: E402
from index.build import build  # noqa: E402
from index.store import IndexSettings  # noqa: E402
from qa.evaluate import evaluate, load_items  # noqa: E402
from qa.retriever import Index  # noqa: E402

DRCD = ROOT.parent / "shared" / "bench" / "drcd" / "DRCD_dev.json"


def drcd_bm25(size: int, paragraphs, questions) -> dict:
    texts, owner = [], []
    for pid, p in enumerate(paragraphs):
        for c in chunk_document(str(pid), clean([p]), target_chars=size, max_chars=2 * size):
            texts.append(c.text)
            owner.append(pid)
    owner = np.array(owner)
    bm = BM25.build(texts)
    r1 = r5 = 0
    for q, pid, _ in questions:
        order = owner[np.argsort(-bm.scores(q), kind="stable")]
        _, first = np.unique(order, return_index=True)
        ranked = order[np.sort(first)][:5]
        r1 += ranked[0] == pid
        r5 += pid in ranked
    n = len(questions)
    return {"chunks": len(texts), "bm25_recall_at_1": round(r1 / n, 4), "bm25_recall_at_5": round(r5 / n, 4)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,160,240,400")
    ap.add_argument("--data", type=Path, default=DRCD)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    paragraphs, questions = load_drcd(args.data)
    items = load_items(ROOT / "tests" / "eval" / "dev.jsonl")
    out = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        store = ROOT / "bench" / "out" / f"seeds-chunks-{size}"
        build([ROOT / "seeds"], store, IndexSettings(target_chars=size, max_chars=2 * size))
        r = evaluate(Index(store), items)
        row = {k: r[k] for k in ("passage_hit_at_1", "passage_hit_at_5", "answer_hit_at_1", "answer_hit_at_3")}
        row.update(drcd_bm25(size, paragraphs, questions))
        out[size] = row
        if not args.json:
            print(size, row, flush=True)
    if args.json:
        print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
