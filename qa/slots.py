"""What a number, a length of time or a date question asks its answer to hold: the slot a quote must fill.

A number question names what it counts: 多少個國家 (countries), 幾件檢舉
(reports), 多少比例 (a share). A passage about the same subject nearly always
holds *a* number, so "the sentence holds a digit" (``qa.extract.type_match``)
says little; a sentence that answers holds a number *of that unit*:
"近5,000條", "15%的高中生". Measure words that count the same things are one
class (件, 條, 起, 則 and 筆 count reports and cases; 位, 名 and 人 count
people).

A question may ask how long (多久, 幾小時內通報, 判幾年): a sentence that
answers holds a length of time (24小時, 數秒, 5年以下), which a date such as
2023年 or 民國113年 is not. Near-topic questions often ask one the documents
never give (a reporting deadline, a sentence's length).

A date question asks when something happened: 是哪一年成立的, 什麼時候開會決定的.
A passage about the subject nearly always holds a year; a sentence that
answers holds a date *and* what happened (成立, 決定: the question's verbs,
by jieba's tags).

``slot`` reads the clause that asks, which ``qa.query.analyse`` hands it
(看到幾個學生 in a story told first is "a few students", not a question), and
returns a ``Slot`` whose ``pattern`` matches the folded text of a sentence
that fills it; the abstention model reads whether any of the best few
sentences does (``qa.abstain``): a
near-topic question the documents do not answer ("how many countries
ratified it?", "which year was it founded?") is usually met by a sentence
giving a number or a year of something else. A question written without
Chinese asks in English what the documents say in Chinese: no slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.textnorm import CJK

_NUM = r"(?:\d[\d,.]*|[一二两三四五六七八九十百千万亿]+)"
# what may stand between a number and what it counts (近, 多, 餘, an adjective, 的): not a year's 年 or a
# month's 月 (2023年的兒少 is no count of children)
_GAP = r"[^\d\s,，。年月]"
# measure words that count the same kind of thing (folded, Simplified)
_SAME = ("件条起则笔", "位名人")
_MEASURES = "位名件张次项家条起所种篇份款则部国州人岁倍"
# 幾 after 這/那/前/過/好/的 is "these few", "several", "the few" (好幾個人, 作者總結的幾個特性), not a question
_ASKED = re.compile(rf"(?:多少|(?<![这那前过好的])几)\s*(个|[{_MEASURES}]|成|%|比例|百分比)?\s*([\u4e00-\u9fff]{{0,2}})")
# what follows 多少 that is no noun of what is counted: a particle, an adverb (增加多少嗎, 多少就夠), or a
# unit of time (幾年之間增加了多少: a length of time is ``lasting``'s)
_NOT_NOUN = "吗呢吧啊呀了的就才都也还是在和与或年月日天号"
# nouns of people: counted by 位, 名 and 人, or said of 兒童 / 兒少, as well as by the noun (多少孩子 is answered
# by 3億名兒童 and 超過3億的兒少)
_PEOPLE = ("孩", "儿", "学生", "未成年", "少年", "青少年", "女", "男", "受害", "被害", "民众", "家长", "老师", "教师",
           "用户", "网友", "成人", "人")
# a share held: 15%, 百分之三, 三成 (read by qa.constraints for a rate too)
SHARE = r"\d[\d.]*\s*%|百分之|[一二三四五六七八九]成|\d+(?:\.\d+)?\s*成"
_DATE = r"(?:19|20)\d{2}|\d{2,3}\s*年|\d{1,2}\s*月|\d{1,2}\s*日"
_AFTER_WHEN = re.compile(r"(?:什么时候|何时|哪一?年|哪一?天|哪一?个?月|几月几[日号]|几号)(?:要|才|就|被|会|开始)?([\u4e00-\u9fff]{2})")
# a length of time asked (多久, 幾小時內, 判幾年): not 這幾年 / 前幾天 (some years, a few days ago), not 幾年級,
# not 西元幾年 / 民國幾年 (a date), not 幾秒就能 / 幾年來 / 幾年之間 (in a few seconds, over the last few years)
_LASTS = re.compile(r"多久|多长(?:的)?时间|(?<![这那前过哪元国])(?:几|多少)\s*(?:年(?![级代])|个月|周|个?星期|天|个?小时|"
                    r"分钟|秒)(?:以内|之内|内|以下|以上)?(?![就便都即来间]|之间)")
# a length of time held: 17小時, 數秒, 6個月, 5年以下, 維持了149年 (not a year: 2024年, 民國113年, 於113年,
# 113年7月)
_LENGTH = (r"(?:(?<![\d.])\d{1,3}(?:\.\d+)?|[一二两三四五六七八九十百半数几]+)\s*(?:多|余)?\s*"
           r"(?:个?小时|分钟|秒|天|周|个?星期|个多?月|多个月|个?世纪)"
           r"|(?<![\d.])\d{1,2}\s*(?:多|余)?年(?![\d级代度])"
           r"|(?<![\d.于在自至到从国(（])\d{3}\s*(?:多|余)?年(?![\d级代度初底起间])(?!\s*\d{1,2}\s*月)"
           r"|[一二两三四五六七八九十百千万半数几]+\s*(?:多|余)?年(?![级代度])")
# verbs that say nothing of what happened (folded)
_PLAIN_VERBS = frozenset("是 有 在 要 会 能 可以 说 让 做 被 用 看 叫 开始 进行 到 为 成为 出现 有没有 是不是 会不会 能不能"
                         .split())


@dataclass(frozen=True)
class Slot:
    """What an answer must hold: ``kind`` (``number``, ``duration`` or ``date``), ``said`` (shown when no
    quote holds it) and ``pattern`` (for the folded text of a sentence)."""

    kind: str
    said: str
    pattern: str


def _as_written(question: str, folded: str, start: int, end: int) -> str:
    """``folded[start:end]`` as ``question`` writes it, where folding kept every offset."""
    return question[start:end] if len(question) == len(folded) else folded[start:end]


def counted(folded: str, question: str) -> Slot | None:
    """The unit ``question`` (folded: ``folded``) asks a number of, or None."""
    if not CJK.search(folded):
        return None
    m = _ASKED.search(folded)
    if m is None:
        return None
    measure, noun = m.group(1) or "", m.group(2)
    share = measure in ("成", "%", "比例", "百分比") or noun.startswith("比例")
    end = m.end(1) if share and measure else m.end()
    said = _as_written(question, folded, m.start(), end)
    if share or "百分" in folded[max(0, m.start() - 3):m.end()]:
        return Slot("number", said, SHARE)
    if measure and measure != "个":
        units = next((s for s in _SAME if measure in s), measure)
        # the number, then at most a few characters (近, 多, 餘, an adjective) before the measure word
        return Slot("number", said, rf"{_NUM}\s*(?:多|余)?\s*{_GAP}{{0,3}}?[{units}]")
    if noun and noun[0] not in _NOT_NOUN:
        people = any(p.startswith(noun) or noun.startswith(p) for p in _PEOPLE)  # 多少未成(年人)
        unit = "[位名人]|儿|" + re.escape(noun[0]) if people else re.escape(noun[0])  # 3億名兒童, 3億的兒少
        return Slot("number", said, rf"{_NUM}\s*(?:多|余)?\s*{_GAP}{{0,4}}?(?:{unit})")
    return None


def lasting(folded: str, question: str) -> Slot | None:
    """The length of time ``question`` (folded: ``folded``) asks (多久, 幾小時內, 判幾年), or None."""
    m = _LASTS.search(folded) if CJK.search(folded) else None
    return Slot("duration", _as_written(question, folded, m.start(), m.end()), _LENGTH) if m else None


def dated(folded: str, question: str) -> Slot | None:
    """What a date question (folded: ``folded``) asks the date of, as its verbs, or None."""
    if not CJK.search(folded):
        return None
    import rjieba  # 0.1 s to import, paid once (``qa.answerer.warm_up``)

    # the two characters after the asking word (什麼時候修正的, 哪一年成立的), and jieba's verbs
    asked = list(_AFTER_WHEN.finditer(folded))
    tagged, tokens, at = [], set(), 0
    for w, tag in rjieba.tag(folded):
        tokens.add((at, w))
        if tag.startswith("v") and len(w) >= 2 and w not in _PLAIN_VERBS:
            tagged.append((at, w))
        at += len(w)
    verbs = list(dict.fromkeys([m.group(1) for m in asked if m.group(1) not in _PLAIN_VERBS] + [w for _, w in tagged]))
    if not verbs:
        return None
    # shown: a word jieba found: the two characters after the asking word when they are one (什麼時候修正的),
    # else its first verb after the asking word (哪一天報行政院審查的: 審查, not 報行), else before it
    first = asked[0] if asked else None
    if first is not None and (first.start(1), first.group(1)) in tokens and first.group(1) not in _PLAIN_VERBS:
        tagged.insert(0, (first.start(1), first.group(1)))
    word = next(((i, w) for i, w in tagged if first is None or i >= first.start()), tagged[0] if tagged else None)
    if word is not None:
        said = _as_written(question, folded, word[0], word[0] + len(word[1])) + "的日期"
    else:  # the asking word itself (哪一天經立法院三讀通過: jieba finds no verb of two characters)
        said = _as_written(question, folded, first.start(), first.start(1))
    alternatives = "|".join(map(re.escape, verbs))
    return Slot("date", said, rf"(?s)^(?=.*(?:{_DATE}))(?=.*(?:{alternatives}))")


def slot(asks: str | None, folded: str, question: str) -> Slot | None:
    """What a question asks its answer to hold: a length of time whatever it asks for, else a number or a
    date (``asks``), read in ``question``: the clause that asks when the question tells first, else the
    whole question (``folded``: its folded text)."""
    duration = lasting(folded, question)
    if duration is not None:
        return duration
    if asks == "number":
        return counted(folded, question)
    return dated(folded, question) if asks == "date" else None


def holds(s: Slot | None, folded_sentences: list[str]) -> float:
    """1.0 when one of the (folded) sentences fills the slot (0.0 when there is none)."""
    if s is None:
        return 0.0
    return 1.0 if any(re.search(s.pattern, t) for t in folded_sentences) else 0.0
