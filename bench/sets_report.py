"""Every question set measured in one run: per set, and the never-tuned sets pooled.

One index serves all sets (``verbatim eval`` per set would load the models
each time). Prints a table, per set: answer@1, passage@5, false abstain,
near-topic out-of-scope ``not_found``; then the same for the untouched sets
pooled and for their teachers' questions (``persona: teacher``). ``--json``
writes every figure and each question's row, so two runs can be compared
question by question (``--compare OLD.json``).

    python bench/sets_report.py --store STORE [--json OUT] [--compare OLD.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sets import FIT_SETS  # noqa: E402
from qa.evaluate import ANSWERABLE, evaluate, load_items  # noqa: E402
from qa.retriever import Index  # noqa: E402

EVAL = ROOT / "tests" / "eval"


def personas(path: Path) -> dict[str, str | None]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return {str(d["id"]): d.get("persona") for d in rows}


def figures(rows: list[dict]) -> dict[str, float | int | None]:
    """answer@1, passage@5, false abstain over answerable rows; not_found over out-of-scope rows."""
    ans = [r for r in rows if r["kind"] in ANSWERABLE]
    oos = [r for r in rows if r["kind"] == "out_of_scope"]

    def share(sel, pred):
        return round(sum(1 for r in sel if pred(r)) / len(sel), 3) if sel else None

    return {"n": len(ans), "a1": share(ans, lambda r: r["answer_hit_at_1"]),
            "p5": share(ans, lambda r: r["passage_hit_at_5"]),
            "fa": share(ans, lambda r: r["status"] == "not_found"),
            "n_oos": len(oos), "oos_nf": share(oos, lambda r: r["status"] == "not_found")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, help="a store built from seeds/")
    ap.add_argument("--sets", nargs="*", help="set names (default: every tests/eval/*.jsonl)")
    ap.add_argument("--json", type=Path, help="write the figures and rows here")
    ap.add_argument("--compare", type=Path, help="an earlier --json: print the figures beside it and the "
                    "questions whose first quote changed between hit and miss")
    args = ap.parse_args(argv)
    names = args.sets or sorted(p.stem for p in EVAL.glob("*.jsonl"))
    index = Index(args.store)
    out: dict = {"sets": {}, "rows": {}}
    for name in names:
        path = EVAL / f"{name}.jsonl"
        who = personas(path)
        rows = evaluate(index, load_items(path))["questions"]
        for r in rows:
            r["persona"] = who.get(str(r["id"]))
        out["rows"][name] = rows
        out["sets"][name] = figures(rows)
    never = [r for n in names if n.startswith("untouched") for r in out["rows"][n]]
    if never:
        out["sets"]["never-tuned"] = figures(never)
        out["sets"]["never-tuned teachers"] = figures([r for r in never if r["persona"] == "teacher"])
    old = json.loads(args.compare.read_text("utf-8")) if args.compare else None
    print(f"{'set':24} {'n':>4} {'a1':>6} {'p5':>6} {'fa':>6} {'oos':>4} {'oos_nf':>6}   (fit: *)")
    for name, f in out["sets"].items():
        mark = "*" if name in FIT_SETS else " "
        line = f"{name + mark:24} {f['n']:>4} {f['a1']!s:>6} {f['p5']!s:>6} {f['fa']!s:>6} {f['n_oos']:>4} {f['oos_nf']!s:>6}"
        if old and name in old["sets"]:
            o = old["sets"][name]
            line += f"   was {o['a1']!s:>6} {o['p5']!s:>6} {o['fa']!s:>6} {o['oos_nf']!s:>6}"
        print(line)
    if old:
        for name in names:
            before = {r["id"]: r for r in old["rows"].get(name, [])}
            for r in out["rows"][name]:
                b = before.get(r["id"])
                if b and r["kind"] in ANSWERABLE and b["answer_hit_at_1"] != r["answer_hit_at_1"]:
                    print(f"  {'+' if r['answer_hit_at_1'] else '-'} {name}/{r['id']} {r['question'][:60]}")
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
