"""Fit and validate the learned guard (``qa/data/guard_model.npz``), family by family.

Data: the labelled corpus (``tests/data/guard_corpus/``: hand-written prompts
in families, and the obfuscated and wrapped prompts derived from them, which
stay in their base prompt's family; its ``untouched.jsonl`` is held back and
reported apart), the labelled prompts of
``tests/data/guard_prompts.jsonl``, and the project's question sets
(``tests/eval/``; their abusive questions refuse, the rest allow).
``tests/eval/untouched*.jsonl`` are never fitted on: their figures are reported
apart.

Validation leaves whole families out: each family's figures come from a
model fitted without it (and without anything derived from it), with the
threshold set on the families it was fitted on. For a refuse family the
figure is recall (share refused); for an allow family, false refusals.

With vectors, the model also reads how much nearer the question comes to the
hand-written prompts it was fitted on that refuse than to those that answer
(``qa.guard_model.neighbour_margin``); in fitting, a prompt's own margin is
taken without itself and its derived variants, as a new question meets them.

The decision is ``qa.guard.check``'s: the model's score reaches its
threshold, or the patterns refuse and the score is at least
``PATTERN_VETO``. The threshold is set on out-of-fold probabilities of five
folds that keep each family whole (``family_threshold``), so that it refuses
at most ``--max-false-refusal`` of the harmless prompts of kinds it has not
seen; each left-out family's figure uses a threshold set the same way on the
other families. The five-fold split that keeps a hand-written prompt with its
derivatives says how it holds on new phrasings of known kinds.

    python bench/guard.py [--json] [--write]
    python bench/guard.py --shipped    # the shipped model through qa.guard.check, and its cost
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sets import GUARD_SETS  # noqa: E402
from index.build import build  # noqa: E402
from index.errors import InvalidQuestion  # noqa: E402
from index.store import IndexSettings  # noqa: E402
from qa import guard, guard_model  # noqa: E402
from qa.evaluate import load_items  # noqa: E402
from qa.query import analyse  # noqa: E402
from qa.retriever import Index  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "guard_corpus"
# hand-written prompts and the variants augment.py derives from them; untouched.jsonl is never fitted on
CORPUS_FILES = ("base.jsonl", "augmented.jsonl", "base2.jsonl", "augmented2.jsonl", "base3.jsonl", "augmented3.jsonl",
                "base4.jsonl", "augmented4.jsonl", "base5.jsonl", "augmented5.jsonl", "base6.jsonl", "augmented6.jsonl",
                "base7.jsonl", "augmented7.jsonl")


def load_rows(unremembered: tuple[str, ...] = ()) -> tuple[list[dict], list[dict]]:
    """(rows to fit and validate on, untouched rows); each row: text, refuse, family, lang. The corpus files
    named in ``unremembered`` are fitted on too, but their prompts are never among the remembered ones."""
    rows = []
    for name in CORPUS_FILES + tuple(unremembered):
        for line in open(CORPUS / name, encoding="utf-8"):
            r = json.loads(line)
            rows.append({"text": r["text"], "refuse": bool(r["refuse"]), "family": r["family"], "lang": r["lang"],
                         "base": r.get("derived_from") or r["id"],
                         "remember": "derived_from" not in r and name not in unremembered})
    for line in open(ROOT / "tests" / "data" / "guard_prompts.jsonl", encoding="utf-8"):
        r = json.loads(line)
        rows.append({"text": r["text"], "refuse": bool(r["refuse"]), "lang": r.get("lang", ""),
                     "family": "labelled_prompts_refuse" if r["refuse"] else "labelled_prompts_allow"})
    for s in GUARD_SETS:
        for it in load_items(ROOT / "tests" / "eval" / f"{s}.jsonl"):
            rows.append({"text": it.question, "refuse": it.kind == "abusive", "lang": it.lang,
                         "family": "question_sets_abusive" if it.kind == "abusive" else "question_sets"})
    untouched = [{"text": it.question, "refuse": it.kind == "abusive", "lang": it.lang, "family": "untouched",
                  "source": "questions"} for it in load_items(ROOT / "tests" / "eval" / "untouched.jsonl")]
    for line in open(CORPUS / "untouched.jsonl", encoding="utf-8"):
        r = json.loads(line)
        untouched.append({"text": r["text"], "refuse": bool(r["refuse"]), "lang": r["lang"], "family": r["family"],
                          "source": "prompts"})
    return rows, untouched


VECTORS_VERSION = "1"  # bump when the question vectors change (not the signals: they are read afresh)


def _vectors(index: Index, texts: list[str]) -> dict[str, np.ndarray]:
    """Each text's question vectors by embedder name, as retrieval computes them (zeros for a text that is
    not a question). Kept in ``bench/out`` text by text, so adding prompts encodes only the new ones."""
    names = [e.name for e in index.embedders]
    key = hashlib.sha256((repr(names) + VECTORS_VERSION).encode()).hexdigest()[:12]
    cache = ROOT / "bench" / "out" / f"guard-vectors-{key}.npz"
    known: dict[str, int] = {}
    stored: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            known = {t: i for i, t in enumerate(json.loads(data["texts"].tobytes().decode("utf-8", "surrogatepass")))}
            stored = {n: data[f"v{j}"] for j, n in enumerate(names)}
    new = [t for t in dict.fromkeys(texts) if t not in known]
    if new:
        fresh: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for t in new:
            try:
                vs = index.query_vectors(analyse(t))
            except InvalidQuestion:
                vs = [np.zeros(e.dim, np.float32) for e in index.embedders]
            for n, v in zip(names, vs):
                fresh[n].append(np.asarray(v, np.float32))
        for t in new:
            known[t] = len(known)
        stored = {n: np.concatenate([stored[n], np.stack(fresh[n])]) if n in stored else np.stack(fresh[n])
                  for n in names}
        cache.parent.mkdir(parents=True, exist_ok=True)
        texts_bytes = np.frombuffer(json.dumps(list(known)).encode("utf-8", "surrogatepass"), np.uint8)
        np.savez(cache, texts=texts_bytes, **{f"v{j}": stored[n] for j, n in enumerate(names)})
    rows = np.array([known[t] for t in texts], np.int64)
    return {n: stored[n][rows] for n in names}


def featurise(index: Index, rows: list[dict], use_vectors: bool) -> tuple[sparse.csr_matrix, list[str]]:
    """The design matrix: signals, n-grams (binary, L2-normalised), and the question's vectors (kept in
    ``bench/out`` text by text, ``_vectors``: they take minutes, the rest seconds)."""
    names = [e.name for e in index.embedders] if use_vectors else []
    vectors = _vectors(index, [r["text"] for r in rows]) if names else {}
    blocks = []
    for i, r in enumerate(rows):
        f = guard_model.features(r["text"], {n: v[i] for n, v in vectors.items()})
        ng = sparse.csr_matrix((np.full(len(f.ngrams), 1 / np.sqrt(max(1, len(f.ngrams))), np.float32),
                                (np.zeros(len(f.ngrams), np.int64), f.ngrams)), shape=(1, guard_model.BUCKETS))
        dense = np.concatenate([f.signals] + [f.vectors[n] for n in names]).astype(np.float32)[None, :]
        blocks.append(sparse.hstack([sparse.csr_matrix(dense), ng]).tocsr())
    return sparse.vstack(blocks).tocsr(), names


def decide(prob: np.ndarray, threshold: float, rules: np.ndarray) -> np.ndarray:
    """``qa.guard.check``'s decision: the model's score reaches the threshold, or the patterns refuse
    and the score is not below ``PATTERN_VETO``."""
    return (prob >= threshold) | (rules & (prob >= guard_model.PATTERN_VETO))


N_SIG = len(guard.SIGNALS)


@dataclass
class Design:
    """The rows to fit on: features (signals, vectors, n-grams), labels, families, the hand-written prompt each
    row is (or is derived from), whether it is that hand-written prompt, and the embedders' dimensions
    (empty for the text-only model)."""

    X: sparse.csr_matrix
    y: np.ndarray
    fams: np.ndarray
    bases: np.ndarray
    hand: np.ndarray
    dims: list[int]
    neighbours: bool = True  # read the neighbour margin (with vectors only)

    def vectors(self, X: sparse.csr_matrix) -> list[np.ndarray]:
        dense = X[:, N_SIG:N_SIG + sum(self.dims)].toarray().astype(np.float32)
        return np.split(dense, np.cumsum(self.dims)[:-1], axis=1) if self.dims else []


@dataclass
class Fitted:
    lr: LogisticRegression
    memory: np.ndarray  # row numbers of the hand-written prompts it remembers


def _margins(d: Design, memory: np.ndarray, X: sparse.csr_matrix, own: np.ndarray | None = None) -> np.ndarray:
    mem = dict(enumerate(d.vectors(d.X[memory])))
    q = dict(enumerate(d.vectors(X)))
    exclude = None if own is None else own[:, None] == d.bases[memory][None, :]
    return guard_model.neighbour_margin(mem, d.y[memory] == 1, q, guard_model.K, exclude)


def _inputs(d: Design, memory: np.ndarray, X: sparse.csr_matrix, own: np.ndarray | None = None):
    if not (d.dims and d.neighbours):
        return X
    return sparse.hstack([X, sparse.csr_matrix(_margins(d, memory, X, own)[:, None])]).tocsr()


def fit(d: Design, rows: np.ndarray, C: float) -> Fitted:
    """A model fitted on ``rows``; with vectors it remembers their hand-written prompts, and a prompt's own
    neighbour margin is taken without itself and its variants (as a new question would meet them)."""
    memory = rows[d.hand[rows]]
    X = _inputs(d, memory, d.X[rows], d.bases[rows])
    lr = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", max_iter=2000).fit(X, d.y[rows])
    return Fitted(lr, memory)


def predict(d: Design, f: Fitted, X: sparse.csr_matrix) -> np.ndarray:
    return f.lr.predict_proba(_inputs(d, f.memory, X))[:, 1]


def threshold_for(prob: np.ndarray, y: np.ndarray, max_false: float) -> float:
    """The lowest threshold at which the model refuses at most ``max_false`` of the harmless prompts."""
    harmless = y == 0
    budget = int(np.floor(max_false * int(harmless.sum())))
    p = np.sort(prob[harmless])[::-1]
    return float(p[min(budget, len(p) - 1)]) + 1e-6 if len(p) else 0.5


def out_of_fold(d: Design, rows: np.ndarray, groups: np.ndarray, C: float) -> np.ndarray:
    """Probabilities for ``rows``, each from a model fitted on the other four of five folds of ``groups``."""
    oof = np.zeros(len(rows))
    for train, test in GroupKFold(n_splits=5).split(rows, d.y[rows], groups[rows]):
        oof[test] = predict(d, fit(d, rows[train], C), d.X[rows[test]])
    return oof


def family_threshold(d: Design, rows: np.ndarray, C: float, max_false: float) -> float:
    """The threshold that refuses at most ``max_false`` of the harmless prompts of families the model has
    not seen: set on out-of-fold probabilities of five folds that keep each family whole (GroupKFold).

    A threshold set on prompts of seen kinds refused up to 40% of an unseen kind of harmless question
    (look-alikes, victims asking for help); set this way it refuses at most a few percent of any."""
    return threshold_for(out_of_fold(d, rows, d.fams, C), d.y[rows], max_false)


def _left_out(d: Design, fam: str, C: float, max_false: float, threshold_on: str) -> tuple[np.ndarray, float]:
    """A family's probabilities from a model fitted without it, and the threshold set without it."""
    rest = np.flatnonzero(d.fams != fam)
    m = fit(d, rest, C)
    t = (family_threshold(d, rest, C, max_false) if threshold_on == "families"
         else threshold_for(predict(d, m, d.X[rest]), d.y[rest], max_false))
    return predict(d, m, d.X[d.fams == fam]), t


def check_shipped(index: Index, untouched: list[dict]) -> dict:
    """The shipped model through ``qa.guard.check`` with the engine's own vectors: its decisions on the
    held-back prompts and on every question set, and what a check costs (warm)."""
    from collections import Counter

    items = [(r["text"], r["refuse"], "prompts") for r in untouched if r["source"] == "prompts"]
    sets = [ROOT / "tests" / "eval" / f"{s}.jsonl" for s in GUARD_SETS]
    sets += sorted((ROOT / "tests" / "eval").glob("untouched*.jsonl"))  # reported, never fitted on
    items += [(it.question, it.kind == "abusive", "questions") for path in sets for it in load_items(path)]
    by_name = _vectors(index, [t for t, _, _ in items])
    vecs = [{n: v[i] for n, v in by_name.items()} for i in range(len(items))]
    guard.check(items[0][0], vecs[0])  # loads the model
    counts, ms = Counter(), []
    for (text, label, source), v in zip(items, vecs):
        t0 = time.perf_counter()
        counts[(source, label, guard.check(text, v).refused)] += 1
        ms.append(1000 * (time.perf_counter() - t0))
    out = {f"{source}: {'abusive refused' if label else 'legitimate refused'}":
           f"{counts[(source, label, True)]}/{counts[(source, label, True)] + counts[(source, label, False)]}"
           for source in ("prompts", "questions") for label in (True, False)}
    out["check_ms_p50_p95"] = [round(float(np.percentile(ms, 50)), 2), round(float(np.percentile(ms, 95)), 2)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--C", type=float, default=4.0)
    ap.add_argument("--max-false-refusal", type=float, default=0.03)
    ap.add_argument("--threshold-on", choices=("families", "prompts"), default="families",
                    help="set the threshold on folds that keep families whole (default) or, as before, on the "
                         "fitted prompts themselves (for comparison)")
    ap.add_argument("--shipped", action="store_true",
                    help="only check the shipped model through qa.guard.check: held-back prompts, question sets, cost")
    ap.add_argument("--no-neighbours", action="store_true",
                    help="leave the neighbour margin out (the linear model alone, for comparison)")
    ap.add_argument("--unremembered", nargs="*", default=(), metavar="FILE",
                    help="more corpus files to fit on whose prompts the neighbour margin never remembers "
                         "(e.g. minimal pairs: base8.jsonl augmented8.jsonl)")
    ap.add_argument("--jobs", type=int, default=2, help="families fitted at once")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write", action="store_true", help=f"write {guard_model.MODEL_PATH.relative_to(ROOT)}")
    a = ap.parse_args(argv)

    store = ROOT / "bench" / "out" / "seeds-store"
    build([ROOT / "seeds"], store, IndexSettings())
    index = Index(store)
    rows, untouched = load_rows(tuple(a.unremembered))
    if a.shipped:
        print(json.dumps(check_shipped(index, untouched), indent=1))
        return 0
    y = np.array([r["refuse"] for r in rows], dtype=int)
    fams = np.array([r["family"] for r in rows])
    bases = np.array([r.get("base", f"row{i}") for i, r in enumerate(rows)])
    # remembered by the neighbour margin: written by hand (not derived by augment.py), not --unremembered
    hand = np.array([r.get("remember", True) for r in rows])
    # the patterns alone (guard.check would add the shipped model, fitted on these very rows)
    rules = np.array([guard.patterns(r["text"]).refused for r in rows])
    report: dict = {"rows": len(rows), "families": {}}
    shipped = {}
    for kind, use_vectors in (("full", True), ("text", False)):
        t0 = time.perf_counter()
        X, names = featurise(index, rows, use_vectors)
        Xu, _ = featurise(index, untouched, use_vectors)
        d = Design(X, y, fams, bases, hand, [e.dim for e in index.embedders] if use_vectors else [],
                   not a.no_neighbours)
        families = sorted(set(fams))
        left_out = Parallel(n_jobs=a.jobs)(delayed(_left_out)(d, fam, a.C, a.max_false_refusal, a.threshold_on)
                                           for fam in families)
        per_family = {}
        for fam, (p, t) in zip(families, left_out):
            test = fams == fam
            label = "refuse" if y[test].mean() > 0.5 else "allow"
            refused = decide(p, t, rules[test])
            per_family[fam] = {"label": label, "n": int(test.sum()), "refused": round(float(refused.mean()), 4),
                               "patterns_alone": round(float(rules[test].mean()), 4)}
        everything = np.arange(len(y))
        # new phrasings of known kinds: five folds, a prompt and its derivatives together
        oof5 = out_of_fold(d, everything, bases, a.C)
        fitted = fit(d, everything, a.C)
        m = fitted.lr
        threshold = (family_threshold(d, everything, a.C, a.max_false_refusal) if a.threshold_on == "families"
                     else threshold_for(oof5, y, a.max_false_refusal))
        report[f"{kind}_five_fold"] = {
            "recall": round(float(decide(oof5, threshold, rules)[y == 1].mean()), 4),
            "false_refusals": round(float(decide(oof5, threshold, rules)[y == 0].mean()), 4)}
        pu = predict(d, fitted, Xu)
        yu = np.array([r["refuse"] for r in untouched], dtype=int)
        rule = np.array([guard.patterns(r["text"]).refused for r in untouched])
        both = decide(pu, threshold, rule)
        report["families"][kind] = per_family
        src = np.array([r["source"] for r in untouched])
        for source in ("questions", "prompts"):
            s = src == source
            report[f"{kind}_untouched_{source}"] = {
                "abusive_refused": f"{int((both & s & (yu == 1)).sum())}/{int((s & (yu == 1)).sum())}",
                "legitimate_refused": f"{int((both & s & (yu == 0)).sum())}/{int((s & (yu == 0)).sum())}",
                "patterns_alone": f"{int((rule & s & (yu == 1)).sum())} abusive, "
                                  f"{int((rule & s & (yu == 0)).sum())} legitimate refused"}
        report[f"{kind}_threshold"] = round(threshold, 4)
        report[f"{kind}_seconds"] = round(time.perf_counter() - t0, 1)
        coef = m.coef_[0].astype(np.float32)
        shipped[f"{kind}_bias"] = np.float64(m.intercept_[0])
        shipped[f"{kind}_threshold"] = np.float64(threshold)
        shipped[f"{kind}_w_signals"] = coef[:N_SIG]
        shipped[f"{kind}_signal_names"] = np.array(guard.SIGNALS)
        off = N_SIG
        for i, dim in enumerate(d.dims):
            shipped[f"{kind}_w_vec_{i}"] = coef[off:off + dim]
            off += dim
        shipped[f"{kind}_w_ngrams"] = coef[off:off + guard_model.BUCKETS].astype(np.float16)
        if d.dims and d.neighbours:  # the remembered prompts as int8, and the margin's weight
            scale = guard_model.MEMORY_SCALE
            for i, v in enumerate(d.vectors(X[fitted.memory])):
                shipped[f"{kind}_memory_{i}"] = np.round(v * scale).clip(-scale, scale).astype(np.int8)
            shipped[f"{kind}_memory_refuse"] = y[fitted.memory].astype(bool)
            shipped[f"{kind}_w_neighbours"] = np.float64(coef[-1])
            shipped[f"{kind}_k"] = np.int64(guard_model.K)
        shipped[f"{kind}_vector_names"] = np.array(names, dtype=np.str_)
        if not a.json:
            print(f"\n== {kind} model ({'with' if use_vectors else 'without'} sentence vectors), threshold "
                  f"{threshold:.3f}, {report[f'{kind}_seconds']} s")
            for fam, r in per_family.items():
                what = "recall" if r["label"] == "refuse" else "false refusals"
                print(f"  {fam:32s} {r['label']:6s} n={r['n']:<5} {what}: {r['refused']:.3f} "
                      f"(patterns alone {r['patterns_alone']:.3f})")
            print(f"  five-fold (new phrasings of known kinds): {report[f'{kind}_five_fold']}")
            print(f"  tests/eval/untouched.jsonl: {report[f'{kind}_untouched_questions']}")
            print(f"  guard_corpus/untouched.jsonl: {report[f'{kind}_untouched_prompts']}")
    if a.json:
        print(json.dumps(report, indent=1))
    if a.write:
        np.savez_compressed(guard_model.MODEL_PATH, **shipped)
        print(f"wrote {guard_model.MODEL_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
