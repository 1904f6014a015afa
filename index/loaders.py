"""Read the files to index into text: discovery, decoding, front matter, PDFs.

Two entry points:

- :func:`discover` expands the files and folders the user named into the
  files to read, each with its *source* name (its path relative to the folder
  that was named, with ``/`` separators; a file named on its own is known by
  its file name). Hidden files and folders are left out; so are files of other
  types found in a folder. What cannot be read at all (a missing path, a file
  named explicitly whose type is not supported, a symlink leading out of the
  folder) is listed with the reason.
- :func:`load` reads one file into a :class:`RawDocument`: its text (one
  element per PDF page), its metadata and the hash of its bytes.

Text files (``.txt``, ``.md``, ``.markdown``) are decoded as UTF-8 (with or
without a byte-order mark), UTF-16/32 when a byte-order mark says so, UTF-16
without one when its NUL bytes and whitespace give it away, and otherwise as
Big5/CP950, which documents from Taiwan's agencies still use, before falling
back to ``charset_normalizer``. Newlines become ``\\n``. A YAML
front matter block (a first line ``---``, YAML, a line ``---``) is read as
metadata whatever the suffix; when it is broken the whole file is kept as the
body and the problem is recorded under ``meta["front_matter_error"]``.

PDFs are parsed with pypdf in a child process (``python -m index.loaders
--pdf-worker``), because pypdf has a history of inputs that make it loop
forever or eat all memory: the child gets an address-space limit, the parent a
wall-clock timeout after which the child is killed. The child receives the
file's bytes on stdin and answers with one JSON object on stdout; nothing from
the child is ever unpickled.
"""

from __future__ import annotations

import argparse
import base64
import codecs
import datetime as _dt
import errno
import hashlib
import io
import json
import logging
import math
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from index.errors import UnreadableFile, UnsupportedFile

log = logging.getLogger(__name__)

__all__ = ["SUPPORTED_SUFFIXES", "RawDocument", "discover", "load"]

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf")

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

_SYMLINK_LOOP = "symlink loop"
# Share of UTF-16 code units made of two printable ASCII bytes above which the
# "UTF-16" is really ASCII text with a stray NUL in it.
_MAX_ASCII_PAIR_SHARE = 0.5

_FRONT_MATTER_FENCE = "---"
_MAX_META_NODES = 10_000  # YAML aliases can make a small front matter expand enormously

_NO_TEXT_LAYER = "PDF has no text layer (scanned?); OCR is not supported"
_PDF_META_FIELDS = ("title", "author", "subject", "keywords", "creator", "producer")
_PDF_META_DATES = ("creation_date", "modification_date")
_MAX_WORKER_WARNINGS = 50
_PKG_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds the ``index`` package


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
# Discovery
# --------------------------------------------------------------------------


def _supported(name: str) -> bool:
    return PurePath(name).suffix.lower() in SUPPORTED_SUFFIXES


def _unsupported_reason(name: str) -> str:
    suffix = PurePath(name).suffix
    what = f"'{suffix}'" if suffix else "without a suffix"
    return f"unsupported file type {what} (supported: {', '.join(SUPPORTED_SUFFIXES)})"


def _resolve(path: Path) -> Path:
    """``path.resolve()``, raising OSError(ELOOP) on a symlink loop (Python < 3.13 raises RuntimeError)."""
    try:
        return path.resolve()
    except RuntimeError as exc:
        raise OSError(errno.ELOOP, _SYMLINK_LOOP, str(path)) from exc


def _broken_link_reason(path: Path) -> str:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return _SYMLINK_LOOP
    return "broken symlink"


def _walk(root: Path, shown_root: str) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """Files under ``root`` (sorted, depth first) and what was skipped there."""
    files: list[tuple[Path, str]] = []
    skipped: list[tuple[str, str]] = []
    real_root = _resolve(root)
    outside = f"symlink points outside {shown_root}"

    def visit(folder: Path, rel: tuple[str, ...]) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skipped.append(("/".join(rel) or shown_root, exc.strerror or str(exc)))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            parts = (*rel, entry.name)
            source = "/".join(parts)
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    target = _resolve(path)
                    if target.is_dir():
                        if not target.is_relative_to(real_root):
                            skipped.append((source, outside))
                        else:
                            # Its files are reached through their real path; following it
                            # would index them twice or loop.
                            log.debug("not following symlinked folder %s", source)
                        continue
                    if not _supported(entry.name):
                        continue
                    if not target.exists():
                        skipped.append((source, _broken_link_reason(path)))
                    elif not target.is_relative_to(real_root):
                        skipped.append((source, outside))
                    elif not target.is_file():
                        skipped.append((source, "not a regular file"))
                    else:
                        files.append((path.absolute(), source))
                elif entry.is_dir(follow_symlinks=False):
                    visit(path, parts)
                elif _supported(entry.name):
                    if entry.is_file(follow_symlinks=False):
                        files.append((path.absolute(), source))
                    else:
                        skipped.append((source, "not a regular file"))
            except OSError as exc:
                skipped.append((source, exc.strerror or str(exc)))

    visit(root, ())
    return files, skipped


def discover(paths: Iterable[str | Path]) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """Expand files and folders into the files to read, each with its source name.

    Folders are walked recursively in sorted order. Hidden files and folders
    (names starting with ``.``) and files of unsupported types inside folders
    are left out silently; symlinked folders inside the folder are not
    followed (their files are reached through their real path). A file is
    listed once even if named twice; two different files that would get the
    same source name (``a.txt`` in two folders named side by side) are not
    both kept, since the source name identifies a document.

    Args:
        paths: files and folders, as given by the user. A single ``str`` or
            ``Path`` is taken as one path.

    Returns:
        ``(files, skipped)``: ``files`` is a list of ``(absolute path, source)``
        pairs, ``source`` being the path relative to the folder named (POSIX
        separators) or, for a file named on its own, its file name.
        ``skipped`` is a list of ``(source, reason)`` pairs: paths that do not
        exist (``"not found"``), files named explicitly whose type is not
        supported, symlinks inside a folder whose target lies outside it
        (``"symlink points outside <folder>"``), broken symlinks and symlink
        loops, unreadable folders. Each is also logged as a warning.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: list[tuple[Path, str]] = []
    skipped: list[tuple[str, str]] = []
    for given in paths:
        p = Path(given)
        shown = str(given)
        if not p.exists():  # also a symlink whose target is missing
            skipped.append((shown, "not found"))
        elif p.is_dir():
            try:
                f, s = _walk(p, shown)
            except OSError as exc:  # the folder itself vanished or loops
                skipped.append((shown, exc.strerror or str(exc)))
                continue
            found.extend(f)
            skipped.extend(s)
        elif not _supported(p.name):
            skipped.append((p.name, _unsupported_reason(p.name)))
        elif not p.is_file():
            skipped.append((p.name, "not a regular file"))
        else:
            found.append((p.absolute(), p.name))

    files: list[tuple[Path, str]] = []
    by_source: dict[str, Path] = {}
    seen: set[Path] = set()
    for path, source in found:
        try:
            real = _resolve(path)
        except OSError:  # replaced by a looping symlink since it was listed: load() will say so
            real = path
        if real in seen:
            log.debug("%s: already listed", source)
            continue
        if source in by_source:
            skipped.append((source, f"another file has the same source name ({by_source[source]})"))
            continue
        seen.add(real)
        by_source[source] = path
        files.append((path, source))
    for source, reason in skipped:
        log.warning("skipping %s: %s", source, reason)
    return files, skipped


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


# ---- PDF ------------------------------------------------------------------


def _worker_command(memory_mb: int) -> list[str]:
    """The command line of the PDF parser process (tests replace it)."""
    return [sys.executable, "-m", "index.loaders", "--pdf-worker", "--memory-mb", str(memory_mb)]


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PKG_ROOT), env.get("PYTHONPATH")]))
    return env


def _load_pdf(data: bytes, source: str, *, timeout: float, memory_mb: int) -> tuple[list[str], dict]:
    """Parse a PDF in a child process; returns ``(pages, meta)``."""
    try:
        proc = subprocess.run(
            _worker_command(memory_mb),
            input=data,
            capture_output=True,
            timeout=timeout,
            cwd=_PKG_ROOT,  # the current folder comes first on sys.path: make it ours
            env=_worker_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:  # run() has killed the child
        raise UnreadableFile(f"PDF parsing exceeded {timeout:g} s") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot start the PDF parser: {exc}") from exc

    stderr = proc.stderr.decode("utf-8", "replace").strip()
    try:
        result = json.loads(proc.stdout)
        if not isinstance(result, dict):
            raise ValueError("not an object")
    except ValueError:
        if stderr:
            log.debug("%s: PDF parser stderr:\n%s", source, stderr[-4000:])
        if proc.returncode < 0:
            try:
                name = signal.Signals(-proc.returncode).name
            except ValueError:
                name = str(-proc.returncode)
            raise UnreadableFile(f"PDF parser was killed by {name}") from None
        if "MemoryError" in stderr:
            raise UnreadableFile(f"PDF parsing exceeded {memory_mb} MB of memory") from None
        last = stderr.splitlines()[-1] if stderr else "no output"
        raise UnreadableFile(f"PDF parser failed (exit code {proc.returncode}): {last}") from None

    warnings = result.get("warnings")
    for w in warnings if isinstance(warnings, list) else ():
        log.debug("%s: pypdf: %s", source, w)
    if not result.get("ok"):
        raise UnreadableFile(str(result.get("error") or "broken PDF"))

    pages = result.get("pages")
    meta = result.get("meta")
    if not isinstance(pages, list) or not all(isinstance(p, str) for p in pages) or not isinstance(meta, dict):
        raise UnreadableFile("PDF parser returned malformed output")
    pages = [_normalise_newlines(p).replace("\x00", "") for p in pages]
    meta = {str(k): v for k, v in meta.items() if isinstance(v, str)}
    if not pages:
        raise UnreadableFile("PDF has no pages")
    if not any(p.strip() for p in pages):
        failed = result.get("failed_pages")
        if isinstance(failed, int) and failed == len(pages):
            raise UnreadableFile(f"broken PDF: text extraction failed on every page ({result.get('first_error', '')})")
        raise UnreadableFile(_NO_TEXT_LAYER)
    return pages, meta


# ---- the PDF parser process ----------------------------------------------
# Runs as ``python -m index.loaders --pdf-worker``: reads the PDF's bytes on
# stdin, writes one JSON object on stdout:
#   {"ok": true, "pages": [...], "meta": {...}, "failed_pages": n, "first_error": "...", "warnings": [...]}
#   {"ok": false, "error": "...", "warnings": [...]}


def _scrub(text: str) -> str:
    """Drop lone surrogates (from broken font maps), which JSON and UTF-8 cannot carry."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _limit_resources(memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: no limit
        return
    limit = memory_mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < _MAX_WORKER_WARNINGS:
            self.messages.append(_scrub(record.getMessage()))


def _pdf_error(exc: BaseException) -> str:
    message = str(exc).strip() or type(exc).__name__
    return f"broken PDF: {_scrub(message)}"


def _parse_pdf(data: bytes, warnings: list[str], memory_mb: int) -> dict[str, Any]:
    try:
        import pypdf
        from pypdf.errors import DependencyError, FileNotDecryptedError
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name == "pypdf":
            return {"ok": False, "error": "pypdf is not installed: pip install pypdf"}
        # A shared library that cannot be mapped: the memory limit is too low.
        return {"ok": False, "error": f"cannot load pypdf within {memory_mb} MB of memory: {_scrub(str(exc))}"}
    encrypted_aes = "encrypted PDF that needs the 'cryptography' package: pip install cryptography"
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
            return {"ok": False, "error": "encrypted PDF"}
        n = len(reader.pages)
    except DependencyError:
        return {"ok": False, "error": encrypted_aes}
    except FileNotDecryptedError:
        return {"ok": False, "error": "encrypted PDF"}
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # pypdf raises all sorts on broken files, even RecursionError
        return {"ok": False, "error": _pdf_error(exc)}

    pages: list[str] = []
    failed = 0
    first_error = ""
    for i in range(n):
        try:
            text = reader.pages[i].extract_text() or ""
        except DependencyError:
            return {"ok": False, "error": encrypted_aes}
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:
            failed += 1
            message = _scrub(str(exc).strip() or type(exc).__name__)
            first_error = first_error or f"page {i + 1}: {message}"
            warnings.append(f"page {i + 1}: text extraction failed: {message}")
            text = ""
        pages.append(_scrub(text))

    meta: dict[str, str] = {}
    try:
        info = reader.metadata
    except Exception as exc:
        warnings.append(f"unreadable document information: {exc}")
        info = None
    if info is not None:
        for name in _PDF_META_FIELDS:
            try:
                value = info.get(f"/{name.capitalize()}")
                value = value.get_object() if value is not None else None
                if value is not None and not isinstance(value, (str, bytes)):
                    continue
                if isinstance(value, bytes):
                    value = value.decode("latin-1")
            except Exception:
                continue
            if value:
                value = _scrub(value).replace("\x00", "").strip()
                if value:
                    meta[name] = value
        for name in _PDF_META_DATES:
            try:
                date = getattr(info, name)
            except Exception:
                continue
            if date is not None:
                meta[name] = date.isoformat()
    return {"ok": True, "pages": pages, "meta": meta, "failed_pages": failed, "first_error": first_error}


def _pdf_worker_main(memory_mb: int) -> int:
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but the JSON answer may reach stdout
    handler = _ListHandler()
    pypdf_log = logging.getLogger("pypdf")
    pypdf_log.addHandler(handler)
    pypdf_log.propagate = False
    try:
        _limit_resources(memory_mb)
        data = sys.stdin.buffer.read()
        result = _parse_pdf(data, handler.messages, memory_mb)
    except MemoryError:
        result = {"ok": False, "error": f"PDF parsing exceeded {memory_mb} MB of memory"}
    result["warnings"] = handler.messages[:_MAX_WORKER_WARNINGS]
    out.write(json.dumps(result, ensure_ascii=False).encode("utf-8"))
    out.flush()
    return 0


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m index.loaders", description="Internal: the PDF parser process.")
    parser.add_argument("--pdf-worker", action="store_true", required=True,
                        help="parse the PDF on stdin, answer with JSON on stdout")
    parser.add_argument("--memory-mb", type=int, default=1024, help="address-space limit in MB")
    args = parser.parse_args(argv)
    return _pdf_worker_main(args.memory_mb)


if __name__ == "__main__":
    sys.exit(_main())
