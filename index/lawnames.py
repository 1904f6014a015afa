"""Where a document names a law: the lexicon, names in brackets, names before an article, English names.

``names(text)`` returns one candidate per place a law is named, longest name
first where names overlap; ``index.laws`` turns them into mentions.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from index.lawref import _HAN, ARTICLE_NUMBER, BODIES
from index.textnorm import to_simplified

_LEXICON = Path(__file__).with_name("data") / "laws.json"

_SUFFIX = r"(?:[條条]例|公[約约]|[議议]定[書书]|法案|[憲宪]章|[規规][則则]|[辦办]法|通[則则]|[準准][則则]|[規规][約约]|[協协]定|法)"
_EN_SUFFIX = r"(?:Act|Convention|Directive|Regulation|Charter|Protocol)"
_STOP = ("依據", "根據", "依照", "依循", "按照", "違反", "觸犯", "適用", "參照", "參考", "我國", "本國", "臺灣", "台灣",
         "現行", "新修正", "修正", "另", "並", "而", "且", "在", "於", "的", "即", "如", "以及", "或", "是", "為", "指",
         "由", "經", "將", "把", "對", "從", "中", "依", "按", "其", "與其", "後", "前", "提及", "所謂")
_WORDS_IN_FA = {"立法", "依法", "違法", "合法", "非法", "方法", "司法", "執法", "作法", "做法", "說法", "看法", "想法", "手法"}
_GENERIC_ENDS = ("工作規則", "服務條款", "使用條款", "自治條例", "相關法規", "法律")
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


@dataclass
class _Lexicon:
    laws: dict[str, LawInfo]
    names: list[tuple[str, str]]  # (surface, law name), longest first
    patterns: list[tuple[re.Pattern, str]]
    names_re: re.Pattern  # every name, longest first
    by_name: dict[str, str]  # name -> law
    by_folded: dict[str, str]  # casefolded name -> law


@functools.lru_cache(maxsize=1)
def lexicon() -> _Lexicon:
    data = json.loads(_LEXICON.read_text(encoding="utf-8"))
    laws, names, patterns = {}, [], []
    for rec in data["laws"]:
        info = LawInfo(rec["name"], rec.get("en", ""), rec["jurisdiction"], rec.get("kind", "law"),
                       tuple(rec.get("aliases", ())), tuple(sorted(rec.get("chapters", {}).items())))
        laws[info.name] = info
        english = re.sub(r"\s*\(.*\)$", "", info.en)  # the English name without its gloss
        for n in dict.fromkeys((info.name, *info.aliases, *([english] if len(english) > 6 else []))):
            names.append((n, info.name))
            simplified = to_simplified(n)  # a Simplified text names the same law
            if simplified != n:
                names.append((simplified, info.name))
        patterns += [(re.compile(p), info.name) for p in rec.get("patterns", ())]
    names.sort(key=lambda p: -len(p[0]))
    by_name = dict(reversed(names))
    by_folded = {n.casefold(): law for n, law in reversed(names)}
    return _Lexicon(laws, names, patterns, re.compile("|".join(re.escape(n) for n, _ in names)), by_name, by_folded)


def _latin(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _bounded(text: str, a: int, b: int) -> bool:
    """A Latin name must not be part of a longer word."""
    s = text[a:b]
    if _latin(s[0]) and a > 0 and _latin(text[a - 1]):
        return False
    return not (_latin(s[-1]) and b < len(text) and _latin(text[b]))


def _jurisdiction(name: str, before: str) -> str:
    for key, j in (("歐盟", "EU"), ("European Union", "EU"), ("(EU)", "EU"), ("EU ", "EU"), ("美國", "US"), ("聯合國", "UN"),
                   ("United States", "US"), ("U.S.", "US"), ("US ", "US"), ("United Nations", "UN"), ("英國", "UK"),
                   ("UK ", "UK"), ("United Kingdom", "UK"), ("U.K.", "UK")):
        if key in name or key in before[-6:]:
            return j
    return "TW" if re.search(_HAN, name) else ""


_REGIONAL = re.compile(r"(?:歐盟|美國|聯合國)(?:[^\W\d_的之與和及、在是為對於將把]{1,10}?)(?:法案|法|指令|條例|公約|憲章)(?![律令規院人學官制部庭界務])")


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


# characters that begin a clause, hardly ever a law's name
_LEAD = "惟若須雖但則故亦又均皆仍尚已應得縱即乃係不該同本此各"


_ARTICLE_AHEAD = re.compile(rf"{ARTICLE_NUMBER}[條条章]")
_NAME_BEHIND = re.compile(rf"({_HAN}{{2,30}}?{_SUFFIX})\Z")


def _trim_left(name: str) -> str:
    """Cut the words before a law's name off a run of ideographs: 另依據我國某某法 -> 某某法."""
    cut = 0
    for stop in (*_STOP, *_LEAD):
        i = name.rfind(stop, 0, len(name) - 2)
        if i >= 0:
            cut = max(cut, i + len(stop))
    return name[cut:]


def _not_a_name(name: str) -> bool:
    """Words that end like a law but name none: 立法, 工作規則, 該法, 同條例."""
    return (len(name) < 3 or name in _NOT_NAMES or name[-2:] in _WORDS_IN_FA or name.endswith(_GENERIC_ENDS)
            or bool(re.search(rf"[該该同本此][項项]?{_SUFFIX}$", name)))


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


def names_in(text: str, lex: _Lexicon) -> list[_Cand]:
    """Every place a law is named, longest name first where names overlap."""
    cands: list[_Cand] = []
    for m in lex.names_re.finditer(text):  # one pass; at each place the longest name
        if _bounded(text, m.start(), m.end()):
            cands.append(_Cand(m.start(), m.end(), lex.by_name[m.group(0)]))
    for pat, law in lex.patterns:
        cands += [_Cand(m.start(), m.end(), law) for m in pat.finditer(text)]
    cands += _fuzzy(text, lex)
    for c in list(cands):  # a known law's enforcement rules are a law of their own
        rules = re.match(r"施行細則", text[c.end:c.end + 4])
        if rules and c.info is None:
            name = lex.laws[c.law].name + "施行細則" if c.law in lex.laws else c.law + "施行細則"
            info = lex.laws.get(c.law)
            cands.append(_Cand(c.start, c.end + 4, name, LawInfo(name, (info.en + " Enforcement Rules") if info else "",
                                                                  info.jurisdiction if info else "TW", "law")))
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
        if any(name.endswith(s) for s, _law in lex.names) or re.search("制定|通過|提出|推出|頒布|修正|公布", name) \
                or name[-2:] in _WORDS_IN_FA:
            continue
        j = _jurisdiction(name, "")
        cands.append(_Cand(m.start(), m.end(), name, LawInfo(name, "", j, _kind_of(name, j))))
    # a name right before an article: 某某法第3條
    for art in _ARTICLE_AHEAD.finditer(text):  # found from the article back: cheap on long texts
        end = len(text[:art.start()].rstrip(" \u3000")) if art.start() else 0
        if end and text[end - 1] in "）)":  # a gloss between the name and the article
            opened = max(text.rfind("（", max(0, end - 62), end), text.rfind("(", max(0, end - 62), end))
            end = opened if opened >= 0 else end
        m = _NAME_BEHIND.search(text, max(0, end - 32), end)
        if m is None:
            continue
        name = _trim_left(m.group(1)).lstrip("條項款章之與和及")
        known = next((s for s, _law in lex.names if name.endswith(s)), None)
        if known or _not_a_name(name):
            continue  # a known name is found as such
        a = m.end(1) - len(name)
        j = _jurisdiction(name, text[max(0, a - 6):a])
        cands.append(_Cand(a, m.end(1), name, LawInfo(name, "", j, _kind_of(name, j))))
    # English names: ... Act (of 2022), Executive Order 14110, Regulation (EU) 2016/679, 18 U.S.C. § 2256
    word = r"(?:[A-Z][A-Za-z'’.-]*|of|the|and|on|for|to|in|against)"
    for m in re.finditer(rf"\b[A-Z][A-Za-z'’.-]*(?: {word}){{0,8}} Act(?: of \d{{4}}| \d{{4}})?\b", text):
        surface = m.group(0)
        if " the " in surface:  # Under the Online Safety Act 2023: the name starts after 'the'
            surface = surface[surface.rindex(" the ") + 5:]
        surface = re.sub(r"^(?:The|This|That|Under|Pursuant|In|By|With|From|See|Compare|Per|As|And|Or|If|When|"
                         r"While|Since|Because|Although|Both|Neither|Either) (?=[A-Z])", "", surface)
        a = m.end() - len(surface)
        name = re.sub(r"^(?:UK|U\.K\.|US|U\.S\.|EU) ", "", surface)  # UK Online Safety Act 2023 = Online Safety Act 2023
        j = _jurisdiction(surface, text[max(0, a - 20):a]) or ("UK" if re.search(r"Act \d{4}$", name) else "")
        known = lex.by_folded.get(name.casefold())  # Take It Down Act = TAKE IT DOWN Act
        cands.append(_Cand(a, m.end(), known or name, None if known else LawInfo(name, "", j, _kind_of(name, j))))
    # the United States Code: 47 U.S.C. § 230(c)(1) is section 230 of title 47
    for m in re.finditer(r"\b(\d+) U\.S\.C\.(?= ?§)", text):
        name = f"{m.group(1)} U.S.C."
        cands.append(_Cand(m.start(), m.end(), name, LawInfo(name, f"United States Code, Title {m.group(1)}", "US", "us_law")))
    for m in re.finditer(r"(?:Executive Order (?:No\. ?)?|E\.O\. ?|第\s*)(\d{4,6})(?:\s*號行政命令)?", text):
        if m.group(0).startswith("第") and not m.group(0).endswith("行政命令"):
            continue
        name = f"第{m.group(1)}號行政命令"
        info = None if name in lex.laws else LawInfo(name, f"Executive Order {m.group(1)}", "US", "executive_order")
        end = m.end()
        title = re.match(r"\s*[—–-]+\s*「[^」\n]{2,60}」", text[end:])
        cands.append(_Cand(m.start(), end + (title.end() if title else 0), name, info))
    for m in re.finditer(r"(?:Regulation|Directive) \(EU\) \d{4}/\d+", text):
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
    for m in re.finditer(r"(?:司法院)?釋字第\s*(\d+)\s*號(?:解釋)?", text):
        name = f"司法院釋字第{m.group(1)}號解釋"
        cands.append(_Cand(m.start(), m.end(), name, LawInfo(name, f"Judicial Yuan Interpretation No. {m.group(1)}", "TW",
                                                              "interpretation"), kind="interpretation"))
    code = rf"(?:(?![日月年發发布於于以之的經经依]){_HAN}){{1,4}}(?:[（(][一二三四五六七八九十][)）])?"
    for m in re.finditer(rf"(?<![該该開开述揭])(?:{code}字第\s*\d+\s*[號号])?(?:行政)?函[釋释]|(?<![該该])解[釋释]函|(?<![該该])解[釋释]令",
                         text):
        if re.search(r"[非無未]$", text[max(0, m.start() - 2):m.start()]):
            continue  # 亦非函釋: said of something that is not one
        sent = text[max(0, m.start() - 120):m.start()]
        sent = re.split(r"[。；\n]", sent)[-1]
        body = min(((sent.find(b), b) for b in BODIES if b in sent), default=(0, ""))[1]
        cands.append(_Cand(m.start(), m.end(), f"{body}函釋" if body else "", None, kind="interpretation",
                           anaphor=not body, extra={"head": "interpretation"}))
    return _resolve_overlaps(cands)


_DEFINES = re.compile(r"[」》]?[ \u3000]*[（(]([^（）()\n]{0,80})[)）]")
_SHORT = re.compile(r"(?:以下|下)?簡稱「?([^」）)，,、\s]{2,12})」?|^(?:.*[,，]\s*)?([A-Z][A-Za-z]{1,7})\s*$")


def document_names(text: str, cands: list[_Cand]) -> list[_Cand]:
    """A law the document once names in brackets or before an article is found wherever else it names it.

    (空氣污染防制法第24條 ... 另受空氣污染防制法規範: the second is the same law, named alone.)
    """
    out = list(cands)
    seen = {c.law: c for c in cands if c.info is not None and c.info.kind != "interpretation"
            and (len(c.law) >= 4 if re.search(_HAN, c.law) else " " in c.law)}
    for name, c in seen.items():
        for m in re.finditer(re.escape(name), text):
            if _bounded(text, m.start(), m.end()):
                out.append(_Cand(m.start(), m.end(), c.law, c.info))
    return _resolve_overlaps(out)


def defined_names(text: str, cands: list[_Cand]) -> list[_Cand]:
    """Names a document defines for a law it names: （以下簡稱處罰條例）, (Personal Data Protection Act, PDPA).

    Every later use of the defined name is a candidate for the same law.
    """
    out = list(cands)
    for c in cands:
        m = _DEFINES.match(text, c.end)
        short = _SHORT.search(m.group(1)) if m and c.law else None
        if not short:
            continue
        alias = short.group(1) or short.group(2)
        ends: set[int] = set()
        for hit in re.finditer(re.escape(alias), text[m.start(1):]):
            a = m.start(1) + hit.start()
            if _latin(alias[0]) and not _bounded(text, a, a + len(alias)):
                continue
            ends.add(a + len(alias))
            out.append(_Cand(a, a + len(alias), c.law, c.info))
        # 若同時該當處罰條例: the defined name, not an unknown longer run ending in it
        out = [x for x in out if not (x.end in ends and x.info is not None and x.law != c.law
                                      and x.end - x.start > len(alias))]
    return _resolve_overlaps(out)


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

