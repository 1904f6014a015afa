"""Which files to read: the files and folders a user names, expanded.

:func:`discover` expands the files and folders the user named into the files
to read, each with its *source* name (its path relative to the folder that
was named, with ``/`` separators; a file named on its own is known by its
file name). Hidden files and folders are left out; so are files of other
types found in a folder. What cannot be read at all (a missing path, a file
named explicitly whose type is not supported, a symlink leading out of the
folder, a symlink loop) is listed with the reason.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterable
from pathlib import Path, PurePath


log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf")
_SYMLINK_LOOP = "symlink loop"


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


