"""Fit the abstention model (``qa/calibration.json``) on question sets.

Each question set is answerable against its own corpus and out of scope
against the other one: DRCD questions are asked of the seed store (where they
have no answer) and of the DRCD store (where they do); the seed question sets
(``tests/eval/*.jsonl``) are asked of the seed store (answerable and
out-of-scope kinds as labelled) and of the DRCD store (no answer). The
features are those ``qa.answerer`` computes; the model is scikit-learn's
logistic regression, every group (question set x store) weighing the same,
and the threshold of each script is set so that at most
``--max-false-abstain`` of the answerable seed questions are turned away,
because a wrong "not found" costs a teacher more than a weak quote.

Validation leaves whole groups out (``GroupKFold``): each group's figures
are those of a model fitted without it. ``tests/eval/untouched*.jsonl`` are
never fitted on, nor used to choose anything: they are reported apart.

    python bench/calibrate.py --data ../shared/bench/drcd/DRCD_dev.json [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.drcd import build_store, load_drcd  # noqa: E402
from bench.fit_adapter import out_of_fold  # noqa: E402
from bench.sets import FIT_SETS, refuse_untouched  # noqa: E402
from index.build import build  # noqa: E402
from index.store import IndexSettings  # noqa: E402
from qa.abstain import CALIBRATION_PATH  # noqa: E402
from qa.answerer import gather_evidence  # noqa: E402
from qa.query import analyse  # noqa: E402
from qa.evaluate import ANSWERABLE, load_items  # noqa: E402
from qa.retriever import Index  # noqa: E402

FEATURES = ["coverage", "sentence_coverage", "cjk", "cjk_coverage", "dense_0", "dense_1",
            "other_dense_0", "other_dense_1", "ask_coverage", "term_coverage", "has_terms", "type_match",
            "typed", "story", "long", "margin", "counted", "counted_unmet", "dated", "dated_unmet"]


def rows_for(index: Index, questions: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(features, missing) of each question: ``missing`` questions are not_found whatever the model says."""
    out, missing = [], []
    for q in questions:
        ev = gather_evidence(index, analyse(q))
        f = ev.features if ev else {}
        out.append([f.get(name, 0.0) for name in FEATURES])
        missing.append(bool(ev.missing) if ev else True)
    return np.array(out, dtype=np.float64).reshape(-1, len(FEATURES)), np.array(missing, dtype=bool)


def fit(X: np.ndarray, y: np.ndarray, groups: np.ndarray, C: float = 1.0) -> tuple[np.ndarray, float]:
    """Logistic regression on standardised features, every group weighing the same; weights on the raw scale."""
    scaler = StandardScaler().fit(X)
    sizes = np.bincount(groups)
    weight = len(y) / (len(sizes[sizes > 0]) * sizes[groups])
    model = LogisticRegression(C=C, max_iter=5000).fit(scaler.transform(X), y, sample_weight=weight)
    w = model.coef_[0] / scaler.scale_
    return w, float(model.intercept_[0] - w @ scaler.mean_)


def thresholds_for(prob: np.ndarray, y: np.ndarray, seed: np.ndarray, cjk: np.ndarray, blocked: np.ndarray,
                   max_fa: float, max_fa_other: float | None = None) -> dict[str, float]:
    """Per script, the highest threshold that turns away at most ``max_fa`` (``max_fa_other`` for questions
    not in Chinese) of the answerable seed questions (those the constraint check does not already turn away)."""
    out = {}
    for script, mask in (("cjk", cjk), ("other", ~cjk)):
        share = max_fa if script == "cjk" or max_fa_other is None else max_fa_other
        pos = np.sort(prob[seed & mask & (y == 1) & ~blocked])
        out[script] = float(pos[int(np.floor(share * len(pos)))]) - 1e-6 if len(pos) else 0.5
    return out


def predict(X, w, b, th, cjk, blocked):
    prob = 1 / (1 + np.exp(-(X @ w + b)))
    return (prob >= np.where(cjk, th["cjk"], th["other"])) & ~blocked


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "bench" / "drcd" / "DRCD_dev.json")
    ap.add_argument("--drcd-questions", type=int, default=600, help="DRCD questions per side")
    ap.add_argument("--max-false-abstain", type=float, default=0.05)
    ap.add_argument("--max-false-abstain-other", type=float, default=None,
                    help="the same for questions not written in Chinese (default: --max-false-abstain)")
    ap.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the logistic regression")
    ap.add_argument("--sets", nargs="+", default=list(FIT_SETS),
                    help="seed question sets (tests/eval/NAME.jsonl) to fit on; never untouched")
    ap.add_argument("--drop", nargs="*", default=(), choices=FEATURES, metavar="FEATURE",
                    help="features to leave out of the model")
    ap.add_argument("--write", action="store_true", help=f"write {CALIBRATION_PATH.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    refuse_untouched(ap, args.sets)

    seeds_store = ROOT / "bench" / "out" / "seeds-store"
    build([ROOT / "seeds"], seeds_store, IndexSettings())
    seeds = Index(seeds_store)
    out_of_fold(seeds)  # fitted on the scores unseen questions get (bench/fit_adapter.py)
    paragraphs, drcd_q = load_drcd(args.data)
    drcd_store, _ = build_store(paragraphs)
    drcd = Index(drcd_store)
    step = max(1, len(drcd_q) // args.drcd_questions)
    sample = [q for q, _, _ in drcd_q[::step][: args.drcd_questions]]

    parts = []  # (name, rows, missing, label, is a seed set)
    for name in args.sets:
        items = [it for it in load_items(ROOT / "tests" / "eval" / f"{name}.jsonl") if it.kind != "abusive"]
        pos = [it.question for it in items if it.kind in ANSWERABLE]
        neg = [it.question for it in items if it.kind == "out_of_scope"]
        if pos:
            parts.append((f"{name} on seeds (answerable)", *rows_for(seeds, pos), 1, True))
            parts.append((f"{name} on DRCD (no answer)", *rows_for(drcd, pos), 0, False))
        if neg:
            parts.append((f"{name} out-of-scope on seeds", *rows_for(seeds, neg), 0, True))
    parts.append(("DRCD on seeds (no answer)", *rows_for(seeds, sample), 0, False))
    parts.append(("DRCD on DRCD (answerable)", *rows_for(drcd, sample), 1, False))

    X = np.concatenate([p[1] for p in parts])
    cjk = X[:, FEATURES.index("cjk")] > 0
    kept = [i for i, name in enumerate(FEATURES) if name not in args.drop]
    names = [FEATURES[i] for i in kept]
    X = X[:, kept]
    blocked = np.concatenate([p[2] for p in parts])
    y = np.concatenate([np.full(len(p[1]), p[3]) for p in parts])
    seed = np.concatenate([np.full(len(p[1]), p[4]) for p in parts])
    groups = np.concatenate([np.full(len(p[1]), i) for i, p in enumerate(parts)])

    # validation: every group is predicted by a model fitted without it
    held = np.zeros(len(y), dtype=bool)
    for train, test in GroupKFold(n_splits=min(len(parts), 8)).split(X, y, groups):
        w, b = fit(X[train], y[train], groups[train], args.C)
        prob = 1 / (1 + np.exp(-(X[train] @ w + b)))
        th = thresholds_for(prob, y[train], seed[train], cjk[train], blocked[train], args.max_false_abstain,
                            args.max_false_abstain_other)
        held[test] = predict(X[test], w, b, th, cjk[test], blocked[test])

    w, b = fit(X, y, groups, args.C)
    prob = 1 / (1 + np.exp(-(X @ w + b)))
    th = thresholds_for(prob, y, seed, cjk, blocked, args.max_false_abstain, args.max_false_abstain_other)
    answered = predict(X, w, b, th, cjk, blocked)
    print(f"features   {names}\nweights    {np.round(w, 3).tolist()}\nbias       {b:.3f}\n"
          f"thresholds { {k: round(v, 4) for k, v in th.items()} }")
    print(f"{'group':<40} {'n':>5}  answered (fit)  answered (group left out)")
    report = {}
    for i, (name, rows, _, label, _) in enumerate(parts):
        g = groups == i
        print(f"{name:<40} {int(g.sum()):>5}  {answered[g].mean():.3f}{'' if label else ' (should be 0)':<14}  "
              f"{held[g].mean():.3f}")
        report[name] = {"n": int(g.sum()), "answered": round(float(answered[g].mean()), 4),
                        "answered_left_out": round(float(held[g].mean()), 4)}

    model = {"embedders": list(e.name for e in seeds.embedders), "features": names,
             "weights": [round(float(v), 6) for v in w], "bias": round(float(b), 6),
             "threshold": round(min(th.values()), 6), "thresholds": {k: round(v, 6) for k, v in th.items()},
             "fitted_on": report}
    if args.write:
        data = {"about": "Abstention model fitted by bench/calibrate.py; see qa/abstain.py.", "models": [model]}
        CALIBRATION_PATH.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")
        print(f"wrote {CALIBRATION_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
