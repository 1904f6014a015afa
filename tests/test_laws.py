"""The law finder: citations found at indexing, kept in the store, looked up however written."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from index.build import build
from index.errors import InvalidQuestion
from index.laws import extract
from index.store import IndexSettings, open_store
from qa.laws import cited, laws

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests/data/laws_gold.jsonl"
FAKE = IndexSettings(embedders=("hash:64",), sentence_embedder=None)


def _bench():
    spec = importlib.util.spec_from_file_location("bench_laws", ROOT / "bench/laws.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def seed_score():
    bench = _bench()
    gold = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    return bench.score(bench.find(ROOT / "seeds"), gold), gold


def test_every_law_and_article_of_the_gold_list_is_found_and_none_invented(seed_score):
    res, _gold = seed_score
    assert res["laws_recall"] >= 0.98 and res["laws_precision"] >= 0.98, res["invented_laws"]
    for unit in ("article_units", "locator_units"):
        assert res[unit]["recall"] >= 0.98, res[unit]["missed"]
        assert res[unit]["precision"] >= 0.98, res[unit]["invented"]


def test_every_mention_span_is_exact(seed_score):
    res, gold = seed_score
    assert res["missed_mentions"] == [] and res["extra_mentions"] == []
    assert res["mentions_exact"] == len(gold)
    assert res["wrong_law"] == [] and res["wrong_locator"] == []


def test_mentions_are_slices_of_the_text_and_carry_their_locators():
    text = ("依據動物保護法第 25條之1第1項第2款，飼主應負責；該法第三十條另有規定。"
            "《野生動物保育法》第四十條處罰未經許可之輸入，另見同法施行細則。本法第 5條規定主管機關。")
    mentions, found = extract(text)
    for m in mentions:
        assert text[m.start:m.end] == m.surface
    got = [(m.surface, m.law, m.article, m.paragraph, m.item, m.anaphor) for m in mentions]
    assert ("動物保護法第 25條之1第1項第2款", "動物保護法", "25-1", 1, 2, False) in got
    assert ("該法第三十條", "動物保護法", "30", None, None, True) in got
    assert ("《野生動物保育法》第四十條", "野生動物保育法", "40", None, None, False) in got
    assert ("本法第 5條", "野生動物保育法", "5", None, None, True) in got
    assert found["動物保護法"].jurisdiction == "TW"


def test_counters_and_terms_are_not_citations():
    text = "平台一年收到5,000條的檢舉，第10屆第04會期通過8 項具體行動目標；依法處理，相關法律與立法說明另述。"
    mentions, _ = extract(text)
    assert mentions == []


@pytest.fixture(scope="module")
def made_up_store(tmp_path_factory) -> Path:
    """A small made-up document of a law the lexicon does not know, indexed with the model-free embedder."""
    docs = tmp_path_factory.mktemp("lawdoc")
    (docs / "pets.md").write_text(
        "---\ntitle: 寵物管理指引\n---\n# 寵物管理指引\n\n"
        "依《寵物登記管理條例》第 3條第2項，飼主應於出生後三十日內辦理登記。\n\n"
        "未登記者，依寵物登記管理條例第十二條之一處罰；該條例第 15 條另規定罰鍰之額度。\n\n"
        "歐盟動物福利法亦有類似規定。Compare Section 2(a) of the U.S. Animal Welfare Act of 1966.\n",
        encoding="utf-8")
    store = tmp_path_factory.mktemp("lawstore") / "store"
    build([docs], store, FAKE)
    return store


def test_a_made_up_document_of_another_law(made_up_store):
    found = {law.name: law for law in laws(made_up_store)}
    law = found["寵物登記管理條例"]
    assert [a.reference for a in law.articles] == ["第3條", "第12條之1", "第15條"]
    assert law.jurisdiction == "TW"
    us = found["Animal Welfare Act of 1966"]
    assert us.jurisdiction == "US" and us.articles[0].citations[0].surface == "Section 2(a) of the U.S. Animal Welfare Act of 1966"
    assert us.articles[0].citations[0].paragraph is None and us.articles[0].citations[0].item_label == "(a)"
    assert found["歐盟動物福利法"].jurisdiction == "EU"
    for ref in ("寵物登記管理條例第12條之1", "寵物登記管理條例12-1", "寵物登記管理條例第十二條之一", "§ 12-1"):
        c = cited(ref, made_up_store)
        assert c.reference == "寵物登記管理條例 第12條之1", ref
        assert [x.surface for x in c.citations] == ["寵物登記管理條例第十二條之一"], ref


def test_the_store_keeps_the_citations_and_every_passage_holds_its_citation(fake_store):
    st = open_store(fake_store)
    assert "table-laws.jsonl" in st.manifest["checksums"] and "table-citations.jsonl" in st.manifest["checksums"]
    assert st.manifest["settings"]["laws_version"] >= 1
    assert {law["name"] for law in st.tables["laws"]} >= {"中華民國刑法", "兒童權利公約"}
    for m in st.tables["citations"]:
        assert st.docs[m["source"]].text[m["start"]:m["end"]] == m["surface"]
    for law in laws(fake_store):
        for c in law.citations:
            p = c.passage
            assert p.source == c.source
            if c.in_passage:
                assert p.text[c.start - p.start:].startswith(c.surface[: p.end - c.start])
            else:  # a citation in a heading comes with the passage under that heading
                assert c.start < p.start and c.surface.replace(" ", "") in p.section.replace(" ", "")


@pytest.mark.parametrize("ref", ["刑法第319條之4", "刑法319-4", "刑法第三百十九條之四", "第319條之4", "§ 319-4",
                                 "中華民國刑法 第 319 條之 4", "刑法 319之4", "刑法第319条之4", "ｓ319-4 刑法".replace("ｓ", "§")])
def test_every_writing_of_an_article_finds_the_same_citation(fake_store, ref):
    c = cited(ref, fake_store)
    assert c.reference == "中華民國刑法 第319條之4"
    assert [x.surface for x in c.citations] == ["第 319條之 4"]


@pytest.mark.parametrize("ref,reference,n", [
    ("兒少性剝削條例第2條第1項第3款", "兒童及少年性剝削防制條例 第2條 第1項 第3款", 3),
    ("兒童及少年性剝削防制條例第二條", "兒童及少年性剝削防制條例 第2條", 3),
    ("Art. 3(60) of the AI Act", "歐盟人工智慧法 第3條 (60)", 1),
    ("EU AI Act Article 3", "歐盟人工智慧法 第3條", 1),
    ("CRC art. 34", "兒童權利公約 第34條", 1),
    ("兒童權利公約第三十四條", "兒童權利公約 第34條", 1),
    ("兒少權法46", "兒童及少年福利與權益保障法 第46條", 2),
    ("Recital 28 of the AI Act", "歐盟人工智慧法 序言第28點", 1),
    ("刑法第二十八章之一", "中華民國刑法 第28章之1", 1),
])
def test_abbreviations_and_english_names_are_read(fake_store, ref, reference, n):
    c = cited(ref, fake_store)
    assert c.reference == reference
    assert len(c.citations) == n


def test_an_article_without_a_law_lists_every_law_citing_it(fake_store):
    c = cited("第2條", fake_store)
    assert set(c.laws) == {"兒童及少年性剝削防制條例", "關於買賣兒童、兒童賣淫和兒童色情問題之兒童權利公約任擇議定書"}


def test_unreadable_and_uncited_references(fake_store):
    assert cited("hello", fake_store).reference == ""
    assert cited("憲法第8條", fake_store).citations == ()
    with pytest.raises(InvalidQuestion):
        cited("   ", fake_store)


def test_laws_cli(fake_store, capsys):
    from ui.cli import main

    assert main(["laws", "--store", str(fake_store)]) == 0
    out = capsys.readouterr().out
    assert out.index("TW") < out.index("UN") < out.index("EU") < out.index("US")
    assert "第319條之4" in out
    assert main(["laws", "刑法319-4", "--store", str(fake_store), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reference"] == "中華民國刑法 第319條之4" and data["citations"][0]["line"] == 512
    assert main(["laws", "憲法第8條", "--store", str(fake_store)]) == 1
    assert main(["laws", "xyz", "--store", str(fake_store)]) == 2


def test_the_laws_view_groups_by_jurisdiction_and_marks_each_citation(fake_store):
    from ui.lawview import laws_view

    html = laws_view(fake_store, "zh-TW")
    assert html.index('data-jurisdiction="TW"') < html.index('data-jurisdiction="UN"') < html.index('data-jurisdiction="EU"')
    assert '<summary class="vb-chrome">第319條之4 · 1 處引用</summary>' in html
    assert '<mark class="vb-hit">第 319條之 4</mark>' in html
    assert html.count('class="vb-law"') == len(laws(fake_store))
    assert "Laws" not in html and "citations" in laws_view(fake_store, "en")


def test_a_question_naming_an_article_puts_its_citing_passage_first(fake_store):
    from qa.answerer import answer_with
    from qa.retriever import Index

    index = Index(fake_store)
    a = answer_with(index, "刑法第三百十九條之四規定什麼？")
    assert a.reference == "中華民國刑法 第319條之4"
    citing = cited("刑法319-4", fake_store).citations[0].passage.chunk_id
    assert a.passages[0].chunk_id == citing
    b = answer_with(index, "憲法第8條怎麼說？")
    assert b.status == "not_found" and "中華民國憲法 第8條" in b.missing
    assert answer_with(index, "刑法第99條規定什麼？").missing == ["中華民國刑法 第99條"]  # reported once


def test_simplified_text_english_anaphora_and_articles_of_things_that_are_not_laws():
    zh = "依消费者保护法第7条第1项，企业经营者应负责；该法第19条另有规定。校規第5條則與法律無關。"
    got = [(m.surface, m.law, m.article, m.paragraph, m.anaphor) for m in extract(zh)[0]]
    assert got == [("消费者保护法第7条第1项", "消費者保護法", "7", 1, False),
                   ("该法第19条", "消費者保護法", "19", None, True)]
    en = ("The UK Online Safety Act 2023 sets duties. Section 10 of the Act covers illegal content, "
          "and Art. 6(1)(a) GDPR is read with it; see section 5 of this report.")
    got = [(m.surface, m.law, m.article, m.paragraph, m.item_label) for m in extract(en)[0]]
    assert ("UK Online Safety Act 2023", "Online Safety Act 2023", None, None, None) in got
    assert ("Section 10 of the Act", "Online Safety Act 2023", "10", None, None) in got
    assert ("Art. 6(1)(a) GDPR", "一般資料保護規則", "6", 1, "(a)") in got
    assert all("section 5" not in s for s, *_ in got)


def test_a_year_an_age_or_a_count_in_a_question_is_not_an_article():
    from index.lawref import parse_reference

    names = {"刑法": "中華民國刑法"}
    for q in ("國中3年級學生被合成裸照，刑法第319條之4怎麼處罰？", "刑法在2023年新增的第319條之4規定什麼？",
              "我的孩子一直被同學騷擾，刑法第319條之4規定什麼？"):
        assert parse_reference(q, names) == ("中華民國刑法", {"article": "319-4"}), q
    for q in ("12-17歲的兒少被性剝削怎麼辦？", "iWIN 2023-2024 年的下架件數？", "刑法 1-2年有期徒刑", "0800-000-123"):
        assert "article" not in parse_reference(q, names)[1], q
    assert parse_reference("刑法319-4", names) == ("中華民國刑法", {"article": "319-4"})


def test_an_article_belongs_to_the_law_named_nearest_before_it():
    """A question naming two laws: 兒少權法第46條…及性剝削條例第8條 asks of the first law's article 46
    (it was read as article 46 of the longer name); an English article names its law after it."""
    from index.lawref import fold_name, parse_reference

    names = {fold_name(k): v for k, v in {"兒少權法": "兒童及少年福利與權益保障法", "性剝削條例": "兒童及少年性剝削防制條例",
             "歐盟人工智慧法": "歐盟人工智慧法", "基本權利憲章": "歐盟基本權利憲章", "AI Act": "歐盟人工智慧法"}.items()}
    assert parse_reference("兒少權法第46條第3項及性剝削條例第8條第1項，要求平臺做什麼？", names) == \
        ("兒童及少年福利與權益保障法", {"article": "46", "paragraph": 3})
    assert parse_reference("歐盟人工智慧法序言第28條涉及《基本權利憲章》的哪些權利？", names) == \
        ("歐盟人工智慧法", {"recital": 28})
    assert parse_reference("What does Art. 50 of the AI Act require?", names) == ("歐盟人工智慧法", {"article": "50"})
    assert parse_reference("兒少權法", names) == ("兒童及少年福利與權益保障法", {})


def test_which_article_is_no_article():
    from index.lawref import fold_name, parse_reference

    names = {"刑法": "中華民國刑法", fold_name("歐盟人工智慧法"): "歐盟人工智慧法"}
    for q in ("歐盟人工智慧法的哪一條序言提到操縱？", "刑法的這一條怎麼適用？", "刑法每一條都適用嗎？"):
        assert "article" not in parse_reference(q, names)[1], q
    assert parse_reference("刑法第一條", {"刑法": "中華民國刑法"}) == ("中華民國刑法", {"article": "1"})


def test_each_citation_is_found_once_and_bare_subparagraphs_follow_their_article():
    text = "依刑法第1條規定。另第2條亦有規定。該公約亦同。該規則亦同。兒少性剝削條例第2條第1項規定甚詳。其中第3款所稱者。"
    got = [(m.surface, m.article, m.paragraph, m.item) for m in extract(text)[0]]
    assert got.count(("第2條", "2", None, None)) == 1
    assert ("第3款", "2", 1, 3) in got
    assert extract("§" * 5000)[0] == [] and extract("該法" * 2000)[0] == []


def test_an_article_of_something_that_is_no_law_is_not_filed_under_the_last_law():
    text = "依兒少權法第53條通報。另依學校輔導工作實施計畫第4條辦理；本中心服務流程第4條亦同。"
    got = [(m.surface, m.law) for m in extract(text)[0]]
    assert got == [("兒少權法第53條", "兒童及少年福利與權益保障法")]
    mentions, found = extract("一、本法修正後，第53條之通報時限縮短。", title="113年度兒少保護聯繫會議紀錄")
    assert mentions == [] and found == {}
    mentions, _ = extract("本法第 5條規定主管機關。", title="動物保護法")
    assert [(m.surface, m.law, m.article) for m in mentions] == [("本法第 5條", "動物保護法", "5")]


def test_english_names_do_not_take_the_words_before_them():
    got = {m.law for m in extract("Under the Online Safety Act 2023, platforms act. "
                                  "In the Take It Down Act, removal is required.")[0]}
    assert got == {"Online Safety Act 2023", "TAKE IT DOWN Act"}


def test_chinese_numerals_written_digit_by_digit():
    from index.textnorm import cn_to_int

    assert (cn_to_int("一零八"), cn_to_int("九九"), cn_to_int("二〇二四"), cn_to_int("三百十九")) == (108, 99, 2024, 319)


def test_odd_references_are_clear_errors(fake_store):
    with pytest.raises(InvalidQuestion):
        cited("刑法\ud800第1條", fake_store)


def test_a_uk_law_does_not_stop_the_laws_view(tmp_path):
    from ui.lawview import laws_view

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "uk.txt").write_text("Under the UK Online Safety Act 2023, section 10 sets duties on platforms.\n",
                                 encoding="utf-8")
    store = tmp_path / "store"
    build([docs], store, FAKE)
    html = laws_view(store, "en")
    assert "United Kingdom" in html and "Online Safety Act 2023" in html


def test_the_laws_view_lists_a_bounded_number_of_citations_per_article(tmp_path):
    from ui.lawview import SHOWN, laws_view

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "many.txt").write_text("".join(f"第{i}段：依刑法第10條規定辦理。\n\n" for i in range(SHOWN + 5)), encoding="utf-8")
    store = tmp_path / "store"
    build([docs], store, FAKE)
    html = laws_view(store, "zh-TW")
    assert html.count('class="vb-item vb-law-cite"') == SHOWN
    assert "另有 5 處引用未列出" in html and "verbatim laws 中華民國刑法 第10條" in html
