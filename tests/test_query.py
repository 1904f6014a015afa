"""One analysis of the question (qa/query.py), and a not-found that says what is missing, on every surface."""

from __future__ import annotations

import json

import pytest

from qa.query import analyse

MISSING_Q = "日本對AI合成兒少裸照的刑罰是幾年？"  # the documents never mention Japan


@pytest.mark.parametrize("question, asks", [
    ("NCMEC收到多少件檢舉？", "number"),
    ("白宮哪一天發布呼籲？", "date"),
    ("照片被散布了，可以向哪裡求助？", "action"),
    ("這樣做犯法嗎？", "legality"),
    ("誰負責下架？", "who"),
    ("深偽是什麼？", "definition"),
    ("What should I do if a fake nude of my student is shared?", "action"),
])
def test_what_a_question_asks_for(question, asks):
    assert analyse(question).asks == asks


def test_one_record_holds_the_clauses_the_story_and_the_terms():
    q = analyse("我學生的照片被同學用AI改成裸照在班群流傳，我該怎麼辦？")
    assert q.tells_story and q.happening and q.ask == "我該怎麼辦？" and q.cjk
    assert {t.term for t in q.terms} >= {"散布"}
    assert "學生" in {t.said for t in q.terms} or "裸照" in {t.said for t in q.terms}  # as the question spells it
    plain = analyse("刑法哪一條處罰電腦合成製作不實性影像？")
    assert not plain.tells_story and not plain.happening and plain.ask is None


@pytest.mark.parametrize("question, kinds", [
    (MISSING_Q, {"place"}),
    ("iWIN的電話號碼是多少？", {"phone"}),
    ("NCMEC在2019年收到多少件檢舉？", {"year"}),
    ("對方打電話威脅我怎麼辦？", set()),  # a phone in passing is not a phone number asked for
    ("有2000張照片外流", set()),  # a number is not a year
    ("HOW DO I REPORT A DEEPFAKE?", set()),  # all capitals: no names to tell
])
def test_constraints(question, kinds):
    assert {c.kind for c in analyse(question).constraints} == kinds


def test_the_missing_constraint_reaches_the_api_the_page_and_the_cli(fake_store, capsys):
    from qa.retriever import open_index
    from ui import handlers, render
    from ui.cli import main

    a = handlers.api_answer(open_index(fake_store), MISSING_Q)
    assert a["status"] == "not_found" and a["missing"] == ["日本"]
    assert "文件沒有提到：日本" in render.answer_html(a, "zh")
    assert "The documents do not mention: 日本" in render.answer_html(a, "en")
    assert main(["ask", MISSING_Q, "--store", str(fake_store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["missing"] == ["日本"]
    assert main(["ask", MISSING_Q, "--store", str(fake_store)]) == 0
    assert "日本" in capsys.readouterr().out.split("do not mention")[1]
