"""Legal citations in a document: every mention of a law, article, chapter, draft or interpretation.

``extract(text)`` reads a document's canonical text and returns one
``Mention`` per citation, with its exact span (``text[start:end]``), the law
it names (resolved through the reviewed lexicon in ``data/laws.json``, an
English gloss in brackets, or the context for 該法 / 本條 / a bare 第N條) and
its locator (article, paragraph, item, chapter, recital) written one way.

A law is found when the lexicon knows one of its names, when its name stands
in 《》 or 「」 and ends like a law (法, 條例, 公約, Act ...), or when an
article follows its name (某某法第3條). Locator grammar and numerals are in
``index.lawref``. Nothing here reads a store: ``index.build`` calls
``document_mentions`` and writes the result beside the chunks.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace

from index.lawnames import (
    _HAN,
    LawInfo,
    _Cand,
    _latin,
    _Lexicon,
    defined_names,
    document_names,
    lexicon,
    names_in,
)
from index.lawref import ARTICLE_NUMBER, LOCATOR, attach_locator, date_mentions

LAWS_VERSION = 1
# the store's side tables (``index.build``): every law cited, and every citation with its document
LAWS_TABLE, CITATIONS_TABLE = "laws", "citations"


@dataclass(frozen=True)
class Mention:
    """One citation in one document: ``text[start:end] == surface``."""

    start: int
    end: int
    surface: str
    law: str  # LawInfo.name
    kind: str  # law, article, chapter, draft, interpretation, convention, eu_act, us_law, executive_order
    article: str | None = None  # "319-4" for 第319條之4
    paragraph: int | None = None
    item: int | None = None
    item_label: str | None = None  # a lettered item: "(c)"
    chapter: str | None = None  # "28-1" for 第二十八章之一
    chapter_name: str | None = None
    recital: int | None = None
    dates: tuple[tuple[str, str], ...] = ()  # (what, as written): in_force, adopted, promulgated, revoked, amended, other
    anaphor: bool = False  # the law comes from context (該法, 本條, a bare 第N條)
    apposition: bool = False  # an English name in brackets right after the law's own name
    line: int = 0  # 1-based line of the original file (set by document_mentions)
    col: int = 0  # code-point offset of the mention in that line


_DEMONSTRATIVE = re.compile(r"(?:該|该|同|上開|上开|上述|前述|前揭)[項项]?(修正草案|草案|行政命令|施行細則|施行法|條例|条例|公約|公约|議定書|法案"
                            r"|規則|规则|細則|意見|函釋|函释|函(?![數数件授])|法(?![令律規规院人學学官]))"
                            r"|(?:本|該|该|同|前)[條条](?![例文件款項项])|本法(?![令律規规院人])"
                            r"|\b[Tt]he (Act|Convention|Regulation|Directive|Covenant|Treaty|Charter|Order)\b")
# what may stand right before a bare 第N條 that continues a citation: a word that joins (在第2條, 及第3條)
# or a verb that cites (增訂第1條之1, 修正第48條, 援引第2款, 持有第2條所界定); not a noun (計畫第4條)
_JOINERS = "在於于有依及與与和或並并即見见照按至暨同之如另又、中訂订正引明用反定列稱称謂谓述揭據据循查由經经自從从將将把對对就"
_NOT_LAW_OWNERS = ("校規", "校规", "條款", "条款", "章程", "契約", "契约", "合約", "合约", "協議", "协议", "守則", "守则",
                   "手冊", "手册", "須知", "须知", "要點", "要点", "規章", "规章", "工作規則", "工作规则", "this report")
_BARE_HEAD = re.compile(rf"(議定書|公約)(?=[ \u3000]*{ARTICLE_NUMBER}條)")
_CHAPTER_NAME = re.compile(r"「([^」\n]{2,20})」(?:章節|章)")


def _head_fits(head: str, law: str, info: LawInfo | None, kind: str) -> bool:
    names = (law, *(info.aliases if info else ()))
    if head == "行政命令":
        return (info.kind if info else "") == "executive_order"
    if head == "意見":
        return law.endswith("意見")
    if head == "修正草案":
        return kind == "draft"
    if head == "函釋":
        return kind == "interpretation"
    if head == "法案":
        return any(n.endswith(("法案", "法", "Act")) for n in names)
    if head.isascii():  # the Act, the Convention, the Regulation
        return any(re.search(rf"\b{head}\b", n) for n in (*names, info.en if info else ""))
    return any(n.endswith(head) for n in names)


def extract(text: str, title: str = "") -> tuple[list[Mention], dict[str, LawInfo]]:
    """The legal citations in ``text``, in order, and the laws they cite (by canonical name)."""
    lex = lexicon()
    laws: dict[str, LawInfo] = {}
    names = defined_names(text, document_names(text, names_in(text, lex)))
    infos: dict[str, LawInfo] = {c.law: c.info for c in names if c.info is not None}
    starts = [c.start for c in names]  # sorted and apart (names_in resolved their overlaps)

    def free(a: int, b: int) -> bool:
        i = bisect.bisect_right(starts, a) - 1
        return (i < 0 or names[i].end <= a) and (i + 1 >= len(names) or names[i + 1].start >= b)

    # context references: 該法, 本條, 議定書第3條, a bare 第N條, 「…」章節
    extra: list[_Cand] = []
    for m in _DEMONSTRATIVE.finditer(text):
        if free(m.start(), m.end()):
            head = m.group(1) or m.group(2) or ("條" if m.group(0).endswith(("條", "条")) else "法")
            head = {"条例": "條例", "公约": "公約", "规则": "規則", "函释": "函釋", "函": "函釋", "草案": "修正草案",
                    "Order": "行政命令"}.get(head, head)
            extra.append(_Cand(m.start(), m.end(), "", anaphor=True, extra={"head": head, "self": m.group(0)}))
    for m in _BARE_HEAD.finditer(text):
        if free(m.start(), m.end()):
            extra.append(_Cand(m.start(), m.end(), "", anaphor=True, extra={"head": m.group(1)}))
    for m in _CHAPTER_NAME.finditer(text):
        if free(m.start(), m.end()):
            extra.append(_Cand(m.start(), m.end(), "", anaphor=True, extra={"head": "章", "chapter_name": m.group(1)}))
    cands = sorted(names + extra, key=lambda c: c.start)

    mentions: list[Mention] = []
    pos = scanned = 0  # the end of the last mention; how far bare locators have been looked for
    for c in cands:
        if c.start < pos:
            continue
        # bare locators between the previous mention and this one (each stretch scanned once)
        mentions += _bare_locators(text, max(pos, scanned), c.start, mentions, lex, infos)
        scanned = max(scanned, c.start)
        m = attach_locator(text, c, mentions, lex, title, infos)
        if m is None:
            continue
        mentions.append(m)
        pos = m.end
    mentions += _bare_locators(text, max(pos, scanned), len(text), mentions, lex, infos)
    mentions = _appositions(text, mentions)
    for m in mentions:
        laws.setdefault(m.law, lex.laws.get(m.law) or infos.get(m.law) or _info_for(m))
    out = [replace(m, dates=date_mentions(text, m.start, m.end)) for m in mentions]
    return out, _with_aliases(laws, out)


def _info_for(m: Mention) -> LawInfo:
    return LawInfo(m.law, "", "TW" if re.search(_HAN, m.law) else "", "interpretation" if m.kind == "interpretation" else "law")


def _with_aliases(laws: dict[str, LawInfo], mentions: list[Mention]) -> dict[str, LawInfo]:
    """Each law with the names the document used for it added to its aliases."""
    used: dict[str, list[str]] = {}
    for m in mentions:
        if not m.anaphor and m.kind in ("law", "convention", "eu_act", "us_law", "executive_order", "interpretation") \
                and not m.article and not m.chapter and m.recital is None:
            for name in re.split(r"\s*[,，]\s*", m.surface.strip("「」《》")):
                if name != m.law and name not in used.setdefault(m.law, []):
                    used[m.law].append(name)
    return {k: replace(v, aliases=tuple(dict.fromkeys((*v.aliases, *used.get(k, ()))))) for k, v in laws.items()}


def _bare_locators(text: str, a: int, b: int, before: list[Mention], lex: _Lexicon,
                   infos: dict[str, LawInfo]) -> list[Mention]:
    """第N條 with no law's name before it: the law last cited (within a short distance)."""
    from index.lawref import match_en_locator, match_locator, number, resolve

    out: list[Mention] = []
    pos = a
    for m in LOCATOR.finditer(text, a, b):
        if m.start() < pos:
            continue
        if m.group(0).endswith(("項", "项", "款")):  # 第2款: of the article just cited
            prev = next((x for x in reversed([*before, *out]) if x.article and m.start() - x.end < 200), None)
            if prev is None:
                continue
            end = m.end()
            n = number(m.group(1))
            sub = {"paragraph": n} if not m.group(0).endswith("款") else {"paragraph": prev.paragraph, "item": n}
            out.append(Mention(m.start(), end, text[m.start():end], prev.law, prev.kind, article=prev.article,
                               anaphor=True, **sub))
            pos = end
            continue
        before_char = text[m.start() - 1] if m.start() else ""
        if (re.fullmatch(_HAN, before_char) and before_char not in _JOINERS) or _latin(before_char):
            continue  # 本中心服務流程第4條: an article of a name that was not read as a law's
        got = match_locator(text, m.start()) if m.group(0).startswith("第") else match_en_locator(text, m.start())
        if got is None or got[0] > b:
            continue
        if re.fullmatch(r"\s+(?:of\s+(?:the\s+)?)?", text[got[0]:b]) and b < len(text):
            continue  # Article 17 of the …, Art. 6 GDPR: read with the name that follows
        if re.match(r"\s+of\s", text[got[0]:got[0] + 4]):
            continue  # section 5 of this report: of something that is no law
        if text[max(0, m.start() - 4):m.start()].rstrip().endswith(_NOT_LAW_OWNERS):
            continue  # 校規第5條, 服務條款第5條: an article of something that is no law
        law = resolve(text, m.start(), [*before, *out], "", lex, infos)
        if law is None:
            continue
        end, loc = got
        out.append(Mention(m.start(), end, text[m.start():end], law[0], law[1], anaphor=True, **loc))
        pos = end
    return out


def _appositions(text: str, mentions: list[Mention]) -> list[Mention]:
    """An English name in brackets right after a law's own name is the same law (and one mention)."""
    out: list[Mention] = []
    i = 0
    while i < len(mentions):
        m = mentions[i]
        if out and not m.anaphor and re.fullmatch(r"[」》]?\s*[（(]\s*", text[out[-1].end:m.start]) \
                and not re.search(_HAN, m.surface):
            prev = out[-1]
            j = i
            end = m.end
            # the names inside one bracket: "Convention on the Rights of the Child, CRC"
            while j + 1 < len(mentions) and re.fullmatch(r"\s*[,，]\s*", text[end:mentions[j + 1].start]) \
                    and not re.search(_HAN, mentions[j + 1].surface):
                j += 1
                end = mentions[j].end
            out.append(Mention(m.start, end, text[m.start:end], prev.law, _foreign_kind(prev), apposition=True))
            i = j + 1
            continue
        out.append(m)
        i += 1
    return out


def _foreign_kind(m: Mention) -> str:
    return m.kind if m.kind not in ("article", "chapter", "draft") else "law"


def document_mentions(text: str, title: str, position) -> tuple[list[Mention], dict[str, LawInfo]]:
    """``extract`` with each mention's line and column in the original file.

    ``position(offset) -> (line, col)`` maps a canonical offset to the file.
    """
    mentions, laws = extract(text, title)
    located = []
    for m in mentions:
        line, col = position(m.start)
        located.append(replace(m, line=line, col=col))
    return located, laws

