"""The Laws view (法條索引): every law the documents cite, by jurisdiction; a law opens its articles,
an article every passage citing it, the citation marked, with the usual link into the document.

Native ``<details>`` elements open and close in the browser: no round trip, no script.
"""

from __future__ import annotations

from dataclasses import asdict

from index.errors import VerbatimError
from ui.render import (
    _open_button,
    attr,
    chrome,
    citation_html,
    highlighted,
    verbatim_html,
)
from ui.strings import t


def _citation_item(c, lang: str) -> str:
    p = asdict(c.passage)
    text = highlighted(p["text"], p["start"], c.start, c.end) if c.in_passage else verbatim_html(p["text"])
    where = citation_html(p, c.start, c.end, lang) if c.in_passage else citation_html(p, p["start"], p["end"], lang)
    context = f' <span class="vb-law-context">({chrome(t(lang, "laws_context"))})</span>' if c.anaphor else ""
    return (f'<li class="vb-item vb-law-cite">'
            f'<div class="vb-chrome vb-law-ref">{verbatim_html(c.reference)}{context}</div>'
            f'<blockquote class="vb-verbatim vb-passage-text">{text}</blockquote>'
            f'<div class="vb-chrome vb-cite-line">{where}</div>'
            f'<div class="vb-actions">{_open_button(c.source, c.start, c.end, lang)}</div></li>')


# citations shown under one article (or under a law's name-only mentions); the rest are counted, and
# `verbatim laws REFERENCE` or qa.cited() lists them all. Keeps the page small on a large corpus.
SHOWN = 12


def _group(summary: str, citations: list, lang: str, reference: str) -> str:
    items = "".join(_citation_item(c, lang) for c in citations[:SHOWN])
    more = len(citations) - SHOWN
    rest = (f'<p class="vb-chrome vb-law-more">{chrome(t(lang, "laws_more", n=more, ref=reference))}</p>'
            if more > 0 else "")
    return (f'<details class="vb-law-article"><summary class="vb-chrome">{summary}</summary>'
            f'<ol class="vb-list">{items}</ol>{rest}</details>')


def _jurisdiction(code: str, lang: str) -> str:
    """A jurisdiction's name; a code the page has no words for is shown as it is."""
    try:
        return t(lang, "jur_" + code)
    except KeyError:
        return code or t(lang, "jur_")


def laws_html(laws: list, lang: str) -> str:
    """The whole view for ``qa.laws()``'s records."""
    if not laws:
        return f'<div class="vb-chrome vb-laws-empty">{chrome(t(lang, "laws_empty"))}</div>'
    out = [f'<div class="vb-chrome vb-laws-info">{chrome(t(lang, "laws_info"))}</div>']
    jurisdiction = None
    for i, law in enumerate(laws):
        if i == 0 or law.jurisdiction != jurisdiction:
            if i:
                out.append("</section>")
            jurisdiction = law.jurisdiction
            out.append(f'<section class="vb-laws-jur" data-jurisdiction="{attr(law.jurisdiction)}">'
                       f'<h3 class="vb-chrome">{chrome(_jurisdiction(law.jurisdiction, lang))}</h3>')
        arts = []
        for a in law.articles:
            arts.append(_group(f'{verbatim_html(a.reference)} · {chrome(t(lang, "laws_count", n=len(a.citations)))}',
                               list(a.citations), lang, f"{law.name} {a.reference}"))
        plain = [c for c in law.citations if not (c.article or c.chapter or c.recital is not None)]
        if plain:
            arts.append(_group(f'{chrome(t(lang, "laws_name_only"))} · {chrome(t(lang, "laws_count", n=len(plain)))}',
                               plain, lang, law.name))
        en = f' <span class="vb-law-en">{verbatim_html(law.en)}</span>' if law.en else ""
        summary = (f'<span class="vb-law-name">{verbatim_html(law.name)}</span>{en} · '
                   f'{chrome(t(lang, "laws_count", n=len(law.citations)))}')
        out.append(f'<details class="vb-law" data-law="{attr(law.name)}"><summary class="vb-chrome">{summary}</summary>'
                   f'{"".join(arts)}</details>')
    out.append("</section>")
    return "".join(out)


def laws_view(store, lang: str) -> str:
    """The view for the store's laws (a location, or the ``Store`` the app already opened, which is
    not opened again); a store built before the law finder says so instead."""
    from qa.laws import laws

    try:
        return laws_html(laws(store), lang)
    except VerbatimError as e:
        return f'<div class="vb-chrome vb-laws-empty">{chrome(str(e))}</div>'
