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
    ("學校該怎麼做才能預防？", "action"),
    # how a thing was made, and where a word comes from, are not what-to-do questions
    ("那些假圖多半是怎麼做出來的？", "how"),
    ("Where does the word deepfake come from?", None),
    ("Where do I report a fake image of my child?", "action"),
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
    ("iWIN的電話號碼是多少？", {"phone", "name"}),
    ("NCMEC在2019年收到多少件檢舉？", {"year", "name"}),
    ("對方打電話威脅我怎麼辦？", set()),  # a phone in passing is not a phone number asked for
    ("有2000張照片外流", set()),  # a number is not a year
    ("HOW DO I REPORT A DEEPFAKE?", set()),  # all capitals: no names to tell
    ("依法要在幾小時內完成通報？", {"time"}),
    ("用那個工具申請刪除以後，大概幾天會處理好？", {"time"}),
    ("這種事多久會發生一次？", set()),  # how often is not a length of time
    ("學生這幾天都不敢來學校，心理會受什麼影響？", set()),  # these few days: not a question of how many
    ("最重會關幾年？", {"sentence_length"}),  # a prison term, not also a length of time
    ("違反的話罰鍰是多少？", {"fine"}),
    ("這種事件要依性平法召開性平會嗎？", {"law"}),  # a law of the lexicon, by its short name
    ("歐盟的AI法案禁止什麼？", {"place"}),  # not a name of the lexicon: no law to check
    ("那裡的諮商要收費嗎？", {"fee"}),  # what a service costs, or whether it is free
    ("Is there a free tool to take it down?", {"fee"}),
    ("He was federally charged. What happened next?", set()),  # a criminal charge is no price
    ("她後來有沒有對做圖的人提告？", {"outcome"}),  # what came of it after the documents end
    ("Did Congress end up amending the act?", {"outcome"}),
    ("衛福部後來的函釋怎麼說？", {"name"}),  # a later document, not an outcome (衛福部: a body)
    ("那12項風險分別是哪些？", {"items"}),  # a list's items one by one
    ("三大交易所分別為大阪、名古屋和哪一個？", set()),  # one item asked, not a list
    ("做一張圖要幾秒？", {"time"}),
    ("PhotoDNA 誤判率多少？", {"rate", "name"}),  # how often a tool is wrong: a rate
    ("這套機制花了多少經費？", {"fee"}),
    ("Childlight是誰創辦的？創辦人是誰？", {"founder", "name"}),
    ("這個機構是哪一年成立的？", {"founded"}),  # when, not how (怎麼成立的 asks none)
    ("這個機構是怎麼成立的？", set()),
    ("他說幾秒鐘就做出一張圖，真的這麼容易嗎？", set()),  # in a few seconds: not a question of how long
    ("歐盟把AI系統分成哪幾種風險？", {"place"}),  # which kinds: answered by naming them, counted or not
])
def test_constraints(question, kinds):
    assert {c.kind for c in analyse(question).constraints} == kinds


@pytest.mark.parametrize("question, named", [
    # a platform asked about, however written: the not-found names it as the question does
    ("孩子的自拍被人盜用了。小紅書有沒有專門的申訴管道？", ["小紅書"]),
    ("限動被截圖拿去亂改 IG那邊要怎麼檢舉", ["IG"]),
    ("What's Snapchat's process for reporting a fake nude?", ["Snapchat"]),
    ("抖音對換臉特效有什麼使用限制？", ["抖音"]),
    # where one read it, or where a photo was posted, is not what is asked about
    ("在小紅書上看到說白宮這次的呼籲跟行政命令有關。是第幾號行政命令？", []),
    ("家長一直po小孩照片到fb 會被拿去AI亂做嗎", []),
    ("我只是轉傳而已也會出事嗎 QQ", []),  # a crying face, not the app
    ("Is there a hotline or an online form?", []),  # not LINE
])
def test_a_platform_asked_about_is_a_constraint(question, named):
    assert [c.label for c in analyse(question).constraints if c.kind == "name"] == named


def test_a_platform_the_documents_write_another_way_is_met(seed_index):
    """谷歌 is the Google the documents write; 小紅書 they never name."""
    from qa.constraints import unmet
    q = analyse("谷歌和小紅書怎麼處理這類內容？")
    assert [c.label for c in unmet(q.constraints, [], seed_index.mentions)] == ["小紅書"]


def test_a_body_an_english_question_names_by_its_acronym_is_the_one_the_documents_write(seed_index):
    """The MOJ is the 法務部 and the NCC the 通傳會 of the documents; the Ministry of Education they never name."""
    from qa.constraints import unmet
    q = analyse("What did the MOJ, the NCC and the Ministry of Education decide?")
    assert [c.label for c in q.constraints if c.kind == "name"] == ["MOJ", "NCC", "Ministry of Education"]
    assert [c.label for c in unmet(q.constraints, [], seed_index.mentions)] == ["Ministry of Education"]


def _unmet_labels(question: str, passages: list[str], answer: int | None = None) -> list[str]:
    from qa.constraints import unmet
    from index.textnorm import fold
    # the documents: these passages
    return [c.label for c in unmet(analyse(question).constraints, passages,
                                   lambda literal: any(literal in fold(p).lower() for p in passages), answer)]


@pytest.mark.parametrize("question, passage, met", [
    ("依法要在幾小時內完成通報？", "應於24小時內通報", True),
    ("依法要在幾小時內完成通報？", "2024年1月公布", False),  # a year is not a number of hours
    ("大概幾天會處理好？", "七日內完成", True),
    ("大概幾天會處理好？", "於109年4月13日召開", False),  # a date's day is not a number of days
    ("Within how many hours must platforms remove it?", "within 48 hours of a request", True),
    ("罰鍰是多少？", "處新臺幣五十萬元以下罰鍰", True),
    ("諮商要收費嗎？", "是 Google一項免費服務", True),
    ("諮商要收費嗎？", "亦可洽詢各地方社區心理衛生中心", False),
    ("做圖的人後來有被抓到嗎？", "雖然不實影像在 17小時後下架", False),
    ("做圖的人後來有被抓到嗎？", "該男子已遭逮捕並起訴", True),
    ("做一張圖要幾秒？", "只要花短短數秒的時間", True),  # a few seconds is a number of seconds
    ("What accuracy do AI-image detectors reach?", "The classifier flags 97% of the images", True),
    ("What accuracy do AI-image detectors reach?", "辨識人工智慧生成的圖像仍有困難", False),
    ("創辦人是誰？", "該機構由一群學者於2020年創立", True),
    ("創辦人是誰？", "英國愛丁堡大學全球兒少安全研究機構Childlight推估", False),
    ("這個機構是哪一年成立的？", "該中心於1984年成立", True),
    ("這個機構是哪一年成立的？", "我國委託民間團體成立iWIN防護機構", False),
    ("那12項風險分別是哪些？", "提出12項風險和超過200項行動", False),  # counted, not listed
    ("那4類風險分別是哪些？", "分為不可接受風險、高風險、有限風險和極低風險", True),
    ("罰鍰是多少？", "得併科罰金", False),  # the word for a fine is not an amount
])
def test_a_kind_of_fact_is_met_only_by_its_unit(question, passage, met):
    labels = _unmet_labels(question, [passage])
    assert (labels == []) == met, labels


def test_the_year_of_a_figure_must_be_in_the_passage_quoted():
    question = "NCMEC在2022年收到多少件檢舉？"
    passages = ["該工具於2022年底推出", "NCMEC在2023年收到近5,000條檢舉"]
    assert _unmet_labels(question, passages) == []  # somewhere among the passages
    assert _unmet_labels(question, passages, answer=1) == ["2022年"]  # not where the figure is
    assert _unmet_labels(question, passages + ["NCMEC在2022年收到100件檢舉"], answer=2) == []


def test_every_name_of_the_law_lexicon_passes_the_quick_check():
    """A question is scanned for laws only when it holds what every name of the lexicon holds."""
    from index.lawnames import lexicon
    from index.textnorm import fold
    from qa.constraints import _LAWISH
    assert all(_LAWISH.search(fold(name)) for name, _law in lexicon().names)


def test_a_law_is_met_by_any_of_its_names():
    from qa.constraints import unmet
    q = analyse("依性平法要召開性平會嗎？")
    assert [c.label for c in unmet(q.constraints, [], lambda literal: False)] == ["性平法"]
    assert unmet(q.constraints, [], lambda literal: literal == "性别平等教育法") == []  # the full name, folded


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


def test_no_law_the_documents_cite_is_reported_missing_by_any_of_its_names(fake_store):
    """Every law of the lexicon that the documents cite, asked about by any of its names, is met."""
    from index.lawnames import lexicon
    from qa.laws import laws
    from qa.constraints import unmet
    from qa.retriever import open_index

    index, lex = open_index(fake_store), lexicon()
    cited = [lex.laws[law.name] for law in laws(fake_store) if law.name in lex.laws]
    assert len(cited) >= 5  # 刑法, 兒少性剝削防制條例, 兒童權利公約, 歐盟人工智慧法 ...
    wrong = []
    for info in cited:
        for name in {info.name, *info.aliases, *([info.en] if info.en else [])}:
            q = analyse(f"{name}怎麼規定？")
            missing = [c.label for c in unmet(q.constraints, [], index.mentions) if c.kind == "law"]
            if missing:
                wrong.append((info.name, name, missing))
    assert not wrong, wrong


def test_a_law_and_its_article_are_reported_missing_once(fake_store):
    """The law finder judges an article of a named law; the law's own constraint does not repeat it."""
    from qa.retriever import open_index
    from ui import handlers

    a = handlers.api_answer(open_index(fake_store), "性平法第21條規定什麼？")
    assert a["status"] == "not_found" and a["missing"] == ["性別平等教育法 第21條"]


def test_content_words_are_the_nouns_of_a_chinese_question_as_written():
    from qa.words import content_words
    assert "因式分解" in content_words("國中數學的因式分解要怎麼教？")
    assert "牛肉麵" in content_words("怎麼煮一鍋好吃的牛肉麵？")  # Traditional, as written
    assert "夏令营" in content_words("怎么给孩子报名暑期夏令营？")
    words = content_words("我要問一下，是不是被判了幾年？")
    assert not {"我要", "是不是", "被判", "幾年", "問一下"} & set(words)
    assert not {"怎麼辦", "謝謝"} & set(content_words("學生的照片被傳到班群，我該怎麼辦？謝謝"))  # asking, not a thing
    assert content_words("How do I bake sourdough bread?") == ()  # English names what the documents write in Chinese
    # a Latin name of several words is one word: "Take It Down", never "It"
    assert content_words("Take It Down是在手機上計算的嗎？")[:1] == ("Take It Down",)
    assert content_words("学生在Discord 上被传照片") [:2] == ("学生", "Discord")


def test_prison_terms_and_phone_numbers_are_asked_for_in_other_words():
    kinds = lambda q: [c.kind for c in analyse(q).constraints]  # noqa: E731
    assert "sentence_length" in kinds("那個案子最後被判了幾年？")
    assert "sentence_length" in kinds("最後被判刑幾年？")
    assert "sentence_length" in kinds("持有這類影片要判多久？")
    assert "phone" in kinds("台湾儿少保护专线的号码是多少？")
    assert "phone" not in kinds("專線服務時間是幾點到幾點？")
    assert "phone" not in kinds("可以打電話給誰求助？")  # who to call: a body, not a number
    assert "phone" not in kinds("公用電話於1977年時被改為哪一種形式的電話?")  # a kind of telephone


@pytest.mark.slow
def test_a_not_found_the_model_decides_names_the_words_the_documents_never_use(seed_index):
    """No constraint is missing, yet the answer names what the documents lack: the question's nouns
    they never use, not its everyday words the glossary maps to their terms."""
    from index.textnorm import fold
    from qa.answerer import answer_with, unmentioned
    from ui import handlers, render

    index = seed_index
    a = answer_with(index, "國中數學的因式分解要怎麼教？")
    assert a.status == "not_found" and "因式分解" in a.missing
    assert all(not index.mentions(fold(w)) for w in a.missing)
    page = render.answer_html(handlers.api_answer(index, "國中數學的因式分解要怎麼教？"), "zh")
    assert "文件沒有提到" in page and "因式分解" in page
    told = analyse("孩子的合成裸照被散布，國中數學的因式分解要怎麼教？")
    assert "孩子" in told.words and not index.mentions(fold("孩子"))  # the glossary maps it to 兒少
    said = unmentioned(index, told)
    assert "因式分解" in said and "孩子" not in said
    # a word too common to be indexed is never "not mentioned"; a name the documents use is not either
    assert unmentioned(index, analyse("Take It Down的it是指什麼？")) == []


def test_a_not_found_on_words_the_documents_all_use_names_what_the_closest_passages_lack(seed_store, seed_index,
                                                                                         capsys):
    """Every word of the question is somewhere in the documents, so none is "never mentioned"; the
    answer names instead the words that the closest passages shown do not hold, on the API, the page
    and the CLI."""
    from index.textnorm import fold
    from qa.answerer import unmatched
    from ui import handlers, render
    from ui.cli import main

    question = "Who is the director of NCMEC?"  # no kind of fact the evidence must hold
    a = handlers.api_answer(seed_index, question)
    assert a["status"] == "not_found" and a["missing"] == [] and "director" in a["unmatched"]
    shown = [fold(p["text"]).lower() for p in a["passages"][:3]]
    assert all(fold(w).lower() not in text for w in a["unmatched"] for text in shown)
    assert "NCMEC" not in a["unmatched"]  # the passages name it
    assert "最接近的段落沒有提到：" in render.answer_html(a, "zh") and "director" in render.answer_html(a, "zh")
    assert "The closest passages do not mention: " in render.answer_html(a, "en")
    assert main(["ask", question, "--store", str(seed_store)]) == 0
    assert "director" in capsys.readouterr().out.split("closest passages do not mention")[1]
    # a question with nouns: only those the passages lack; an answered question has none
    q = analyse("iWIN的網址是什麼？")
    assert unmatched(q, []) == list(q.words)
    assert handlers.api_answer(seed_index, "什麼是深偽？")["unmatched"] == []


@pytest.mark.parametrize("question, kind, said, sentence, held", [
    # 件 asks for reports; the documents count them in 條: one class of measure words
    ("NCMEC在2023年收到多少件檢舉？", "number", "多少件檢舉", "當年即收到近 5,000條的檢舉", True),
    ("有多少比例的高中生聽過？", "number", "多少比例", "有 15%的高中生自陳聽過深度偽造", True),
    ("全世界有多少個國家批准了這份議定書？", "number", "多少個國家", "當年即收到近 5,000條的檢舉", False),
    ("全世界有多少個國家批准了這份議定書？", "number", "多少個國家", "5個國家", True),
    # a number of something else is not a number of what is counted
    ("這個案子被看了多少次？", "number", "多少次", "有 3億的兒少", False),
    # a date of what it asks the date of, not any year in a sentence on the subject
    ("這個中心是哪一年成立的？", "date", "成立的日期", "該中心於1984年成立", True),
    ("這個中心是哪一年成立的？", "date", "成立的日期", "該中心2023年收到近5,000條檢舉", False),
    ("這個中心是哪一年成立的？", "date", "成立的日期", "該中心成立以來收到許多檢舉", False),
    # read in the clause that asks, after a story
    ("學生的照片被傳開了，這個法是什麼時候修正的？", "date", "修正的日期", "該法於113年7月修正", True),
    # what is shown is a word of the question: the verb after the asking word, else the asking word itself
    ("草案是哪一天報行政院審查的？", "date", "審查的日期", "草案於113年3月7日報行政院審查", True),
    ("草案是在哪一天經立法院三讀通過的？", "date", "哪一天", "草案於113年7月12日三讀", False),
    # people are counted by 位, 名 and 人 as well as by the noun
    ("全球有多少孩子在網上受過傷害？", "number", "多少孩子", "每年有超過3億名兒童受害", True),
    ("有多少未成年人受害？", "number", "多少未成", "每年有超過3億名兒童受害", True),
    ("有多少未成年人受害？", "number", "多少未成", "每年有超過3億張圖像", False),
    ("全球有多少孩子在網上受過傷害？", "number", "多少孩子", "超過 3億的兒少成為受害者", True),
    ("全球有多少孩子在網上受過傷害？", "number", "多少孩子", "2023年的兒少受害情形", False),  # a year counts no one
    # read in the clauses that end with a question mark when every clause has a question word
    ("全球到底有多少孩子受過傷害？有沒有具體數字？", "number", "多少孩子", "有3億名兒童", True),
])
def test_a_number_or_date_question_names_what_its_answer_must_hold(question, kind, said, sentence, held):
    from index.textnorm import fold
    from qa.slots import holds

    q = analyse(question)
    assert q.asks == kind and q.slot is not None and q.slot.kind == kind and q.slot.said == said
    assert holds(q.slot, [fold(sentence)]) == float(held)


@pytest.mark.parametrize("question, said, sentence, held", [
    ("這類案件依法要在幾小時內通報？", "幾小時內", "應於24小時內通報主管機關", True),
    ("這類案件依法要在幾小時內通報？", "幾小時內", "該中心於2023年收到近5,000條檢舉", False),  # a year is no length
    ("這種App生成一張圖要多久？", "多久", "只要花短短數秒的時間", True),
    ("這個罪最重會被判幾年？", "幾年", "處5年以下有期徒刑", True),
    ("這個罪最重會被判幾年？", "幾年", "本法於民國113年修正", False),
])
def test_a_question_asking_how_long_names_a_length_of_time(question, said, sentence, held):
    """多久, 幾小時內, 判幾年 ask a length of time, whatever else the question asks; a date does not hold one."""
    from index.textnorm import fold
    from qa.slots import holds

    q = analyse(question)
    assert q.slot is not None and q.slot.kind == "duration" and q.slot.said == said
    assert holds(q.slot, [fold(sentence)]) == float(held)


@pytest.mark.parametrize("question", ["學生說用App幾秒就能做出來，門檻真的這麼低嗎？", "疫情那幾年，網路性剝削有變嚴重嗎？",
                                      "數位倫理教育應該從幾年級開始？"])
def test_a_few_seconds_those_years_and_a_school_grade_ask_no_date_or_length(question):
    q = analyse(question)
    assert q.asks != "date" and q.slot is None


@pytest.mark.parametrize("question", ["How many countries ratified it?", "When was it founded?", "歐盟把AI分成哪幾類？",
                                      "深偽是什麼？",
                                      # "a few students", "some day" in the story told before the ask
                                      "下課時看到幾個學生在玩換臉App，把同學的臉換來換去。論文有沒有列出常見的軟體？",
                                      "我兒子把同學的臉換到影片上。我擔心他哪天會做得更過分。文章對家長有什麼建議？",
                                      # a question word in a statement before the one that ends with "？"
                                      "本校有幾位美籍學生的家長很關心，白宮呼籲國會修訂哪一部法律？",
                                      # "the several traits", "a few words", "over a few years", a particle after 多少
                                      "作者怎麼總結這類圖的幾個特性？", "孩子說打幾個字就能出圖，真的這麼簡單嗎？",
                                      "幾年之間增加了多少？", "照片增加多少嗎？"])
def test_only_a_chinese_number_or_date_question_has_a_slot(question):
    from qa.slots import holds

    q = analyse(question)
    assert q.slot is None and holds(q.slot, ["5个国家", "2019年成立"]) == 0.0


def test_a_not_found_number_question_names_what_the_closest_sentences_do_not_count(seed_store, seed_index, capsys):
    """The documents speak of the protocol and of countries, but give no count of countries that ratified
    it: the not-found says the closest passages lack "how many countries", on the API, the page and the CLI."""
    from ui import handlers, render
    from ui.cli import main

    question = "全世界有多少個國家批准了兒童權利公約的任擇議定書？"
    a = handlers.api_answer(seed_index, question)
    assert a["status"] == "not_found" and a["unmatched"][0] == "多少個國家"
    assert "最接近的段落沒有提到：多少個國家" in render.answer_html(a, "zh")
    assert main(["ask", question, "--store", str(seed_store)]) == 0
    assert "多少個國家" in capsys.readouterr().out.split("closest passages do not mention")[1]
