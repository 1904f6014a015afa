"""One analysis of the question, made once and handed down.

``analyse(question)`` checks the question and returns a frozen ``Query``: its
script, folded text and lexical tokens, its clauses and the one that asks, a
story told before the ask, what it asks for, and the constraints an answer
must meet (places, years, numbers, laws and articles, names, and kinds of
fact such as a phone number or a sentence length). The guard, retrieval,
sentence choice, abstention and the page read this record; none of them
folds, tokenises or splits the question again.

What is asked for (``asks``), first match wins: ``number``, ``date``,
``action`` (what to do, where to report or get help), ``legality`` (is it a
crime, which law, what penalty), ``who``, ``definition``, ``reason``,
``how``, ``list``; None when nothing matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from index.errors import EmptyQuestion, InvalidQuestion, QuestionTooLong
from index import lawnames
from index.lexical import tokens
from index.textnorm import CJK, fold
from qa.glossary import Term, lookup
from qa.slots import Slot, slot
from qa.words import content_words

MAX_QUESTION_CHARS = 2000
ANALYSE_CHARS = 2 * MAX_QUESTION_CHARS  # of the folded question, read for what it asks and its constraints
# The embedders read at most this many characters of a question (and the e5
# engine at most ``index.embed.QUERY_TOKENS`` tokens of them): the cost of a
# query vector grows with its length, and a question longer than this is a
# story with a question in it.
EMBED_CHARS = 240


# What marks the clause that asks: question words and question marks.
_ASKS = re.compile(r"誰|谁|哪|什麼|什么|甚麼|甚么|如何|怎麼|怎么|怎樣|怎样|為什麼|为什么|為何|为何|多少|[幾几](?!乎)|嗎|吗|是否|"
                   r"有沒有|有没有|[?？]|\b(?:who|whom|what|which|how|where|when|why|can|could|should|is|are|do|"
                   r"does)\b", re.IGNORECASE)
_CLAUSES = re.compile(r"[，,；;。!！]+|\.(?:\s+|$)|(?<=[？?])")  # a question mark ends a clause and stays in it

# A story told before the question: something was done to someone ("照片被人做成…",
# "有人把…", "was turned into"). 被 as in 被害人 (victim), 被告 (defendant), 被動
# (passive) or 被稱為 (is called) is not one.
_STORY = re.compile(r"被(?!害|告|動|动|稱|称|譽|誉|視|视|認|认|列|歸|归|選|选|命名|評|评|封|授)|遭|有人|"
                    r"\b(?:someone|somebody)\b|\b(?:was|were|got)\s+\w+(?:ed|en)\b", re.IGNORECASE)
# ... and it is happening to someone the asker is responsible for, or to the asker.
_HAPPENING = re.compile(r"(?:我|我们|我的|孩子|小孩|女儿|儿子|学生|同学|班上|学校|朋友|家长)[^，。？?]{0,24}"
                        r"(?:被|遭|收到|正在|流传|散布|传出|威胁|勒索)|"
                        r"\b(?:my|our)\s+(?:\w+\s+){0,3}(?:student|child|kid|son|daughter|photo|picture|image)s?\b"
                        r".{0,60}\b(?:was|were|is|are|got|been|being)\b|\b(?:i am|i'm) being\b", re.IGNORECASE)

# Folded (Simplified, lower-case) question words -> what is asked for, in priority order.
_ASKS_FOR = (
    ("number", re.compile(r"多少|几[个件张则位名人次项%成]|比例|数量|百分之|how (many|much)|what (percentage|share|number)")),
    ("date", re.compile(r"什么时候|何时|哪一?(年|天|日|月)|几月|(?<![这那前过])几年(?![级代])|日期|when|what (year|date|day)|since when")),
    # what someone should or can do: not how a thing was made (怎么做出来的, 怎么做到的) nor where a word comes from
    ("action", re.compile(r"怎么办|该怎么|如何处理|怎么处理|怎么做(?![出到成])|可以做什么|能做什么|向哪|去哪|找谁|哪里可以|"
                          r"可以(向|去|找)|求助|寻求协助|谁(可以|能|会)(协助|帮)|what (should|can|do) (i|we)|"
                          r"how (do|can|should) (i|we)|where (can|should|to|do (i|we|you)\b)|who can help|get help")),
    ("legality", re.compile(r"违法|犯法|犯罪|刑责|罪名|判刑|刑期|处罚|罚则|罚金|罚款|哪一?条|第几条|法律|法规|条例|"
                            r"illegal|a crime|criminal|which law|what law|penalt|punish|sentence|prosecut|legal")),
    ("who", re.compile(r"谁|哪个(机构|单位|组织|部门|国家|人)|哪些(机构|单位|组织|部门|国家)|who|which (agency|organi[sz]ation|"
                       r"body|company|country)")),
    ("definition", re.compile(r"是什么|什么是|什么意思|指什么|指的是|定义|意思|what (is|are|does)|define|definition|mean")),
    ("reason", re.compile(r"为什么|为何|原因|理由|why")),
    ("how", re.compile(r"如何|怎么|怎样|how")),
    ("list", re.compile(r"哪些|有什么|哪几|which|list")),
)


@dataclass(frozen=True)
class Constraint:
    """Something an answer must contain: ``kind`` and the text shown when it is missing.

    Kinds: ``place``, ``year``, ``article`` (a law's article), ``law`` (a law of
    the lexicon, ``index.lawnames``, by any of its names), ``name`` (an
    acronym or a product-like name: OHCHR, PhotoDNA), and kinds of fact:
    ``phone``, ``url``, ``sentence_length``, ``fine``, ``time`` (a length of time, in the unit asked).
    ``pattern`` is matched against the folded, lower-case text of the passages
    found (``scope="passages"``: a kind of fact) or of the passage quoted
    (``scope="answer"``: the year of a figure asked for). A constraint on every document (``scope="documents"``: a place, a
    name, an article, a year the documents never mention) is met when the
    store's vocabulary holds every token of one of its ``literals`` (a lookup,
    at any size of store); a question written in English names in English
    what the documents may name in Chinese, so only names that are written
    alike are checked.
    """

    kind: str
    label: str
    pattern: str
    scope: str = "documents"
    literals: tuple[str, ...] = ()  # folded, lower-case: any of them met in the documents meets it


@dataclass(frozen=True)
class Query:
    """A question, analysed once (see the module docstring)."""

    text: str
    folded: str
    cjk: bool
    tokens: tuple[str, ...]
    clauses: tuple[str, ...]
    ask_index: int | None  # the last clause that asks, when some other clause does not
    tells_story: bool  # a clause other than the ask tells what happened to someone
    happening: bool  # ... to the asker or someone in their care: show where to turn
    asks: str | None
    constraints: tuple[Constraint, ...] = field(default_factory=tuple)
    terms: tuple[Term, ...] = field(default_factory=tuple)  # everyday words and the documents' terms for them
    slot: Slot | None = None  # what a number or date question asks its answer to hold (qa.slots)

    @property
    def ask(self) -> str | None:
        """The clause that asks, when the question also tells (None otherwise)."""
        return None if self.ask_index is None else self.clauses[self.ask_index]

    @property
    def embed_text(self) -> str:
        return embedding_text(self.text)

    @property
    def term_tokens(self) -> tuple[str, ...]:
        """Lexical tokens of the documents' terms for the question's everyday words (``qa.glossary``)."""
        return tuple(t for term in self.terms for t in tokens(term.term))

    @property
    def ask_tokens(self) -> tuple[str, ...]:
        return tuple(tokens(self.ask)) if self.ask is not None else self.tokens

    @cached_property
    def words(self) -> tuple[str, ...]:
        """The nouns, names and set phrases of a Chinese question, as written (``qa.words``): found
        when first read, which only a not-found does."""
        return content_words(self.text[:ANALYSE_CHARS])


def check_question(question: object) -> str:
    """Validate a question; return it stripped.

    Raises:
        InvalidQuestion: not a string, or not encodable (a lone surrogate, as JSON's ``"\\ud800"`` gives).
        EmptyQuestion: empty, or containing no letter or digit.
        QuestionTooLong: longer than ``MAX_QUESTION_CHARS``.
    """
    if not isinstance(question, str):
        raise InvalidQuestion(f"the question must be text, got {type(question).__name__}")
    q = question.strip()
    if not q:
        raise EmptyQuestion("the question is empty: type a question about the documents")
    if len(q) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(f"the question is {len(q)} characters long; the limit is {MAX_QUESTION_CHARS}",
                              len(q), MAX_QUESTION_CHARS)
    try:
        q.encode("utf-8")
    except UnicodeEncodeError as e:  # the text pipeline (OpenCC, tokenizers) needs encodable text
        raise InvalidQuestion(f"the question contains an invalid character (U+{ord(q[e.start]):04X}, a lone "
                              f"surrogate) at position {e.start + 1}: retype the question") from None
    if not any(ch.isalnum() for ch in q):
        raise EmptyQuestion("the question has no words in it: ask in words, e.g. 誰可以協助下架？")
    return q


def split_clauses(question: str) -> tuple[list[str], int | None]:
    """The question's clauses, and the number of the last one that asks when
    some other clause does not (None otherwise)."""
    parts = [p.strip() for p in _CLAUSES.split(question) if p.strip()]
    asking = [i for i, p in enumerate(parts) if _ASKS.search(p)]
    if len(parts) < 2 or not asking or len(asking) == len(parts):
        return parts, None
    return parts, asking[-1]


def embedding_text(question: str, budget: int = EMBED_CHARS) -> str:
    """What of ``question`` the embedders read: all of it when short; else the
    last clause that asks and the text before it, ``budget`` characters in
    all (the head when no clause asks)."""
    if len(question) <= budget:
        return question
    asks = list(_ASKS.finditer(question))
    if not asks:
        return question[:budget]
    end = _CLAUSES.search(question, asks[-1].end())
    end = end.end() if end else len(question)
    return question[max(0, end - budget):end]


# -- constraints ---------------------------------------------------------------
_ZH_DIGITS = "一二两三四五六七八九十百千"  # Chinese numerals, folded
# Places, folded (Simplified) or lower-case English, with the label shown when missing.
_PLACES = {
    "日本": "日本", "japan": "Japan", "韩国": "韓國", "south korea": "South Korea", "korea": "Korea",
    "中国大陆": "中國大陸", "大陆": "中國大陸", "mainland china": "mainland China", "香港": "香港", "hong kong": "Hong Kong",
    "澳门": "澳門", "新加坡": "新加坡", "singapore": "Singapore", "英国": "英國", "united kingdom": "the UK", "uk": "the UK",
    "德国": "德國", "germany": "Germany", "法国": "法國", "france": "France", "澳洲": "澳洲", "澳大利亚": "澳洲",
    "australia": "Australia", "加拿大": "加拿大", "canada": "Canada", "印度": "印度", "india": "India",
    "菲律宾": "菲律賓", "philippines": "the Philippines", "泰国": "泰國", "thailand": "Thailand", "越南": "越南",
    "vietnam": "Vietnam", "马来西亚": "馬來西亞", "malaysia": "Malaysia", "俄罗斯": "俄羅斯", "russia": "Russia",
    "意大利": "義大利", "义大利": "義大利", "italy": "Italy", "西班牙": "西班牙", "spain": "Spain", "荷兰": "荷蘭",
    "netherlands": "the Netherlands", "瑞典": "瑞典", "sweden": "Sweden", "巴西": "巴西", "brazil": "Brazil",
    "纽西兰": "紐西蘭", "新西兰": "紐西蘭", "new zealand": "New Zealand", "爱尔兰": "愛爾蘭", "ireland": "Ireland",
    "美国": "美國", "united states": "the US", "欧盟": "歐盟", "european union": "the EU", "联合国": "聯合國",
    "台湾": "臺灣", "taiwan": "Taiwan", "加州": "加州", "california": "California", "德州": "德州", "texas": "Texas",
}
_PLACE_RE = re.compile("|".join(re.escape(k) if not k.isascii() else rf"\b{re.escape(k)}\b"
                                for k in sorted(_PLACES, key=len, reverse=True)))
# the same place written another way in the documents (folded)
_PLACE_ALIASES = {"美国": ("美国", "美方", "白宫", "united states", "u.s."), "united states": ("美国", "united states", "u.s."),
                  "欧盟": ("欧盟", "欧洲联盟", "eu", "european union"), "european union": ("欧盟", "eu", "european union"),
                  "联合国": ("联合国", "un", "united nations"), "台湾": ("台湾", "我国", "国内", "中华民国"),
                  "taiwan": ("台湾", "我国", "taiwan"), "uk": ("英国", "united kingdom", "uk", "britain"),
                  "united kingdom": ("英国", "united kingdom", "uk", "britain"),
                  "英国": ("英国", "united kingdom", "uk", "britain"), "大陆": ("中国大陆", "大陆", "中国"),
                  "中国大陆": ("中国大陆", "大陆", "中国")}


def _literal_pattern(literals: tuple[str, ...]) -> str:
    """A pattern matching any of ``literals`` (Latin words whole, spaces as any spacing)."""
    def one(lit: str) -> str:
        p = r"\s*".join(re.escape(part) for part in lit.split())
        return rf"(?<![a-z0-9]){p}(?![a-z0-9])" if lit.isascii() else p
    return "|".join(one(lit) for lit in literals)


# Kinds of fact an answer must hold when the question asks for them.
_FACT_KINDS = (
    ("phone", re.compile(r"(电话|专线|热线)的?(号码|是几号|几号)|电话是|专线是|热线|hotline|phone number|telephone number|"
                         r"number (to|i can) call"),
     r"\d{2,4}[-\s]?\d{3,4}[-\s]?\d{3,4}|(?<!\d)1\d{2,3}(?!\d)\s*专线",
     {"zh": "電話號碼", "en": "a phone number"}),
    ("url", re.compile(r"网址|\burl\b|web address|website address"),
     r"https?://|www\.|\.(?:com|org|gov|tw)\b",
     {"zh": "網址", "en": "a web address"}),
    ("sentence_length", re.compile(r"(判|关)[了刑处]{0,2}(几|多少)年|(判|关)多久|坐牢|刑期|最重.{0,4}(刑|判|关)|最高.{0,4}(刑|判)|几年以下|有期徒刑|"
                                   r"maximum sentence|how (many|long).{0,20}(years|prison|jail)|\bprison\b|\bjail\b"),
     r"\d+\s*年以下|\d+\s*年以上|有期徒刑|徒刑|拘役|years? (of )?(imprisonment|prison)",
     {"zh": "刑期", "en": "a prison term"}),
    ("fine", re.compile(r"罚金|罚款|罚锾|罚多少|赔偿.{0,4}多少|多少钱|\bfines?\b (of|for|under)|\bfined\b|"
                        r"how much.{0,20}(pay|fine|compensat)|amount of (the )?fine"),
     # an amount of money, not the word for a fine
     rf"\d[\d,.]*\s*(万|亿)?\s*(元|美元|欧元)|(?<![多单统])[{_ZH_DIGITS}]+\s*(万|亿)?\s*元|新台币\s*\d|[$€]\s?\d|"
     r"\d[\d,.]*\s*(million |billion )?(dollars|euros)|(usd|eur)\s?\d",
     {"zh": "罰款金額", "en": "an amount of money"}),
)
# 2023年, in 2023, since 2023, 2023 年度, 民國 113年; not 2000張, $2000, 2048x2048
_YEAR = re.compile(r"(?<![\d$€.,x])((?:19|20)\d{2})(?=\s*年)|(?:\b(?:in|since|until|by|of|during|before|after) )"
                   r"((?:19|20)\d{2})\b(?![\d.,x])|(?<!\d)(1[01]\d)\s*年")
_ARTICLE = re.compile(r"第\s*(\d+)\s*条(?:\s*之\s*(\d+))?")
# an acronym or a product-like name: two capitals or more (OHCHR, PhotoDNA, iWIN), or letters with digits
_LATIN_NAME = re.compile(r"\b(?:[A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z0-9]*|[A-Za-z]+\d[A-Za-z0-9]*)\b")
_NAME_STOP = frozenset("AI EU US UK UN USA OK TV PC ID FAQ PDF ROC PRC CEO".split())


# A length of time asked for in a unit ("幾小時內", "多少天", "within how many hours"): a passage must
# hold a number of that unit; asked in no unit ("多久", "期限", "how soon"), a number of any of them.
_NUM = rf"(?:\d[\d,.]*|[{_ZH_DIGITS}半]+)"
_TIME_UNITS = (  # (asked in the question, held in a passage, zh label, en label)
    (r"小时|钟头|hours?", rf"{_NUM}\s*个?\s*(?:小时|钟头)|\b\d+\s*-?\s*(?:hours?|hrs?)\b", "小時數", "a number of hours"),
    (r"天|日|days?", rf"(?<!月)(?<!月\s)(?<!\d){_NUM}\s*(?:个工作日|工作日|天|日)|\b\d+\s*-?\s*(?:business |working )?days?\b",
     "天數", "a number of days"),
    (r"周|星期|礼拜|weeks?", rf"{_NUM}\s*个?\s*(?:周|星期|礼拜)|\b\d+\s*-?\s*weeks?\b", "週數", "a number of weeks"),
    (r"个月|months?", rf"{_NUM}\s*个月|\b\d+\s*-?\s*months?\b", "月數", "a number of months"),
)
# 这几天, 好几天, 前几天: these, several, the past few days, not a question of how many
_FEW = r"(?<![这那好前过近头])"
_TIME_IN_UNIT = [re.compile(rf"{_FEW}(?:几|多少)\s*个?\s*(?:{asked})|how many\s+(?:{asked})\b") for asked, *_ in _TIME_UNITS]
_TIME_ASKED = re.compile(rf"{_FEW}几天|{_FEW}几个?小时|多久(?!.{{0,6}}一次)|多长时间|多少时间|期限|时限|期间内|within how (many|long)|deadline|how soon|"
                         r"time limit|how long (do|does|will|must|would|should|is|are|did)")
_TIME_ANY = "|".join(held for _, held, *_ in _TIME_UNITS) + \
    r"|(?<!\d)\d{1,2}\s*年(?:内|之内|以内)|立即|立刻|即时|马上|immediately|within \d+"


def _time_constraint(low: str, lang: str) -> Constraint | None:
    """The length of time a question asks for, as a constraint on the passages (None if it asks none)."""
    for pattern, (_asked, held, zh, en) in zip(_TIME_IN_UNIT, _TIME_UNITS):
        if pattern.search(low):
            return Constraint("time", zh if lang == "zh" else en, held, "passages")
    if _TIME_ASKED.search(low):
        return Constraint("time", "期限" if lang == "zh" else "a time limit", _TIME_ANY, "passages")
    return None


# Every name of the law lexicon holds one of these (folded): a question without any names no law
_LAWISH = re.compile(r"法|条例|公约|议定书|宪章|规则|办法|准则|协定|通则|规约|命令|函释|意见|[A-Za-z]{2,}")


def _laws_named(q: str, folded: str) -> list[tuple[str, tuple[str, ...]]]:
    """(the name as written, every name of the law, folded) of each law of the lexicon the question
    names (``index.lawnames``): 性平法 is the 性別平等教育法, which the documents may write either way."""
    if not _LAWISH.search(folded):
        return []
    lex = lawnames.lexicon()
    out = []
    for c in lawnames.names_in(q, lex):
        info = lex.laws.get(c.law) if c.info is None else None  # only the lexicon's laws: their names are known
        if info is not None:
            names = {q[c.start:c.end], info.name, *info.aliases, *([info.en] if info.en else [])}
            out.append((q[c.start:c.end], tuple(sorted({fold(n).lower() for n in names}))))
    return out


def _constraints(q: str, folded: str) -> tuple[Constraint, ...]:
    lang = "zh" if CJK.search(q) else "en"
    out: list[Constraint] = []
    seen: set[str] = set()

    def add(c: Constraint) -> None:
        if c.label not in seen:
            seen.add(c.label)
            out.append(c)

    low = folded.lower()
    for m in _PLACE_RE.finditer(low):
        key = m.group(0)
        lits = _PLACE_ALIASES.get(key, (key,))
        add(Constraint("place", _PLACES[key], _literal_pattern(lits), literals=lits))
    # the year of a figure asked for must be in the passage quoted; any other year, somewhere in the documents
    year_scope = "answer" if asks_for(folded) == "number" else "documents"
    for m in _YEAR.finditer(folded):
        if m.group(1) or m.group(2):
            y = m.group(1) or m.group(2)
            add(Constraint("year", f"{y}年" if lang == "zh" else y, rf"(?<!\d){y}(?!\d)|民国\s*{int(y) - 1911}\s*年|"
                                                                   rf"(?<!\d){int(y) - 1911}\s*年", year_scope,
                           (y, f"{int(y) - 1911}年")))
        else:
            roc = int(m.group(3))
            add(Constraint("year", f"民國{roc}年", rf"(?<!\d){roc}\s*年|(?<!\d){roc + 1911}(?!\d)", year_scope,
                           (f"{roc}年", str(roc + 1911))))
    for m in _ARTICLE.finditer(folded):
        art = f"第{m.group(1)}条" + (f"之{m.group(2)}" if m.group(2) else "")
        label = f"第{m.group(1)}條" + (f"之{m.group(2)}" if m.group(2) else "")
        add(Constraint("article", label, re.escape(art).replace("条", r"\s*条\s*").replace("之", r"之\s*"),
                       literals=(art,)))
    for kind, asked, pattern, labels in _FACT_KINDS:
        if asked.search(low):
            add(Constraint(kind, labels[lang], pattern, "passages"))
    time = None if any(c.kind == "sentence_length" for c in out) else _time_constraint(low, lang)
    if time is not None:
        add(time)
    for name, literals in _laws_named(q, folded):
        add(Constraint("law", name, _literal_pattern(literals), literals=literals))
    letters = [c for c in q if c.isascii() and c.isalpha()]
    shouting = letters and sum(c.isupper() for c in letters) > 0.6 * len(letters)  # all caps: no names to tell
    for m in () if shouting else _LATIN_NAME.finditer(q):
        name = m.group(0)
        name = name[:-1] if name.endswith("s") and name[:-1].isupper() else name  # NGOs: the NGO
        if name.upper() in _NAME_STOP or len(name) < 3 or name.lower() in _PLACES:
            continue
        add(Constraint("name", name, rf"(?<![a-z]){re.escape(name.lower())}(?![a-z])", literals=(name.lower(),)))
    return tuple(out)


def asks_for(folded: str) -> str | None:
    low = folded.lower()
    for kind, pattern in _ASKS_FOR:
        if pattern.search(low):
            return kind
    return None


def analyse(question: object) -> Query:
    """Check ``question`` (``check_question``) and analyse it once."""
    q = check_question(question)
    folded = fold(q)
    head = folded[:ANALYSE_CHARS]  # NFKC can make a text many times longer: the analysis reads a bounded head
    parts, i = split_clauses(q)
    story = i is not None and any(_STORY.search(p) for j, p in enumerate(parts) if j != i)
    happening = bool(_HAPPENING.search(head))
    asks = asks_for(head)
    return Query(text=q, folded=folded, cjk=CJK.search(q) is not None, tokens=tuple(tokens(q)), clauses=tuple(parts),
                 ask_index=i, tells_story=story, happening=happening, asks=asks,
                 constraints=_constraints(q[:ANALYSE_CHARS], head), terms=lookup(head, q),
                 # what a number or date question's answer must hold, read in the clause that asks
                 slot=slot(asks, head, q) if i is None else slot(asks_for(ask := fold(parts[i])), ask, parts[i]))


def unmet(constraints: tuple[Constraint, ...], passages: list[str], mentions,
          answer: int | None = None) -> list[Constraint]:
    """The constraints that the passages found (folded here), the passage of the answer (``passages[answer]``;
    all of them when None) or the documents do not meet.

    ``mentions(literal)`` says whether the documents hold a literal (``qa.retriever.Index.mentions``:
    every token of it is in the store's vocabulary).
    """
    if not constraints:
        return []
    folded = [fold(t).lower() for t in passages]
    found = "\n".join(folded)
    quoted = found if answer is None else folded[answer]

    def met(c: Constraint) -> bool:
        if c.scope == "documents":
            return any(map(mentions, c.literals))
        return re.search(c.pattern, quoted if c.scope == "answer" else found) is not None
    return [c for c in constraints if not met(c)]
