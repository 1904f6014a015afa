"""The records the public API returns: frozen dataclasses, one type per function."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["answered", "not_found", "refused"]

# how many of a not-found's closest passages a reader is shown (CLI, page, note); ``Answer.unmatched``
# names what these do not hold
CLOSEST_SHOWN = 3


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: an exact slice ``canonical[start:end]`` of one document.

    Attributes:
        chunk_id: stable id (hash of source, offsets and text), survives rebuilds.
        text: the chunk's text, verbatim.
        source: the file name, as in the indexed folder (``000_….txt``).
        title: the document's title (front matter, first heading or PDF metadata).
        section: heading path, parts joined by `` › ``; empty when none.
        page: 1-based PDF page the chunk starts on, else None.
        start, end: character offsets in the document's canonical text.
        score: retrieval score (higher is better; comparable within one query).
        kind: what the chunk is (``index.clean.Block``): ``"para"`` (prose),
            ``"footnote"``, ``"meta"`` (a front-matter line), ``"list"``
            (navigation-like lists) or ``"reference"`` (citation and link lines).
        line: 1-based line in the original file where the chunk starts.
    """

    chunk_id: str
    text: str
    source: str
    title: str
    section: str
    page: int | None
    start: int
    end: int
    score: float
    kind: str = "para"
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Quote:
    """Whole sentences quoted from a passage's document.

    ``text == canonical[start:end]`` of ``passage.source``; ``start``/``end`` are
    document offsets, like the passage's.
    """

    text: str
    passage: Passage
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Wording:
    """An everyday word of the question and the documents' term for it (``qa.glossary``)."""

    said: str
    term: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """What ``answer()`` returns.

    Attributes:
        question: the question as asked.
        status: ``"answered"``, ``"not_found"`` or ``"refused"``.
        quotes: the answer, best first; empty unless ``status == "answered"``.
        passages: the passages looked at (for ``not_found`` the closest ones, for
            ``refused`` the passages on the law and on reporting and takedown).
        confidence: the calibrated probability that the documents answer it.
        missing: for ``not_found``, what the question asks that no passage
            found holds (a place, a year, an article, a name, or a kind of
            fact such as a phone number or a prison term), as shown to a reader.
        unmatched: for ``not_found``, what the passages nearest to the
            question do not say: first, for a number question, what it counts
            as written ("多少個國家") when none of the best sentences gives a
            number of it, for a date question what it asks the date of
            ("成立的日期") when none gives a date of it (``qa.slots``); then,
            with nothing in ``missing`` (every word of the question is
            somewhere in the documents), the question's words that none of
            the closest passages holds, as written (not an everyday word shown
            in ``terms`` with the documents' term).
        asks: what the question asks for (``qa.query``: action, legality,
            number, date, who, definition, reason, how, list), or None.
        help: when the question tells that it is happening to the asker or
            to someone in their care, the documents' passages on takedown,
            reporting and help (not repeated from the quotes).
        terms: the question's everyday words that the documents put in
            other words, with the documents' term (to search the law with).
        refusal: for ``refused``, the category (``sexual_minor_seek``,
            ``nonconsensual_sexual_edit``, or ``guard_error`` when the check
            itself failed and the question was refused to be safe).
        reference: the law and article the question names, written one way
            (中華民國刑法 第319條之4); the passages citing it come first, and
            an article the documents never cite is listed in ``missing``.
    """

    question: str
    status: Status
    quotes: list[Quote] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    confidence: float = 0.0
    missing: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    asks: str | None = None
    help: list[Passage] = field(default_factory=list)
    terms: list[Wording] = field(default_factory=list)
    refusal: str | None = None
    reference: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
