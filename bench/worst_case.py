"""The cost of one question of any content, against a typical one.

A typical question is a dev-set question; the hostile ones come from every
class in ``bench/hostile.py`` at lengths up to the question limit. Each is
answered once, with no cached query vector, and timed in CPU seconds of the
whole process (all engine threads) and in wall-clock seconds. Reports the
median typical cost, the worst hostile cost per class, and their ratio (the
target is at most 10x, issue 9).

    python bench/worst_case.py --store .verbatim/store [--per-class 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import hostile  # noqa: E402

from qa.answerer import answer_with, warm_up  # noqa: E402
from index.errors import InvalidQuestion  # noqa: E402
from qa.evaluate import load_items  # noqa: E402
from qa.retriever import MAX_QUESTION_CHARS, open_index  # noqa: E402


def _cost(index, question: str) -> tuple[float, float, str]:
    index._qcache.clear()
    c0, w0 = time.process_time(), time.perf_counter()
    try:
        status = answer_with(index, question).status
    except InvalidQuestion:
        status = "invalid"
    return time.process_time() - c0, time.perf_counter() - w0, status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", default=".verbatim/store")
    p.add_argument("--questions", default=str(ROOT / "tests" / "eval" / "dev.jsonl"))
    p.add_argument("--per-class", type=int, default=20)
    p.add_argument("--seed", type=int, default=9)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)

    index = open_index(a.store)
    warm_up(index)
    typical = [_cost(index, it.question) for it in load_items(a.questions) for _ in range(3)]
    t_cpu = statistics.median(c for c, _, _ in typical)
    t_wall = statistics.median(w for _, w, _ in typical)

    rng = random.Random(a.seed)
    per_class = {}
    worst = (0.0, 0.0, "", "")
    for name, make in hostile.CLASSES.items():
        costs = []
        for j in range(a.per_class):
            n = MAX_QUESTION_CHARS if j % 2 == 0 else rng.randint(1, MAX_QUESTION_CHARS)
            q = make(rng, n)[:MAX_QUESTION_CHARS]
            cpu, wall, status = _cost(index, q)
            costs.append((cpu, wall, status))
            if cpu > worst[0]:
                worst = (cpu, wall, name, status)
        per_class[name] = {"max_cpu_ms": round(1000 * max(c for c, _, _ in costs), 1),
                           "max_wall_ms": round(1000 * max(w for _, w, _ in costs), 1),
                           "statuses": sorted({s for _, _, s in costs})}
    out = {
        "typical_cpu_ms": round(1000 * t_cpu, 1), "typical_wall_ms": round(1000 * t_wall, 1),
        "worst_cpu_ms": round(1000 * worst[0], 1), "worst_wall_ms": round(1000 * worst[1], 1),
        "worst_class": worst[2], "ratio_cpu": round(worst[0] / t_cpu, 2), "ratio_wall": round(worst[1] / t_wall, 2),
        "per_class": per_class, "questions": len(per_class) * a.per_class,
    }
    if a.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print(f"typical question: {out['typical_cpu_ms']} ms CPU, {out['typical_wall_ms']} ms wall (median, dev set)")
        for name, r in per_class.items():
            print(f"  {name:18s} worst {r['max_cpu_ms']:7.1f} ms CPU {r['max_wall_ms']:7.1f} ms wall  {r['statuses']}")
        print(f"worst: {out['worst_cpu_ms']} ms CPU ({out['worst_class']}), {out['ratio_cpu']}x typical "
              f"(wall {out['ratio_wall']}x); target <= 10x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
