"""The content words of a Chinese question: the nouns and names a person asked about.

A not-found that the abstention model decides has no constraint to name
(``qa.constraints.Constraint``), but a near-topic question usually holds a word the
documents never use: 日本, 性平會, 慰撫金. ``content_words`` segments the
question with jieba's dictionary (``rjieba``, the Rust port: no start-up cost)
and keeps its nouns, names and idioms, as written; the answerer names those the
store's vocabulary lacks (``qa.answerer``).

jieba's dictionary is Simplified: a Traditional question is segmented in its
Simplified form (OpenCC converts character by character, so offsets hold) and
the words are cut from the question as written. Verbs, particles, numbers and
single characters are left out: "被判了幾年" is a kind of fact (a sentence
length), told by the question's constraints, and 我要 / 是不是 say nothing. An
English question names in English what the documents write in Chinese, so it
has no content words here (its names are checked as constraints).
"""

from __future__ import annotations

import re

from index.textnorm import CJK, to_simplified

# jieba's part-of-speech tags of nouns (n, nr person, ns place, nt organisation, nz other proper
# noun, nrt, nrfg), idioms and set phrases (i, l), abbreviations (j), verbal nouns (vn) and Latin
# words (eng: in a Chinese question, a name: Discord, eSafety)
_CONTENT = re.compile(r"n|nr|ns|nt|nz|nrt|nrfg|i|l|j|vn|eng")
# words of asking, telling and pleading that jieba tags as nouns or idioms
_GENERIC = frozenset(to_simplified(w) for w in (
    "怎麼辦 怎麼回事 如何是好 謝謝 拜託 幫幫忙 救命 "
    "問題 事情 東西 時候 情況 方面 部分 相關 規定 內容 資料 資訊 問一下 請問 大家 有人 別人 地方 方式 辦法 結果 "
    "一共 總共 是不是 有沒有 可不可以 能不能 要不要 會不會 好不好 對不對 現在 今天 明天 昨天 最近 之後 以後 "
    "以前 後來 一下 原因 意思 消息 國家 公司 人員 東東 這種 那種 這個 那個"
).split())


def content_words(text: str) -> tuple[str, ...]:
    """The nouns, names and set phrases of ``text`` (a Chinese question), as written, each once,
    in order; () for a question with no Chinese."""
    if not CJK.search(text):
        return ()
    import rjieba  # 0.1 s to import: paid by the first not-found (``qa.answerer.warm_up``), not at start-up

    simple = to_simplified(text)
    aligned = len(simple) == len(text)
    out: list[str] = []
    for word, tag, start in _latin_runs(rjieba.tag(simple)):
        if len(word.strip()) < 2 or not _CONTENT.fullmatch(tag) or word in _GENERIC:
            continue
        if tag == "eng" and not word[:1].isalpha():
            continue
        said = text[start:start + len(word)] if aligned else word
        if said not in out:
            out.append(said)
    return tuple(out)


def _latin_runs(tagged):
    """(word, tag, offset) of jieba's words, with Latin words joined by single spaces made one
    name: "Take It Down" is asked about as a whole, not as "It"."""
    merged: list[list] = []
    pos = 0
    for word, tag in tagged:
        if (merged and tag == "eng" and merged[-1][1] == "eng" and merged[-1][0].endswith(" ")) \
                or (word == " " and merged and merged[-1][1] == "eng" and not merged[-1][0].endswith(" ")):
            merged[-1][0] += word
        else:
            merged.append([word, tag, pos])
        pos += len(word)
    for word, tag, start in merged:
        yield word.rstrip(), tag, start
