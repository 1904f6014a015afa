"""Turn a document's raw text into its one canonical text.

The canonical text is the file's text with only soft line breaks and page
furniture removed; every chunk and every quote is an exact slice of it. Text
extracted from PDFs wraps lines inside sentences, starts pages with a space,
and sets footnotes (under a long run of spaces) between paragraphs, often in
the middle of a sentence. This module:

- joins soft line breaks (no space between CJK characters, one space between
  Latin words) and keeps paragraph breaks as a single ``\\n``;
- recognises headings (``壹、`` ``一、`` ``（一）`` and Markdown ``#``) to build
  section paths;
- lifts footnotes out of the running text so the sentence they interrupted is
  whole again, and puts them, in order, after the body as blocks of their own;
- records, for every run of canonical characters, where it came from in the
  raw text (page and offset), so a quote can be traced back to its line.

Every non-space character of the canonical text is a character of the raw
text; the only characters it adds are the ``\\n`` between blocks and the single
space that replaces a line break between two Latin words.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from index.textnorm import CJK_TEXT

# Bump when the canonical text of any input could change: stores built with
# another version are rebuilt, never mixed.
CLEANER_VERSION = 2

_TERMINAL = "。！？!?；;：:"
_CLOSERS = "」』）)”’\"'】〉》"
_END_RE = re.compile(rf"[{re.escape(_TERMINAL)}.][{re.escape(_CLOSERS)}]*$")

_HEADING_PATTERNS = (
    (re.compile(r"^(#{1,6})\s+\S"), None),  # Markdown: level = number of #
    (re.compile(r"^第[一二三四五六七八九十百0-9]+[章編篇]\s*\S"), 1),
    (re.compile(r"^[壹貳參肆伍陸柒捌玖拾]+、\s*\S"), 1),
    (re.compile(r"^[一二三四五六七八九十]+、\s*\S"), 2),
    (re.compile(r"^[（(][一二三四五六七八九十]+[）)]\s*\S"), 3),
)
# Markdown lines that start a new unit even without a blank line before them.
_MARKUP_START_RE = re.compile(r"^(\*\*|__|\||>|```)")
_LIST_RE = re.compile(r"^([-*+•]\s+|\d{1,2}[.)．]\s*\S|[（(]\d{1,2}[）)]\s*\S)")
_URL_RE = re.compile(r"<?https?://\S+>?|\]\([^)]*\)")
_FOOTNOTE_START_RE = re.compile(r"^(\d{1,3})\s+\S")
_SEPARATOR_MIN_SPACES = 10  # a footnote rule: a line of nothing but many spaces
_MAX_HEADING_CHARS = 60


@dataclass(frozen=True)
class Block:
    """A paragraph-level unit of the canonical text.

    ``kind`` is ``heading``, ``para``, ``list`` (a list item with no sentence in
    it, typical of navigation menus), ``reference`` (a citation or link line:
    little besides URLs), ``meta`` (a front-matter line) or ``footnote``. ``section`` is the heading
    path in force (tuple of heading texts); a heading's own path includes it.
    """

    kind: str
    start: int
    end: int
    section: tuple[str, ...]
    level: int = 0
    label: str = ""  # the footnote number, for footnotes


@dataclass
class CleanDoc:
    """A canonical text, its blocks and its map back to the raw text."""

    text: str
    blocks: list[Block]
    # (canonical start, page index, raw start, length) for every copied run
    segments: list[tuple[int, int, int, int]] = field(default_factory=list)

    def raw_position(self, pos: int) -> tuple[int, int]:
        """(page index, raw offset) of canonical offset ``pos`` (nearest copied char)."""
        starts = [s[0] for s in self.segments]
        i = max(0, bisect.bisect_right(starts, pos) - 1)
        c0, page, r0, n = self.segments[i]
        return page, r0 + min(max(pos - c0, 0), max(n - 1, 0))


@dataclass
class _Line:
    text: str  # the line without its newline
    page: int
    raw_start: int  # offset of text[0] in its page


def _is_cjk(ch: str) -> bool:
    return bool(CJK_TEXT.match(ch))


def heading_level(line: str) -> int:
    """The heading level of a stripped line, or 0 if it is not a heading."""
    if len(line) > _MAX_HEADING_CHARS or "。" in line or line.endswith(("，", ",", "：", ":")):
        return 0
    for pattern, level in _HEADING_PATTERNS:
        m = pattern.match(line)
        if m:
            return len(m.group(1)) if level is None else level
    return 0


def _split_lines(pages: list[str]) -> list[_Line]:
    lines: list[_Line] = []
    for p, page_text in enumerate(pages):
        offset = 0
        for raw in page_text.split("\n"):
            lines.append(_Line(raw, p, offset))
            offset += len(raw) + 1
    return lines


def _width(text: str) -> int:
    return sum(2 if _is_cjk(ch) else 1 for ch in text)


def _typical_width(lines: list[_Line]) -> float:
    widths = sorted(_width(ln.text.strip()) for ln in lines if ln.text.strip())
    return float(widths[len(widths) // 2]) if widths else 0.0


def _uses_trailing_space_breaks(lines: list[_Line]) -> bool:
    """True for PDF-extracted text that marks paragraph ends with a trailing space.

    In such text a line ending in 。 without a trailing space is only a wrap,
    and blank lines fall inside sentences, so neither may end a paragraph.
    """
    ends = [ln.text for ln in lines if _END_RE.search(ln.text.rstrip())]
    if len(ends) < 5:
        return False
    spaced = sum(1 for t in ends if t != t.rstrip())
    return spaced / len(ends) >= 0.5


class _Builder:
    """Accumulates canonical text and its segment map."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.segments: list[tuple[int, int, int, int]] = []

    def copy(self, line: _Line, a: int, b: int) -> None:
        if b <= a:
            return
        self.segments.append((self.length, line.page, line.raw_start + a, b - a))
        self.parts.append(line.text[a:b])
        self.length += b - a

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.length += len(s)

    def last_char(self) -> str:
        for part in reversed(self.parts):
            if part:
                return part[-1]
        return ""


def _strip_span(text: str) -> tuple[int, int]:
    a = len(text) - len(text.lstrip())
    b = len(text.rstrip())
    return a, max(a, b)


def clean(pages: list[str], front_matter: str = "") -> CleanDoc:
    """Build the canonical text of a document given as a list of page texts.

    Args:
        pages: the raw body text, one string per page (one for text files).
        front_matter: the file's front-matter block, if any. Its lines (not
            the ``---`` fences) open the canonical text as ``meta`` blocks,
            one line each, so metadata such as a status can be quoted; in the
            segment map they are on page -1.

    Returns:
        The canonical text, its blocks (headings, paragraphs, list items and
        footnotes, in canonical order) and the map back to the raw text.
    """
    lines = _split_lines(pages)
    pdf_style = _uses_trailing_space_breaks(lines)
    # In PDF-style text a short line that ends in a space is the end of a
    # paragraph (title lines, "摘要"), whereas a wrapped line runs near full width.
    short_line = 0.85 * _typical_width(lines)

    # Pass 1: separate footnotes from the running text. A footnote area starts
    # at a rule (a line of many spaces) and ends where the next page begins
    # (a line starting with one space, the page-join furniture) or at the end.
    body: list[_Line] = []
    footnotes: list[list[_Line]] = []
    in_notes = False
    for ln in lines:
        t = ln.text
        if t.strip() == "" and len(t) >= _SEPARATOR_MIN_SPACES:
            in_notes = True
            continue
        if in_notes:
            starts_page = t.startswith(" ") and t[1:2].strip() != ""
            if starts_page or heading_level(t.strip()):
                in_notes = False
            else:
                if t.strip() == "":
                    continue
                if _FOOTNOTE_START_RE.match(t) or not footnotes:
                    footnotes.append([])
                footnotes[-1].append(ln)
                continue
        body.append(ln)

    out = _Builder()
    blocks: list[Block] = []
    section: list[tuple[int, str]] = []  # (level, heading text)

    offset = 0
    for raw_line in front_matter.split("\n"):
        a, b = _strip_span(raw_line)
        if b > a and raw_line.strip() != "---":
            if blocks:
                out.add("\n")
            start = out.length
            out.copy(_Line(raw_line, -1, offset), a, b)
            blocks.append(Block("meta", start, out.length, ()))
        offset += len(raw_line) + 1

    def section_path() -> tuple[str, ...]:
        return tuple(h for _, h in section)

    def emit_paragraph(par: list[_Line], kind: str, label: str = "") -> None:
        if not par:
            return
        if blocks:
            out.add("\n")
        start = out.length
        for i, ln in enumerate(par):
            a, b = _strip_span(ln.text)
            if i > 0:
                prev_last = out.last_char()
                first = ln.text[a:a + 1]
                if prev_last and first and not _is_cjk(prev_last) and not _is_cjk(first):
                    out.add(" ")
            out.copy(ln, a, b)
        blocks.append(Block(kind, start, out.length, section_path(), label=label))

    def classify(par: list[_Line]) -> str:
        text = "".join(ln.text for ln in par).strip()
        if _LIST_RE.match(text) and not re.search(r"[。！？!?]", text):
            return "list"
        # a citation or link line: little text besides its URLs
        if _URL_RE.search(text) and len(_URL_RE.sub("", text)) < 200:
            return "reference"
        return "para"

    par: list[_Line] = []
    blank_since_last = False
    for ln in body:
        stripped = ln.text.strip()
        if not stripped:
            blank_since_last = True
            continue
        level = heading_level(stripped)
        if level:
            emit_paragraph(par, classify(par))
            par = []
            while section and section[-1][0] >= level:
                section.pop()
            heading_text = stripped.lstrip("#").strip()
            section.append((level, heading_text))
            if blocks:
                out.add("\n")
            start = out.length
            a, b = _strip_span(ln.text)
            out.copy(ln, a, b)
            blocks.append(Block("heading", start, out.length, section_path(), level=level))
            blank_since_last = False
            continue
        if par:
            prev = par[-1].text
            prev_stripped = prev.rstrip()
            ends_sentence = bool(_END_RE.search(prev_stripped))
            trailing_space = prev != prev_stripped
            hard = (
                (ends_sentence and (trailing_space or not pdf_style))
                or (pdf_style and trailing_space and _width(prev.strip()) < short_line)
                or _LIST_RE.match(stripped) is not None
                or (not pdf_style and _MARKUP_START_RE.match(stripped) is not None)
                or (blank_since_last and not pdf_style)
            )
            if hard:
                emit_paragraph(par, classify(par))
                par = []
        par.append(ln)
        blank_since_last = False
    emit_paragraph(par, classify(par))

    for note in footnotes:
        m = _FOOTNOTE_START_RE.match(note[0].text)
        emit_paragraph(note, "footnote", label=m.group(1) if m else "")
        # footnotes keep the section path of the end of the body; give them none
        last = blocks[-1]
        blocks[-1] = Block(last.kind, last.start, last.end, (), label=last.label)

    return CleanDoc("".join(out.parts), blocks, out.segments)
