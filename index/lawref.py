"""How articles are written, read one way: locators, numerals, dates, and a reference a person types.

The document side (``match_locator``, ``attach_locator``, ``resolve``,
``date_mentions``) serves ``index.laws``; ``parse_reference`` reads what a
user types (刑法319-4, 第三百十九條之四, § 319-4, Art. 3(60) of the AI Act)
into a law name and a locator, so both sides meet on the same ``key``.
"""

from __future__ import annotations

import re
import unicodedata

from index.textnorm import CN_NUM, IDEOGRAPHS, cn_to_int, to_simplified

_N = rf"[0-9]+|[{CN_NUM}]+"  # an article's number, in digits or Chinese
_SP = r"[ \u3000]*"
ARTICLE_NUMBER = rf"第{_SP}(?:{_N}){_SP}"  # 第 319 , 第三百十九 (before 條, 章, 項 ...)
_HAN = f"[{IDEOGRAPHS}]"
# a locator with no law's name before it: 第3條, 第28章, 第2款 (right after an article), Article 17, Art. 6(1), § 2710
LOCATOR = re.compile(rf"{ARTICLE_NUMBER}[條条章]|第{_SP}({_N}){_SP}[項项款](?=[「『，。、；：（(\s]|規定|规定|所|之|及|或|與|与|各|前段|後段)"
                     r"|\b(?:Article|Art\.|[Ss]ection)\s*[0-9]+|§{1,2}\s*[0-9]+")
_EN_LOCATOR = re.compile(r"[ \u3000]*(?:Article|Art\.|[Ss]ection|Sec\.|§{1,2})\s*([0-9]+[a-z]?)((?:\s*\(\s*[0-9a-z]+\s*\))*)")
_CHAPTER = re.compile(rf"{_SP}第{_SP}({_N}){_SP}章(?:{_SP}之{_SP}({_N}))?")
_CHAPTER_TITLE = re.compile(rf"({_HAN}{{1,8}}?)(?={_SP}{ARTICLE_NUMBER}條)")
_ARTICLE = re.compile(rf"{_SP}(序言)?{_SP}第{_SP}({_N}){_SP}[條条](?:{_SP}之{_SP}({_N}))?")
_PARAGRAPH = re.compile(rf"{_SP}第{_SP}({_N}){_SP}[項项]")
_ITEM = re.compile(rf"{_SP}(?:第{_SP}({_N})|第?{_SP}[（(]{_SP}([a-zA-Z]){_SP}[)）]){_SP}款?")
_POINT = re.compile(rf"{_SP}(?:定義)?{_SP}[（(]{_SP}([0-9]+|[a-z]){_SP}[)）]")
_DRAFT = re.compile(r"(?:部分條文)?(?:修正)?草案")
_EN_BEFORE = re.compile(r"(Recital|Article|Art\.|[Ss]ection|Sec\.|s\.|§)\s*([0-9]+[a-z]?)((?:\s*\(\s*[0-9a-z]+\s*\))*)\s+(?:of\s+(?:the\s+)?)?\Z")
_GLOSS = re.compile(r"[ \u3000]*[（(][^（）()\n]{1,80}[)）]")

BODIES = ("衛生福利部", "法務部", "教育部", "內政部", "數位發展部", "國家通訊傳播委員會", "通傳會", "行政院", "司法院",
          "立法院", "監察院", "考試院", "外交部", "經濟部", "文化部", "勞動部", "內政部警政署", "警政署", "社會及家庭署")

_DATE = r"(?:\d{4}|民國\s*\d{2,3})\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?|(?:同|本)年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?"
_DATE_KEYS = (("重新授權", "other"), ("生效", "in_force"), ("施行", "in_force"), ("批准", "adopted"), ("通過", "adopted"),
              ("簽署", "promulgated"), ("公布", "promulgated"), ("撤銷", "revoked"), ("廢止", "revoked"),
              ("新修正", "amended"), ("新修", "amended"), ("修正", "amended"))
_DATE_BEFORE = re.compile(rf"({_DATE})\s*({'|'.join(k for k, _ in _DATE_KEYS)})([^，。；,\n]{{0,12}})$")
_YEAR_AFTER = re.compile(r"\s*[,，]\s*(\d{4})\s*[)）]")


def number(s: str) -> int:
    return cn_to_int(unicodedata.normalize("NFKC", s))


def match_locator(text: str, p: int) -> tuple[int, dict] | None:
    """The locator written at ``text[p:]`` (第1章…第3條定義（60）, 第319條之4, 序言第28條), as (end, fields)."""
    loc: dict = {}
    i = p
    m = _CHAPTER.match(text, i)
    if m:
        loc["chapter"] = str(number(m.group(1))) + (f"-{number(m.group(2))}" if m.group(2) else "")
        i = m.end()
        t = _CHAPTER_TITLE.match(text, i)
        if t:
            loc["chapter_name"] = t.group(1)
            i = t.end()
    m = _ARTICLE.match(text, i)
    if m:
        n = str(number(m.group(2))) + (f"-{number(m.group(3))}" if m.group(3) else "")
        if m.group(1):
            loc["recital"] = int(n)
        else:
            loc["article"] = n
        i = m.end()
        if (m := _PARAGRAPH.match(text, i)):
            loc["paragraph"] = number(m.group(1))
            i = m.end()
        if (m := _ITEM.match(text, i)) and (m.group(1) or m.group(2)):
            if m.group(1):
                loc["item"] = number(m.group(1))
            else:
                loc["item_label"] = f"({m.group(2).lower()})"
            i = m.end()
        elif (m := _POINT.match(text, i)):
            if m.group(1).isdigit():
                loc["item"] = int(m.group(1))
            else:
                loc["item_label"] = f"({m.group(1)})"
            i = m.end()
    if not loc or ("chapter_name" in loc and "article" not in loc and "recital" not in loc):
        return None
    return i, loc


def match_en_locator(text: str, p: int) -> tuple[int, dict] | None:
    """Article 17, Art. 6(1)(a), § 2710(c) at ``text[p:]``, as (end, fields)."""
    m = _EN_LOCATOR.match(text, p)
    if not m:
        return None
    return m.end(), {"article": m.group(1), **subdivisions(m.group(2))}


def subdivisions(written: str | None) -> dict:
    """The bracketed parts after an article: (1)(a) -> paragraph 1, item label (a); (1)(2) -> paragraph 1, item 2."""
    parts = re.findall(r"\(\s*([0-9a-z]+)\s*\)", written or "", re.IGNORECASE)
    digits = [int(x) for x in parts if x.isdigit()]
    letters = [x.lower() for x in parts if not x.isdigit()]
    loc: dict = {}
    if digits:
        loc["paragraph"] = digits[0]
    if len(digits) > 1:
        loc["item"] = digits[1]
    if letters:
        loc["item_label"] = f"({letters[0]})"
    return loc


def mention_kind(info, loc: dict, draft: bool) -> str:
    """TW instruments take the level of their locator; foreign ones the kind of the instrument."""
    kind = info.kind if info is not None else "law"
    if kind != "law":
        return kind
    if draft:
        return "draft"
    if loc.get("article") or loc.get("paragraph") or loc.get("item") or loc.get("recital") is not None:
        return "article"
    return "chapter" if loc.get("chapter") else "law"


def resolve(text: str, pos: int, before: list, head: str, lex, infos: dict | None = None,
            window: int = 2000) -> tuple[str, str] | None:
    """The law a context reference at ``pos`` points to: the latest mention before it that fits ``head``."""
    from index.laws import _head_fits

    infos = infos or {}
    for m in reversed(before):
        if pos - m.end > window:
            break
        info = lex.laws.get(m.law) or infos.get(m.law)
        if head == "":  # a bare 第N條: a law that has articles
            if pos - m.end > 400:
                return None
            if m.kind in ("interpretation", "executive_order"):
                continue
            return m.law, mention_kind(info, {"article": "1"}, False)
        if _head_fits(head, m.law, info, m.kind):
            return m.law, m.kind
    return None


def attach_locator(text: str, c, mentions: list, lex, title: str, infos: dict | None = None):
    """The mention a name (or a context reference) makes with the locator written after it, or None."""
    from index.laws import LawInfo, Mention

    infos = infos if infos is not None else {}
    head = c.extra.get("head", "")
    law, info = c.law, (lex.laws.get(c.law) or c.info)
    loc: dict = {}
    if c.anaphor and head == "條":  # 本條, 同條第6項: the article last cited
        prev = next((m for m in reversed(mentions) if m.article and c.start - m.end < 800), None)
        if prev is None:
            return None
        article = prev.article
        if c.extra.get("self", "").startswith("前"):  # 前條: the article before
            if not article.isdigit() or int(article) < 2:
                return None
            article = str(int(article) - 1)
        end, sub = c.end, {}
        if (m := _PARAGRAPH.match(text, end)):
            sub["paragraph"], end = number(m.group(1)), m.end()
        if (m := _ITEM.match(text, end)) and m.group(1):
            sub["item"], end = number(m.group(1)), m.end()
        return Mention(c.start, end, text[c.start:end], prev.law, prev.kind, article=article, anaphor=True, **sub)
    if c.anaphor and head == "章":  # 「妨害性隱私及不實性影像」章節: a chapter known by its title
        want = c.extra["chapter_name"].rstrip("罪")
        for m in reversed(mentions):
            ch = dict((lex.laws.get(m.law) or LawInfo(m.law)).chapters)
            hit = next((n for n, t in ch.items() if t.rstrip("罪") == want), None)
            if hit:
                return Mention(c.start, c.end, text[c.start:c.end], m.law, "chapter", chapter=hit,
                               chapter_name=c.extra["chapter_name"], anaphor=False)
        return None
    if c.anaphor and head:
        if head == "法" and c.extra.get("self") == "本法" and not mentions and title \
                and (title in lex.laws or re.fullmatch(rf"{_HAN}{{2,30}}(?:法|條例|规则|規則|辦法|通則|準則)", title)):
            got = (title, "law")  # a statute's own text: 本法 is the law its title names
        else:
            got = resolve(text, c.start, mentions, {"interpretation": "函釋"}.get(head, head), lex, infos)
        if got is None:
            if head != "interpretation":
                return None
            got = ("函釋", "interpretation")
        law = got[0]
        info = lex.laws.get(law) or infos.get(law) or (LawInfo(law, "", "TW", "interpretation") if head == "interpretation" else None)
        if head == "修正草案":
            return Mention(c.start, c.end, text[c.start:c.end], law, "draft", anaphor=True)
    if info is not None:
        infos.setdefault(law, info)
    end = c.end
    opened = c.start > 0 and text[c.start - 1] in "「《" and end < len(text) and text[end] in "」》"
    after = end + 1 if opened else end
    gloss = _GLOSS.match(text, after)
    got = match_locator(text, gloss.end() if gloss and not opened else after) or match_en_locator(text, after)
    draft = _DRAFT.match(text, after) if got is None else None
    start = c.start
    if got or draft:
        start = c.start - 1 if opened else c.start
        end, loc = got if got else (draft.end(), {})
    pre = _EN_BEFORE.search(text, max(0, start - 60), start)
    if pre and not (got or draft):  # Article 17(1)(a) of the General Data Protection Regulation
        start = pre.start()
        loc = ({"recital": int(pre.group(2))} if pre.group(1) == "Recital"
               else {"article": pre.group(2), **subdivisions(pre.group(3))})
    kind = c.kind or mention_kind(info, loc, bool(draft))
    if kind == "interpretation" and info is None:
        info = LawInfo(law, "", "TW", "interpretation")
        infos.setdefault(law, info)
    return Mention(start, end, text[start:end], law, kind, anaphor=c.anaphor, **loc)


def date_mentions(text: str, start: int, end: int) -> tuple[tuple[str, str], ...]:
    """Dates the text attaches to a mention: '2000年生效之《…》', '2025年1月23日撤銷該…', '(EU AI Act, 2024)'."""
    out = []
    m = _DATE_BEFORE.search(text[max(0, start - 60):start])
    if m and not re.search(r"[「《（(]$", m.group(3)[:-1] if m.group(3) else ""):
        what = dict(_DATE_KEYS)[m.group(2)]
        out.append((what, m.group(1)))
    y = _YEAR_AFTER.match(text, end)
    if y:
        out.append(("other", y.group(1)))
    return tuple(out)


# ---- what a person types ---------------------------------------------------------------------

_REF_ARTICLE = re.compile(  # not 哪一條 / 這一條 / 每一條 (which, this, each article)
    rf"(?:第\s*|(?<![哪那这這每某同幾几]))({_N})\s*[條条]?\s*(?:之\s*({_N})|-\s*([0-9]+))?"
    rf"(?:\s*第?\s*({_N})\s*[項项])?(?:\s*第?\s*({_N})\s*款)?")
_EN_ARTICLE = re.compile(r"(?:art(?:icle)?\.?|§{1,2}|section|sec\.)\s*([0-9]+)(?:\s*-\s*([0-9]+))?((?:\s*\(\s*[0-9a-z]+\s*\))*)", re.IGNORECASE)
_EN_RECITAL = re.compile(rf"recital\s*\(?([0-9]+)\)?|序言\s*第?\s*({_N})\s*條?", re.IGNORECASE)
_EN_CHAPTER = re.compile(rf"chapter\s*([0-9]+)(?:\s*-\s*([0-9]+))?|第\s*({_N})\s*章(?:\s*之\s*({_N}))?", re.IGNORECASE)


def fold_name(s: str) -> str:
    """A law's name for matching: width, case, spaces, brackets and script do not matter."""
    s = unicodedata.normalize("NFKC", s).casefold()
    s = re.sub(r"[\s「」《》〈〉\"'“”‘’.,、]", "", s)
    return to_simplified(s)


# a question that names a locator at all (the law finder is consulted only then)
HAS_LOCATOR = re.compile(rf"{ARTICLE_NUMBER}[條条章]|\b[Aa]rt(?:icle)?\.?\s*[0-9]|§|[Rr]ecital|序言|[0-9]+\s*(?:之|-)\s*[0-9]+")


def parse_reference(text: str, names: dict[str, str]) -> tuple[str | None, dict]:
    """(law name or None, locator) of a reference a person typed.

    ``names`` maps ``fold_name(alias)`` to the law's canonical name, for every
    law and alias known (the lexicon's and the store's).
    """
    rest = unicodedata.normalize("NFKC", text)
    # folded one character at a time, so a name found in the folded text maps back to its span
    parts = [fold_name(ch) for ch in rest]
    origin = [i for i, f in enumerate(parts) for _ in f]
    folded = "".join(parts)
    named = []  # (start, end, law) in ``rest`` of every law's name, the longer name first where two overlap
    for alias, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        at = folded.find(alias) if alias else -1
        while at >= 0:
            a, b = origin[at], origin[at + len(alias) - 1] + 1
            if all(b <= x or a >= y for x, y, _ in named):
                named.append((a, b, name))
            at = folded.find(alias, at + 1)
    for a, b, _ in named:  # a law's name is not read as a locator; the offsets stay
        rest = rest[:a] + " " * (b - a) + rest[b:]
    loc: dict = {}
    at = None  # where the locator is written
    if (m := _EN_RECITAL.search(rest)):
        loc["recital"] = number(m.group(1) or m.group(2))
        return _law_of(named, m.start()), loc
    if (m := _EN_CHAPTER.search(rest)):
        a, b = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        loc["chapter"] = str(number(a)) + (f"-{number(b)}" if b else "")
        at = m.start()
        rest = rest[:m.start()] + " " * (m.end() - m.start()) + rest[m.end():]
    if (m := _EN_ARTICLE.search(rest)):
        at = m.start()
        loc["article"] = m.group(1) + (f"-{m.group(2)}" if m.group(2) else "")
        sub = subdivisions(m.group(3))
        if "paragraph" in sub and "item" not in sub:  # Art. 3(60): a paragraph, or an EU act's point
            sub["point"] = sub.pop("paragraph")    # the lookup accepts either
        loc.update(sub)
    elif (m := _best_article(rest, tuple(b for _, b, _ in named))):
        at = m.start()
        loc["article"] = str(number(m.group(1))) + (f"-{number(m.group(2) or m.group(3))}" if (m.group(2) or m.group(3)) else "")
        if m.group(4):
            loc["paragraph"] = number(m.group(4))
        if m.group(5):
            loc["item"] = number(m.group(5))
    return _law_of(named, at), loc


def _law_of(named: list[tuple[int, int, str]], at: int | None) -> str | None:
    """The law a locator written at ``at`` belongs to: the name written nearest before it (兒少權法第46條),
    else the nearest after it (Art. 3 of the AI Act); with no locator, the longest name."""
    if not named:
        return None
    if at is None:
        return max(named, key=lambda n: n[1] - n[0])[2]
    before = [n for n in named if n[1] <= at]
    return max(before, key=lambda n: n[1])[2] if before else min(named, key=lambda n: n[0])[2]


def _best_article(rest: str, law_ends: tuple[int, ...]) -> re.Match | None:
    """The article in what a person typed: one written with 第…條 or 條之 wherever it stands; a bare
    319-4 or 235 only right after a law's name (``law_ends``: where each ends), and never a count, an
    age, a year or a phone number."""
    weak = None
    for m in _REF_ARTICLE.finditer(rest):
        written = m.group(0)
        if re.search("[條条]", written) or written.lstrip().startswith("第"):
            return m
        follows = rest[m.end():m.end() + 1]
        if weak is None and any(0 <= m.start() - end <= 2 for end in law_ends) and re.search(r"\d", written) \
                and not re.match(r"[\d年歲岁級级個个月日號号%％人件萬万元]", follows):
            weak = m
    return weak


def key(law: str | None, loc: dict) -> str:
    """One written form of a reference: 中華民國刑法 第319條之4 第1項 第3款."""
    parts = [law or ""]
    if loc.get("chapter"):
        n, _, z = loc["chapter"].partition("-")
        parts.append(f"第{n}章" + (f"之{z}" if z else ""))
    if loc.get("recital") is not None:
        parts.append(f"序言第{loc['recital']}點")
    if loc.get("article"):
        n, _, z = loc["article"].partition("-")
        parts.append(f"第{n}條" + (f"之{z}" if z else ""))
    if loc.get("paragraph"):
        parts.append(f"第{loc['paragraph']}項")
    if loc.get("item"):
        parts.append(f"第{loc['item']}款")
    if loc.get("item_label"):
        parts.append(loc["item_label"])
    return " ".join(p for p in parts if p)
