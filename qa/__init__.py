"""Verbatim's question answering: retrieve passages and answer with exact quotes.

    >>> from qa import retrieve, answer
    >>> answer("刑法哪一條處罰電腦合成製作不實性影像？").quotes[0].text

Nothing heavy happens at import: the store and the models load on first use
and are cached. The errors live in ``index.errors`` (a leaf module both sides
import) and are re-exported here.
"""

from index.errors import (
    EmptyQuestion,
    IndexCorrupt,
    IndexLocked,
    IndexMismatch,
    IndexNotFound,
    InvalidQuestion,
    QuestionTooLong,
    UnknownSource,
    UnreadableFile,
    UnsupportedFile,
    VerbatimError,
)
from qa.answerer import answer
from qa.laws import Article, Citation, Cited, Law, cited, laws
from qa.records import Answer, Passage, Quote
from qa.retriever import retrieve

__all__ = [
    "answer", "retrieve", "laws", "cited", "Law", "Article", "Citation", "Cited", "Answer", "Passage", "Quote", "VerbatimError", "InvalidQuestion", "EmptyQuestion",
    "QuestionTooLong", "UnknownSource", "IndexNotFound", "IndexMismatch", "IndexCorrupt", "IndexLocked",
    "UnsupportedFile", "UnreadableFile",
]
