"""The law finder: every law the documents cite, and every passage citing one reference.

    >>> from qa import laws, cited
    >>> [law.name for law in laws()]
    >>> cited("刑法319-4").citations[0].passage.text

The citations are found at indexing (``index.laws``) and kept in the store
(its ``laws`` and ``citations`` tables); nothing here reads a document again. A reference is read the
same however it is written: 刑法第319條之4, 刑法319-4, 第三百十九條之四,
§ 319-4, 中華民國刑法 第 319 條之 4 (``index.lawref.parse_reference``).
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass

from index.backend import current_marker, location_key, open_location, parse_location
from index.errors import IndexCorrupt, InvalidQuestion
from index.lawref import HAS_LOCATOR, fold_name, key, parse_reference
from index.laws import CITATIONS_TABLE, LAWS_TABLE, lexicon
from index.store import Store, default_store
from qa.records import Passage
from qa.retriever import passage_of

_LOCATOR_FIELDS = ("article", "paragraph", "item", "item_label", "chapter", "recital")
_JURISDICTIONS = ("TW", "UN", "EU", "US", "UK", "CoE", "")  # the order of the Laws view


@dataclass(frozen=True)
class Citation:
    """One place a document cites a law: ``passage.text`` holds ``surface`` at ``start - passage.start``."""

    law: str
    reference: str  # the law and locator written one way: 中華民國刑法 第319條之4
    surface: str  # exactly as the document writes it
    source: str
    start: int  # offsets in the document's canonical text
    end: int
    line: int  # 1-based line of the original file
    article: str | None
    paragraph: int | None
    item: int | None
    item_label: str | None
    chapter: str | None
    recital: int | None
    kind: str
    anaphor: bool
    dates: tuple[tuple[str, str], ...]
    passage: Passage  # the chunk the citation starts in (for a citation in a heading, the chunk under it)

    @property
    def in_passage(self) -> bool:
        """True when ``passage.text`` holds the citation (False: it is in the heading above the passage)."""
        return self.passage.start <= self.start < self.passage.end


@dataclass(frozen=True)
class Article:
    """One locator of a law (an article, a chapter, a recital) and the citations of it."""

    reference: str  # 第319條之4, 第28章, 序言第28點
    article: str | None
    chapter: str | None
    recital: int | None
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class Law:
    """One law the documents cite, with its locators and every citation of it."""

    name: str
    en: str
    jurisdiction: str  # TW, UN, EU, US, or "" when the documents do not tell
    kind: str
    aliases: tuple[str, ...]  # the other names it goes by, as the documents and the lexicon write them
    articles: tuple[Article, ...]
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class Cited:
    """What ``cited`` understood of a reference, and the citations that match it."""

    query: str
    reference: str  # the normalised reference understood ("" when nothing could be read)
    law: str | None
    locator: dict
    citations: tuple[Citation, ...]
    laws: tuple[str, ...]  # the laws the citations belong to (more than one when the law was not named)


_CACHE: dict[tuple[str, str], tuple[list[Law], dict[str, str]]] = {}
_LOCK = threading.Lock()


def _load(store) -> tuple[list[Law], dict[str, str]]:
    """The laws of ``store`` (a location, or a ``Store`` already opened), read once per store version."""
    if isinstance(store, Store):
        st, cache_key = store, (location_key(store.path), str(store.version))
    else:
        location = parse_location(store if store is not None else default_store())
        cache_key = (location_key(location), current_marker(location))
        st = None
    with _LOCK:
        if cache_key in _CACHE:
            if _CACHE[cache_key] is None:
                raise IndexCorrupt("the store was built before the law finder: run `verbatim index` again")
            return _CACHE[cache_key]
    if st is None:
        st = open_location(location)  # no model is loaded: the law finder reads only the store's records
    if LAWS_TABLE not in st.tables:
        with _LOCK:  # remembered, so a question naming an article does not reopen the store each time
            _CACHE[cache_key] = None
        raise IndexCorrupt(f"the store at {st.path} was built before the law finder: run `verbatim index` again")
    chunks_by_source: dict[str, list] = {}
    for c in st.chunks:
        chunks_by_source.setdefault(c.source, []).append(c)
    starts = {s: [c.start for c in cs] for s, cs in chunks_by_source.items()}

    def passage(source: str, offset: int) -> Passage:
        cs = chunks_by_source[source]
        i = max(0, bisect.bisect_right(starts[source], offset) - 1)
        if offset >= cs[i].end and i + 1 < len(cs):  # a heading: the passage it heads
            i += 1
        return passage_of(cs[i], st.docs[source].title)

    citations: dict[str, list[Citation]] = {}
    for m in st.tables.get(CITATIONS_TABLE, []):
        loc = {f: m.get(f) for f in _LOCATOR_FIELDS}
        citations.setdefault(m["law"], []).append(Citation(
            m["law"], key(m["law"], loc), m["surface"], m["source"], m["start"], m["end"], m["line"],
            *(loc[f] for f in _LOCATOR_FIELDS), m["kind"], m["anaphor"],
            tuple(tuple(d) for d in m.get("dates", ())), passage(m["source"], m["start"])))
    laws = []
    for rec in st.tables[LAWS_TABLE]:
        cs = tuple(citations.get(rec["name"], ()))
        units: dict[tuple, list[Citation]] = {}
        for c in cs:
            if c.article or c.chapter or c.recital is not None:
                units.setdefault((c.chapter if not c.article else None, c.article, c.recital), []).append(c)
        articles = tuple(Article(key(None, {"chapter": ch, "article": art, "recital": rec_}), art, ch, rec_, tuple(v))
                         for (ch, art, rec_), v in sorted(units.items(), key=lambda kv: _order(kv[0])))
        laws.append(Law(rec["name"], rec.get("en", ""), rec.get("jurisdiction", ""), rec.get("kind", ""),
                        tuple(rec.get("aliases", ())), articles, cs))
    laws.sort(key=lambda law: (_JURISDICTIONS.index(law.jurisdiction) if law.jurisdiction in _JURISDICTIONS
                               else 9, -len(law.citations), law.name))
    names: dict[str, str] = {}
    for law in laws:
        for n in (law.name, *law.aliases):
            names.setdefault(fold_name(n), law.name)
    for info in lexicon().laws.values():  # a law the documents do not cite is still read as a name
        for n in (info.name, *info.aliases):
            names.setdefault(fold_name(n), info.name)
    with _LOCK:
        _CACHE.clear()
        _CACHE[cache_key] = (laws, names)
    return laws, names


def _order(unit: tuple) -> tuple:
    def num(s):
        return [int(x) for x in re.findall(r"\d+", s or "")] or [0]
    ch, art, rec = unit
    return (0 if art else 1 if ch else 2, num(art) if art else num(ch) if ch else [rec or 0])


def laws(store=None) -> list[Law]:
    """Every law the documents cite, grouped by jurisdiction (TW, UN, EU, US), most cited first.

    ``store``: a location (a folder, ``milvus://…``; default ``$VERBATIM_STORE``) or an opened
    ``index.store.Store``, whose tables are read without opening it again.

    Raises:
        IndexNotFound, IndexCorrupt: the store cannot be used (or was built before the law finder).
    """
    return list(_load(store)[0])


def cited(reference: str, store=None) -> Cited:
    """The citations of one reference, however it is written.

    ``reference`` names a law, an article of one, or both: 刑法第319條之4,
    刑法319-4, 第三百十九條之四, § 319-4, 兒少性剝削條例第2條第1項第3款,
    Art. 3(60) of the AI Act, 兒童權利公約. An article without a law matches
    that article of every law cited (``Cited.laws`` lists them). A paragraph or
    item narrows the match only where a citation states a different one.

    Raises:
        InvalidQuestion: not a string, empty, or too long.
    """
    if not isinstance(reference, str) or not reference.strip():
        raise InvalidQuestion("give a law or an article, e.g. 刑法第319條之4")
    if len(reference) > 200:
        raise InvalidQuestion("a reference is at most 200 characters")
    try:
        reference.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQuestion("the reference holds characters that are not text (a lone surrogate)") from None
    all_laws, names = _load(store)
    law, loc = parse_reference(reference, names)
    if law is None and not loc:
        return Cited(reference, "", None, {}, (), ())
    hits = tuple(c for lw in all_laws if law is None or lw.name == law for c in lw.citations if _fits(c, loc))
    found = tuple(dict.fromkeys(c.law for c in hits))
    shown = law or (found[0] if len(found) == 1 else None)
    return Cited(reference, key(shown, {k: v for k, v in loc.items() if k != "point"}) +
                 (f" ({loc['point']})" if "point" in loc else ""), law, loc, hits, found)


def _fits(c: Citation, loc: dict) -> bool:
    """A citation fits a locator unless it states something different."""
    if not loc:
        return True
    for f in ("article", "chapter", "recital"):
        if f in loc and getattr(c, f) != loc[f]:
            return False
    if "article" not in loc and "chapter" not in loc and "recital" not in loc:
        return False
    for f in ("paragraph", "item", "item_label"):
        if f in loc and getattr(c, f) is not None and getattr(c, f) != loc[f]:
            return False
    return not ("point" in loc and (c.paragraph, c.item) != (None, None) and loc["point"] not in (c.paragraph, c.item))


def reference_in(question: str, store) -> Cited | None:
    """The article a question names (for ``qa.answerer``), its citations empty when the documents never cite it.

    Only a question that writes a locator (第N條, Art. 3, § 12, 319-4) is read; a law's name alone is
    not a reference to look up.
    """
    if not HAS_LOCATOR.search(question):
        return None
    try:
        c = cited(question[:200], store)
    except (IndexCorrupt, InvalidQuestion):
        return None
    if not any(k in c.locator for k in ("article", "chapter", "recital")):
        return None
    return c  # with no citations when the documents never cite it
