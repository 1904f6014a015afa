"""Everyday words to the documents' terms: the reviewed glossary in ``qa/data/glossary.json``.

A teacher writes 假的裸照 where the documents say 不實性影像, 刪掉 where
they say 下架. ``lookup`` finds the everyday words of a question (longest
first, not overlapping, on folded text, so Traditional, Simplified and
full-width spellings all match) and returns, for each, the documents'
term and its variants. Retrieval adds those terms to the lexical query at
a weight (``RetrievalSettings.glossary_weight``), and the answer shows the
mapping, so a reader learns the word to search the law for. The glossary
was written from the documents outward, never from a question set
(``qa/data/GLOSSARY.md``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from index.textnorm import fold

GLOSSARY_PATH = Path(__file__).with_name("data") / "glossary.json"


@dataclass(frozen=True)
class Term:
    """An everyday word found in a question, and the documents' term for it."""

    said: str  # the word as the question has it
    term: str  # the documents' term, as they write it
    also: tuple[str, ...]  # other wordings of it in the documents
    spellings: tuple[str, ...] = ()  # the glossary's spellings of the everyday word (Traditional, Simplified)


@functools.lru_cache(maxsize=4)
def _load(path: Path = GLOSSARY_PATH) -> tuple[dict[str, list[str]] | None, dict[str, Term]]:
    try:
        entries = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None, {}
    table: dict[str, Term] = {}
    for e in entries:
        doc_words = {fold(w).lower() for w in [e["term"], *e.get("also", [])]}
        for words in e.get("lay", {}).values():
            for w in words:
                key = fold(w).lower()
                if len(key) < 2 or key in doc_words:
                    continue  # a lay word that is itself the documents' wording needs no mapping
                if key in table:
                    if table[key].term == e["term"] and w not in table[key].spellings:
                        table[key] = Term(key, e["term"], table[key].also, table[key].spellings + (w,))
                    continue
                table[key] = Term(key, e["term"], tuple(e.get("also", ())), (w,))
    if not table:
        return None, {}
    # the keys by their first two characters, longest first: one dictionary probe per position of the text
    heads: dict[str, list[str]] = {}
    for k in sorted(table, key=len, reverse=True):
        heads.setdefault(k[:2], []).append(k)
    return heads, table


def lookup(folded: str, question: str = "") -> tuple[Term, ...]:
    """The glossary's everyday words in ``folded`` (the folded ``question``), in order, each term once.

    ``Term.said`` is the word as ``question`` spells it when one of the
    glossary's spellings occurs there verbatim, else its folded form.
    """
    heads, table = _load()
    if heads is None:
        return ()
    out: list[Term] = []
    seen: set[str] = set()
    low = question.lower()
    text = folded.lower()
    i, n = 0, len(text)
    while i < n - 1:
        hit = None
        for k in heads.get(text[i:i + 2], ()):
            if text.startswith(k, i) and not (k.isascii() and _inside_word(text, i, i + len(k))):
                hit = k
                break
        if hit is None:
            i += 1
            continue
        t = table[hit]
        if t.term not in seen:
            seen.add(t.term)
            said = next((w for w in t.spellings if w.lower() in low), t.said)
            out.append(Term(said, t.term, t.also, t.spellings))
        i += len(hit)  # matches do not overlap
    return tuple(out)


def _inside_word(text: str, a: int, b: int) -> bool:
    """Whether ``text[a:b]`` (an English word) continues a longer word on either side."""
    return (a > 0 and "a" <= text[a - 1] <= "z") or (b < len(text) and "a" <= text[b] <= "z")
