"""The question sets the fitted models learn from (``tests/eval/NAME.jsonl``), named in one place.

The query adapters and the sentence scorer read their answerable questions; the abstention model reads
them all, the guard all of ``GUARD_SETS``. The untouched sets (``tests/eval/untouched*.jsonl``) are
never fitted on. pairs, short, school and voices were measured before anything was fitted on them
(docs/BENCHMARKS.md); stories (questions that tell what happened before they ask) is measured and not yet
fitted on; so is english (questions in English only, by teachers, parents, social workers, researchers,
journalists and developers).
"""

from __future__ import annotations

import argparse

FIT_SETS = ("dev", "en", "oos", "heldout", "paraphrase", "users", "plain", "law", "teachers", "pairs", "short", "school",
            "voices")
# the guard's question-set rows: the named sets it was last fitted on. A refit with pairs, short, school and
# voices among them lost recall everywhere, with or without the rules' verdict among its features: left-out
# refuse families 0.664 -> 0.588, five folds 0.809 -> 0.673 (docs/BENCHMARKS.md); not shipped
GUARD_SETS = ("dev", "en", "oos", "heldout", "paraphrase", "users", "plain", "law", "teachers")


def refuse_untouched(ap: argparse.ArgumentParser, names) -> None:
    """Stop with a usage error when ``names`` holds a never-tuned set."""
    if any(name.startswith("untouched") for name in names):
        ap.error("the untouched sets (tests/eval/untouched*.jsonl) are never fitted on")
