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

import functools
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from index.lawref import BODIES, LOCATOR, date_mentions
from index.textnorm import IDEOGRAPHS

LAWS_VERSION = 1
_LEXICON = Path(__file__).with_name("data") / "laws.json"

_HAN = f"[{IDEOGRAPHS}]"
_SUFFIX = r"(?:條例|公約|議定書|法案|憲章|規則|辦法|通則|準則|規約|協定|法)"
_EN_SUFFIX = r"(?:Act|Convention|Directive|Regulation|Charter|Protocol)"
_STOP = ("依據", "根據", "依照", "依循", "按照", "違反", "觸犯", "適用", "參照", "參考", "我國", "本國", "臺灣", "台灣",
         "現行", "新修正", "修正", "另", "並", "而", "且", "在", "於", "的", "即", "如", "以及", "或", "是", "為", "指",
         "由", "經", "將", "把", "對", "從", "中", "依", "按", "其", "與其", "後", "前", "提及", "所謂")
_NOT_NAMES = {"本法", "該法", "此法", "同法", "立法", "依法", "違法", "合法", "非法", "方法", "辦法", "作法", "做法",
              "說法", "看法", "想法", "手法", "刑事法", "國際法", "法案", "條例", "公約", "議定書", "憲章", "規則"}


@dataclass(frozen=True)
class LawInfo:
    """One legal instrument: its canonical name and the names it goes by."""

    name: str
    en: str = ""
    jurisdiction: str = ""  # TW, UN, EU, US, or "" when the text does not tell
    kind: str = "law"  # law, convention, eu_act, us_law, executive_order, interpretation
    aliases: tuple[str, ...] = ()
    chapters: tuple[tuple[str, str], ...] = ()  # (number, title)


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


@dataclass
class _Lexicon:
    laws: dict[str, LawInfo]
    names: list[tuple[str, str]]  # (surface, law name), longest first
    patterns: list[tuple[re.Pattern, str]]


@functools.lru_cache(maxsize=1)
def lexicon() -> _Lexicon:
    data = json.loads(_LEXICON.read_text(encoding="utf-8"))
    laws, names, patterns = {}, [], []
    for rec in data["laws"]:
        info = LawInfo(rec["name"], rec.get("en", ""), rec["jurisdiction"], rec.get("kind", "law"),
                       tuple(rec.get("aliases", ())), tuple(sorted(rec.get("chapters", {}).items())))
        laws[info.name] = info
        names += [(n, info.name) for n in (info.name, *info.aliases)]
        patterns += [(re.compile(p), info.name) for p in rec.get("patterns", ())]
    names.sort(key=lambda p: -len(p[0]))
    return _Lexicon(laws, names, patterns)


def _latin(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _bounded(text: str, a: int, b: int) -> bool:
    """A Latin name must not be part of a longer word."""
    s = text[a:b]
    if _latin(s[0]) and a > 0 and _latin(text[a - 1]):
        return False
    return not (_latin(s[-1]) and b < len(text) and _latin(text[b]))


def _jurisdiction(name: str, before: str) -> str:
    for key, j in (("歐盟", "EU"), ("European Union", "EU"), ("(EU)", "EU"), ("美國", "US"), ("聯合國", "UN"),
                   ("United States", "US"), ("U.S.", "US"), ("United Nations", "UN")):
        if key in name or key in before[-6:]:
            return j
    return "TW" if re.search(_HAN, name) else ""


_REGIONAL = re.compile(rf"(?:歐盟|美國|聯合國)(?:[^\W\d_的之與和及、在是為對於將把]{{1,10}}?)(?:法案|法|指令|條例|公約|憲章)(?![律令規院人學官制部庭界務])")


def _kind_of(name: str, jurisdiction: str) -> str:
    if name.endswith(("行政命令",)) or name.startswith("Executive Order"):
        return "executive_order"
    if name.endswith(("公約", "議定書", "Convention", "Protocol")):
        return "convention"
    return {"EU": "eu_act", "US": "us_law", "UN": "convention"}.get(jurisdiction, "law")


@dataclass
class _Cand:
    start: int
    end: int
    law: str
    info: LawInfo | None = None  # for a law the lexicon does not know
    bracket_end: int = 0  # end of the closing bracket when the name stood in brackets
    kind: str = ""
    anaphor: bool = False
    extra: dict = field(default_factory=dict)


def _trim_left(name: str) -> str:
    """Cut the words before a law's name off a run of ideographs: 另依據我國某某法 -> 某某法."""
    cut = 0
    for stop in _STOP:
        i = name.rfind(stop, 0, len(name) - 2)
        if i >= 0:
            cut = max(cut, i + len(stop))
    return name[cut:]


def _fuzzy(text: str, lex: _Lexicon) -> list[_Cand]:
    """A known name written with one character wrong (兒少及少年… for 兒童及少年…)."""
    out = []
    for surface, law in lex.names:
        if len(surface) < 8 or not re.search(_HAN, surface):
            continue
        tail = surface[-2:]
        for m in re.finditer(re.escape(tail), text):
            a = m.end() - len(surface)
            window = text[a:m.end()]
            if a < 0 or window == surface or window[0] != surface[0]:
                continue
            if sum(x != y for x, y in zip(window, surface)) == 1 and re.fullmatch(f"{_HAN}+", window):
                out.append(_Cand(a, m.end(), law))
    return out


def _names(text: str, lex: _Lexicon) -> list[_Cand]:
    """Every place a law is named, longest name first where names overlap."""
    cands: list[_Cand] = []
    for surface, law in lex.names:
        for m in re.finditer(re.escape(surface), text):
            if _bounded(text, m.start(), m.end()):
                cands.append(_Cand(m.start(), m.end(), law))
    for pat, law in lex.patterns:
        cands += [_Cand(m.start(), m.end(), law) for m in pat.finditer(text)]
    cands += _fuzzy(text, lex)
    # names in brackets that end like a law
    for m in re.finditer(rf"[《「]([^《》「」\n，。；：？！]{{2,60}}?(?:{_SUFFIX}|{_EN_SUFFIX}))[》」]", text):
        name = re.sub(r"\s+", "", m.group(1)) if re.search(_HAN, m.group(1)) else m.group(1)
        if name in _NOT_NAMES:
            continue
        j = _jurisdiction(name, text[max(0, m.start() - 6):m.start()])
        cands.append(_Cand(m.start(1), m.end(1), name, LawInfo(name, "", j, _kind_of(name, j))))
    # a regional or foreign law named in passing: 歐盟版權法
    for m in _REGIONAL.finditer(text):
        name = m.group(0)
        if any(name.endswith(s) for s, _law in lex.names) or re.search("制定|通過|提出|推出|頒布|修正|公布", name):
            continue
        j = _jurisdiction(name, "")
        cands.append(_Cand(m.start(), m.end(), name, LawInfo(name, "", j, _kind_of(name, j))))
    # a name right before an article: 某某法第3條
    for m in re.finditer(rf"({_HAN}{{2,30}}?{_SUFFIX})(?=[ \u3000]*第[ \u3000]*[0-9零〇一二兩三四五六七八九十百千]+[ \u3000]*[條章])", text):
        name = _trim_left(m.group(1)).lstrip("條項款章之與和及")
        known = next((s for s, _law in lex.names if name.endswith(s)), None)
        if known or len(name) < 3 or name in _NOT_NAMES or name.startswith(("該", "本")):
            continue  # a known name is found as such
        a = m.end(1) - len(name)
        j = _jurisdiction(name, text[max(0, a - 6):a])
        cands.append(_Cand(a, m.end(1), name, LawInfo(name, "", j, _kind_of(name, j))))
    # English names: ... Act (of 2022), Executive Order 14110, Regulation (EU) 2016/679, 18 U.S.C. § 2256
    word = r"(?:[A-Z][A-Za-z'’.-]*|of|the|and|on|for|to|in|against)"
    for m in re.finditer(rf"\b[A-Z][A-Za-z'’.-]*(?: {word}){{0,8}} Act(?: of \d{{4}})?\b", text):
        name = re.sub(r"^(?:The|This|That) ", "", m.group(0))
        a = m.end() - len(name)
        j = _jurisdiction(name, text[max(0, a - 20):a])
        cands.append(_Cand(a, m.end(), name, LawInfo(name, "", j, _kind_of(name, j))))
    for m in re.finditer(r"(?:Executive Order (?:No\. ?)?|第\s*)(\d{4,6})(?:\s*號行政命令)?", text):
        if m.group(0).startswith("第") and not m.group(0).endswith("行政命令"):
            continue
        name = f"第{m.group(1)}號行政命令"
        info = None if name in lex.laws else LawInfo(name, f"Executive Order {m.group(1)}", "US", "executive_order")
        end = m.end()
        title = re.match(r"\s*[—–-]+\s*「[^」\n]{2,60}」", text[end:])
        cands.append(_Cand(m.start(), end + (title.end() if title else 0), name, info))
    for m in re.finditer(r"(?:Regulation|Directive) \(EU\) \d{4}/\d+|\d+ U\.S\.C\. §+ ?\d+[a-z]?", text):
        name = m.group(0)
        j = "EU" if "(EU)" in name else "US"
        known = next((law for s, law in lex.names if s == name), None)
        cands.append(_Cand(m.start(), m.end(), known or name, None if known else LawInfo(name, "", j, _kind_of(name, j))))
    # general comments of a treaty body: 兒童權利公約第25號一般性意見, General Comment No. 25
    for m in re.finditer(r"((?:兒童權利公約|CRC)\s*)?第\s*(\d+)\s*號一般性意見|General [Cc]omment No\. ?(\d+)", text):
        num = m.group(2) or m.group(3)
        name = f"兒童權利公約第{num}號一般性意見"
        cands.append(_Cand(m.start(), m.end(), name, LawInfo(name, f"CRC General Comment No. {num}", "UN", "interpretation"),
                           kind="interpretation", anaphor=not (m.group(1) or m.group(3))))
    # interpretive letters: 函釋, 行政函釋, 解釋函 (the issuing body named before them in the sentence)
    for m in re.finditer(r"(?:行政)?函釋|解釋函|解釋令", text):
        sent = text[max(0, m.start() - 120):m.start()]
        sent = re.split(r"[。；\n]", sent)[-1]
        body = min(((sent.find(b), b) for b in BODIES if b in sent), default=(0, ""))[1]
        cands.append(_Cand(m.start(), m.end(), f"{body}函釋" if body else "", None, kind="interpretation",
                           anaphor=not body, extra={"head": "interpretation"}))
    return _resolve_overlaps(cands)


def _resolve_overlaps(cands: list[_Cand]) -> list[_Cand]:
    cands.sort(key=lambda c: (c.start, -(c.end - c.start), c.info is not None))
    out: list[_Cand] = []
    for c in cands:
        if out and c.start < out[-1].end:
            if c.end - c.start > out[-1].end - out[-1].start and c.end > out[-1].end:
                out[-1] = c
            continue
        out.append(c)
    return out


_DEMONSTRATIVE = re.compile(r"該項?(修正草案|行政命令|條例|公約|議定書|法案|意見|函釋|法(?![令律規院人學官]))|本條(?![例文件款項])|本法(?![令律規院人])")
_BARE_HEAD = re.compile(r"(議定書|公約)(?=[ \u3000]*第[ \u3000]*[0-9零〇一二兩三四五六七八九十百千]+[ \u3000]*條)")
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
    return any(n.endswith(head) for n in names)


def extract(text: str, title: str = "") -> tuple[list[Mention], dict[str, LawInfo]]:
    """The legal citations in ``text``, in order, and the laws they cite (by canonical name)."""
    from index.lawref import attach_locator

    lex = lexicon()
    laws: dict[str, LawInfo] = {}
    names = _names(text, lex)
    infos: dict[str, LawInfo] = {c.law: c.info for c in names if c.info is not None}
    taken = [(c.start, c.end) for c in names]

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    # context references: 該法, 本條, 議定書第3條, a bare 第N條, 「…」章節
    extra: list[_Cand] = []
    for m in _DEMONSTRATIVE.finditer(text):
        if free(m.start(), m.end()):
            head = m.group(1) or ("條" if m.group(0) == "本條" else "法")
            extra.append(_Cand(m.start(), m.end(), "", anaphor=True, extra={"head": head, "self": m.group(0)}))
    for m in _BARE_HEAD.finditer(text):
        if free(m.start(), m.end()):
            extra.append(_Cand(m.start(), m.end(), "", anaphor=True, extra={"head": m.group(1)}))
    for m in _CHAPTER_NAME.finditer(text):
        if free(m.start(), m.end()):
            extra.append(_Cand(m.start(), m.end(), "", anaphor=True, extra={"head": "章", "chapter_name": m.group(1)}))
    cands = sorted(names + extra, key=lambda c: c.start)

    mentions: list[Mention] = []
    pos = 0
    for c in cands:
        if c.start < pos:
            continue
        # bare locators between the previous mention and this one
        mentions += _bare_locators(text, pos, c.start, mentions, lex, infos)
        m = attach_locator(text, c, mentions, lex, title, infos)
        if m is None:
            continue
        mentions.append(m)
        pos = m.end
    mentions += _bare_locators(text, pos, len(text), mentions, lex, infos)
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
    from index.lawref import match_locator, resolve

    out: list[Mention] = []
    pos = a
    for m in LOCATOR.finditer(text, a, b):
        got = match_locator(text, m.start())
        if m.start() < pos or got is None or got[0] > b:
            continue
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

