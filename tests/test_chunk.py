"""Chunks: whole sentences, exact slices, stable ids, never across a heading."""

from __future__ import annotations

import pytest

from index.chunk import chunk_document, chunk_id, line_locator, split_sentences
from index.clean import clean
from index.loaders import load
from tests.conftest import SEEDS

SEED_FILES = sorted(p.name for p in SEEDS.iterdir())


def chunks_of(name, **kw):
    raw = load(SEEDS / name, name)
    doc = clean(raw.pages, raw.front_matter)
    return raw, doc, chunk_document(name, doc, line_of=line_locator(raw.pages, raw.body_line, raw.front_matter), **kw)


@pytest.mark.parametrize("name", SEED_FILES)
def test_every_chunk_and_sentence_is_an_exact_slice(name):
    _, doc, chunks = chunks_of(name)
    assert chunks
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end
        for a, b in c.sentences:
            assert c.start <= a < b <= c.end
            assert doc.text[a:b] == doc.text[a:b].strip()


@pytest.mark.parametrize("name", SEED_FILES)
def test_chunk_lines_point_at_the_file(name):
    raw, _, chunks = chunks_of(name)
    lines = (SEEDS / name).read_text("utf-8").split("\n")
    for c in chunks:
        line = lines[c.line - 1]
        # the chunk's first characters are on that line (they may wrap onto the next)
        head = c.text[:2]
        assert head in line or (c.text[0] in line and line.rstrip().endswith(c.text[0])), (c.line, c.text[:20])


def test_sentences_end_at_chinese_and_english_terminators():
    text = "第一句。第二句！「第三句？」第四句；English one. Version 3.5 stays. 最後"
    spans = split_sentences(text, 0, len(text))
    assert [text[a:b] for a, b in spans] == ["第一句。", "第二句！", "「第三句？」", "第四句；", "English one.",
                                             "Version 3.5 stays.", "最後"]


def test_semicolons_inside_parentheses_do_not_end_a_sentence():
    text = "回應了威脅（林東茂，2024；張麗卿，2024）。甲；乙。"
    assert [text[a:b] for a, b in split_sentences(text, 0, len(text))] == [
        "回應了威脅（林東茂，2024；張麗卿，2024）。", "甲；", "乙。"]


def test_long_sentences_are_cut_at_commas():
    text = "，".join(["這是一個很長的子句"] * 100) + "。"
    spans = split_sentences(text, 0, len(text), max_chars=120)
    assert all(b - a <= 120 for a, b in spans)
    assert "".join(text[a:b] for a, b in spans) == text


def test_size_bounds_and_no_chunk_across_sections():
    _, doc, chunks = chunks_of("000_9eb4406affaea09b.txt", target_chars=160, max_chars=320)
    assert max(len(c.text) for c in chunks) <= 320
    heads = [b.start for b in doc.blocks if b.kind == "heading"]
    for c in chunks:
        assert not any(c.start < h < c.end for h in heads)


def test_footnotes_and_lists_are_their_own_chunks():
    _, _, chunks = chunks_of("000_9eb4406affaea09b.txt")
    notes = [c for c in chunks if c.kind == "footnote"]
    assert notes and notes[0].text.startswith("1 臺灣警察專科學校")
    _, _, chunks = chunks_of("001_4307968857502a83.txt")
    assert any(c.kind == "list" and "新創採購" in c.text for c in chunks)
    assert not any(c.kind == "para" and "新創採購機制及鼓勵" in c.text for c in chunks)


def test_chunk_ids_are_stable_and_distinct():
    a = [c.chunk_id for c in chunks_of("000_9eb4406affaea09b.txt")[2]]
    b = [c.chunk_id for c in chunks_of("000_9eb4406affaea09b.txt")[2]]
    assert a == b and len(set(a)) == len(a)
    assert chunk_id("x", 0, 1, "a") != chunk_id("x", 0, 1, "b")


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="target_chars"):
        chunk_document("x", clean(["text"]), target_chars=100, max_chars=50)
