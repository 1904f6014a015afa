"""Generators of hostile text: the Unicode classes that break C text engines.

Used by ``bench/fuzz_engines.py`` (every embedder path in child processes),
``bench/worst_case.py`` (the CPU cost of one question) and the tests. Each
class is a function ``(rng, n) -> str`` that makes a string of about ``n``
characters; ``sample(rng, max_len)`` picks a class and a length.
"""

from __future__ import annotations

import random
import sys
import unicodedata

# Characters whose NFKC form is long (U+FDFA is 18 code points).
def _long_expansions() -> list[str]:
    out = []
    for cp in range(0x80, 0x30000):
        ch = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if len(unicodedata.normalize("NFKC", ch)) >= 3:
            out.append(ch)
    return out


EXPANDING = _long_expansions()
COMBINING = [chr(c) for c in range(0x300, 0x370)] + [chr(c) for c in range(0x1AB0, 0x1AC0)] + \
            [chr(c) for c in range(0x20D0, 0x20F0)]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
        "\u061c"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u2061", "\u2062", "\u2063"]
EMOJI = ["\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466", "\U0001F3F3\ufe0f\u200d\U0001F308",
         "\U0001F44D\U0001F3FD", "\U0001F1F9\U0001F1FC", "1\ufe0f\u20e3", "\U0001F9D1\u200d\U0001F4BB", "\u2764\ufe0f"]
CJK = "的了是在有我他這個們中來上大為和國地到以說時要就出會可也你對生能而子那得於著下自之年過發後作裡用道行所然家種事成方多經麼去法學如都同現當沒動面起看定天分還進好小部其些主樣理心她本前開但因只從想實兒少性剝削影像深偽刑法條例第條之項款"
PUNCT = "，。、；：？！「」『』（）《》…—·,.;:?!()[]{}<>\"'`~@#$%^&*_+=|\\/"
SCRIPTS = ["abcdefghijklmnopqrstuvwxyz", "абвгдежзийклмнопрстуфхцчшщ", "αβγδεζηθικλμνξοπρστυφχψω",
           "אבגדהוזחטיכלמנסעפצקרשת", "ابتثجحخدذرزسشصضطظعغفقكلمنهوي", "कखगघङचछजझञटठडढणतथदधन",
           "ㄅㄆㄇㄈㄉㄊㄋㄌㄍㄎㄏㄐㄑㄒㄓㄔㄕㄖㄗㄘㄙ", "あいうえおかきくけこさしすせそ", "가나다라마바사아자차카타파하"]


def _pick(rng: random.Random, pool, n: int) -> str:
    return "".join(rng.choice(pool) for _ in range(n))


def long_expansions(rng, n):
    return _pick(rng, EXPANDING, n)


def combining_marks(rng, n):
    base = rng.choice("aeo字a")
    return base + _pick(rng, COMBINING, n - 1)


def lone_surrogates(rng, n):
    return "".join(chr(rng.randint(0xD800, 0xDFFF)) if rng.random() < 0.3 else rng.choice(CJK) for _ in range(n))


def private_use(rng, n):
    return "".join(chr(rng.choice([rng.randint(0xE000, 0xF8FF), rng.randint(0xF0000, 0xFFFFD)])) for _ in range(n))


def unassigned(rng, n):
    out = []
    while len(out) < n:
        cp = rng.randint(0x0378, 0x10FFFF)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if unicodedata.category(chr(cp)) == "Cn":
            out.append(chr(cp))
    return "".join(out)


def emoji_sequences(rng, n):
    return "".join(rng.choice(EMOJI) for _ in range(max(1, n // 4)))


def bidi_controls(rng, n):
    return "".join(rng.choice(BIDI + INVISIBLE) if rng.random() < 0.5 else rng.choice(CJK + "abc") for _ in range(n))


def mixed_scripts(rng, n):
    return "".join(rng.choice(rng.choice(SCRIPTS + [CJK, PUNCT, " "])) for _ in range(n))


def controls(rng, n):
    return "".join(chr(rng.choice([rng.randint(0, 31), rng.randint(0x7F, 0x9F)])) if rng.random() < 0.4
                   else rng.choice(CJK) for _ in range(n))


def cjk_clauses(rng, n):
    """Many short clauses with question words: the story/ask analysis at its worst."""
    out = []
    while sum(map(len, out)) < n:
        out.append(_pick(rng, CJK, rng.randint(1, 4)) + rng.choice("，。？；、！") + rng.choice(["誰", "哪", "嗎", "如何", ""]))
    return "".join(out)[:n]


def latin_words(rng, n):
    words = ["what", "who", "is", "the", "law", "deepfake", "report", "a", "how", "can", "photo", "was", "taken"]
    out = []
    while sum(len(w) + 1 for w in out) < n:
        out.append(rng.choice(words) + rng.choice(["", "", ",", "?", "."]))
    return " ".join(out)[:n]


def article_refs(rng, n):
    out = []
    while sum(map(len, out)) < n:
        out.append(f"第{rng.choice(['三百一十九', '2', '二', '千九百九十九'])}條之{rng.choice(['四', '1', '十'])}第{rng.randint(1, 9)}項")
    return "".join(out)[:n]


def repeated_char(rng, n):
    return rng.choice(["誰", "a", "？", " 誰", "\ufdfa", "ab"]) * max(1, n // 2)


def any_unicode(rng, n):
    out = []
    while len(out) < n:
        cp = rng.randint(1, sys.maxunicode)
        out.append(chr(cp))
    return "".join(out)


CLASSES = {f.__name__: f for f in (long_expansions, combining_marks, lone_surrogates, private_use, unassigned,
                                   emoji_sequences, bidi_controls, mixed_scripts, controls, cjk_clauses,
                                   latin_words, article_refs, repeated_char, any_unicode)}


def sample(rng: random.Random, max_len: int) -> tuple[str, str]:
    """(class name, string) with a length from 1 to ``max_len``, long ones often."""
    name = rng.choice(list(CLASSES))
    n = rng.choice([1, 2, 5, 20, 100, rng.randint(1, max_len), max_len])
    return name, CLASSES[name](rng, max(1, n))[: max(1, n)]
