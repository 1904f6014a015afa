"""Score the law finder against the gold list of citations written by reading the seeds.

    python bench/laws.py [--json] [--gold tests/data/laws_gold.jsonl] [--docs seeds]

A found mention matches a gold one when document, line, column and surface are
all equal (the span is exact). Laws are matched through their mentions: a found
law stands for the gold law most of its matched mentions belong to; a found law
with no matched mention is invented. Units are (law, article) and (law, any
locator: article, chapter or recital), as in tests/data/LAWS_GOLD.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def find(docs_dir: Path) -> dict[str, list]:
    """Every mention the finder reports in each file of ``docs_dir`` (by file name)."""
    from index.chunk import file_locator
    from index.clean import clean
    from index.laws import document_mentions
    from index.loaders import load

    out = {}
    for path in sorted(docs_dir.iterdir()):
        if path.suffix not in (".txt", ".md", ".pdf"):
            continue
        raw = load(path, path.name)
        cd = clean(raw.pages, raw.front_matter)
        mentions, _laws = document_mentions(cd.text, "", file_locator(raw.pages, raw.body_line, raw.front_matter,
                                                                      cd.raw_position))
        out[path.name] = mentions
    return out


def _locator(rec) -> str | None:
    get = rec.get if isinstance(rec, dict) else (lambda k: getattr(rec, k, None))
    if get("article"):
        return "art " + str(get("article"))
    if get("recital") is not None:
        return "recital " + str(get("recital"))
    if get("chapter"):
        return "ch " + str(get("chapter"))
    return None


def score(found: dict[str, list], gold: list[dict]) -> dict:
    by_span = {(g["doc"], g["line"], g["col"], g["surface"]): g for g in gold}
    matched, extra = [], []
    for doc, mentions in found.items():
        for m in mentions:
            g = by_span.get((doc, m.line, m.col, m.surface))
            (matched.append((m, g)) if g else extra.append(m))
    votes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for m, g in matched:
        votes[m.law][g["law"]] += 1
    law_map = {f: c.most_common(1)[0][0] for f, c in votes.items()}
    found_laws = {m.law for ms in found.values() for m in ms}
    gold_laws = {g["law"] for g in gold}
    mapped = {law_map[f] for f in found_laws if f in law_map}
    invented = sorted(f for f in found_laws if f not in law_map)

    def units(pairs, article_only):
        return {(law, loc) for law, loc in pairs if loc and (not article_only or loc.startswith("art "))}

    gold_pairs = [(g["law"], _locator(g)) for g in gold]
    found_pairs = [(law_map.get(m.law, "?" + m.law), _locator(m)) for ms in found.values() for m in ms]
    out = {"gold_mentions": len(gold), "found_mentions": sum(len(v) for v in found.values()),
           "mentions_exact": len(matched), "laws_gold": len(gold_laws), "laws_found": len(found_laws),
           "laws_recall": len(mapped & gold_laws) / len(gold_laws),
           "laws_precision": (len(found_laws) - len(invented)) / max(1, len(found_laws)), "invented_laws": invented}
    for name, only in (("article_units", True), ("locator_units", False)):
        gu, fu = units(gold_pairs, only), units(found_pairs, only)
        out[name] = {"gold": len(gu), "found": len(fu), "recall": len(gu & fu) / max(1, len(gu)),
                     "precision": len(gu & fu) / max(1, len(fu)), "missed": sorted(map(str, gu - fu)),
                     "invented": sorted(map(str, fu - gu))}
    wrong_law = [(m.surface, m.law, g["law"]) for m, g in matched if law_map.get(m.law) != g["law"]]
    wrong_loc = [(m.surface, _locator(m), _locator(g)) for m, g in matched if _locator(m) != _locator(g)]
    out["wrong_law"] = wrong_law
    out["wrong_locator"] = wrong_loc
    seen = {(g["doc"], g["line"], g["col"]) for _m, g in matched}
    out["missed_mentions"] = [f'{g["doc"][:3]}:{g["line"]}:{g["col"]} {g["surface"]}' for g in gold
                              if (g["doc"], g["line"], g["col"]) not in seen]
    out["extra_mentions"] = [f"{m.line}:{m.col} {m.surface} -> {m.law}" for m in extra]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default=str(ROOT / "tests/data/laws_gold.jsonl"))
    ap.add_argument("--docs", default=str(ROOT / "seeds"))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    gold = [json.loads(line) for line in Path(a.gold).read_text(encoding="utf-8").splitlines() if line.strip()]
    res = score(find(Path(a.docs)), gold)
    if a.json:
        print(json.dumps(res, ensure_ascii=False, indent=1))
    else:
        for k, v in res.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
