"""Names as constraints (qa.constraints): found next to any script, not read in a story's clauses."""

import pytest

from qa.constraints import unmet
from qa.query import analyse


def _names(question: str) -> list[str]:
    return [c.label for c in analyse(question).constraints if c.kind == "name"]


@pytest.mark.parametrize("question, names", [
    ("美國NCMEC在2023年收到多少件檢舉？", ["NCMEC"]),  # an acronym written against Chinese characters
    ("我在一個Discord伺服器看到，Discord要怎麼檢舉？", ["Discord"]),  # a capitalised word in a Chinese question
    ("How does Take It Down work?", []),  # an English question capitalises words that are not names
    ("孩子手机上装了好几个AI修图APP，白宫有没有要求应用商店采取措施？", []),  # an app is not a name
    # the platform a story says it happened on is not what is asked about
    ("有人拿她IG的自拍用AI做成色情圖。這樣在法律上也算兒少性剝削製品嗎？", []),
    ("LINE群組裡有人傳我小孩的AI合成裸照，LINE官方會主動幫忙刪除嗎？", ["LINE"]),
    ("有人用App把她的照片合成裸照，在班級LINE群組裡傳開。老師該怎麼幫她？", []),
])
def test_names_a_question_asks_about(question, names):
    assert _names(question) == names


def test_a_name_split_in_two_is_met_by_the_word_the_documents_write():
    """photo DNA is PhotoDNA: the name is met when the documents hold it run together with its neighbour."""
    q = analyse("photo DNA是啥 可以抓到那種圖嗎")
    assert [c.label for c in q.constraints if c.kind == "name"] == ["DNA"]
    assert unmet(q.constraints, ["無關的段落"], lambda literal: literal == "photodna") == []
    assert [c.label for c in unmet(q.constraints, ["無關的段落"], lambda literal: False)] == ["DNA"]


def test_a_name_in_brackets_glosses_the_words_before_it():
    """The documents write 通傳會; the question glosses it (NCC), which they never write: the body is read
    once, by the name the question writes first (a body of the lexicon, met by either way)."""
    assert _names("台湾通传会（NCC）当时在研拟哪部法律草案？") == ["通传会"]
    assert _names("NCC当时在研拟哪部法律草案？") == ["NCC"]


def test_the_year_a_source_is_cited_by_is_not_the_year_of_a_figure():
    q = analyse("NCMEC在2024年收到多少件檢舉？")
    cited = "NCMEC從2023年開始接受檢舉，當年即收到近5,000條的檢舉（張瑞邦，2024；The Guardian, 2024）。"
    assert [c.label for c in unmet(q.constraints, [cited], lambda literal: True, 0)] == ["2024年"]
    assert unmet(q.constraints, ["2024年共收到2萬件檢舉（NCMEC, 2025）"], lambda literal: True, 0) == []


def test_a_place_in_latin_letters_is_found_against_chinese():
    assert [c.label for c in analyse("Japan有類似的法律嗎？").constraints if c.kind == "place"] == ["Japan"]


def test_an_acronym_is_met_by_the_name_the_documents_write_out():
    """CDT is met where the documents write Center for Democracy and Technology, and only there."""
    from qa.constraints import acronyms

    found = acronyms(["美國民主與技術中心（Center for Democracy and\nTechnology）發布報告"])
    assert "cdt" in found and "ncc" not in found
    q = analyse("CDT的報告說了什麼？")
    assert unmet(q.constraints, ["報告"], lambda lit: lit in found) == []


def test_the_acronyms_of_a_store_are_read_once_and_let_go_with_it(fake_store):
    """An opened store's documents mention the acronyms of the names they write out (Internet Watch
    Foundation: IWF; Center for Democracy and Technology: CDT), read once and freed with the store."""
    import gc
    import weakref

    from qa.retriever import Index

    index = Index(fake_store)
    assert index.mentions("cdt") and not index.mentions("xqz")
    assert index.acronyms is index.acronyms and "iwf" in index.acronyms
    gone = weakref.ref(index)
    del index
    gc.collect()
    assert gone() is None
