"""Split a canonical text into sentences and pack sentences into chunks.

A chunk is a run of whole sentences inside one section (never across a
heading), an exact slice ``canonical[start:end]``. Footnotes are chunks of
their own, labelled as footnotes; list items with no sentence in them (menus,
"related events") are chunked apart and labelled ``list`` so retrieval can
weigh them down.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

from index.clean import Block, CleanDoc

# Bump when chunk boundaries of any input could change.
CHUNKER_VERSION = 2

DEFAULT_TARGET_CHARS = 160
DEFAULT_MAX_CHARS = 320

_CLOSERS = "」』）)”’\"'】〉》"
# A sentence ends at 。！？；!?; (plus closing quotes/brackets), or at a full
# stop followed by a space or the end, after a letter (not inside 3.5 or e.g.).
_SENT_END_RE = re.compile(
    rf"[。！？!?；;][{re.escape(_CLOSERS)}]*|(?<=[A-Za-z)\]])\.[{re.escape(_CLOSERS)}]*(?=\s|$)"
)
_SOFT_SPLIT_RE = re.compile(r"[，,、：:]")


@dataclass(frozen=True)
class Chunk:
    """A chunk of one document; offsets are canonical-text offsets."""

    chunk_id: str
    source: str
    start: int
    end: int
    text: str
    section: tuple[str, ...]
    kind: str
    page: int | None
    line: int | None
    sentences: tuple[tuple[int, int], ...]  # document offsets of its sentences


def chunk_id(source: str, start: int, end: int, text: str) -> str:
    """Stable id of a chunk: the same source, span and text give the same id."""
    h = hashlib.sha256(f"{source}\x00{start}\x00{end}\x00{text}".encode("utf-8"))
    return h.hexdigest()[:16]


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _split_long(text: str, a: int, b: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than ``max_chars`` at commas, else every max_chars."""
    pieces: list[tuple[int, int]] = []
    while b - a > max_chars:
        window = text[a:a + max_chars]
        cuts = [m.end() for m in _SOFT_SPLIT_RE.finditer(window)]
        cut = a + (cuts[-1] if cuts and cuts[-1] > max_chars // 3 else max_chars)
        pieces.append(_trim(text, a, cut))
        a = cut
    pieces.append(_trim(text, a, b))
    return [p for p in pieces if p[1] > p[0]]


def _open_parens(text: str, a: int, b: int) -> int:
    seg = text[a:b]
    return seg.count("（") + seg.count("(") - seg.count("）") - seg.count(")")


def split_sentences(text: str, start: int, end: int, max_chars: int = DEFAULT_MAX_CHARS) -> list[tuple[int, int]]:
    """Sentence spans (document offsets, trimmed of white space) in ``text[start:end]``.

    A line break always ends a sentence; sentences longer than ``max_chars``
    are cut at commas so no chunk grows without bound.
    """
    spans: list[tuple[int, int]] = []
    pos = start
    for line in text[start:end].split("\n"):
        line_end = pos + len(line)
        a = pos
        for m in _SENT_END_RE.finditer(text, pos, line_end):
            # a semicolon inside parentheses separates citations, not sentences
            if m.group(0)[0] in "；;" and _open_parens(text, a, m.start()) > 0:
                continue
            spans.extend(_split_long(text, *_trim(text, a, m.end()), max_chars))
            a = m.end()
        if a < line_end:
            spans.extend(_split_long(text, *_trim(text, a, line_end), max_chars))
        pos = line_end + 1
    return [s for s in spans if s[1] > s[0]]


def _pack(sentences: list[tuple[int, int]], target: int, max_chars: int) -> list[list[tuple[int, int]]]:
    groups: list[list[tuple[int, int]]] = []
    cur: list[tuple[int, int]] = []
    for s in sentences:
        if cur:
            size = cur[-1][1] - cur[0][0]
            grown = s[1] - cur[0][0]
            if grown > max_chars or (size >= target // 2 and grown > target):
                groups.append(cur)
                cur = []
        cur.append(s)
    if cur:
        groups.append(cur)
    return groups


def chunk_document(
    source: str,
    doc: CleanDoc,
    *,
    paged: bool = False,
    line_of=None,
    target_chars: int = DEFAULT_TARGET_CHARS,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> list[Chunk]:
    """Chunk one cleaned document.

    Args:
        source: the document's source name.
        doc: its canonical text and blocks.
        paged: the document has pages (a PDF): chunks get 1-based page numbers.
        line_of: optional function (page index, raw offset) -> 1-based line.
        target_chars: preferred chunk size in characters.
        max_chars: hard upper bound on a chunk (a longer sentence is cut).

    Returns:
        Chunks in document order.
    """
    if target_chars < 20 or max_chars < target_chars:
        raise ValueError(f"need 20 <= target_chars <= max_chars, got {target_chars}, {max_chars}")
    text = doc.text

    def locate(pos: int) -> tuple[int | None, int | None]:
        if not doc.segments:
            return None, None
        page, raw = doc.raw_position(pos)
        line = line_of(page, raw) if line_of else None
        return (page + 1 if paged and page >= 0 else None), line

    # Group consecutive blocks that chunks may share: same section and same
    # family (footnotes alone, list items together, paragraphs together).
    groups: list[list[Block]] = []
    for b in doc.blocks:
        if b.kind == "heading":
            groups.append([])
            continue
        family = b.kind if b.kind != "footnote" else f"footnote:{b.start}"
        if groups and groups[-1] and groups[-1][-1].section == b.section and _family(groups[-1][-1]) == family:
            groups[-1].append(b)
        else:
            groups.append([b])

    chunks: list[Chunk] = []
    for group in groups:
        if not group:
            continue
        sentences: list[tuple[int, int]] = []
        for b in group:
            sentences.extend(split_sentences(text, b.start, b.end, max_chars))
        kind = "footnote" if group[0].kind == "footnote" else group[0].kind
        for sents in _pack(sentences, target_chars, max_chars):
            start, end = sents[0][0], sents[-1][1]
            body = text[start:end]
            page, line = locate(start)
            chunks.append(Chunk(
                chunk_id=chunk_id(source, start, end, body),
                source=source, start=start, end=end, text=body,
                section=group[0].section, kind=kind, page=page, line=line,
                sentences=tuple(sents),
            ))
    return chunks


def _family(b: Block) -> str:
    return b.kind if b.kind != "footnote" else f"footnote:{b.start}"


def line_locator(pages: list[str], body_line: int, front_matter: str = ""):
    """A function (page index, raw offset) -> 1-based line of the original file.

    Lines are counted across pages as if the pages were one text, starting at
    ``body_line`` (the first line after any front matter); page -1 is the
    front matter, which starts at line 1.
    """
    starts: list[list[int]] = []
    first_line: list[int] = []
    line = body_line
    for page in pages:
        offs = [0] + [i + 1 for i, ch in enumerate(page) if ch == "\n"]
        starts.append(offs)
        first_line.append(line)
        line += len(offs)
    fm_starts = [0] + [i + 1 for i, ch in enumerate(front_matter) if ch == "\n"]

    def line_of(page: int, raw: int) -> int:
        if page < 0:
            return bisect.bisect_right(fm_starts, raw)
        return first_line[page] + bisect.bisect_right(starts[page], raw) - 1

    return line_of


def file_locator(pages: list[str], body_line: int, front_matter: str, segments_of):
    """``offset -> (line, col)`` in the original file, for a document read into ``pages``.

    ``segments_of(offset) -> (page, raw offset)`` is ``CleanDoc.raw_position``.
    """
    line_of = line_locator(pages, body_line, front_matter)

    def position(offset: int) -> tuple[int, int]:
        page, raw = segments_of(offset)
        src = front_matter if page < 0 else pages[page]
        return line_of(page, raw), raw - (src.rfind("\n", 0, raw) + 1)

    return position
