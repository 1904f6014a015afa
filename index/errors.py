"""The library's own errors: one hierarchy, messages that name the bad value and the fix.

A leaf module: both sides import it (``index`` raises store and file errors,
``qa`` question errors) and ``qa`` re-exports it, so no import runs from
``index`` up to ``qa``. Callers tell errors apart by type, never by message.
"""

from __future__ import annotations


class VerbatimError(Exception):
    """Base class of every error Verbatim raises on purpose."""


class InvalidQuestion(VerbatimError, ValueError):
    """The question (or another argument of a question) is not acceptable."""


class EmptyQuestion(InvalidQuestion):
    """The question is empty, or has no letter or digit in it."""


class QuestionTooLong(InvalidQuestion):
    """The question is longer than the limit."""

    def __init__(self, message: str, length: int, limit: int):
        super().__init__(message)
        self.length, self.limit = length, limit


class UnknownSource(InvalidQuestion):
    """A document filter names a document the store does not hold, or is not a list of names."""


class IndexNotFound(VerbatimError, FileNotFoundError):
    """No store exists at the given path."""


class IndexMismatch(VerbatimError):
    """The store was built with other settings (embedder, chunker) than asked for."""


class IndexCorrupt(VerbatimError):
    """A store file is missing, truncated or fails its checksum."""


class IndexLocked(VerbatimError):
    """Another indexer holds the store's lock."""


class UnsupportedFile(VerbatimError):
    """A file type the indexer does not read."""


class UnreadableFile(VerbatimError):
    """A file that could not be read: bad encoding, broken or encrypted PDF, empty."""


class EmbedderUnavailable(VerbatimError, ImportError):
    """An embedder's package or model is not installed."""
