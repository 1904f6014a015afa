"""One indexing run over a folder of bad documents (issue #4, "Bad documents").

The folder is built here, in tmp_path: an empty file, invalid UTF-8, NUL
bytes, UTF-8 with a BOM, Big5, CP950, UTF-16 with and without a BOM, a single
5 MB line, broken front matter, encrypted, truncated, xref-looping and
scanned PDFs, symlinks leading out of the folder and in a loop, and a file
that disappears between discovery and reading; plus two good files.

It is indexed twice, at the same time: in-process with ``index.build.build``
and through the ``verbatim index`` command in a subprocess. Every decodable
file must be indexed with its text intact, every bad one listed as skipped
with its reason, nothing from outside the folder may enter the store, and the
run must go on to the end.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from index import loaders
from index.clean import clean
from index.build import build
from index.store import IndexSettings, read_manifest, verify_file
from index.errors import UnreadableFile
from qa.retriever import Index, RetrievalSettings
from tests.test_loaders import build_pdf, encrypt_pdf

SETTINGS = IndexSettings(embedders=("hash:64",), sentence_embedder=None)
CLI_ARGS = ("--embedder", "hash:64", "--sentence-embedder", "none")
FIVE_MB = 5 * 1024 * 1024
VANISHING = "vanishing.txt"
OUTSIDE_SECRET = "外洩機密：紅色鯨魚計畫的金庫密碼"
OUTSIDE_DIR_SECRET = "外部資料夾：藍色河馬行動名單"
# ASCII text with a NUL at an even offset followed by a space: read as UTF-16-BE
# it has a space (U+0020) and decodes without error into CJK-looking characters.
NUL_IN_ASCII = b"ASCII text\x00 with a stray NUL in it, whose NUL is at an even offset!."


@dataclass(frozen=True)
class Good:
    """A file that must be indexed: its raw text (pages), front matter, encoding and a phrase to find."""

    pages: tuple[str, ...]
    encoding: str
    phrase: str
    front_matter: str = ""
    front_matter_error: str | None = None

    @property
    def canonical(self) -> str:
        return clean(list(self.pages), self.front_matter).text


# name -> Good. Texts are given as str; the bytes on disk are made from them below.
BOM_TEXT = "\ufeff# 位元組順序標記\n本文件說明高雄港區鳳梨酥的檢驗流程。\n"
BIG5_TEXT = "臺東縣政府公告：池上便當節活動延期至十一月舉行。\r\n請民眾留意交通管制。\r\n"
CP950_TEXT = "碁盤街的銹蝕鐵門已於裏巷整修完成，恒春鎮公所粧點街景。\r\n"  # 碁銹裏恒粧: CP950 only
UTF16_TEXT = "\ufeff萬國碼文件：澎湖縣玄武岩地質公園開放時間調整。\r\n"
UTF16_NO_BOM_TEXT = "無標記萬國碼：金門高粱酒廠 2024 年導覽預約。\r\n"
BROKEN_FM_TEXT = "---\ntitle: [沒有結束的清單\n---\n前言損壞但正文完整：馬祖藍眼淚觀賞季。\n"
GOOD_MD_TEXT = "---\ntitle: 好文件\n---\n# 第一章\n花蓮太魯閣步道的落石警示系統已經啟用。\n"
GOOD_PDF_PAGES = ("Zephyrine quokka lighthouse inspection report.", "Second page about harbour cranes.")
LOOP_PDF_PAGES = ("Recovered despite a looping xref table.", "Its second page.")
LONG_PHRASE = "獨角鯨在北極海域的遷徙路線研究"
LONG_FILLER = "長行測試句子內容沒有換行符號。"


def _long_line() -> str:
    half = "".join(LONG_FILLER for _ in range(FIVE_MB // (2 * len(LONG_FILLER.encode())) + 1))
    return half + LONG_PHRASE + "。" + half


GOOD: dict[str, Good] = {
    "bom.md": Good((BOM_TEXT.lstrip("\ufeff"),), "utf-8-sig", "鳳梨酥的檢驗流程"),
    "big5.txt": Good((BIG5_TEXT.replace("\r\n", "\n"),), "cp950", "池上便當節活動延期"),
    "cp950.txt": Good((CP950_TEXT.replace("\r\n", "\n"),), "cp950", "碁盤街的銹蝕鐵門"),
    "utf16.txt": Good((UTF16_TEXT.lstrip("\ufeff").replace("\r\n", "\n"),), "utf-16", "澎湖縣玄武岩地質公園"),
    "utf16-no-bom.txt": Good((UTF16_NO_BOM_TEXT.replace("\r\n", "\n"),), "utf-16-le", "金門高粱酒廠"),
    "long-line.txt": Good((), "utf-8", LONG_PHRASE),  # pages filled in by the fixture (5 MB)
    "broken-front-matter.md": Good((BROKEN_FM_TEXT,), "utf-8", "馬祖藍眼淚觀賞季",
                                   front_matter_error="invalid YAML"),
    "sub/good.md": Good(("# 第一章\n花蓮太魯閣步道的落石警示系統已經啟用。\n",), "utf-8", "太魯閣步道的落石警示",
                        front_matter="---\ntitle: 好文件\n---\n"),
    "sub/good.pdf": Good(GOOD_PDF_PAGES, "pdf", "Zephyrine quokka lighthouse"),
    "xref-loop-recovered.pdf": Good(LOOP_PDF_PAGES, "pdf", "looping xref table"),
}

# name -> the reason it is skipped (a prefix of it; "{root}" is the folder indexed)
BAD: dict[str, str] = {
    "empty.txt": "empty",
    "invalid-utf8.txt": "not valid UTF-8 and no known encoding fits",
    "nul-bytes.txt": "contains NUL bytes: a binary file?",
    "encrypted.pdf": "encrypted PDF",
    "truncated.pdf": "broken PDF: ",
    "xref-loop.pdf": "broken PDF: ",
    "scanned.pdf": "PDF has no text layer (scanned?); OCR is not supported",
    "link-outside.txt": "symlink points outside {root}",
    "link-outside-dir": "symlink points outside {root}",
    "link-loop.txt": "symlink loop",
    VANISHING: "No such file or directory",
}


def _xref_loop_only() -> bytes:
    """An xref section whose /Prev points back to itself, with nothing to recover."""
    header = b"%PDF-1.4\n"
    xref = len(header)
    return header + (b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Prev %d >>\n"
                     b"startxref\n%d\n%%%%EOF\n" % (xref, xref))


def make_folder(base: Path, long_line: str) -> Path:
    """The folder to index, under ``base``, with every fixture; returns it."""
    root = base / "docs"
    outside = base / "outside"
    outside.mkdir(parents=True)
    (outside / "secret.txt").write_text(OUTSIDE_SECRET, "utf-8")
    (outside / "dir").mkdir()
    (outside / "dir" / "inner.txt").write_text(OUTSIDE_DIR_SECRET, "utf-8")

    def put(name: str, data: bytes) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    # decodable
    put("bom.md", BOM_TEXT.encode("utf-8"))
    put("big5.txt", BIG5_TEXT.encode("big5"))
    put("cp950.txt", CP950_TEXT.encode("cp950"))
    put("utf16.txt", UTF16_TEXT.encode("utf-16-le"))
    put("utf16-no-bom.txt", UTF16_NO_BOM_TEXT.encode("utf-16-le"))
    put("long-line.txt", long_line.encode("utf-8"))
    put("broken-front-matter.md", BROKEN_FM_TEXT.encode("utf-8"))
    put("sub/good.md", GOOD_MD_TEXT.encode("utf-8"))
    put("sub/good.pdf", build_pdf(list(GOOD_PDF_PAGES), info={"Title": "Harbour report"}))
    put("xref-loop-recovered.pdf", build_pdf(list(LOOP_PDF_PAGES), prev_to_self=True))
    # bad
    put("empty.txt", b"")
    put("invalid-utf8.txt", bytes([0x80, 0x81, 0xFF, 0x01, 0x02, 0x9D, 0xFE, 0x03]) * 64)
    put("nul-bytes.txt", NUL_IN_ASCII)
    put("encrypted.pdf", encrypt_pdf(build_pdf(["Encrypted secret text"]), user="pw", owner="pw"))
    whole = build_pdf(["Truncated page one text", "Truncated page two text"])
    put("truncated.pdf", whole[: len(whole) // 2])
    put("xref-loop.pdf", _xref_loop_only())
    put("scanned.pdf", build_pdf([None, None]))
    put(VANISHING, "這個檔案在索引途中消失。".encode("utf-8"))
    (root / "link-outside.txt").symlink_to(outside / "secret.txt")
    (root / "link-outside-dir").symlink_to(outside / "dir", target_is_directory=True)
    (root / "link-loop.txt").symlink_to("link-loop.txt")
    return root


# The ``verbatim`` subprocess deletes the vanishing file right after discovery:
# this module, put on its PYTHONPATH as ``sitecustomize``, wraps discover().
SITECUSTOMIZE = '''
import os
_vanish = os.environ.pop("VERBATIM_TEST_VANISH", None)
if _vanish:
    from index import loaders as _loaders
    _discover = _loaders.discover

    def _discover_then_delete(paths):
        found = _discover(paths)
        os.unlink(_vanish)
        return found

    _loaders.discover = _discover_then_delete
'''


def _verbatim_command() -> list[str]:
    exe = Path(sys.executable).parent / "verbatim"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from ui.cli import main; sys.exit(main())"]


@dataclass
class Run:
    root: Path
    store: Path
    report: object = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list, repr=False)
    seconds: float = 0.0
    # CLI
    code: int | None = None
    stdout: str = field(default="", repr=False)
    stderr: str = field(default="", repr=False)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    """Index the bad folder twice at once: ``verbatim index`` in a subprocess, ``build`` in-process."""
    base = tmp_path_factory.mktemp("bad")
    line = _long_line()
    cli = Run(make_folder(base / "cli", line), base / "cli" / "store")
    lib = Run(make_folder(base / "lib", line), base / "lib" / "store")

    hook = base / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE, "utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), env.get("PYTHONPATH")]))
    env["VERBATIM_TEST_VANISH"] = str(cli.root / VANISHING)
    env.pop("VERBATIM_STORE", None)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [*_verbatim_command(), "index", str(cli.root), "--store", str(cli.store), *CLI_ARGS],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=base,
    )
    try:
        real_discover = loaders.discover

        def discover_then_delete(paths):
            found = real_discover(paths)
            (lib.root / VANISHING).unlink()
            return found

        collect = _Collect()
        index_log = logging.getLogger("index")
        index_log.addHandler(collect)
        try:
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(loaders, "discover", discover_then_delete)
                t1 = time.monotonic()
                lib.report = build([lib.root], lib.store, SETTINGS)
                lib.seconds = time.monotonic() - t1
        finally:
            index_log.removeHandler(collect)
        lib.warnings = collect.messages
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    cli.seconds = time.monotonic() - t0
    cli.code, cli.stdout, cli.stderr = proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    return {"lib": lib, "cli": cli}


@pytest.fixture(scope="module")
def lib_index(runs) -> Index:
    # Lexical scores only: what is checked is that the text is indexed, not how
    # well the model-free hash embedder ranks English (it is noise by design).
    return Index(runs["lib"].store, RetrievalSettings(bm25_weight=1.0, bm25_weight_other=1.0))


def _expected_reason(name: str, root: Path) -> str:
    return BAD[name].format(root=root)


def _stored_docs(store: Path) -> dict[str, dict]:
    vdir, manifest = read_manifest(store)
    with open(verify_file(vdir, manifest, "docs.jsonl"), encoding="utf-8") as f:
        return {d["source"]: d for d in map(json.loads, f)}


# ---------------------------------------------------------------------------
# the fixtures are what they claim to be
# ---------------------------------------------------------------------------


def test_fixtures_are_what_they_claim():
    assert len(_long_line().encode("utf-8")) >= FIVE_MB and "\n" not in _long_line()
    with pytest.raises(UnicodeEncodeError):
        CP950_TEXT.encode("big5")  # so the CP950 file is not merely Big5
    BIG5_TEXT.encode("big5")
    with pytest.raises(UnicodeDecodeError):
        BIG5_TEXT.encode("big5").decode("utf-8")
    assert b"\x00" in UTF16_NO_BOM_TEXT.encode("utf-16-le")
    assert len(NUL_IN_ASCII) % 2 == 0 and NUL_IN_ASCII.index(b"\x00 ") % 2 == 0
    assert " " in NUL_IN_ASCII.decode("utf-16-be")
    assert not UTF16_NO_BOM_TEXT.encode("utf-16-le").startswith((b"\xff\xfe", b"\xfe\xff"))


# ---------------------------------------------------------------------------
# in-process build
# ---------------------------------------------------------------------------


def test_run_goes_on_and_indexes_every_good_file(runs):
    report = runs["lib"].report
    assert report.documents == len(GOOD)
    assert sorted(_stored_docs(runs["lib"].store)) == sorted(GOOD)


def test_good_files_keep_their_exact_text(runs):
    docs = _stored_docs(runs["lib"].store)
    for name, good in GOOD.items():
        doc = docs[name]
        if name == "long-line.txt":
            assert doc["text"] == _long_line(), "the 5 MB line is not kept whole"
        else:
            assert doc["text"] == good.canonical, name
        assert doc["encoding"] == good.encoding, name
        if good.front_matter_error:
            assert good.front_matter_error in doc["meta"]["front_matter_error"]
    # a broken front matter is kept as text, quotable
    assert "title: [沒有結束的清單" in docs["broken-front-matter.md"]["text"]
    assert docs["sub/good.md"]["meta"] == {"title": "好文件"}
    assert docs["sub/good.pdf"]["meta"]["title"] == "Harbour report"


def test_chunks_are_exact_slices_of_the_canonical_text(lib_index):
    assert lib_index.chunks
    for c in lib_index.chunks:
        assert lib_index.docs[c.source].text[c.start:c.end] == c.text
    assert {c.source for c in lib_index.chunks} == set(GOOD)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_search_finds_a_distinctive_phrase(lib_index, name):
    phrase = GOOD[name].phrase
    top = lib_index.search(phrase, 1)
    assert top and top[0].source == name and phrase in top[0].text


def test_bad_files_are_skipped_with_their_reason(runs):
    lib = runs["lib"]
    skipped = dict(lib.report.skipped)
    assert sorted(skipped) == sorted(BAD)
    for name in BAD:
        assert skipped[name].startswith(_expected_reason(name, lib.root)), (name, skipped[name])
    # the reason is recorded in the store too
    _vdir, manifest = read_manifest(lib.store)
    assert {s["source"]: s["reason"] for s in manifest["skipped"]} == skipped


def test_every_skip_is_logged(runs):
    lib = runs["lib"]
    for name, reason in lib.report.skipped:
        assert any(name in m and reason in m for m in lib.warnings), (name, reason, lib.warnings)


def test_nothing_from_outside_the_folder_enters_the_store(runs, lib_index):
    for doc in lib_index.docs.values():
        assert OUTSIDE_SECRET not in doc.text and OUTSIDE_DIR_SECRET not in doc.text
    vdir, _manifest = read_manifest(runs["lib"].store)
    for path in vdir.iterdir():
        data = path.read_bytes()
        for secret in (OUTSIDE_SECRET, OUTSIDE_DIR_SECRET):
            assert secret.encode("utf-8") not in data, path.name
    for secret in (OUTSIDE_SECRET, OUTSIDE_DIR_SECRET):
        assert all(secret not in p.text for p in lib_index.search(secret, 5))


def test_nothing_from_skipped_files_enters_the_store(lib_index):
    text = "\n".join(d.text for d in lib_index.docs.values())
    for marker in ("Encrypted secret text", "Truncated page", "這個檔案在索引途中消失"):
        assert marker not in text


# ---------------------------------------------------------------------------
# the ``verbatim index`` command
# ---------------------------------------------------------------------------


def test_cli_summary_and_exit_code(runs):
    cli = runs["cli"]
    assert cli.code == 0, cli.stderr
    assert "Traceback" not in cli.stderr
    lines = cli.stdout.splitlines()
    assert lines[0].startswith(f"built {cli.store}: {len(GOOD)} documents, ")
    printed = {}
    for line in lines[1:]:
        assert line.startswith("skipped "), line
        source, _, reason = line[len("skipped "):].partition(": ")
        printed[source] = reason
    assert sorted(printed) == sorted(BAD)
    for name in BAD:
        assert printed[name].startswith(_expected_reason(name, cli.root)), (name, printed[name])
        assert name in cli.stderr  # also logged (WARNING goes to stderr)
    assert not (cli.root / VANISHING).exists()  # the hook did run


def test_cli_store_matches_the_library_build(runs):
    cli_docs = _stored_docs(runs["cli"].store)
    lib_docs = _stored_docs(runs["lib"].store)
    assert sorted(cli_docs) == sorted(lib_docs)
    for name in cli_docs:
        assert cli_docs[name]["text"] == lib_docs[name]["text"], name


# ---------------------------------------------------------------------------
# the loader protections these fixtures rely on, one by one
# ---------------------------------------------------------------------------


def test_symlink_loops_are_skipped_not_fatal(tmp_path):
    (tmp_path / "ok.txt").write_text("正常檔案。", "utf-8")
    (tmp_path / "self.txt").symlink_to("self.txt")
    (tmp_path / "a.md").symlink_to("b.md")
    (tmp_path / "b.md").symlink_to("a.md")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    files, skipped = loaders.discover([tmp_path])
    assert [s for _, s in files] == ["ok.txt"]
    assert sorted(skipped) == [("a.md", "symlink loop"), ("b.md", "symlink loop"),
                               ("dangling.txt", "broken symlink"), ("self.txt", "symlink loop")]


def test_named_symlink_loop_is_not_found(tmp_path):
    (tmp_path / "self.txt").symlink_to("self.txt")
    assert loaders.discover([tmp_path / "self.txt"]) == ([], [(str(tmp_path / "self.txt"), "not found")])


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", [
    "無標記萬國碼：金門高粱酒廠 2024 年導覽預約。\r\n第二行。\r\n",
    "Plain English in UTF-16 without a byte-order mark.\n",
    "一丁七万丈三上下\n",  # U+4E00..: NUL bytes on the "wrong" side too
])
def test_utf16_without_bom(tmp_path, codec, text):
    (tmp_path / "u.txt").write_bytes(text.encode(codec))
    doc = loaders.load(tmp_path / "u.txt", "u.txt")
    assert (doc.pages, doc.encoding) == ([text.replace("\r\n", "\n")], codec)


@pytest.mark.parametrize("data", [
    NUL_IN_ASCII,
    b"odd length\x00 is never UTF-16",
    b"\x00\x00\x00\x00" * 64,
    b"ab\x00\x00cd",
    bytes(range(256)) * 8,
    "中文\x00".encode("utf-8") + b"x",
    "一中文".encode("utf-16-be"),  # one line, no whitespace: too little to tell
])
def test_nul_bytes_that_are_not_utf16_stay_binary(tmp_path, data):
    (tmp_path / "b.txt").write_bytes(data)
    with pytest.raises(UnreadableFile, match="NUL bytes"):
        loaders.load(tmp_path / "b.txt", "b.txt")
