"""The browser app: a chat that answers only with quotes from the documents.

    verbatim serve --store .verbatim/store      # or: make run
    python -m ui.app --store .verbatim/store    # the same, without the supervisor

This module is the page: its layout, wired to the plain functions of
``ui.handlers``. Serving (the web guard, the queue, launch options, the
supervisor) is ``ui.server``; styles and scripts are files in ``ui/static``.
Importing it loads no model and opens no store.

Public API (for ``gradio_client``): ``/answer`` and ``/retrieve`` return the
JSON of ``Answer.to_dict()`` and ``[Passage.to_dict(), ...]``. Every other event
is ``api_visibility="private"``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr

from index.backend import parse_location
from qa.retriever import MAX_QUESTION_CHARS, Index, open_index
from ui import render
from ui.handlers import (  # noqa: F401 - re-exported: the page's handlers
    _ex_head_html,
    _header_html,
    _placeholder_html,
    about,
    api_answer,
    api_error,
    api_retrieve,
    ask,
    clear_chat,
    document_choices,
    example_question,
    open_document,
    switch_language,
)
from ui.lawview import laws_view
from ui.server import STATIC, ServeSettings
from ui.strings import DEFAULT_LANG, EXAMPLES, LANG_CHOICES, norm_lang, t

HEAD = '<meta name="referrer" content="no-referrer">'


@functools.cache
def asset(name: str) -> str:
    """The text of a file in ``ui/static`` (styles and the page's scripts)."""
    return (STATIC / name).read_text("utf-8")


def theme() -> gr.themes.Base:
    """Gradio's default theme with system fonts only (no font is fetched from the web)."""
    sans = ["-apple-system", "BlinkMacSystemFont", "Segoe UI", "Noto Sans CJK TC", "Noto Sans TC",
            "PingFang TC", "Microsoft JhengHei", "Helvetica Neue", "Arial", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    return gr.themes.Default(primary_hue="teal", secondary_hue="slate", neutral_hue="slate",
                             font=sans, font_mono=mono)


def build_demo(store: str | Path | None = None, settings: ServeSettings | None = None) -> gr.Blocks:
    """The app for ``store`` (opened now, to list its documents; re-opened if rebuilt)."""
    settings = settings or ServeSettings()
    store = parse_location(store) if store is not None else settings.store
    index = open_index(store)
    lang0 = DEFAULT_LANG

    def idx() -> Index:
        return open_index(store)  # cheap when unchanged; picks up a rebuilt store

    # thin closures: the UI's events (private) and the public API
    def ui_ask(question, answers, sources, lang):
        return ask(idx(), question, answers, sources, lang, settings.history)

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
            raise api_error(e) from None

    def retrieve(query: str, k: int = 5, sources: list[str] | None = None) -> list[dict]:
        """The k (1-20) passages that best match the query, best first: [Passage.to_dict(), ...]."""
        try:
            return api_retrieve(idx(), query, k, sources)
        except Exception as e:  # noqa: BLE001
            raise api_error(e) from None

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
                    viewer = gr.HTML(render.document_placeholder(lang0), elem_id="vb-viewer", js_on_load=asset("viewer.js"),
                                     apply_default_css=True)
                with gr.Accordion(t(lang0, "filter_label"), open=False, elem_id="vb-filter-acc") as filter_acc:
                    sources = gr.CheckboxGroup(choices=document_choices(index), value=sorted(index.docs),
                                               label=t(lang0, "filter_label"), info=t(lang0, "filter_info"),
                                               show_label=False, elem_id="vb-sources")
                with gr.Accordion(t(lang0, "laws_title"), open=False, elem_id="vb-laws-acc") as laws_acc:
                    laws_box = gr.HTML(laws_view(index.store, lang0), elem_id="vb-laws", js_on_load=None)
                with gr.Accordion(t(lang0, "about_title"), open=False, elem_id="vb-about-acc") as about_acc:
                    about_box = gr.HTML(about(index, lang0), elem_id="vb-about", js_on_load=None)
        open_box = gr.Textbox(visible="hidden", elem_id="vb-open-key", show_label=False, container=False)

        private = dict(api_visibility="private")
        qa_limits = dict(concurrency_limit=settings.concurrency, concurrency_id="qa")
        ask_io = dict(fn=ui_ask, inputs=[question, answers, sources, lang], outputs=[chat, answers, note, question],
                      show_progress="minimal", **private, **qa_limits)
        scroll = dict(fn=None, js=asset("scroll.js"), **private)
        question.submit(**ask_io).success(**scroll)
        ask_btn.click(**ask_io).success(**scroll)
        for b, audience, i in ex_buttons:
            b.click(lambda lg, a=audience, j=i: example_question(lg, a, j), inputs=[lang], outputs=[question],
                    queue=False, **private).then(**ask_io).success(**scroll)
        clear_btn.click(clear_chat, outputs=[chat, answers, note, question], queue=False, **private)
        copy_btn.click(None, inputs=[note], js=asset("copy.js"), **private)
        dl_btn.click(None, inputs=[note], js=asset("download.js"), **private)
        open_box.change(ui_open, inputs=[open_box, lang], outputs=[viewer, doc_key], show_progress="minimal",
                        **private).then(lambda: gr.Accordion(open=True), outputs=[viewer_acc], queue=False, **private)
        chrome_outputs = [header, chat, question, ask_btn, clear_btn, note_acc, note, copy_btn, dl_btn,
                          viewer_acc, viewer, filter_acc, sources, about_acc, about_box,
                          ex_heads["teacher"], ex_heads["social"], lang] + [b for b, _, _ in ex_buttons]
        lang.change(ui_switch, inputs=[lang, answers, doc_key], outputs=chrome_outputs, queue=False, **private)
        lang.change(lambda lg: (gr.Accordion(label=t(norm_lang(lg), "laws_title")), laws_view(idx().store, norm_lang(lg))),
                    inputs=[lang], outputs=[laws_acc, laws_box], queue=False, **private)
        demo.load(ui_lang_from_url, outputs=[lang], queue=False, **private)

        gr.api(answer, api_name="answer", **qa_limits)
        gr.api(retrieve, api_name="retrieve", **qa_limits)
    return demo


_DEMO: gr.Blocks | None = None


def __getattr__(name: str):
    # ``ui.app.demo``, built on first access (``gradio ui/app.py`` reload mode, notebooks).
    global _DEMO
    if name == "demo":
        if _DEMO is None:
            from ui.server import queue

            _DEMO = queue(build_demo())
        return _DEMO
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    from ui.cli import main

    raise SystemExit(main(["serve", "--no-supervise", *__import__("sys").argv[1:]]))
