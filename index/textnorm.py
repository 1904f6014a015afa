"""Text folding shared by indexing and querying.

``fold`` maps the many ways of writing the same thing onto one form, for
matching only (never for display): NFKC (full-width to half-width), case
folding, one script for Chinese, and Chinese
numerals in article references (``第二條`` -> ``第2条``) to Arabic digits.

Chinese is folded to Simplified (OpenCC ``tw2s``) because that direction is
many-to-one (著/着, 臺/台, 後/后, 偽/僞/伪 all meet), so a Simplified question
matches Traditional text and variant characters match each other.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Chinese ideographs: the unified block and extension A, and the compatibility
# ideographs some PDFs and old encodings produce (NFKC maps them to the unified ones).
IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK = re.compile(f"[{IDEOGRAPHS}]")
# CJK text in the wider sense (joined without spaces across a line break): everything from the
# radicals to the unified ideographs (kana, hangul jamo, CJK punctuation), compatibility
# ideographs, and full-width forms
CJK_TEXT = re.compile("[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "兩": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUM = "零〇一二兩两三四五六七八九十百千"  # the characters of a Chinese numeral

# 第 + numeral + a legal unit (article, paragraph, subparagraph, chapter...),
# and the "之N" that follows an article number (第319條之4).
_UNITS = "条项款目章节编号点"  # folded (Simplified) forms of 條項款目章節編號點
_ARTICLE_RE = re.compile(rf"第\s*([{CN_NUM}]+|\d+)\s*([{_UNITS}])")
_ZHI_RE = re.compile(rf"(?<=条)\s*之\s*([{CN_NUM}]+|\d+)")


def cn_to_int(s: str) -> int:
    """Convert a Chinese numeral below 10,000 (``三百一十九``) or digits to an int."""
    if s.isdigit():
        return int(s)
    if len(s) > 1 and not any(ch in _CN_UNITS for ch in s):  # digit by digit: 一零八 = 108, 二〇二四 = 2024
        try:
            return int("".join(str(_CN_DIGITS[ch]) for ch in s))
        except KeyError:
            raise ValueError(f"not a Chinese numeral: {s!r}") from None
    total, current = 0, 0
    for ch in s:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
        else:
            raise ValueError(f"not a Chinese numeral: {s!r}")
    return total + current


def normalize_articles(text: str) -> str:
    """Write folded article references alike: ``第 二 条之 四`` and ``第2条之4`` become ``第2条之4``."""
    def art(m: re.Match) -> str:
        return f"第{cn_to_int(m.group(1))}{m.group(2)}"

    def zhi(m: re.Match) -> str:
        return f"之{cn_to_int(m.group(1))}"

    text = _ARTICLE_RE.sub(art, text)
    return _ZHI_RE.sub(zhi, text)


@functools.lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("tw2s")


def to_simplified(text: str) -> str:
    """Traditional (Taiwan) to Simplified Chinese; identity on other scripts."""
    return _converter().convert(text)


def fold(text: str) -> str:
    """The matching form of ``text`` (see module docstring). Not length-preserving."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = to_simplified(text)
    return normalize_articles(text)
