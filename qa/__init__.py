"""Verbatim's question answering: retrieve passages and answer with exact quotes.

    >>> from qa import retrieve, answer
    >>> answer("刑法哪一條處罰電腦合成製作不實性影像？").quotes[0].text

Nothing heavy happens at import: the store and the models load on first use
and are cached.
"""

from qa.errors import (
    IndexCorrupt,
    IndexLocked,
    IndexMismatch,
    IndexNotFound,
    InvalidQuestion,
    UnreadableFile,
    UnsupportedFile,
    VerbatimError,
)
from qa.records import Answer, Passage, Quote




def __getattr__(name):
    # Lazy, so that ``index`` can import ``qa.errors`` without loading the
    # whole question-answering side (and without an import cycle).
    if name == "answer":
        from qa.answerer import answer

        return answer
    if name == "retrieve":
        from qa.retriever import retrieve

        return retrieve
    raise AttributeError(f"module 'qa' has no attribute {name!r}")

__all__ = [
    "answer", "retrieve", "Answer", "Passage", "Quote", "VerbatimError", "InvalidQuestion",
    "IndexNotFound", "IndexMismatch", "IndexCorrupt", "IndexLocked", "UnsupportedFile", "UnreadableFile",
]
