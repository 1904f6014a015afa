"""Every question set measured in one run: per set, and the never-tuned sets pooled.

One index serves all sets (``verbatim eval`` per set would load the models
each time). Prints a table, per set: answer@1, passage@5, false abstain,
near-topic out-of-scope ``not_found`` (``qa.evaluate.summarise``); then the
same for the untouched sets pooled and for their teachers' questions
(``persona: teacher``). ``--json`` writes every figure and each question's
row, so two runs can be compared question by question (``--compare OLD.json``).

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
from qa.evaluate import ANSWERABLE, evaluate, load_items, summarise  # noqa: E402
from qa.retriever import Index  # noqa: E402

EVAL = ROOT / "tests" / "eval"
# columns: (heading, key of qa.evaluate.summarise)
COLUMNS = (("n", "n_answerable"), ("a1", "answer_hit_at_1"), ("p5", "passage_hit_at_5"), ("fa", "false_abstain"),
           ("oos_nf", "abstain_correct"))


def line(f: dict) -> str:
    return " ".join(f"{f[key]!s:>7}" for _, key in COLUMNS)


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
        rows = evaluate(index, load_items(EVAL / f"{name}.jsonl"))["questions"]
        out["rows"][name] = rows
        out["sets"][name] = summarise(rows)
    never = [r for n in names if n.startswith("untouched") for r in out["rows"][n]]
    if never:
        out["sets"]["never-tuned"] = summarise(never)
        out["sets"]["never-tuned teachers"] = summarise([r for r in never if r["persona"] == "teacher"])
    old = json.loads(args.compare.read_text("utf-8")) if args.compare else None
    print(f"{'set':24} " + " ".join(f"{h:>7}" for h, _ in COLUMNS) + "   (fit: *)")
    for name, f in out["sets"].items():
        mark = "*" if name in FIT_SETS else " "
        text = f"{name + mark:24} {line(f)}"
        if old and name in old["sets"]:
            text += f"   was {line(old['sets'][name])}"
        print(text)
    if old:
        for name in names:
            before = {r["id"]: r for r in old["rows"].get(name, [])}
            for r in out["rows"][name]:
                b = before.get(r["id"])
                if b and b["answer_hit_at_1"] != r["answer_hit_at_1"] and r["kind"] in ANSWERABLE:
                    print(f"  {'+' if r['answer_hit_at_1'] else '-'} {name}/{r['id']} {r['question'][:60]}")
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
