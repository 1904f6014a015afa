"""Decide whether the documents answer a question: a calibrated abstention model.

The decision is a logistic model over retrieval evidence, fitted by
``bench/calibrate.py`` on question sets rather than set by hand: each question
set is answerable against its own corpus and out of scope against the other
(DRCD questions against the seeds, seed questions against DRCD), plus the
out-of-scope questions of the dev set. The fitted weights ship in
``qa/calibration.json`` together with the embedders they were fitted for; a
store built with other embedders falls back to the lexical features alone.

The threshold is set per script of the question (Chinese or other), each
so that at most a set share of that script's answerable questions is turned
away: cross-lingual questions have fewer, weaker signals, and one threshold
for both would be set by whichever script is most numerous.

Features (all computed by the normal pipeline, nothing hand-picked):
``coverage`` (idf-weighted share of the question's terms found in the best
passage), ``sentence_coverage`` (the same for the best sentence), ``dense_i``
(cosine of the best passage for each embedder), ``cjk`` (the question is
written in Chinese), ``cjk_coverage`` (their product: coverage means more
for Chinese questions, which share the documents' script),
``other_dense_i`` (``dense_i`` for questions not written in Chinese: a
cross-lingual cosine runs on another scale than a same-language one),
``ask_coverage`` (coverage of the clause that asks, for a question that
tells first), ``term_coverage`` and ``has_terms`` (the documents' terms for
the question's everyday words, ``qa.glossary``), ``type_match`` (the best
sentence holds what is asked for: a number, a date, an action...),
``typed``, ``story``, ``long``, ``margin`` (how far the best passage leads
the second), ``counted`` and ``counted_unmet`` (a number question names
what it counts, and none of the best three sentences gives a number of it),
``dated`` and ``dated_unmet`` (a date question, and none of them holds a
date with what it asks the date of: ``qa.slots``) and ``missing`` (a
constraint of the question no evidence meets; such a question is not
answered whatever the model says).
"""

from __future__ import annotations

import functools
import json
import logging
import math
from pathlib import Path

from qa.query import Query

log = logging.getLogger(__name__)

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")

# Used only when no fitted calibration matches the store's embedders.
_LEXICAL_FALLBACK = {"features": ["coverage", "sentence_coverage"], "weights": [6.0, 2.0],
                     "bias": -2.5, "threshold": 0.5}


def features(q: Query, coverage: float, sentence_coverage: float, dense: list[float], missing: int = 0,
             ask_coverage: float | None = None, term_coverage: float = 0.0, type_match: float = 0.0,
             margin: float = 0.0, slot_held: float = 0.0) -> dict[str, float]:
    """The model's inputs for one question (a pure function; see the module docstring)."""
    cjk = 1.0 if q.cjk else 0.0
    kind = q.slot.kind if q.slot is not None else None
    number = float(kind in ("number", "duration"))  # a length of time is a count of a unit of time
    date = float(kind == "date")
    f = {"coverage": coverage, "sentence_coverage": sentence_coverage, "cjk": cjk, "cjk_coverage": cjk * coverage,
         "missing": float(missing > 0), "story": float(q.tells_story),
         "ask_coverage": coverage if ask_coverage is None else ask_coverage,
         "term_coverage": term_coverage, "has_terms": float(bool(q.terms)), "type_match": type_match,
         "typed": float(q.asks is not None), "margin": margin, "long": min(len(q.text), 200) / 200.0,
         "counted": number, "counted_unmet": number * (1.0 - slot_held),
         "dated": date, "dated_unmet": date * (1.0 - slot_held)}
    for i, d in enumerate(dense):
        f[f"dense_{i}"] = float(d)
        f[f"other_dense_{i}"] = (1.0 - cjk) * float(d)
    return f


@functools.lru_cache(maxsize=8)
def _load(embedders: tuple[str, ...]) -> dict:
    try:
        data = json.loads(CALIBRATION_PATH.read_text("utf-8"))
    except (OSError, ValueError) as e:
        log.warning("no usable calibration at %s (%s); using the lexical fallback", CALIBRATION_PATH, e)
        return _LEXICAL_FALLBACK
    for model in data.get("models", []):
        if tuple(model.get("embedders", ())) == embedders:
            return model
    log.warning("no calibration fitted for embedders %s; using the lexical fallback", list(embedders))
    return _LEXICAL_FALLBACK


def confidence(feats: dict[str, float], embedders: tuple[str, ...]) -> tuple[float, float]:
    """(probability that the documents answer, threshold) for these features."""
    model = _load(embedders)
    z = model["bias"] + sum(w * feats.get(name, 0.0) for name, w in zip(model["features"], model["weights"]))
    p = 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))
    thresholds = model.get("thresholds", {})
    script = "cjk" if feats.get("cjk") else "other"
    return p, float(thresholds.get(script, model["threshold"]))
