"""The app's own words (its "chrome"), in Traditional Chinese and English.

Everything a person reads in the app that is *not* quoted from a document comes
from this table, so it can be told apart from the documents' words (it is
styled as chrome, see ``ui.render``) and translated in one place.
"""

from __future__ import annotations

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_CHOICES = [("繁體中文", "zh"), ("English", "en")]

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-Hant",
        "app_title": "Verbatim 逐字查證",
        "tagline": "只用三份文件的原文逐字回答，每一句都附出處。這裡沒有改寫，也沒有 AI 生成的文字；這不是法律意見。",
        "language": "介面語言",
        "chat_label": "問答",
        "chat_placeholder": "請用中文或英文提問。回答只會是文件原文的逐字引文，並附上出處編號。",
        "question_label": "你的問題",
        "question_placeholder": "例如：學生的照片被做成假的裸照，該怎麼辦？（上限 {max} 字）",
        "ask": "提問",
        "clear": "清除對話",
        "examples_teacher": "老師可以這樣問",
        "examples_social": "社工可以這樣問",
        "filter_label": "只在這些文件中找",
        "filter_info": "取消勾選可排除某份文件。",
        "note_title": "證據摘錄（Markdown，可貼進報告）",
        "note_label": "最近一則回答的逐字引文與出處",
        "note_empty": "（提問後，這裡會出現可複製的證據摘錄。）",
        "copy": "複製摘錄",
        "copied": "已複製",
        "download": "下載 .md",
        "doc_title": "原文檢視",
        "doc_empty": "點選引文下方的「出處」可展開原文段落；再按「在全文中查看」，整份文件會在這裡顯示，並捲動到引文的位置。",
        "about_title": "關於這些文件",
        "about_intro": "本工具只能引用以下文件。每一則回答都是這些文件中的原句，出處標示文件、章節、行或頁，以及在文件中的字元位置。",
        "about_no_url": "無來源網址",
        "about_chars": "{n} 字",
        "about_file": "檔名",
        "about_source": "來源",
        "answered_head": "文件原文逐字引用（{n} 則）。點「出處」可看原文段落。",
        "cite": "出處",
        "passage_head": "原文段落（引文以螢光標示）",
        "open_doc": "在全文中查看",
        "not_found": "這些文件沒有回答這個問題。",
        "closest": "最接近的段落（不一定回答問題，請自行判斷）：",
        "missing": "文件沒有提到：{items}",
        "terms": "文件用語：{items}",
        "term_item": "「{term}」（你寫的是「{said}」）",
        "help_head": "如果這件事正發生在你或你照顧的孩子身上，以下是文件中關於下架、檢舉與協助的原文段落：",
        "refused": "這個工具不協助這類請求。以下是文件中關於法律責任，以及檢舉與下架管道的原文段落。",
        "refused_none": "這個工具不協助這類請求。",
        "you": "提問",
        "page": "第 {n} 頁",
        "line": "第 {n} 行起",
        "chars": "字元 {a}–{b}",
        "footnote": "註腳",
        "doc_head_chars": "螢光標示：字元 {a}–{b}",
        "source_link": "來源網址",
        "err_empty": "請先輸入問題。",
        "err_too_long": "問題太長（{n} 字），上限是 {max} 字。請縮短後再問。",
        "err_no_docs": "請至少勾選一份文件。",
        "err_unknown_doc": "找不到所選的文件，請重新整理頁面。",
        "err_index": "文件索引目前無法使用：{msg}",
        "err_internal": "發生內部錯誤，請稍後再試。",
        "err_bad_ref": "無法開啟這個出處，請重新提問。",
        "note_heading": "證據摘錄",
        "note_question": "問題",
        "note_result": "結果",
        "note_generated": "產生方式",
        "note_tool": "Verbatim（只引用文件原文，未改寫），{when}",
        "note_answered": "文件有相關原文（逐字引用 {n} 則）",
        "note_quotes": "引文",
        "note_passages": "原文段落",
        "note_not_found": "這些文件沒有回答這個問題。",
        "note_refused": "此工具不協助這類請求；以下為文件中關於法律責任與檢舉、下架管道的段落。",
        "note_url": "來源網址",
        "note_document": "文件",
        "note_file": "檔案",
        "note_section": "章節",
        "sep": "，",
    },
    "en": {
        "html_lang": "en",
        "app_title": "Verbatim: answers in the documents' own words",
        "tagline": "Answers only with exact sentences quoted from three documents, each with its source. Nothing is paraphrased or AI-written; this is not legal advice.",
        "language": "Language",
        "chat_label": "Questions and answers",
        "chat_placeholder": "Ask in Chinese or English. The answer is only exact quotes from the documents, each with a numbered citation.",
        "question_label": "Your question",
        "question_placeholder": "e.g. A student's photo was turned into a fake nude. What should I do? (max {max} characters)",
        "ask": "Ask",
        "clear": "Clear",
        "examples_teacher": "For teachers",
        "examples_social": "For social workers",
        "filter_label": "Search only these documents",
        "filter_info": "Untick a document to leave it out.",
        "note_title": "Evidence note (Markdown, for a report)",
        "note_label": "Quotes and citations of the latest answer",
        "note_empty": "(Ask a question and a copyable evidence note appears here.)",
        "copy": "Copy note",
        "copied": "Copied",
        "download": "Download .md",
        "doc_title": "Source viewer",
        "doc_empty": "Open a citation (\"Source\") under a quote to see its passage; then choose \"Show in document\" to read the whole document here, scrolled to the quote.",
        "about_title": "About these documents",
        "about_intro": "The tool can only quote the documents below. Every answer is a sentence from them, cited by document, section, line or page, and character position.",
        "about_no_url": "no source URL",
        "about_chars": "{n} characters",
        "about_file": "File",
        "about_source": "Source",
        "answered_head": "Exact quotes from the documents ({n}). Open \"Source\" to see each passage.",
        "cite": "Source",
        "passage_head": "Passage (the quote is highlighted)",
        "open_doc": "Show in document",
        "not_found": "The documents do not answer this question.",
        "closest": "Closest passages (they may not answer it; judge for yourself):",
        "missing": "The documents do not mention: {items}",
        "terms": "The documents' wording: {items}",
        "term_item": "“{term}” (you wrote “{said}”)",
        "help_head": "If this is happening to you or to a child in your care, these are the documents' passages on takedown, reporting and help:",
        "refused": "This tool does not help with that request. Below are the passages in the documents on the law, and on reporting and takedown.",
        "refused_none": "This tool does not help with that request.",
        "you": "Question",
        "page": "p. {n}",
        "line": "from line {n}",
        "chars": "characters {a}–{b}",
        "footnote": "footnote",
        "doc_head_chars": "highlighted: characters {a}–{b}",
        "source_link": "source URL",
        "err_empty": "Please type a question first.",
        "err_too_long": "The question is too long ({n} characters); the limit is {max}. Please shorten it.",
        "err_no_docs": "Tick at least one document.",
        "err_unknown_doc": "A selected document is unknown; please reload the page.",
        "err_index": "The document index cannot be used: {msg}",
        "err_internal": "Something went wrong inside the app. Please try again.",
        "err_bad_ref": "This citation cannot be opened; please ask again.",
        "note_heading": "Evidence note",
        "note_question": "Question",
        "note_result": "Result",
        "note_generated": "Produced by",
        "note_tool": "Verbatim (exact quotes from the documents, not paraphrased), {when}",
        "note_answered": "the documents contain relevant text ({n} exact quotes)",
        "note_quotes": "Quotes",
        "note_passages": "Passages",
        "note_not_found": "The documents do not answer this question.",
        "note_refused": "This tool does not help with that request; below are the passages on the law and on reporting and takedown.",
        "note_url": "source URL",
        "note_document": "document",
        "note_file": "file",
        "note_section": "section",
        "sep": ", ",
    },
}

# Example questions, per audience; asked as written (not translated by the app).
EXAMPLES: dict[str, dict[str, list[str]]] = {
    "zh": {
        "teacher": [
            "學生的照片被人用AI做成假的裸照，誰可以協助把影像下架？",
            "被害人的性影像被散布，可以向哪裡檢舉？",
        ],
        "social": [
            "刑法哪一條處罰電腦合成製作不實性影像？",
            "兒少性剝削製品的定義是什麼？",
        ],
    },
    "en": {
        "teacher": [
            "A student's photo was turned into a fake nude with AI. Who can take it down?",
            "Where can a victim report sexual images that were spread online?",
        ],
        "social": [
            "Which article of the Criminal Code punishes computer-synthesised sexual images?",
            "How is child sexual exploitation material defined?",
        ],
    },
}


def t(lang: str, key: str, **kw) -> str:
    """The chrome string ``key`` in ``lang`` (falls back to Chinese), formatted with ``kw``."""
    table = STRINGS.get(lang) or STRINGS[DEFAULT_LANG]
    s = table.get(key, STRINGS[DEFAULT_LANG][key])
    return s.format(**kw) if kw else s


def norm_lang(lang: object) -> str:
    return lang if isinstance(lang, str) and lang in LANGS else DEFAULT_LANG
