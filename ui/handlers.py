"""The page's handlers: plain functions of an opened ``qa.retriever.Index``.

Tested without a browser (``tests/test_ui.py``); ``ui.app`` wires them into
the page. They call ``qa``'s own validation and map its typed errors to
messages for a person (``user_error``) or for an API client (``api_error``):
no traceback, no internals, and never by matching message text.
"""

from __future__ import annotations

import logging

import gradio as gr

from index.errors import (
    EmptyQuestion,
    InvalidQuestion,
    QuestionTooLong,
    UnknownSource,
    VerbatimError,
)
from qa.retriever import MAX_QUESTION_CHARS, Index, check_question
from ui import render
from ui.strings import DEFAULT_LANG, EXAMPLES, norm_lang, t

log = logging.getLogger(__name__)

RETRIEVE_MAX_K = 20  # the API's limit (the library's is 100): a page of passages, not a dump
HISTORY = 20  # answers a chat keeps by default (ServeSettings.history)


# -- errors -----------------------------------------------------------------
def user_error(e: BaseException, lang: str) -> gr.Error:
    """A gr.Error with a message for a person: no traceback, no internals."""
    if isinstance(e, gr.Error):
        return e
    if isinstance(e, EmptyQuestion):
        return gr.Error(t(lang, "err_empty"))
    if isinstance(e, QuestionTooLong):
        return gr.Error(t(lang, "err_too_long", n=e.length, max=e.limit))
    if isinstance(e, UnknownSource):
        return gr.Error(t(lang, "err_unknown_doc"))
    if isinstance(e, InvalidQuestion):
        return gr.Error(str(e))
    if isinstance(e, VerbatimError):
        return gr.Error(t(lang, "err_index", msg=str(e)))
    log.exception("unexpected error in a UI handler")
    return gr.Error(t(lang, "err_internal"))


def api_error(e: BaseException) -> gr.Error:
    """For API clients: the library's own message (it names the bad value), never a traceback."""
    if isinstance(e, gr.Error):
        return e
    if isinstance(e, VerbatimError):
        # an expected refusal of bad input: no traceback in the server log either (bad input is cheap to send)
        return gr.Error(str(e), print_exception=False)
    log.exception("unexpected error in an API endpoint")
    return gr.Error("internal error", print_exception=False)


def _check_api_sources(sources: object) -> list[str] | None:
    """``sources`` as ``answer_with`` takes it: None (every document) or a list of document names."""
    if sources is None:
        return None
    if not isinstance(sources, (list, tuple)) or not all(isinstance(s, str) for s in sources):
        raise UnknownSource(f"sources must be a list of document names (or null for all), got {sources!r:.80}")
    for s in sources:
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise UnknownSource(f"a document name is not valid Unicode text (a lone surrogate): {s!r:.80}") from None
    return list(sources) or None


# -- handlers -----------------------------------------------------------------
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
        lang: str = DEFAULT_LANG, history: int = HISTORY) -> tuple[list[dict], list[dict], str, str]:
    """Answer ``question`` and append it to the conversation (which keeps the last ``history`` answers).

    Returns:
        (chat messages, answers as dicts, Markdown evidence note of this answer, "" for the question box).

    Raises:
        gr.Error: with a plain message (empty or too long question, no document ticked, index unusable).
    """
    from qa.answerer import answer_with

    lang = norm_lang(lang)
    try:
        q = check_question(question)
        a = answer_with(index, q, sources=selected_sources(index, sources, lang)).to_dict()
    except Exception as e:  # noqa: BLE001
        raise user_error(e, lang) from None
    answers = (list(answers or []) + [a])[-max(1, history):]
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

    return answer_with(index, question, sources=_check_api_sources(sources)).to_dict()


def api_retrieve(index: Index, query: str, k: int = 5, sources: list[str] | None = None) -> list[dict]:
    """``[Passage.to_dict(), ...]``: the ``k`` (1-20) passages that best match ``query``, best first."""
    q = check_question(query)
    given = k
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= RETRIEVE_MAX_K:
        raise InvalidQuestion(f"k must be an integer from 1 to {RETRIEVE_MAX_K}, got {given!r:.40}")
    return [p.to_dict() for p in index.search(q, k, _check_api_sources(sources))]


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


