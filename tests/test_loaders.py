"""Tests of index.loaders: discovery, text decoding, front matter and PDFs.

Every fixture is built here, in tmp_path; PDFs are written byte by byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
from pathlib import Path

import pytest

from index import loaders, pdf
from index.loaders import RawDocument, discover, load
from index.errors import UnreadableFile, UnsupportedFile

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
TIMEOUT = 5.0


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def build_pdf(pages: list[str | None], info: dict[str, str] | None = None, *,
              prev_to_self: bool = False) -> bytes:
    """A minimal valid PDF: one page per item, ASCII text in Helvetica (None: blank page)."""
    objs: list[bytes] = []

    def add(body: bytes) -> int:
        objs.append(body)
        return len(objs)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    pages_num = add(b"")  # filled in below
    kids = []
    for text in pages:
        content = b""
        if text is not None:
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            content = b"BT /F1 12 Tf 72 720 Td (" + escaped.encode("latin-1") + b") Tj ET"
        stream = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        kids.append(add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (pages_num, font, stream)))
    objs[pages_num - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_num)
    info_num = None
    if info:
        info_num = add(b"<< " + b" ".join(b"/%s (%s)" % (k.encode(), v.encode("latin-1"))
                                          for k, v in info.items()) + b" >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (num, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    trailer = b"/Size %d /Root %d 0 R" % (len(objs) + 1, catalog)
    if info_num:
        trailer += b" /Info %d 0 R" % info_num
    if prev_to_self:
        trailer += b" /Prev %d" % xref
    out += b"trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref)
    return bytes(out)


def encrypt_pdf(data: bytes, user: str, owner: str) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(data))
    writer.encrypt(user_password=user, owner_password=owner)  # RC4: needs no extra package
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def load_bytes(tmp_path: Path, name: str, data: bytes | str, **kw) -> RawDocument:
    return load(write(tmp_path, name, data), name, pdf_timeout=TIMEOUT, **kw)


# ---------------------------------------------------------------------------
# text files
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", sorted(p.name for p in SEEDS.glob("*.txt")))
def test_seeds_load(seed):
    path = SEEDS / seed
    doc = load(path, seed)
    raw = path.read_bytes()
    assert doc.source == seed
    assert doc.path == path and doc.path.is_absolute()
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()
    assert doc.encoding == "utf-8"
    assert len(doc.pages) == 1 and doc.pages[0].strip()
    lines = raw.decode("utf-8").replace("\r\n", "\n").split("\n")
    assert doc.pages[0] == "\n".join(lines[doc.body_line - 1:])
    json.dumps(doc.meta)


def test_seed_front_matter():
    doc = load(SEEDS / "002_50a6f5ac99e3a38e.txt", "002_50a6f5ac99e3a38e.txt")
    assert doc.meta["title"] == "配合法務部建立影像下架合作機制"
    assert doc.meta["status"] == "已達成"
    assert doc.meta["source"]["term"] == "10"
    lines = (SEEDS / "002_50a6f5ac99e3a38e.txt").read_text("utf-8").split("\n")
    closing = lines.index("---", 1)
    assert doc.body_line == closing + 2
    assert "---" not in doc.pages[0].split("\n")[:1]
    assert doc.pages[0].lstrip().startswith("## 承諾原文")
    assert "title:" not in doc.pages[0]


def test_plain_seed_has_no_meta():
    assert load(SEEDS / "000_9eb4406affaea09b.txt", "000").meta == {}


def test_utf8_bom(tmp_path):
    doc = load_bytes(tmp_path, "a.md", "\ufeff# 標題\n內文".encode("utf-8"))
    assert doc.encoding == "utf-8-sig"
    assert doc.pages == ["# 標題\n內文"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_utf16_32_with_bom(tmp_path, codec):
    text = "兒童及少年性剝削防制條例\r\n第2條 ABC"
    data = "\ufeff".encode(codec) + text.encode(codec)
    doc = load_bytes(tmp_path, "a.txt", data)
    assert doc.encoding == codec[:6]
    assert doc.pages == ["兒童及少年性剝削防制條例\n第2條 ABC"]


def test_cp950(tmp_path):
    text = "兒童及少年性剝削防制條例第2條\r\n本條例所稱兒童或少年性剝削，\r\n指下列行為之一。\r\n"
    doc = load_bytes(tmp_path, "big5.txt", text.encode("cp950"))
    assert doc.encoding == "cp950"
    assert doc.pages == [text.replace("\r\n", "\n")]


def test_cp950_short(tmp_path):
    text = "兒童及少年性剝削防制條例第2條"
    doc = load_bytes(tmp_path, "big5.txt", text.encode("cp950"))
    assert (doc.pages, doc.encoding) == ([text], "cp950")


def test_big5hkscs(tmp_path):
    text = "香港增補字符集：𠕇" * 3  # 𠕇 exists in Big5-HKSCS only
    doc = load_bytes(tmp_path, "hk.txt", text.encode("big5hkscs"))
    assert (doc.pages, doc.encoding) == ([text], "big5hkscs")


def test_old_mac_newlines(tmp_path):
    assert load_bytes(tmp_path, "a.txt", b"one\rtwo\r\nthree\n").pages == ["one\ntwo\nthree\n"]


def test_invalid_bytes(tmp_path):
    data = bytes([0x80, 0x81, 0xFF, 0x01, 0x02, 0x9D, 0xFE, 0x03]) * 64
    with pytest.raises(UnreadableFile, match="not valid UTF-8 and no known encoding fits"):
        load_bytes(tmp_path, "junk.txt", data)


def test_nul_bytes_are_binary(tmp_path):
    with pytest.raises(UnreadableFile, match="NUL"):
        load_bytes(tmp_path, "bin.txt", b"text\x00more text")


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n", "\u3000\n".encode("utf-8"), b"\xef\xbb\xbf \n"])
def test_empty(tmp_path, data):
    with pytest.raises(UnreadableFile, match="^empty$"):
        load_bytes(tmp_path, "e.txt", data)


def test_only_front_matter_is_kept_as_quotable_text(tmp_path):
    # Front matter is part of the document's text (a status can be the answer).
    doc = load_bytes(tmp_path, "e.md", "---\ntitle: x\n---\n\n")
    assert doc.front_matter == "---\ntitle: x\n---\n"
    assert doc.meta == {"title": "x"} and doc.pages[0].strip() == ""


def test_empty_front_matter_and_nothing_else_is_empty(tmp_path):
    with pytest.raises(UnreadableFile, match="^empty$"):
        load_bytes(tmp_path, "e.md", "\n \n")


def test_front_matter_any_suffix_and_json_values(tmp_path):
    text = ("---\r\ntitle: 測試\r\ndate: 2024-05-23\r\nwhen: 2024-05-23 10:00:00\r\n"
            "tags: [a, b]\r\n1: one\r\n---\r\n正文第一行\r\n")
    for name in ("a.md", "a.txt", "a.markdown"):
        doc = load_bytes(tmp_path, name, text)
        assert doc.meta == {"title": "測試", "date": "2024-05-23", "when": "2024-05-23T10:00:00",
                            "tags": ["a", "b"], "1": "one"}
        assert doc.pages == ["正文第一行\n"]
        assert doc.body_line == 8
        json.dumps(doc.meta)


def test_empty_front_matter(tmp_path):
    doc = load_bytes(tmp_path, "a.md", "---\n---\nbody")
    assert (doc.meta, doc.pages, doc.body_line) == ({}, ["body"], 3)


@pytest.mark.parametrize("text, error", [
    ("---\ntitle: [unclosed\n---\nbody text\n", "invalid YAML"),
    ("---\ntitle: x\nbody without closing fence\n", "no closing ---"),
    ("---\n- a\n- b\n---\nbody text\n", "not a mapping"),
])
def test_broken_front_matter_is_kept(tmp_path, caplog, text, error):
    doc = load_bytes(tmp_path, "broken.md", text)
    assert error in doc.meta["front_matter_error"]
    assert set(doc.meta) == {"front_matter_error"}
    assert doc.pages == [text]
    assert doc.body_line == 1
    assert any("broken.md" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_yaml_alias_bomb_is_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    doc = load_bytes(tmp_path, "bomb.md", "---\n" + "\n".join(lines) + "\n---\nbody\n")
    assert "more than" in doc.meta["front_matter_error"]


def test_unsupported_suffix(tmp_path):
    with pytest.raises(UnsupportedFile):
        load(write(tmp_path, "a.docx", b"PK\x03\x04"), "a.docx")


def test_uppercase_suffix(tmp_path):
    assert load_bytes(tmp_path, "A.TXT", "hello").pages == ["hello"]


def test_missing_file(tmp_path):
    with pytest.raises(UnreadableFile, match="No such file"):
        load(tmp_path / "gone.txt", "gone.txt")


def test_directory(tmp_path):
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(UnreadableFile, match="Is a directory"):
        load(tmp_path / "dir.txt", "dir.txt")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_fifo_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(UnreadableFile, match="not a regular file"):
        load(tmp_path / "pipe.txt", "pipe.txt")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_permission_denied(tmp_path):
    path = write(tmp_path, "secret.txt", "x")
    path.chmod(0)
    try:
        with pytest.raises(UnreadableFile, match="Permission denied"):
            load(path, "secret.txt")
    finally:
        path.chmod(0o644)


# ---------------------------------------------------------------------------
# PDFs
# ---------------------------------------------------------------------------


def test_pdf_pages_and_meta(tmp_path):
    data = build_pdf(["Hello page (one)", "Second page text"], info={"Title": "Test title", "Author": "Tester"})
    doc = load_bytes(tmp_path, "two.pdf", data)
    assert doc.pages == ["Hello page (one)", "Second page text"]
    assert doc.meta == {"title": "Test title", "author": "Tester"}
    assert (doc.encoding, doc.body_line) == ("pdf", 1)
    assert doc.sha256 == hashlib.sha256(data).hexdigest()


def test_pdf_blank_page_keeps_numbering(tmp_path):
    doc = load_bytes(tmp_path, "gap.pdf", build_pdf(["first", None, "third"]))
    assert doc.pages == ["first", "", "third"]


def test_pdf_encrypted(tmp_path):
    data = encrypt_pdf(build_pdf(["Secret text"]), user="secret", owner="secret")
    with pytest.raises(UnreadableFile, match="^encrypted PDF$"):
        load_bytes(tmp_path, "locked.pdf", data)


def test_pdf_with_owner_password_only_opens(tmp_path):
    data = encrypt_pdf(build_pdf(["Readable text"]), user="", owner="owner")
    assert load_bytes(tmp_path, "restricted.pdf", data).pages == ["Readable text"]


def test_pdf_truncated(tmp_path):
    data = build_pdf(["Hello page one", "Second page text"])
    with pytest.raises(UnreadableFile, match="broken PDF"):
        load_bytes(tmp_path, "half.pdf", data[: len(data) // 2])


def test_not_a_pdf(tmp_path):
    with pytest.raises(UnreadableFile, match="broken PDF"):
        load_bytes(tmp_path, "fake.pdf", "just some text, not a PDF")


def test_pdf_xref_prev_to_itself(tmp_path):
    # An xref section whose /Prev points back to itself and nothing else to recover from.
    header = b"%PDF-1.4\n"
    xref = len(header)
    data = header + (b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Prev %d >>\n"
                     b"startxref\n%d\n%%%%EOF\n" % (xref, xref))
    t0 = time.monotonic()
    with pytest.raises(UnreadableFile):
        load_bytes(tmp_path, "loop.pdf", data)
    assert time.monotonic() - t0 < TIMEOUT


def test_pdf_xref_prev_to_itself_with_content(tmp_path):
    # pypdf notices the cycle and recovers the (otherwise valid) document.
    t0 = time.monotonic()
    doc = load_bytes(tmp_path, "loop.pdf", build_pdf(["Hello", "again"], prev_to_self=True))
    assert doc.pages == ["Hello", "again"]
    assert time.monotonic() - t0 < TIMEOUT


def test_pdf_without_text_layer(tmp_path):
    with pytest.raises(UnreadableFile, match=r"no text layer \(scanned\?\); OCR is not supported"):
        load_bytes(tmp_path, "scan.pdf", build_pdf([None, None]))


def test_pdf_timeout_kills_parser(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "_worker_command",
                        lambda mb: [sys.executable, "-c", "import time; time.sleep(60)"])
    t0 = time.monotonic()
    with pytest.raises(UnreadableFile, match=r"^PDF parsing exceeded 0.5 s$"):
        load(write(tmp_path, "slow.pdf", build_pdf(["x"])), "slow.pdf", pdf_timeout=0.5)
    assert time.monotonic() - t0 < 3


def test_pdf_memory_limit(tmp_path):
    with pytest.raises(UnreadableFile, match="8 MB of memory"):
        load_bytes(tmp_path, "a.pdf", build_pdf(["x"]), pdf_memory_mb=8)


@pytest.mark.parametrize("code, error", [
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "killed by SIGKILL"),
    ("import sys; sys.stdout.write('not json'); sys.exit(3)", "exit code 3"),
    ("import sys; sys.stdout.write('[1, 2]')", "PDF parser failed"),
    ("import sys; sys.stdout.write('{\"ok\": true, \"pages\": [1], \"meta\": {}}')", "malformed"),
])
def test_pdf_parser_misbehaving(tmp_path, monkeypatch, code, error):
    monkeypatch.setattr(pdf, "_worker_command", lambda mb: [sys.executable, "-c", code])
    with pytest.raises(UnreadableFile, match=error):
        load_bytes(tmp_path, "a.pdf", build_pdf(["x"]))


# ---------------------------------------------------------------------------
# discover
# ---------------------------------------------------------------------------


def test_discover_folder(tmp_path):
    root = tmp_path / "docs"
    for name in ["b.md", "a.txt", "sub/c.pdf", "sub/deeper/d.markdown", "sub/E.TXT",
                 ".hidden.txt", ".git/config.txt", "sub/.cache/x.md", "report.docx", "notes"]:
        write(root, name, "x")
    outside = write(tmp_path, "outside.txt", "secret")
    (root / "link_out.txt").symlink_to(outside)
    (root / "link_in.md").symlink_to(root / "b.md")  # the same file as b.md: listed once
    (root / "link_dir").symlink_to(tmp_path, target_is_directory=True)

    files, skipped = discover([root])
    assert [s for _, s in files] == ["a.txt", "b.md", "sub/E.TXT", "sub/c.pdf", "sub/deeper/d.markdown"]
    assert all(p.is_absolute() and p.is_file() for p, _ in files)
    assert files[0][0] == (root / "a.txt").absolute()
    assert ("link_out.txt", f"symlink points outside {root}") in skipped
    assert ("link_dir", f"symlink points outside {root}") in skipped
    assert len(skipped) == 2


def test_discover_symlink_inside_root(tmp_path):
    root = tmp_path / "docs"
    target = write(root, "real/a.txt", "x")
    (root / "alias.txt").symlink_to(target)
    files, skipped = discover([root])
    assert [s for _, s in files] == ["alias.txt"]  # sorted first; the real path is the same file
    assert skipped == []


def test_discover_explicit_files_and_missing(tmp_path):
    txt = write(tmp_path, "folder/note.txt", "x")
    docx = write(tmp_path, "folder/report.docx", "x")
    files, skipped = discover([txt, str(docx), tmp_path / "missing", str(txt)])
    assert files == [(txt.absolute(), "note.txt")]
    assert skipped[0][0] == "report.docx" and "unsupported file type '.docx'" in skipped[0][1]
    assert skipped[1] == (str(tmp_path / "missing"), "not found")
    assert len(skipped) == 2


def test_discover_single_path_and_relative_root(tmp_path, monkeypatch):
    write(tmp_path, "d/x/y.md", "x")
    monkeypatch.chdir(tmp_path)
    files, skipped = discover("d")
    assert files == [((tmp_path / "d/x/y.md").absolute(), "x/y.md")] and skipped == []


def test_discover_same_source_name_twice(tmp_path):
    write(tmp_path, "one/a.txt", "1")
    write(tmp_path, "two/a.txt", "2")
    files, skipped = discover([tmp_path / "one", tmp_path / "two"])
    assert [s for _, s in files] == ["a.txt"]
    assert skipped[0][0] == "a.txt" and "same source name" in skipped[0][1]


def test_discover_then_load(tmp_path):
    write(tmp_path, "docs/a.md", "---\ntitle: T\n---\nbody")
    write(tmp_path, "docs/p/b.pdf", build_pdf(["pdf text"]))
    files, _ = discover([tmp_path / "docs"])
    docs = [load(p, s, pdf_timeout=TIMEOUT) for p, s in files]
    assert [(d.source, d.pages) for d in docs] == [("a.md", ["body"]), ("p/b.pdf", ["pdf text"])]


def test_front_matter_after_bom(tmp_path):
    doc = load_bytes(tmp_path, "a.md", "\ufeff---\ntitle: 標題\n---\n內文".encode("utf-8"))
    assert (doc.encoding, doc.meta, doc.pages, doc.body_line) == ("utf-8-sig", {"title": "標題"}, ["內文"], 4)
