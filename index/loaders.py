"""Read one file into text: decoding, front matter, and PDFs through ``index.pdf``.

:func:`load` reads one file into a :class:`RawDocument`: its text (one
element per PDF page), its metadata and the hash of its bytes. Which files
to read is :func:`index.discover.discover` (re-exported here).

Text files (``.txt``, ``.md``, ``.markdown``) are decoded as UTF-8 (with or
without a byte-order mark), UTF-16/32 when a byte-order mark says so, UTF-16
without one when its NUL bytes and whitespace give it away, and otherwise as
Big5/CP950, which documents from Taiwan's agencies still use, before falling
back to ``charset_normalizer``. Newlines become ``\\n``. A YAML
front matter block (a first line ``---``, YAML, a line ``---``) is read as
metadata whatever the suffix; when it is broken the whole file is kept as the
body and the problem is recorded under ``meta["front_matter_error"]``.

PDFs are parsed in a child process with limits (``index.pdf``).
"""

from __future__ import annotations

import base64
import codecs
import datetime as _dt
import errno
import hashlib
import logging
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import UnreadableFile, UnsupportedFile

from index.discover import SUPPORTED_SUFFIXES, _supported, _unsupported_reason, discover  # noqa: F401
from index.pdf import _load_pdf

log = logging.getLogger(__name__)

__all__ = ["SUPPORTED_SUFFIXES", "RawDocument", "discover", "load"]


# Byte-order marks, longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Legacy encodings tried, in this order, on text that is not UTF-8.
_CJK_ENCODINGS = ("cp950", "big5hkscs")
# Characters that do not occur in real text: C0 controls other than whitespace
# and DOS's end-of-file mark, DEL, C1 controls, private use, U+FFFD.
_SUSPICIOUS_RE = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd]")
_MAX_SUSPICIOUS_SHARE = 0.01
_NO_ENCODING = "not valid UTF-8 and no known encoding fits"

# Share of UTF-16 code units made of two printable ASCII bytes above which the
# "UTF-16" is really ASCII text with a stray NUL in it.
_MAX_ASCII_PAIR_SHARE = 0.5

_FRONT_MATTER_FENCE = "---"
_MAX_META_NODES = 10_000  # YAML aliases can make a small front matter expand enormously

@dataclass(frozen=True)
class RawDocument:
    """One file as read from disk, before any cleaning.

    Attributes:
        source: path relative to the indexed root, POSIX separators (for a
            single file argument: its file name).
        path: absolute path.
        sha256: hex digest of the file's bytes.
        meta: front matter (YAML) or PDF metadata (title, author, ...); ``{}``
            if none. Values are JSON-serialisable (dates as ISO strings).
        pages: the body text: one element for .txt/.md, one per page for PDFs
            (page i+1 is ``pages[i]``).
        body_line: 1-based line of the decoded file where ``pages[0]`` starts
            (after any front matter); 1 for PDFs.
        encoding: how the bytes were decoded, e.g. ``utf-8``, ``utf-8-sig``,
            ``utf-16``, ``cp950``; ``pdf`` for PDFs.
        front_matter: the front-matter block as it stands in the file (from
            the first ``---`` line to the closing one, newline included), or
            ``""``. It is part of the document's text and can be quoted.
    """

    source: str
    path: Path
    sha256: str
    meta: dict
    pages: list[str]
    body_line: int
    encoding: str
    front_matter: str = ""


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def load(path: Path, source: str, *, pdf_timeout: float = 30.0, pdf_memory_mb: int = 1024) -> RawDocument:
    """Read one file into a RawDocument.

    Args:
        path: the file (as returned by :func:`discover`).
        source: its source name (as returned by :func:`discover`); used in log
            messages and kept in the result.
        pdf_timeout: seconds a PDF may take to parse before its parser is killed.
        pdf_memory_mb: address-space limit of the PDF parser process, in MB.

    Returns:
        The file's text, metadata, hash and encoding.

    Raises:
        UnsupportedFile: the suffix is not one of ``SUPPORTED_SUFFIXES``.
        UnreadableFile: the file cannot be opened, is empty, binary, in an
            unknown encoding, or is a broken, encrypted, scanned (no text
            layer) PDF, or one whose parsing takes too long or too much memory.
            The message is the reason, without the file name.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFile(_unsupported_reason(path.name))
    data = _read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    abspath = Path(os.path.abspath(path))
    if suffix == ".pdf":
        pages, meta = _load_pdf(data, source, timeout=pdf_timeout, memory_mb=pdf_memory_mb)
        return RawDocument(source, abspath, digest, meta, pages, 1, "pdf")

    text, encoding = _decode(data)
    if encoding not in ("utf-8", "utf-8-sig"):
        log.info("%s: not UTF-8, decoded as %s", source, encoding)
    text = _normalise_newlines(text)
    meta, body, body_line = _split_front_matter(text, source)
    if not body.strip() and body_line == 1:
        raise UnreadableFile("empty")
    front_matter = text[: len(text) - len(body)] if body_line > 1 else ""
    return RawDocument(source, abspath, digest, meta, [body], body_line, encoding, front_matter)


def _read_bytes(path: Path) -> bytes:
    # O_NONBLOCK: opening a FIFO that happens to be named *.txt must not hang.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
        with open(fd, "rb", closefd=True) as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
            if not stat.S_ISREG(mode):
                raise UnreadableFile("not a regular file")
            return fh.read()
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from exc


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---- text decoding --------------------------------------------------------


def _plausible(text: str) -> bool:
    """True if ``text`` looks like text rather than bytes decoded with the wrong codec."""
    if not text:
        return False
    return len(_SUSPICIOUS_RE.findall(text)) <= len(text) * _MAX_SUSPICIOUS_SHARE


def _decode(data: bytes) -> tuple[str, str]:
    """Decode a text file's bytes; returns ``(text, encoding)``."""
    if not data:
        raise UnreadableFile("empty")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                reason = f"invalid {encoding.upper()} text after its byte-order mark (byte {exc.start})"
                raise UnreadableFile(reason) from exc
            if "\x00" in text:
                raise UnreadableFile("contains NUL characters: a binary file?")
            return text, encoding
    if b"\x00" in data:
        found = _utf16_without_bom(data)
        if found is None:
            raise UnreadableFile("contains NUL bytes: a binary file?")
        return found
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in _CJK_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _plausible(text):
            return text, encoding
    guess = _guess_encoding(data)
    if guess is not None:
        return guess
    raise UnreadableFile(_NO_ENCODING)


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """``(text, encoding)`` if ``data`` (which has NUL bytes) is UTF-16 text without a byte-order mark.

    Both byte orders are tried. Read in the wrong order, ``\\n`` and spaces
    become U+0A00 and U+2000, so the right order is the one that has the
    whitespace: text of one line without a space is not recognised. ASCII text
    with a stray NUL would read as CJK-looking pairs of ASCII bytes: refused.
    """
    if len(data) % 2:
        return None
    best: tuple[int, int, str, str] | None = None
    for preference, encoding in enumerate(("utf-16-be", "utf-16-le")):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:  # e.g. a lone surrogate: not UTF-16 in this order
            continue
        if "\x00" in text or not _plausible(text):
            continue
        ascii_pairs = sum(1 for ch in text if 0x20 <= ord(ch) >> 8 <= 0x7E and 0x20 <= ord(ch) & 0xFF <= 0x7E)
        if ascii_pairs > _MAX_ASCII_PAIR_SHARE * len(text):
            continue
        spaces = sum(text.count(ch) for ch in "\n\r\t ")
        if spaces and (best is None or (spaces, preference) > best[:2]):
            best = (spaces, preference, text, encoding)
    return (best[2], best[3]) if best else None


def _guess_encoding(data: bytes) -> tuple[str, str] | None:
    try:
        import charset_normalizer
    except ImportError:  # pragma: no cover - a declared dependency
        log.warning("charset-normalizer is not installed: only UTF-8/16/32 and Big5 are recognised")
        return None
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return None
    encoding = best.encoding
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    if not _plausible(text):
        return None
    return text, encoding


# ---- front matter ---------------------------------------------------------


def _split_front_matter(text: str, source: str) -> tuple[dict, str, int]:
    """Split off YAML front matter; returns ``(meta, body, body_line)``."""
    lines = text.split("\n")
    if lines[0].rstrip(" \t") != _FRONT_MATTER_FENCE:
        return {}, text, 1
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip(" \t") == _FRONT_MATTER_FENCE), None)
    if close is None:
        return _front_matter_failed(text, source, "no closing --- line")
    import yaml

    try:
        value = yaml.safe_load("\n".join(lines[1:close]))
    except yaml.MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 2}" if exc.problem_mark is not None else ""
        problem = exc.problem or exc.context or "syntax error"
        return _front_matter_failed(text, source, f"invalid YAML{where}: {problem}")
    except (yaml.YAMLError, RecursionError) as exc:
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        return _front_matter_failed(text, source, f"invalid YAML: {first_line}")
    if value is None:
        value = {}
    if not isinstance(value, dict):
        return _front_matter_failed(text, source, f"front matter is not a mapping but a {type(value).__name__}")
    try:
        meta = _jsonable(value, [_MAX_META_NODES])
    except _TooLarge:
        return _front_matter_failed(text, source, f"front matter has more than {_MAX_META_NODES} values")
    return meta, "\n".join(lines[close + 1:]), close + 2


def _front_matter_failed(text: str, source: str, reason: str) -> tuple[dict, str, int]:
    log.warning("%s: front matter ignored, the whole file is read as text: %s", source, reason)
    return {"front_matter_error": reason}, text, 1


class _TooLarge(Exception):
    pass


def _jsonable(value: Any, budget: list[int]) -> Any:
    """A JSON-serialisable copy of a YAML value (dates as ISO strings)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (_dt.date, _dt.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(_jsonable(k, budget)): _jsonable(v, budget) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v, budget) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, budget) for v in value]
    return str(value)


