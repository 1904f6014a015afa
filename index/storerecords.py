"""The records of a store version as bytes, the same on every backend: documents, chunks, side tables.

``index.store`` writes them as files; ``index.milvus_store`` as base64 rows. Strings
round-trip exactly (lone surrogates included), so every chunk stays
``canonical[start:end]`` of its document.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from index.chunk import Chunk

TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")  # a side table's name (``table-<name>.jsonl``)


def table_file(name: str) -> str:
    """The file of side table ``name``: named lists of JSON records that ride along with a version."""
    if not TABLE_NAME.match(name):
        raise ValueError(f"bad side table name {name!r}: lower-case letters, digits and _")
    return f"table-{name}.jsonl"


def dump_records(records: list[dict]) -> bytes:
    """JSON lines, exact for any string (lone surrogates included)."""
    return "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                   for r in records).encode("utf-8", "surrogatepass")


@dataclass
class DocRecord:
    source: str
    title: str
    text: str
    meta: dict
    sha256: str
    encoding: str
    n_chunks: int = 0


def read_jsonl(data: bytes) -> list[dict]:
    """JSON lines from verified bytes (split on newlines only: U+2028 and friends stay inside strings)."""
    return [json.loads(line) for line in data.decode("utf-8", "surrogatepass").split("\n") if line.strip()]


def parse_docs(data: bytes) -> dict[str, DocRecord]:
    """Documents from the verified bytes of ``docs.jsonl`` (both backends store the same lines)."""
    docs = {}
    for d in read_jsonl(data):
        docs[d["source"]] = DocRecord(d["source"], d["title"], d["text"], d.get("meta", {}), d["sha256"],
                                      d.get("encoding", ""), d.get("n_chunks", 0))
    return docs


def parse_chunks(data: bytes) -> list[Chunk]:
    """Chunks from the verified bytes of ``chunks.jsonl``."""
    return [Chunk(c["chunk_id"], c["source"], c["start"], c["end"], c["text"], tuple(c["section"]), c["kind"],
                  c["page"], c["line"], tuple(tuple(s) for s in c["sentences"]))
            for c in read_jsonl(data)]


def docs_bytes(docs: list[DocRecord]) -> bytes:
    return dump_records([asdict(d) for d in docs])


def chunk_lines(chunks, text_sha):
    """``chunks.jsonl`` line by line (as bytes): every chunk with the hash of its indexed text
    (what a rebuild reuses vectors by)."""
    for (c, _t), sha in zip(chunks, text_sha):
        rec = asdict(c)
        rec["section"] = list(c.section)
        rec["sentences"] = [list(s) for s in c.sentences]
        rec["text_sha"] = sha
        yield (json.dumps(rec, ensure_ascii=False, default=str) + "\n").encode("utf-8", "surrogatepass")

