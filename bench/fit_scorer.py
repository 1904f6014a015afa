"""Fit the sentence scorer (``qa/data/scorer.json``) on the gold spans of question sets.

Every answerable question of the named seed sets (``tests/eval/NAME.jsonl``,
asked of the seed store) and a sample of DRCD dev (asked of the DRCD store)
goes through the normal retrieval; every sentence of its top passages gets
the features of ``qa.extract.sentence_features`` and the label "holds a gold
span" (white space ignored, as ``qa.evaluate`` counts a hit). The model is
listwise (``fit``): a softmax over each question's sentences, the gold ones'
share maximised, every question weighing the same within its group and every
group (question set, DRCD) the same, so the many DRCD questions do not drown
the teachers'.

The merge margin of ``qa.extract.assemble`` is on the model's scale, so it is
chosen here too: the one that gives the best quote@1 (the first assembled
quote holds a gold span, the abstention aside) on the fitted questions.

Validation leaves whole families of questions out (``GroupKFold``): a
seed set, or for a set that names its askers (``users``: teachers, parents,
social workers...) one persona of it; DRCD is split into three parts by
article. Each question's quote@1 comes from a model fitted without its
family, printed beside the hand-set weights' quote@1 on the same
evidence. ``--C`` is chosen by that figure. ``tests/eval/untouched*.jsonl`` are
never fitted on, nor used to choose anything.

    python bench/fit_scorer.py [--write]
    python bench/fit_scorer.py --check-drcd   # the DRCD questions not fitted on
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sets import FIT_SETS, refuse_untouched  # noqa: E402
from qa.answerer import gather_evidence, question_idf  # noqa: E402
from qa.evaluate import ANSWERABLE, load_items  # noqa: E402
from qa.extract import (FEATURES, HAND_MARGIN, HAND_WEIGHTS, SCORER_PATH, Candidate, Sentences,  # noqa: E402
                        assemble, rank, sentence_features, weight_vector)
from qa.query import analyse  # noqa: E402
from qa.retriever import Index  # noqa: E402

MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0)
_WS = re.compile(r"\s+")


@dataclass
class Question:
    """One question's evidence as the scorer sees it."""

    group: str  # the question set (or DRCD part) it counts in
    family: str  # what validation leaves out together: its set, or its set and the asker's persona
    cands: list[Candidate]
    X: np.ndarray
    label: np.ndarray  # the sentence holds a gold span
    sentences: list[Sentences]
    gold: tuple[str, ...]  # squashed gold spans


def _squash(s: str) -> str:
    return _WS.sub("", s)


def collect(index: Index, group: str, items: list[tuple[str, tuple[str, ...], str]]) -> list[Question]:
    """The features and labels of every sentence the scorer sees for each (question, gold spans, family)."""
    out = []
    for text, answers, family in items:
        q = analyse(text)
        ev = gather_evidence(index, q)
        if ev is None:
            continue
        cands, X = sentence_features(q, ev.sentences, question_idf(index, q))
        gold = tuple(g for g in (_squash(a) for a in answers) if g)
        docs = {s.source: s.doc_text for s in ev.sentences}
        label = np.array([any(g in _squash(docs[c.source][c.start:c.end]) for g in gold) for c in cands], bool)
        out.append(Question(group, family, cands, X, label, ev.sentences, gold))
    return out


def first_quote(qu: Question, w: np.ndarray, margin: float) -> str:
    """The first assembled quote, white space removed ("" if none)."""
    spans = assemble(rank(qu.cands, qu.X, w), qu.sentences, 1, margin)
    if not spans:
        return ""
    doc = next(s.doc_text for s in qu.sentences if s.source == spans[0].source)
    return _squash(doc[spans[0].start:spans[0].end])


def quote_hit(qu: Question, w: np.ndarray, margin: float) -> bool:
    """Whether the first assembled quote holds a gold span."""
    text = first_quote(qu, w, margin)
    return bool(text) and any(g in text for g in qu.gold)


def quote_length(questions: list[Question], w: np.ndarray, margin: float) -> float:
    """Mean length of the first quote (a wider merge margin buys hits with longer quotes)."""
    return float(np.mean([len(first_quote(qu, w, margin)) for qu in questions]))


def fit(questions: list[Question], C: float) -> np.ndarray:
    """Weights of ``FEATURES`` on the raw scale: a listwise model (softmax over each question's
    sentences, the gold ones' share maximised; what decides the first quote), L2 strength ``1/C``
    on standardised features, every question weighing the same within its group and every group
    the same."""
    from scipy.optimize import minimize
    usable = [qu for qu in questions if qu.label.any() and (~qu.label).any()]
    groups = sorted({qu.group for qu in usable})
    size = {g: sum(1 for qu in usable if qu.group == g) for g in groups}
    scale = np.concatenate([qu.X for qu in questions]).std(axis=0)
    scale[scale < 1e-9] = 1.0
    Zs = [qu.X / scale for qu in usable]
    qw = np.array([1.0 / (size[qu.group] * len(groups)) for qu in usable])

    def loss(v):
        total, grad = 0.5 / C * v @ v / len(usable), v / C / len(usable)
        for Z, qu, wq in zip(Zs, usable, qw):
            s = Z @ v
            s = s - s.max()
            e = np.exp(s)
            p_all = e / e.sum()
            pos = qu.label
            p_pos = p_all[pos].sum()
            total -= wq * np.log(max(p_pos, 1e-300))
            # d(-log sum_pos softmax) = E_all[z] - E_pos[z]
            grad -= wq * ((p_all[pos] / p_pos) @ Z[pos] - p_all @ Z)
        return total, grad

    res = minimize(loss, np.zeros(len(scale)), jac=True, method="L-BFGS-B")
    return res.x / scale


def score(questions: list[Question], w: np.ndarray, margin: float) -> dict[str, float]:
    """quote@1 per group and its mean over groups."""
    out = {}
    for g in sorted({qu.group for qu in questions}):
        hits = [quote_hit(qu, w, margin) for qu in questions if qu.group == g]
        out[g] = float(np.mean(hits)) if hits else 0.0
    out["mean"] = float(np.mean(list(out.values()))) if out else 0.0
    return out


def best_margin(questions: list[Question], w: np.ndarray, max_growth: float = 1.1) -> float:
    """The merge margin (a multiple of the typical spread of a question's scores) with the best mean
    quote@1 among those whose first quotes are at most ``max_growth`` times as long as the hand-set
    scorer's on the same questions: merging more always finds more gold, and quotes must stay short."""
    spread = float(np.median([np.std(qu.X @ w) for qu in questions if len(qu.X) > 1]))
    limit = max_growth * quote_length(questions, weight_vector(HAND_WEIGHTS), HAND_MARGIN)
    ok = [m * spread for m in MARGINS if m == 0 or quote_length(questions, w, m * spread) <= limit]
    return max((score(questions, w, m)["mean"], -m, m) for m in ok)[2]


def load_questions(args) -> list[Question]:
    from bench.drcd import build_store, load_drcd
    from bench.fit_adapter import out_of_fold

    seeds = Index(args.seeds_store)
    out_of_fold(seeds)  # fitted on the scores unseen questions get (bench/fit_adapter.py)
    out = []
    for name in args.sets:
        items = [it for it in load_items(ROOT / "tests" / "eval" / f"{name}.jsonl") if it.kind in ANSWERABLE]
        out += collect(seeds, name, [(it.question, it.answers, f"{name}/{it.persona or ''}") for it in items])
    if args.drcd_questions:
        paragraphs, drcd_q = load_drcd(args.data)
        drcd = Index(build_store(paragraphs)[0])
        step = max(1, len(drcd_q) // args.drcd_questions)
        sample = drcd_q[::step][: args.drcd_questions]
        for part in range(3):  # three groups of whole paragraphs (neighbouring paragraphs share an article)
            chosen = [(q, (gold,), f"drcd{part}") for q, pid, gold in sample if pid * 3 // len(paragraphs) == part]
            out += collect(drcd, f"drcd{part}", chosen)
    return out


def check_drcd(args) -> int:
    """Forced quote@1 of the hand-set and the shipped weights on the DRCD questions outside the fitted sample."""
    from bench.drcd import build_store, load_drcd
    from qa.extract import load_model
    paragraphs, drcd_q = load_drcd(args.data)
    step = max(1, len(drcd_q) // args.drcd_questions) if args.drcd_questions else len(drcd_q) + 1
    fitted = set(range(0, len(drcd_q), step)[: args.drcd_questions])
    rest = [(q, (gold,), "drcd") for i, (q, _pid, gold) in enumerate(drcd_q) if i not in fitted]
    questions = collect(Index(build_store(paragraphs)[0]), "drcd", rest)
    w, margin = load_model(args.out)
    for name, weights, m in (("hand-set", weight_vector(HAND_WEIGHTS), HAND_MARGIN), ("shipped", w, margin)):
        print(f"{name:<9} quote@1 {sum(quote_hit(qu, weights, m) for qu in questions) / len(rest):.4f} "
              f"on {len(rest)} DRCD questions not fitted on")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds-store", type=Path, default=ROOT / "bench" / "out" / "seeds-store",
                    help="a store of seeds/ (build it with: verbatim index seeds --store PATH)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "bench" / "drcd" / "DRCD_dev.json")
    ap.add_argument("--drcd-questions", type=int, default=600, help="DRCD questions fitted on (0: none)")
    ap.add_argument("--sets", nargs="+", default=list(FIT_SETS), help="seed question sets to fit on")
    ap.add_argument("--C", type=float, nargs="+", default=[0.01, 0.1, 1.0], help="candidates for the L2 strength")
    ap.add_argument("--write", action="store_true", help=f"write {SCORER_PATH.relative_to(ROOT)}")
    ap.add_argument("--out", type=Path, default=SCORER_PATH)
    ap.add_argument("--check-drcd", action="store_true",
                    help="only compare the hand-set and the shipped weights on the DRCD questions not fitted on")
    args = ap.parse_args(argv)
    refuse_untouched(ap, args.sets)
    if args.check_drcd:
        return check_drcd(args)
    questions = load_questions(args)
    groups = sorted({qu.group for qu in questions})
    families = sorted({qu.family for qu in questions})
    fid = np.array([families.index(qu.family) for qu in questions])
    hand = weight_vector(HAND_WEIGHTS)
    base = score(questions, hand, HAND_MARGIN)

    # validation: each group scored by a model (and margin) fitted without it
    results = {}
    for C in args.C:
        held: dict[str, float] = {}
        hits = np.zeros(len(questions), dtype=bool)
        for train, test in GroupKFold(n_splits=len(families)).split(fid, fid, fid):
            tr = [questions[i] for i in train]
            w = fit(tr, C)
            m = best_margin(tr, w)
            hits[test] = [quote_hit(questions[i], w, m) for i in test]
        for g in groups:
            held[g] = float(np.mean([h for h, qu in zip(hits, questions) if qu.group == g]))
        held["mean"] = float(np.mean([held[g] for g in groups]))
        results[C] = held
    C = max(args.C, key=lambda c: results[c]["mean"])
    w = fit(questions, C)
    margin = best_margin(questions, w)
    fitted = score(questions, w, margin)
    print(f"{'group':<12} {'n':>4} {'gold seen':>9} {'hand':>6} " + " ".join(f"{'C=' + str(c):>8}" for c in args.C)
          + f" {'fit':>6}")
    for g in groups + ["mean"]:
        sel = [qu for qu in questions if qu.group == g]
        seen = np.mean([qu.label.any() for qu in sel]) if sel else float("nan")
        print(f"{g:<12} {len(sel):>4} {seen:>9.3f} {base[g]:>6.3f} "
              + " ".join(f"{results[c][g]:>8.3f}" for c in args.C) + f" {fitted[g]:>6.3f}")
    print(f"chosen C={C}, merge margin {margin:.4f}; mean first quote {quote_length(questions, w, margin):.1f} "
          f"characters (hand-set: {quote_length(questions, hand, HAND_MARGIN):.1f})")
    for name, v in sorted(zip(FEATURES, w), key=lambda t: -abs(t[1])):
        print(f"  {name:<18} {v:+.4f}")
    if args.write:
        data = {"about": "Sentence scorer fitted by bench/fit_scorer.py; see qa/extract.py.",
                "features": list(FEATURES), "weights": [round(float(v), 6) for v in w],
                "merge_margin": round(margin, 6), "C": C, "sets": list(args.sets),
                "drcd_questions": args.drcd_questions,
                "quote_at_1": {"hand": {k: round(v, 4) for k, v in base.items()},
                               "left_out": {k: round(v, 4) for k, v in results[C].items()},
                               "fitted": {k: round(v, 4) for k, v in fitted.items()}}}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
