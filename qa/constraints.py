"""What an answer must contain, read from the question: its constraints.

A question that names a place, a year, a law or one of its articles, a
product, platform or body (PhotoDNA, OHCHR, 小紅書, the MOJ), or that asks for
a kind of fact (a phone number, a web address, a sentence's length, a fine or
a fee, a length of time, an outcome after the documents end, a rate, a
founder, a list's items one by one) is answered only by evidence that holds it. ``constraints`` reads them (once,
in ``qa.query.analyse``); ``unmet`` says which the passages found, the quoted
passage or the documents do not meet, and a not-found names them
("文件沒有提到「日本」").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from index import lawnames
from index.textnorm import CJK, fold, to_simplified
from qa.slots import SHARE

@dataclass(frozen=True)
class Constraint:
    """Something an answer must contain: ``kind`` and the text shown when it is missing.

    Kinds: ``place``, ``year``, ``article`` (a law's article), ``law`` (a law of
    the lexicon, ``index.lawnames``, by any of its names), ``name`` (an
    acronym or a product-like name: OHCHR, PhotoDNA), and kinds of fact:
    ``phone``, ``url``, ``sentence_length``, ``fine``, ``fee`` (what a service costs, or whether
    it is free), ``outcome`` (what came of something afterwards), ``rate`` (how often a tool is
    right), ``founder``, ``founded`` (when), ``items`` (a list's items one by one), ``time`` (a length of time, in the
    unit asked). ``pattern`` is matched against the folded, lower-case text of the passages
    found (``scope="passages"``: a kind of fact) or of the passage quoted
    (``scope="answer"``: the year of a figure asked for, a list's items). A constraint on every document (``scope="documents"``: a place, a
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
_PLACE_RE = re.compile("|".join(re.escape(k) if not k.isascii() else rf"(?<![a-z0-9]){re.escape(k)}(?![a-z0-9])"
                                for k in sorted(_PLACES, key=len, reverse=True)))
# the same place written another way in the documents (folded)
_PLACE_ALIASES = {"美国": ("美国", "美方", "白宫", "united states", "u.s."), "united states": ("美国", "united states", "u.s."),
                  "欧盟": ("欧盟", "欧洲联盟", "eu", "european union"), "european union": ("欧盟", "eu", "european union"),
                  "联合国": ("联合国", "un", "united nations"), "台湾": ("台湾", "我国", "国内", "中华民国"),
                  "taiwan": ("台湾", "我国", "taiwan"), "uk": ("英国", "united kingdom", "uk", "britain"),
                  "united kingdom": ("英国", "united kingdom", "uk", "britain"),
                  "英国": ("英国", "united kingdom", "uk", "britain"), "大陆": ("中国大陆", "大陆", "中国"),
                  "中国大陆": ("中国大陆", "大陆", "中国")}


# Platforms, apps, companies and government bodies a question may ask about (what the documents say of
# Instagram's reporting form, of Douyin's rules; the MOJ an English question names is the 法務部 the documents
# write): (label, the ways it is written, folded, lower-case). A question naming one is answered only
# if the documents name it in one of its ways (谷歌 is the Google they write); a name that is also a common
# English word (LINE, Threads, Meta, Apple) is read only as written, capitalised. (Not QQ: in Taiwan it is a
# crying face.) A platform a picture was posted to (po到fb, 傳到IG) is where it happened, not what is asked.
_PLATFORMS = (
    ("Instagram", ("instagram", "ig", "哀居")), ("Facebook", ("facebook", "fb", "脸书", "脸书网")),
    ("Snapchat", ("snapchat",)), ("TikTok", ("tiktok", "抖音")), ("小紅書", ("小红书", "xiaohongshu", "rednote")),
    ("微信", ("微信", "wechat")), ("微博", ("微博", "weibo")), ("LINE", ("LINE",)), ("Telegram", ("telegram",)),
    ("Discord", ("discord",)), ("Twitter", ("twitter", "推特")), ("YouTube", ("youtube", "油管")),
    ("WhatsApp", ("whatsapp",)), ("Threads", ("Threads",)), ("Dcard", ("dcard",)), ("PTT", ("ptt",)),
    ("快手", ("快手",)), ("Bilibili", ("bilibili", "b站")), ("OnlyFans", ("onlyfans",)),
    ("Pornhub", ("pornhub",)), ("iPhone", ("iphone", "ios")), ("Android", ("android", "安卓")),
    ("Apple", ("Apple", "苹果")), ("Meta", ("Meta",)), ("Google", ("google", "谷歌")),
    ("Microsoft", ("microsoft", "微软")), ("OpenAI", ("openai",)), ("Reddit", ("reddit",)),
    ("法務部", ("法务部", "MOJ", "ministry of justice")), ("通傳會", ("通传会", "国家通讯传播委员会", "NCC")),
    ("衛福部", ("卫福部", "卫生福利部", "MOHW", "ministry of health and welfare")),
    ("教育部", ("教育部", "MOE", "ministry of education")), ("數位發展部", ("数位发展部", "数发部", "MODA")),
    ("行政院", ("行政院", "executive yuan")), ("立法院", ("立法院", "legislative yuan")),
)
# the documents may write one of them by another of its ways (folded, lower-case), whatever the question wrote
_PLATFORM_WAYS = {label: tuple(w.lower() for w in ways) for label, ways in _PLATFORMS}
_PLATFORM_RE = re.compile("|".join(
    (rf"(?<![A-Za-z0-9]){re.escape(w)}(?![A-Za-z0-9])" if w.isascii() and not w.islower() else
     rf"(?i:(?<![a-z0-9]){re.escape(w)}(?![a-z0-9]))" if w.isascii() else re.escape(w))
    for _, ways in _PLATFORMS for w in sorted(ways, key=len, reverse=True)))
_PLATFORM_OF = {w.lower(): label for label, ways in _PLATFORMS for w in ways}


def platforms(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """(the name as written, the ways the documents may write it) of each platform, app, company or body
    of ``_PLATFORMS`` that ``text`` names (read in Simplified script, its case kept)."""
    simple = to_simplified(unicodedata.normalize("NFKC", text))
    found: dict[str, str] = {}  # platform -> the name as the question writes it (else its label)
    for m in _PLATFORM_RE.finditer(simple):
        if not simple[:m.start()].rstrip().endswith("到"):
            label = _PLATFORM_OF[m.group(0).lower()]
            found.setdefault(label, text[m.start():m.end()] if len(text) == len(simple) else label)
    return [(said, _PLATFORM_WAYS[label]) for label, said in found.items()]


def _literal_pattern(literals: tuple[str, ...]) -> str:
    """A pattern matching any of ``literals`` (Latin words whole, spaces as any spacing)."""
    def one(lit: str) -> str:
        p = r"\s*".join(re.escape(part) for part in lit.split())
        return rf"(?<![a-z0-9]){p}(?![a-z0-9])" if lit.isascii() else p
    return "|".join(one(lit) for lit in literals)


# an amount of money, not the word for a fine or a fee
_MONEY = (rf"\d[\d,.]*\s*(万|亿)?\s*(元|美元|欧元)|(?<![多单统])[{_ZH_DIGITS}]+\s*(万|亿)?\s*元|新台币\s*\d|[$€]\s?\d|"
          r"\d[\d,.]*\s*(million |billion )?(dollars|euros)|(usd|eur)\s?\d")


class _Fact(NamedTuple):
    """A kind of fact an answer must hold when the question asks for it: ``asked`` in the question's folded,
    lower-case text, ``held`` by the evidence, ``labels`` shown when missing; ``scope``: where it must be
    held (any passage found, or the passage quoted: a list must be listed where it is quoted)."""

    kind: str
    asked: re.Pattern
    held: str
    labels: dict[str, str]
    scope: str = "passages"


_EN_COUNT = r"(\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_FOUNDING = "成立|创立|设立|创办|创建|建立|组建"  # the verbs a founding date is given with (folded)
# Kinds of fact an answer must hold when the question asks for them.
_FACT_KINDS = tuple(_Fact(*k) for k in (
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
     _MONEY, {"zh": "罰款金額", "en": "an amount of money"}),
    # what came of it afterwards (後來有沒有提告, 最後被判幾年, did Congress end up amending it): the documents end
    # at a date, so the passages must tell an outcome (a judgment, a charge, an arrest, a law passed)
    ("outcome", re.compile(r"(?:后来|最后|最终|到头来|至今|\bend(?:ed)? up\b|\beventually\b|\bultimately\b|\bin the end\b)"
                           r"[^，,。？?]{0,20}?(?:判|告|起诉|定罪|抓|逮捕|三读|通过|sentenc|convict|prosecut|arrest|"
                           r"caught|charg|pass|amend|sue|jail|prison)|(?:sentenc|convict|prosecut|arrest|pass|amend)"
                           r"\w*[^,.?]{0,40}?\b(?:eventually|end(?:ed)? up|ultimately|in the end)\b"),
     r"判决|判处|判刑|宣判|定谳|有期徒刑|定罪|起诉|逮捕|抓获|三读|通过|sentenced|convicted|arrested|prosecuted|"
     r"\bpassed\b|enacted|amended",
     {"zh": "後來的結果", "en": "what happened afterwards"}),
    # how often a tool is right or wrong (準確率, 誤判率, 成功率, accuracy, false positive rate): a rate held
    ("rate", re.compile(r"准确率|准确度|误判率|误报率|错误率|成功率|失败率|精准度|侦测率|辨识率|\baccura(?:cy|te)\b|"
                        r"false (?:positive|negative)|success rate|error rate|detection rate"),
     SHARE + r"|percent",
     {"zh": "比率", "en": "a rate"}),
    # who founded something (創辦人是誰, who founded it): the passages must say it was founded, and by whom
    ("founder", re.compile(r"创办人|创始人|创办者|创立者|谁创办|谁创立|是谁创|\bfounders?\b|\bwho founded\b|\bfounded by\b"),
     r"创办|创立|创始|创建|创设|开办|\bfound(?:ed|er|ers)\b",
     {"zh": "創辦人", "en": "who founded it"}),
    # when something was founded (哪一年成立的, when was it founded): a date the passages give it
    ("founded", re.compile(r"(?:哪一?年|什么时候|何时|哪一?天|年份|几年)[^，,。？?]{0,6}(?:成立|创立|设立|创办)|"
                           r"(?:成立|创立|设立|创办)[^，,。？?]{0,6}(?:哪一?年|什么时候|何时|年份|时间)|"
                           r"\b(?:when|what year|which year)\b[^,.?]{0,40}\b(?:founded|established|set up)\b|"
                           r"\b(?:founded|established)\b[^,.?]{0,20}\b(?:in what year|when)\b"),
     rf"(?:19|20)\d{{2}}[^。]{{0,20}}(?:{_FOUNDING})|(?:{_FOUNDING})[^。]{{0,10}}(?:19|20)\d{{2}}|"
     rf"(?<!\d)\d{{2,3}}\s*年[^。]{{0,20}}(?:{_FOUNDING})|\b(?:founded|established) in \d{{4}}",
     {"zh": "成立的日期", "en": "when it was founded"}),
    # the items of a list one by one (12項風險分別是哪些, 可以列出是哪8項嗎, what are the four core functions): the
    # passage quoted must list them, not only count them (提出12項風險); a list is three items or more
    # (not 分別為A、B和哪一個, which asks one item)
    ("items", re.compile(r"(?:分别|各)(?:是|为|有)\s*(?:哪些|什么|哪几|哪\s*[\d一二三四五六七八九十]+)|分别是\s*[?？]|逐一|一一列|"
                         rf"列出(是)?哪|\bwhat are the {_EN_COUNT}\b|\blist (all )?(of )?the {_EN_COUNT}\b"),
     r"(?:[^、；;\n]{1,40}[、；;]){2,}|(?:(?:^|\s)[(（]?[1-9一二三四五六七八九][)）.、][^\n]*){3,}",
     {"zh": "逐項列出的內容", "en": "the items listed one by one"}, "answer"),
    # what a service costs, or whether it is free: an amount, or the passages saying it is free or paid for
    ("fee", re.compile(r"收费|付费|免费|要不要钱|要钱吗|费用|价格|价钱|订阅|授权费|经费|预算|\bfees?\b|\bfree\b|\bcosts?\b|\bbudget|"
                       r"\bprice|subscription|how much (does|do|will|would) .{0,40}(cost|charge)"),
     _MONEY + r"|免费|收费|付费|费用|\bfree\b|\bfees?\b|\bcosts?\b",
     {"zh": "費用", "en": "what it costs"}),
))
# 2023年, in 2023, since 2023, 2023 年度, 民國 113年; not 2000張, $2000, 2048x2048
_YEAR = re.compile(r"(?<![\d$€.,x])((?:19|20)\d{2})(?=\s*年)|(?:\b(?:in|since|until|by|of|during|before|after) )"
                   r"((?:19|20)\d{2})\b(?![\d.,x])|(?<!\d)(1[01]\d)\s*年")
_ARTICLE = re.compile(r"第\s*(\d+)\s*条(?:\s*之\s*(\d+))?")
# an acronym or a product-like name: two capitals or more (OHCHR, PhotoDNA, iWIN), or letters with digits
_LATIN_NAME = re.compile(r"(?:[A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z0-9]*|[A-Za-z]+\d[A-Za-z0-9]*)")
# in a Chinese question a capitalised Latin word is a name too (Discord, Instagram); an English one
# capitalises its first word and every title, so there only the shapes above are names
_CAPITALISED = re.compile(r"[A-Z][a-z]{2,}")
_LATIN_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]+(?: [A-Za-z0-9]+)*(?![A-Za-z0-9])")  # Latin words, next to any script
_NAME_STOP = frozenset("AI EU US UK UN USA OK TV PC ID FAQ PDF ROC PRC CEO APP APPS".split())


def _names(text: str, cjk: bool) -> list[tuple[str, tuple[str, ...]]]:
    """(the name as written, the ways the documents may write it, folded) of each name in ``text``; a
    name may be written run together with the Latin word beside it (photo DNA: PhotoDNA). A name in
    brackets after Chinese words glosses them and is not read."""
    out = []
    for run in _LATIN_RUN.finditer(text):
        before = text[max(run.start() - 2, 0):run.start()]
        if len(before) == 2 and before[1] in "(（" and not before[0].isascii():
            continue  # a gloss of the words before it, 通傳會（NCC）: those words are what the documents write
        words = run.group(0).split(" ")
        for i, name in enumerate(words):
            if not (_LATIN_NAME.fullmatch(name) or cjk and _CAPITALISED.fullmatch(name)) or name.upper() in _NAME_STOP:
                continue
            name = name[:-1] if name.endswith("s") and name[:-1].isupper() else name  # NGOs: the NGO
            if len(name) >= 3 and name.lower() not in _PLACES:
                ways = {name, "".join(words[max(i - 1, 0):i + 1]), "".join(words[i:i + 2])}
                out.append((name, tuple(sorted(w.lower() for w in ways))))
    return out


# A length of time asked for in a unit ("幾小時內", "多少天", "within how many hours"): a passage must
# hold a number of that unit; asked in no unit ("多久", "期限", "how soon"), a number of any of them.
_NUM = rf"(?:\d[\d,.]*|[{_ZH_DIGITS}半数几]+)"  # 數秒, 幾天: a few seconds, a few days are lengths too
_TIME_UNITS = (  # (asked in the question, held in a passage, zh label, en label)
    (r"秒|seconds?", rf"{_NUM}\s*秒|\b\d+\s*-?\s*(?:seconds?|secs?)\b|\b(?:a )?few seconds\b", "秒數", "a number of seconds"),
    (r"分钟|minutes?", rf"{_NUM}\s*分钟|\b\d+\s*-?\s*(?:minutes?|mins?)\b", "分鐘數", "a number of minutes"),
    (r"小时|钟头|hours?", rf"{_NUM}\s*个?\s*(?:小时|钟头)|\b\d+\s*-?\s*(?:hours?|hrs?)\b", "小時數", "a number of hours"),
    (r"天|日|days?", rf"(?<!月)(?<!月\s)(?<!\d){_NUM}\s*(?:个工作日|工作日|天|日)|\b\d+\s*-?\s*(?:business |working )?days?\b",
     "天數", "a number of days"),
    (r"周|星期|礼拜|weeks?", rf"{_NUM}\s*个?\s*(?:周|星期|礼拜)|\b\d+\s*-?\s*weeks?\b", "週數", "a number of weeks"),
    (r"个月|months?", rf"{_NUM}\s*个月|\b\d+\s*-?\s*months?\b", "月數", "a number of months"),
)
# 这几天, 好几天, 前几天: these, several, the past few days, not a question of how many
_FEW = r"(?<![这那好前过近头])"
# ... nor 幾秒鐘就做出來 (in a few seconds)
_TIME_IN_UNIT = [re.compile(rf"{_FEW}(?:几|多少)\s*个?\s*(?:{asked})(?!钟?\s*[就便都即])|how many\s+(?:{asked})\b")
                 for asked, *_ in _TIME_UNITS]
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


def constraints(q: str, folded: str, asks: str | None, asking: str | None = None,
                ask_clauses: str | None = None) -> tuple[Constraint, ...]:
    """The constraints of question ``q`` (``folded``: its folded text; ``asks``: what it asks for,
    ``qa.query.asks_for``). Names are read in ``asking`` (all of ``q`` when None: when the question tells
    a story first, the analysis passes the clauses that ask, as the app a picture went round on is not
    what is asked about); platforms in ``ask_clauses``, the clauses with a question word whether or not the
    others tell a story (在小紅書上看到說…。是第幾號行政命令？ asks nothing of 小紅書), all of ``q`` when None."""
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
    year_scope = "answer" if asks == "number" else "documents"
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
    for fact in _FACT_KINDS:
        if fact.asked.search(low):
            add(Constraint(fact.kind, fact.labels[lang], fact.held, fact.scope))
    time = None if any(c.kind == "sentence_length" for c in out) else _time_constraint(low, lang)
    if time is not None:
        add(time)
    for label, ways in platforms(q if ask_clauses is None else ask_clauses):
        add(Constraint("name", label, _literal_pattern(ways), literals=ways))
    for name, literals in _laws_named(q, folded):
        add(Constraint("law", name, _literal_pattern(literals), literals=literals))
    letters = [c for c in q if c.isascii() and c.isalpha()]
    # an English question in capitals has no names to tell (a Chinese one writes its acronyms so)
    shouting = lang == "en" and letters and sum(c.isupper() for c in letters) > 0.6 * len(letters)
    for name, ways in () if shouting else _names(q if asking is None else asking, lang == "zh"):
        if name.lower() not in _PLATFORM_OF:  # a platform is read above, where it is asked about
            add(Constraint("name", name, _literal_pattern(ways), literals=ways))
    return tuple(out)


# a name written out in capitalised words, small words between them allowed (Center for Democracy and Technology)
_WRITTEN_OUT = re.compile(r"[A-Z][A-Za-z]+(?:\s+(?:(?:of|and|for|the|on|to|in|against)\s+)*[A-Z][A-Za-z]+)+")


def acronyms(texts) -> frozenset[str]:
    """The initials, lower-case, of every name the ``texts`` write out in capitalised words: a question's
    CDT is the Center for Democracy and Technology the documents name (``qa.retriever.Index.acronyms``)."""
    out = set()
    for text in texts:
        for m in _WRITTEN_OUT.finditer(text):
            initials = "".join(w[0] for w in m.group(0).split() if w[0].isupper())
            if len(initials) >= 2:
                out.add(initials.lower())
    return frozenset(out)


# a citation in brackets ending with its year: (NCMEC, 2024), （張瑞邦，2024；The Guardian, 2024）, （2023）
_CITED = re.compile(r"[（(][^（）()]{0,80}?(?:19|20)\d{2}[a-z]?\s*[）)]")


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
        text = quoted if c.scope == "answer" else found
        # the year of a figure is not the year a source is cited by: (NCMEC, 2024) is no figure of 2024
        return re.search(c.pattern, _CITED.sub(" ", text) if c.kind == "year" else text) is not None
    return [c for c in constraints if not met(c)]
