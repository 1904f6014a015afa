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
from index.lexical import tokens
from index.textnorm import CJK, fold
from qa.constraints import Constraint, constraints
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


def split_clauses(question: str) -> tuple[list[str], list[int]]:
    """The question's clauses, and the numbers of those with a question word."""
    parts = [p.strip() for p in _CLAUSES.split(question) if p.strip()]
    return parts, [i for i, p in enumerate(parts) if _ASKS.search(p)]


def ask_index(parts: list[str], asking: list[int]) -> int | None:
    """The number of the last clause that asks when some other clause does not (None otherwise)."""
    return asking[-1] if len(parts) >= 2 and asking and len(asking) < len(parts) else None


def asking_text(parts: list[str], i: int | None) -> str | None:
    """What of a question a slot is read in (``qa.slots``): the clause that asks (``ask_index``);
    when every clause has a question word, those that end with a question mark, if not all do (本校有幾位
    美籍學生的家長很關心…。白宮呼籲國會修訂哪一部法律？ asks which law, not how many); else None (all of it)."""
    if i is not None:
        return parts[i]
    marked = [p for p in parts if p.endswith(("?", "？"))]
    return "，".join(marked) if marked and len(marked) < len(parts) else None


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
    parts, asking_at = split_clauses(q)
    i = ask_index(parts, asking_at)
    story = i is not None and any(_STORY.search(p) for j, p in enumerate(parts) if j != i)
    happening = bool(_HAPPENING.search(head))
    asks = asks_for(head)
    # a question that tells a story first has its names read in the clauses that ask (qa.constraints)
    ask_clauses = "\n".join(parts[j] for j in asking_at) or None
    asking = ask_clauses if story else None
    return Query(text=q, folded=folded, cjk=CJK.search(q) is not None, tokens=tuple(tokens(q)), clauses=tuple(parts),
                 ask_index=i, tells_story=story, happening=happening, asks=asks,
                 constraints=constraints(q[:ANALYSE_CHARS], head, asks, asking, ask_clauses), terms=lookup(head, q),
                 # what a number or date question's answer must hold, read in the clause that asks
                 slot=slot(asks, head, q) if (said := asking_text(parts, i)) is None
                 else slot(asks_for(ask := fold(said)), ask, said))

