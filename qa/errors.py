"""The library's own errors: one hierarchy, messages that name the bad value and the fix."""

from __future__ import annotations


class VerbatimError(Exception):
    """Base class of every error Verbatim raises on purpose."""


class InvalidQuestion(VerbatimError, ValueError):
    """The question is empty, too long or not text."""


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
