"""The question sets the fitted models learn from (``tests/eval/NAME.jsonl``), named in one place.

The query adapters and the sentence scorer read their answerable questions; the abstention model and
the guard read them all. The untouched sets (``tests/eval/untouched*.jsonl``) are never fitted on.
pairs, short, school and voices were measured before anything was fitted on them (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse

FIT_SETS = ("dev", "en", "oos", "heldout", "paraphrase", "users", "plain", "law", "teachers", "pairs", "short", "school",
            "voices")


def refuse_untouched(ap: argparse.ArgumentParser, names) -> None:
    """Stop with a usage error when ``names`` holds a never-tuned set."""
    if any(name.startswith("untouched") for name in names):
        ap.error("the untouched sets (tests/eval/untouched*.jsonl) are never fitted on")
