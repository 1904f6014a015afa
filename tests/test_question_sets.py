"""Every question set in tests/eval/ is in the dev format, and every gold span is in the seed it cites."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETS = sorted((ROOT / "tests" / "eval").glob("*.jsonl"))
KINDS = {"fact", "definition", "law", "paraphrase", "crosslingual", "out_of_scope", "abusive"}
_WS = re.compile(r"\s+")


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.stem)
def test_a_question_set_is_in_the_dev_format_and_its_spans_are_in_the_seeds(path):
    seeds = {p.name: _WS.sub("", p.read_text("utf-8")) for p in (ROOT / "seeds").iterdir() if p.is_file()}
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    assert rows
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["kind"] in KINDS and r["lang"] in {"zh-TW", "zh-CN", "en"} and r["question"].strip(), r["id"]
        if r["kind"] in {"out_of_scope", "abusive"}:
            assert not r["answers"], r["id"]
            continue
        assert r["answers"] and r["doc"] in seeds, r["id"]
        for span in r["answers"]:
            assert _WS.sub("", span) in seeds[r["doc"]], (r["id"], span)
