"""What a "how many" question counts: the unit an answer's number must be a number of.

A number question names what it counts: 多少個國家 (countries), 幾件檢舉 (reports),
多少比例 (a share). A passage about the same subject nearly always holds *a*
number, so "the sentence holds a digit" (``qa.extract.type_match``) says little;
a sentence that answers holds a number *of that unit*: "196個國家", "近5,000條",
"15%的高中生". ``counted`` reads the unit from the folded question and returns a
pattern for the folded text of a sentence that gives such a number; the
abstention model reads whether any of the best few sentences holds one
(``qa.abstain``), because a near-topic question the documents do not answer
("how many countries ratified it?") is usually met by a sentence counting
something else.

Measure words that count the same things are one class (件, 條, 起, 則 and 筆
count reports and cases; 位, 名 and 人 count people). A question written
without Chinese counts in English what the documents count in Chinese: no
pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.textnorm import CJK, fold

_NUM = r"(?:\d[\d,.]*|[一二两三四五六七八九十百千万亿]+)"
# measure words that count the same kind of thing (folded, Simplified)
_SAME = ("件条起则笔", "位名人")
_MEASURES = "位名件张次项家条起所种篇份款则部国州人岁倍"
_ASKED = re.compile(rf"(?:多少|几)\s*(个|[{_MEASURES}]|成|%|比例|百分比)?\s*([\u4e00-\u9fff]{{0,2}})")
_SHARE = r"\d[\d.]*\s*%|百分之|[一二三四五六七八九]成|\d+(?:\.\d+)?\s*成"


@dataclass(frozen=True)
class Counted:
    """The unit a number question counts: ``said`` as written in the question, ``pattern`` for a sentence."""

    said: str
    pattern: str


def counted(folded: str, question: str) -> Counted | None:
    """The unit ``question`` (folded: ``folded``, Simplified and lower-case) asks a number of, or None."""
    if not CJK.search(folded):
        return None
    m = _ASKED.search(folded)
    if m is None:
        return None
    measure, noun = m.group(1) or "", m.group(2)
    share = measure in ("成", "%", "比例", "百分比") or noun.startswith("比例")
    end = m.end(1) if share and measure else m.end()
    said = question[m.start():end] if len(question) == len(folded) else folded[m.start():end]
    if share or "百分" in folded[max(0, m.start() - 3):m.end()]:
        return Counted(said, _SHARE)
    if measure and measure != "个":
        units = next((s for s in _SAME if measure in s), measure)
        # the number, then at most a few characters (近, 多, 餘, an adjective) before the measure word
        return Counted(said, rf"{_NUM}\s*(?:多|余)?\s*[^\d\s,，。]{{0,3}}?[{units}]")
    if noun:
        return Counted(said, rf"{_NUM}\s*(?:多|余)?\s*[^\d\s,，。]{{0,4}}?{re.escape(noun[0])}")
    return None


def asked_count(asks: str | None, folded: str, question: str, ask: str | None = None) -> Counted | None:
    """What a number question (``asks == "number"``) counts, read in ``ask``, the clause that asks when the
    question tells first (看到幾個學生 in the story is "a few students", not a question), else in the whole
    question (``folded``: its folded text)."""
    if asks != "number":
        return None
    return counted(folded.lower(), question) if ask is None else counted(fold(ask).lower(), ask)


def holds(c: Counted | None, folded_sentences: list[str]) -> float:
    """1.0 when one of the (folded) sentences gives a number of the counted unit (0.0 when nothing is counted)."""
    if c is None:
        return 0.0
    return 1.0 if any(re.search(c.pattern, s) for s in folded_sentences) else 0.0
