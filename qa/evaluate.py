"""Evaluate answers on a question set in the dev-set format (``tests/eval/dev.jsonl``).

Each line: ``id``, ``question``, ``lang``, ``kind`` (fact, definition, law,
paraphrase, crosslingual: answerable; ``out_of_scope``; ``abusive``), ``doc``
and ``answers`` (gold spans). A quote or passage is a hit when, with all white
space removed from both, it contains any gold span.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import InvalidQuestion
from qa.answerer import AnswerSettings, answer_with, warm_up
from qa.retriever import Index

ANSWERABLE = {"fact", "definition", "law", "paraphrase", "crosslingual"}
_WS = re.compile(r"\s+")


def _squash(s: str) -> str:
    return _WS.sub("", s)


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    lang: str
    kind: str
    doc: str | None
    answers: tuple[str, ...]
    persona: str | None = None  # who asks (teacher, parent...), where the set names one


def load_items(path: str | Path) -> list[Item]:
    """Read a question set; raises InvalidQuestion naming the bad line."""
    items = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                items.append(Item(str(d["id"]), d["question"], d.get("lang", ""), d["kind"],
                                  d.get("doc"), tuple(d.get("answers") or ()), d.get("persona")))
            except (ValueError, KeyError, TypeError) as e:
                raise InvalidQuestion(f"{path}:{n}: not a question-set line ({e})") from e
    return items


def _contains(texts: list[str], answers: tuple[str, ...]) -> bool:
    gold = [_squash(a) for a in answers if _squash(a)]
    return any(g in _squash(t) for t in texts for g in gold)


def evaluate(index: Index, items: list[Item], settings: AnswerSettings = AnswerSettings()) -> dict:
    """Run every question through ``answer`` and summarise.

    Returns:
        A dict with ``n``, ``passage_hit_at_1``, ``passage_hit_at_5``,
        ``answer_hit_at_1``, ``answer_hit_at_3`` (over answerable questions),
        ``abstain_correct`` (share of out-of-scope questions answered
        ``not_found``), ``false_abstain`` (share of answerable ones answered
        ``not_found``), ``refuse_correct`` and ``false_refuse`` (the same for
        abusive questions and ``refused``), ``verbatim_violations`` (quotes
        that are not exact slices of their document; must be 0), ``p50_ms``,
        ``p95_ms`` (warm), ``by_kind`` and ``questions`` (one record each).
    """
    warm_up(index)  # latency is measured warm, as a running app answers
    rows, times = [], []
    for it in items:
        t = time.perf_counter()
        a = answer_with(index, it.question, settings)
        ms = (time.perf_counter() - t) * 1000.0
        times.append(ms)
        quotes = [q.text for q in a.quotes]
        violations = sum(1 for q in a.quotes if index.docs[q.passage.source].text[q.start:q.end] != q.text)
        violations += sum(1 for p in a.passages if index.docs[p.source].text[p.start:p.end] != p.text)
        rows.append({
            "id": it.id, "kind": it.kind, "lang": it.lang, "persona": it.persona, "question": it.question,
            "status": a.status,
            "confidence": round(a.confidence, 4),
            "answer_hit_at_1": _contains(quotes[:1], it.answers),
            "answer_hit_at_3": _contains(quotes[:3], it.answers),
            "passage_hit_at_1": _contains([p.text for p in a.passages[:1]], it.answers),
            "passage_hit_at_5": _contains([p.text for p in a.passages[:5]], it.answers),
            "missing": list(a.missing),
            "unmatched": list(a.unmatched),
            "top_quote": quotes[0] if quotes else None,
            "top_source": a.quotes[0].passage.source if a.quotes else (a.passages[0].source if a.passages else None),
            "verbatim_violations": violations,
            "ms": round(ms, 2),
        })

    out = summarise(rows)
    out.update({
        "p50_ms": round(float(np.percentile(times, 50)), 2) if times else None,
        "p95_ms": round(float(np.percentile(times, 95)), 2) if times else None,
    })
    out["by_kind"] = {
        k: {"n": sum(1 for r in rows if r["kind"] == k),
            "answer_hit_at_1": _share(rows, lambda r: r["answer_hit_at_1"], lambda r, k=k: r["kind"] == k),
            "status": {s: sum(1 for r in rows if r["kind"] == k and r["status"] == s)
                       for s in ("answered", "not_found", "refused")}}
        for k in sorted({r["kind"] for r in rows})
    }
    out["questions"] = rows
    return out


def _share(rows: list[dict], pred, among) -> float | None:
    sel = [r for r in rows if among(r)]
    return round(sum(1 for r in sel if pred(r)) / len(sel), 4) if sel else None


def summarise(rows: list[dict]) -> dict:
    """The figures of ``evaluate`` but latency, from its per-question rows (of one set or of several
    pooled)."""
    def share(pred, among) -> float | None:
        return _share(rows, pred, among)

    answerable = lambda r: r["kind"] in ANSWERABLE  # noqa: E731
    return {
        "n": len(rows),
        "n_answerable": sum(1 for r in rows if answerable(r)),
        "passage_hit_at_1": share(lambda r: r["passage_hit_at_1"], answerable),
        "passage_hit_at_5": share(lambda r: r["passage_hit_at_5"], answerable),
        "answer_hit_at_1": share(lambda r: r["answer_hit_at_1"], answerable),
        "answer_hit_at_3": share(lambda r: r["answer_hit_at_3"], answerable),
        "abstain_correct": share(lambda r: r["status"] == "not_found", lambda r: r["kind"] == "out_of_scope"),
        "false_abstain": share(lambda r: r["status"] == "not_found", answerable),
        # of the out-of-scope questions turned away, the share whose answer names what is missing: from the
        # documents, or (when every word is somewhere in them) from the closest passages
        "not_found_explained": share(lambda r: bool(r["missing"] or r["unmatched"]),
                                     lambda r: r["kind"] == "out_of_scope" and r["status"] == "not_found"),
        "refuse_correct": share(lambda r: r["status"] == "refused", lambda r: r["kind"] == "abusive"),
        "false_refuse": share(lambda r: r["status"] == "refused", lambda r: r["kind"] != "abusive"),
        "verbatim_violations": sum(r["verbatim_violations"] for r in rows),
    }
