"""The canonical text: soft breaks joined, furniture gone, every character traceable."""

from __future__ import annotations

import re

import pytest

from index.clean import clean, heading_level
from index.loaders import load
from tests.conftest import SEEDS

SEED_FILES = sorted(p.name for p in SEEDS.iterdir())


def cleaned(name):
    raw = load(SEEDS / name, name)
    return raw, clean(raw.pages, raw.front_matter)


@pytest.mark.parametrize("name", SEED_FILES)
def test_every_copied_run_is_the_raw_text(name):
    raw, doc = cleaned(name)
    for c0, page, r0, n in doc.segments:
        src = raw.front_matter if page < 0 else raw.pages[page]
        assert doc.text[c0:c0 + n] == src[r0:r0 + n]
    # the only characters not copied from the file are white space
    copied = bytearray(len(doc.text))
    for c0, _p, _r, n in doc.segments:
        copied[c0:c0 + n] = b"\x01" * n
    assert all(ch.isspace() for ch, k in zip(doc.text, copied) if not k)


def test_soft_line_breaks_are_joined_without_spaces_between_cjk():
    _, doc = cleaned("000_9eb4406affaea09b.txt")
    # in the file: "我國\n\n近年亦加速" and "（林東茂，2024；張麗\n卿，2024）"
    assert "我國近年亦加速強化" in doc.text
    assert "張麗卿，2024）" in doc.text
    # page-join furniture: " 開發免費" started a page
    assert "據世界日報報導開發免費" in doc.text
    # Latin words keep one space
    assert "Secure, and Trustworthy Development" in doc.text


def test_footnotes_are_lifted_out_and_labelled():
    _, doc = cleaned("000_9eb4406affaea09b.txt")
    # footnote 2 interrupted this sentence in the file; it is whole again
    assert "史丹佛數位儲存庫（Stanford Digital Repository）一份報告顯示" in doc.text
    notes = [b for b in doc.blocks if b.kind == "footnote"]
    assert [b.label for b in notes] == ["1", "2", "3", "4", "5", "6", "7"]
    assert doc.text[notes[1].start:notes[1].end].startswith("2 生成對抗網路是一種非監督式學習")
    # footnotes come after the body
    assert notes[0].start > max(b.end for b in doc.blocks if b.kind != "footnote")


def test_headings_build_section_paths():
    _, doc = cleaned("000_9eb4406affaea09b.txt")
    block = next(b for b in doc.blocks if "第 319條之 4" in doc.text[b.start:b.end])
    assert block.section == ("肆、防制人工智慧生成兒少性剝削製品的相關規範與作為", "四、我國有關性影像及兒少保護法制")
    assert heading_level("壹、前言") == 1 and heading_level("一、法律規範與更新") == 2
    assert heading_level("（三）複合性手法加劇內容危害") == 3 and heading_level("## 承諾原文") == 2
    assert heading_level("一、數位資訊科技及人工智慧之發達與運用，對民眾使用網路具有相當便利性。") == 0


def test_front_matter_is_quotable_metadata():
    _, doc = cleaned("002_50a6f5ac99e3a38e.txt")
    metas = [doc.text[b.start:b.end] for b in doc.blocks if b.kind == "meta"]
    assert 'status: "已達成"' in metas
    assert "---" not in metas


def test_navigation_lists_are_marked():
    _, doc = cleaned("001_4307968857502a83.txt")
    kinds = {doc.text[b.start:b.end]: b.kind for b in doc.blocks}
    nav = [t for t, k in kinds.items() if "新創採購" in t]
    assert nav and all(kinds[t] == "list" for t in nav)
    assert kinds["對於從事性虐待影像業務的網站或應用程式，支付平臺與金融機構可限制或拒絕對其提供支付服務。"] == "para"


def test_markdown_paragraphs_and_pdf_paragraphs():
    md = clean(["第一段\n第一段續。\n\n第二段"])
    assert [md.text[b.start:b.end] for b in md.blocks] == ["第一段第一段續。", "第二段"]
    # PDF style: trailing space marks a paragraph end, a bare 。 at line end does not
    pdf = "甲乙丙丁戊己庚辛壬癸。\n子丑寅卯辰巳午未申酉戌亥。 \n天地玄黃宇宙洪荒日月盈昃。 \n" * 3
    doc = clean([pdf])
    assert all(not re.search(r"[\u4e00-\u9fff]\n[\u4e00-\u9fff]", doc.text[b.start:b.end]) for b in doc.blocks)
    assert doc.text.startswith("甲乙丙丁戊己庚辛壬癸。子丑寅卯辰巳午未申酉戌亥。\n")
