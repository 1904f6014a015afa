"""Turn answers into HTML (chat bubbles, source viewer) and Markdown (evidence note).

Pure functions over the JSON form of the records (``Answer.to_dict()``), so the
browser app shows exactly what the API returns.

Two kinds of text reach the page and they never mix:

* the documents' words (quotes, passages, titles, file names, section paths,
  URLs) go through :func:`verbatim_html`, which escapes HTML *and* the
  characters Markdown, LaTeX and link syntax are made of, so a document cannot
  inject markup, links or scripts whatever renders it;
* the app's own words come from ``ui.strings`` and are wrapped in elements
  with the ``vb-chrome`` class (styled as labels, never as quotes).
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime
from typing import Any, Mapping
from urllib.parse import quote, unquote

from qa.records import CLOSEST_SHOWN
from ui.strings import STRINGS, t

# HTML's own characters, and those that mean something to Markdown, LaTeX,
# link or template parsers: written as numeric character references they are
# shown, never interpreted (one pass, so no reference is escaped twice).
# Controls that reorder or hide text (bidi overrides and isolates, zero-width
# and invisible characters: Unicode's format characters, fillers, line
# separators) are shown as a visible mark naming the code point, so a quote
# cannot look like other words than it holds. The API keeps the exact text;
# joiners (U+200C, U+200D) stay, since scripts and emoji need them.
_FILLERS = {0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2028, 0x2029}
_JOINERS = {0x200C, 0x200D}


class _Escapes(dict):
    """``str.translate`` table: the fixed escapes, and a mark for each hidden character, decided on
    first sight (listing Unicode's ~170 format characters up front would scan every code point at import)."""

    def __missing__(self, cp: int) -> str:
        if cp in _FILLERS or (cp not in _JOINERS and unicodedata.category(chr(cp)) == "Cf"):
            self[cp] = f'<span class="vb-ctl" title="U+{cp:04X}">[U+{cp:04X}]</span>'  # at most ~170 of these
            return self[cp]
        raise LookupError(cp)  # kept as it is (not remembered: the table stays small)


_ESCAPES = _Escapes({ord(c): f"&#{ord(c)};" for c in "&<>\"'[]()*_`~\\#!|${}:"})
_ESCAPES.update({ord("\t"): "&#9;", ord("\r"): "", ord("\n"): "<br>"})
# In the note, every ASCII punctuation character of a document's or a
# question's words is backslash-escaped (CommonMark allows it for all of
# them), and a line break is a hard break: a Markdown viewer then shows each
# character as itself, starts no heading, list or code block, and builds no
# link, tag or script from them.
_NOTE_ESCAPES = {ord(c): "\\" + c for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"}
_NOTE_ESCAPES.update({ord("\r"): "", ord("\n"): "\\\n"})


def verbatim_html(text: str) -> str:
    """``text`` (from a document) as inert HTML: shown character for character, never parsed."""
    return str(text).translate(_ESCAPES)


def note_text(text: str) -> str:
    """``text`` (from a document or a question) for the Markdown note: rendered, it shows exactly these characters."""
    return str(text).translate(_NOTE_ESCAPES)


def attr(text: str) -> str:
    """A value for an HTML attribute (always double-quoted by the caller)."""
    return html.escape(str(text), quote=True)


def chrome(text: str) -> str:
    """The app's own words, escaped (they contain no markup)."""
    return html.escape(text, quote=False)


def safe_url(url: object) -> str | None:
    """``url`` if it is a plain http(s) URL, else None (no javascript:, data:, ...)."""
    if not isinstance(url, str):
        return None
    u = url.strip()
    if re.match(r"^https?://[^\s<>\"'`]+$", u, re.I):
        return u
    return None


def doc_url(meta: Mapping[str, Any] | None) -> str | None:
    """The source URL in a document's metadata (``url``, ``source.url``, ``source_url``), if any."""
    if not isinstance(meta, Mapping):
        return None
    for v in (meta.get("url"), meta.get("source_url"),
              meta.get("source", {}).get("url") if isinstance(meta.get("source"), Mapping) else None):
        if safe_url(v):
            return safe_url(v)
    return None


# -- citations --------------------------------------------------------------
def _location(p: Mapping[str, Any], lang: str) -> str:
    if p.get("page"):
        return t(lang, "page", n=p["page"])
    if p.get("line"):
        return t(lang, "line", n=p["line"])
    return ""


def citation_html(p: Mapping[str, Any], start: int, end: int, lang: str) -> str:
    """Title, file, section, page/line and character offsets, each part in its own span."""
    parts = [f'<span class="vb-c-title">《{verbatim_html(p.get("title") or p["source"])}》</span>',
             f'<span class="vb-c-file">{verbatim_html(p["source"])}</span>']
    if p.get("section"):
        parts.append(f'<span class="vb-c-section">{verbatim_html(p["section"])}</span>')
    loc = _location(p, lang)
    if loc:
        parts.append(f'<span class="vb-c-loc">{chrome(loc)}</span>')
    parts.append(f'<span class="vb-c-chars">{chrome(t(lang, "chars", a=start, b=end))}</span>')
    if p.get("kind") == "footnote":
        parts.append(f'<span class="vb-c-kind">{chrome(t(lang, "footnote"))}</span>')
    return '<span class="vb-c-sep"> · </span>'.join(parts)


def citation_text(p: Mapping[str, Any], start: int, end: int, lang: str, url: str | None = None) -> str:
    """The same citation as plain text (for the Markdown note)."""
    sep = t(lang, "sep")
    parts = [f"《{note_text(p.get('title') or p['source'])}》", f"{t(lang, 'note_file')} {note_text(p['source'])}"]
    if p.get("section"):
        parts.append(f"{t(lang, 'note_section')} {note_text(p['section'])}")
    loc = _location(p, lang)
    if loc:
        parts.append(loc)
    parts.append(t(lang, "chars", a=start, b=end))
    if p.get("kind") == "footnote":
        parts.append(t(lang, "footnote"))
    if url:
        parts.append(f"{t(lang, 'note_url')} <{url}>")
    return sep.join(parts)


def open_key(source: str, start: int, end: int) -> str:
    """What a "show in document" button carries (in its ``value``; the chat's sanitizer drops data-*):
    ``start-end@source``, the source percent-encoded (so a ``#`` in a file name is not taken for the nonce)."""
    return f"{int(start)}-{int(end)}@{quote(source, safe='')}"


def parse_open_key(key: object) -> tuple[str, int, int] | None:
    """(source, start, end) from :func:`open_key`'s form, ignoring a ``#nonce`` suffix; None if malformed."""
    if not isinstance(key, str) or len(key) > 20000:
        return None
    key = key.partition("#")[0]
    m = re.fullmatch(r"(\d{1,9})-(\d{1,9})@(.+)", key, re.S)
    if not m:
        return None
    a, b = int(m.group(1)), int(m.group(2))
    if b < a:
        return None
    return unquote(m.group(3)), a, b


def _open_button(source: str, start: int, end: int, lang: str) -> str:
    return (f'<button type="button" class="vb-chrome vb-open" value="{attr(open_key(source, start, end))}">'
            f'{chrome(t(lang, "open_doc"))} ›</button>')


def highlighted(text: str, text_start: int, start: int, end: int, mark_id: str | None = None) -> str:
    """``text`` (which begins at document offset ``text_start``) with ``[start, end)`` in a <mark>."""
    a = max(0, min(len(text), start - text_start))
    b = max(a, min(len(text), end - text_start))
    if a == b:
        return verbatim_html(text)
    ident = f' id="{attr(mark_id)}"' if mark_id else ""
    return (verbatim_html(text[:a]) + f'<mark class="vb-hit"{ident}>' + verbatim_html(text[a:b]) + "</mark>"
            + verbatim_html(text[b:]))


# -- chat bubbles -----------------------------------------------------------
def question_html(question: str, lang: str) -> str:
    return f'<div class="vb-user">{verbatim_html(question)}</div>'


def _passage_item(n: int, p: Mapping[str, Any], lang: str) -> str:
    return (f'<li class="vb-item vb-passage-item">'
            f'<div class="vb-quote-row"><span class="vb-chrome vb-num">[{n}]</span>'
            f'<blockquote class="vb-verbatim vb-passage-text">{verbatim_html(p["text"])}</blockquote></div>'
            f'<div class="vb-chrome vb-cite-line"><span class="vb-cite-label">{chrome(t(lang, "cite"))} [{n}]</span> '
            f'{citation_html(p, p["start"], p["end"], lang)}</div>'
            f'<div class="vb-actions">{_open_button(p["source"], p["start"], p["end"], lang)}</div>'
            f'</li>')


def _quote_item(n: int, q: Mapping[str, Any], lang: str) -> str:
    p = q["passage"]
    return (f'<li class="vb-item vb-quote-item">'
            f'<div class="vb-quote-row"><span class="vb-chrome vb-num">[{n}]</span>'
            f'<blockquote class="vb-verbatim vb-quote">{verbatim_html(q["text"])}</blockquote></div>'
            f'<details class="vb-cite"><summary class="vb-chrome"><span class="vb-cite-label">'
            f'{chrome(t(lang, "cite"))} [{n}]</span> {citation_html(p, q["start"], q["end"], lang)}</summary>'
            f'<div class="vb-passage"><div class="vb-chrome vb-small">{chrome(t(lang, "passage_head"))}</div>'
            f'<div class="vb-verbatim vb-passage-text">{highlighted(p["text"], p["start"], q["start"], q["end"])}</div>'
            f'<div class="vb-actions">{_open_button(p["source"], q["start"], q["end"], lang)}</div></div>'
            f'</details></li>')


def _extras_html(a: Mapping[str, Any], lang: str, first: int) -> str:
    """Under an answer: the documents' wording for the question's everyday words, and where to turn."""
    out = ""
    if a.get("reference"):
        out += (f'<p class="vb-chrome vb-reference vb-small">{chrome(t(lang, "laws_understood"))}：'
                f'{verbatim_html(a["reference"])}</p>')
    terms = a.get("terms") or []
    if terms:
        items = "、".join(t(lang, "term_item", term=verbatim_html(w["term"]), said=verbatim_html(w["said"]))
                          for w in terms) if lang == "zh" else "; ".join(
            t(lang, "term_item", term=verbatim_html(w["term"]), said=verbatim_html(w["said"])) for w in terms)
        out += f'<p class="vb-chrome vb-terms vb-small">{t(lang, "terms", items=items)}</p>'
    help_ = a.get("help") or []
    if help_:
        items = "".join(_passage_item(i, p, lang) for i, p in enumerate(help_, first))
        out += (f'<p class="vb-chrome vb-sub vb-help-head">{chrome(t(lang, "help_head"))}</p>'
                f'<ol class="vb-list vb-help">{items}</ol>')
    return out


def answer_html(a: Mapping[str, Any], lang: str) -> str:
    """The answer bubble: quotes with numbered citations, or a notice and passages."""
    status = a.get("status")
    hl = attr(t(lang, "html_lang"))
    if status == "answered" and a.get("quotes"):
        items = "".join(_quote_item(i, q, lang) for i, q in enumerate(a["quotes"], 1))
        return (f'<div class="vb-answer vb-answered" lang="{hl}">'
                f'<p class="vb-chrome vb-head">{chrome(t(lang, "answered_head", n=len(a["quotes"])))}</p>'
                f'<ol class="vb-list">{items}</ol>{_extras_html(a, lang, len(a["quotes"]) + 1)}</div>')
    passages = list(a.get("passages") or [])
    if status == "refused":
        notice = t(lang, "refused" if passages else "refused_none")
        items = "".join(_passage_item(i, p, lang) for i, p in enumerate(passages, 1))
        key = f"refusal_{a.get('refusal')}"
        category = (f'<p class="vb-chrome vb-small vb-refusal-kind">{chrome(t(lang, key))}</p>'
                    if key in STRINGS[lang] else "")
        return (f'<div class="vb-answer vb-refused" lang="{hl}">'
                f'<p class="vb-chrome vb-notice vb-notice-refused" role="status">{chrome(notice)}</p>{category}'
                + (f'<ol class="vb-list">{items}</ol>' if items else "") + "</div>")
    # not_found (or answered without quotes, which answer() never returns)
    shown = passages[:CLOSEST_SHOWN]
    items = "".join(_passage_item(i, p, lang) for i, p in enumerate(shown, 1))
    closest = (f'<p class="vb-chrome vb-sub">{chrome(t(lang, "closest"))}</p><ol class="vb-list vb-closest">{items}</ol>'
               if items else "")
    sep = "、" if lang == "zh" else ", "
    said = "".join(f'<p class="vb-chrome vb-missing">{t(lang, key, items=sep.join(verbatim_html(m) for m in a[key]))}</p>'
                   for key in ("missing", "unmatched") if a.get(key))
    return (f'<div class="vb-answer vb-not-found" lang="{hl}">'
            f'<p class="vb-chrome vb-notice vb-notice-nf" role="status">{chrome(t(lang, "not_found"))}</p>'
            f'{said}{closest}{_extras_html(a, lang, len(shown) + 1)}</div>')


def chat_messages(answers: list[Mapping[str, Any]], lang: str) -> list[dict[str, str]]:
    """The chat history (messages format) for a list of answer dicts."""
    out: list[dict[str, str]] = []
    for a in answers:
        out.append({"role": "user", "content": question_html(a.get("question", ""), lang)})
        out.append({"role": "assistant", "content": answer_html(a, lang)})
    return out


# -- source viewer ----------------------------------------------------------
def document_html(source: str, title: str, text: str, meta: Mapping[str, Any] | None,
                  start: int, end: int, lang: str) -> str:
    """The whole document, ``[start, end)`` marked (``id="vb-doc-hit"``), for the source viewer."""
    url = doc_url(meta)
    link = (f' · <a class="vb-link" href="{attr(url)}" target="_blank" rel="noopener noreferrer nofollow">'
            f'{chrome(t(lang, "source_link"))}</a>' if url else "")
    return (f'<div class="vb-doc" lang="{attr(t(lang, "html_lang"))}" data-doc="{attr(source)}" '
            f'data-start="{int(start)}" data-end="{int(end)}">'
            f'<div class="vb-chrome vb-doc-head"><div class="vb-doc-title">《{verbatim_html(title or source)}》</div>'
            f'<div class="vb-small">{verbatim_html(source)} · {chrome(t(lang, "doc_head_chars", a=start, b=end))}'
            f'{link}</div></div>'
            f'<div class="vb-doc-body vb-verbatim" tabindex="0">{highlighted(text, 0, start, end, "vb-doc-hit")}</div>'
            f'</div>')


def document_placeholder(lang: str) -> str:
    return f'<div class="vb-doc vb-doc-empty"><p class="vb-chrome vb-small">{chrome(t(lang, "doc_empty"))}</p></div>'


def about_html(docs: Mapping[str, Any], lang: str) -> str:
    """Each document: title, file name, source URL (or "no source URL"), length."""
    rows = []
    for source in sorted(docs):
        d = docs[source]
        url = doc_url(d.meta)
        link = (f'<a class="vb-link" href="{attr(url)}" target="_blank" rel="noopener noreferrer nofollow">'
                f'{verbatim_html(url)}</a>' if url else f'<span class="vb-chrome vb-muted">{chrome(t(lang, "about_no_url"))}</span>')
        rows.append(f'<li class="vb-about-doc"><div class="vb-about-title">《{verbatim_html(d.title or source)}》</div>'
                    f'<div class="vb-small"><span class="vb-chrome">{chrome(t(lang, "about_file"))}：</span>'
                    f'<code>{verbatim_html(source)}</code> · <span class="vb-chrome">'
                    f'{chrome(t(lang, "about_chars", n=len(d.text)))}</span></div>'
                    f'<div class="vb-small"><span class="vb-chrome">{chrome(t(lang, "about_source"))}：</span>{link}</div></li>')
    return (f'<div class="vb-about" lang="{attr(t(lang, "html_lang"))}"><p class="vb-chrome vb-small">'
            f'{chrome(t(lang, "about_intro"))}</p><ol class="vb-about-list">{"".join(rows)}</ol></div>')


# -- evidence note ----------------------------------------------------------
def evidence_markdown(a: Mapping[str, Any] | None, lang: str, urls: Mapping[str, str | None] | None = None,
                      when: datetime | None = None) -> str:
    """The answer as a Markdown note: every quote verbatim (in 「」), each followed by its citation.

    The documents' and the question's words are backslash-escaped (``note_text``):
    a Markdown viewer shows them character for character and runs no markup
    in them (no tag, script or link); the note's plain text differs only by
    the backslashes.
    """
    if not a:
        return ""
    urls = urls or {}
    when = when or datetime.now().astimezone()
    lines = [f"# {t(lang, 'note_heading')}", "",
             f"- {t(lang, 'note_question')}：{note_text(a.get('question', '').strip())}" if lang == "zh"
             else f"- {t(lang, 'note_question')}: {note_text(a.get('question', '').strip())}"]
    colon = "：" if lang == "zh" else ": "
    status = a.get("status")
    if status == "answered" and a.get("quotes"):
        lines.append(f"- {t(lang, 'note_result')}{colon}{t(lang, 'note_answered', n=len(a['quotes']))}")
        lines.append(f"- {t(lang, 'note_generated')}{colon}{t(lang, 'note_tool', when=when.strftime('%Y-%m-%d %H:%M %Z').strip())}")
        lines += ["", f"## {t(lang, 'note_quotes')}", ""]
        for i, q in enumerate(a["quotes"], 1):
            p = q["passage"]
            lines += [f"[{i}] 「{note_text(q['text'])}」", "",
                      f"　— {citation_text(p, q['start'], q['end'], lang, urls.get(p['source']))}", ""]
        return "\n".join(lines).rstrip() + "\n"
    head = t(lang, "note_refused") if status == "refused" else t(lang, "note_not_found")
    lines.append(f"- {t(lang, 'note_result')}{colon}{head}")
    lines.append(f"- {t(lang, 'note_generated')}{colon}{t(lang, 'note_tool', when=when.strftime('%Y-%m-%d %H:%M %Z').strip())}")
    passages = list(a.get("passages") or [])
    if status != "refused":
        passages = passages[:CLOSEST_SHOWN]
    if passages:
        lines += ["", f"## {t(lang, 'note_passages')}" + ("" if status == "refused" else f" — {t(lang, 'closest')}"), ""]
        for i, p in enumerate(passages, 1):
            lines += [f"[{i}] 「{note_text(p['text'])}」", "",
                      f"　— {citation_text(p, p['start'], p['end'], lang, urls.get(p['source']))}", ""]
    return "\n".join(lines).rstrip() + "\n"
