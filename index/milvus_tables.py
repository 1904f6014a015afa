"""A Milvus store version's files, as base64 pieces in its tables collection (``index.milvus_store``).

Each row holds ``PIECE`` base64 characters of one named file (manifest, docs,
chunks, idf, side tables): exact for any bytes, and checked against the
sha256 and size in the manifest when read.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

from index.errors import IndexCorrupt

PIECE = 60000  # base64 characters per row of a tables collection (VARCHAR holds 65,535 bytes)


def create_tables(c, coll: str) -> None:
    from pymilvus import DataType

    s = c.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("k", DataType.VARCHAR, is_primary=True, max_length=200)
    s.add_field("name", DataType.VARCHAR, max_length=100)
    s.add_field("seq", DataType.INT64)
    s.add_field("data", DataType.VARCHAR, max_length=65535)
    s.add_field("z", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    ip = c.prepare_index_params()
    ip.add_index("z", index_type="FLAT", metric_type="L2")
    c.create_collection(coll, schema=s, index_params=ip, consistency_level="Strong")


class TableWriter:
    """Writes table ``name`` of a tables collection as its bytes come (``write``), a few rows at a time;
    ``close`` returns its manifest entry (sha256, size, pieces)."""

    RAW = PIECE // 4 * 3  # bytes per row: base64 of them is PIECE characters

    def __init__(self, c, coll: str, name: str):
        self.c, self.coll, self.name = c, coll, name
        self.h, self.size, self.seq, self.buf, self.rows = hashlib.sha256(), 0, 0, bytearray(), []

    def _emit(self, data: bytes) -> None:
        self.rows.append({"k": f"{self.name}/{self.seq}", "name": self.name, "seq": self.seq,
                          "data": base64.b64encode(data).decode("ascii"), "z": [0.0, 0.0]})
        self.seq += 1
        if len(self.rows) >= 100:
            self.c.insert(self.coll, self.rows)
            self.rows = []

    def write(self, part: bytes) -> None:
        self.h.update(part)
        self.size += len(part)
        self.buf += part
        raw = self.RAW
        if len(self.buf) >= raw:
            whole = len(self.buf) // raw * raw
            view = memoryview(self.buf)
            for s in range(0, whole, raw):
                self._emit(bytes(view[s:s + raw]))
            view.release()
            del self.buf[:whole]

    def close(self) -> dict:
        if self.buf or self.seq == 0:
            self._emit(bytes(self.buf))
            self.buf = bytearray()
        if self.rows:
            self.c.insert(self.coll, self.rows)
            self.rows = []
        return {"sha256": self.h.hexdigest(), "size": self.size, "pieces": self.seq}


def put_stream(c, coll: str, name: str, parts) -> dict:
    """Store the concatenated byte strings ``parts`` as table ``name``; returns its manifest entry."""
    w = TableWriter(c, coll, name)
    for p in parts:
        w.write(p)
    return w.close()


def put_bytes(c, coll: str, name: str, data: bytes) -> dict:
    """Store ``data`` as table ``name``; returns its manifest entry (sha256, size, pieces)."""
    return put_stream(c, coll, name, [data])


PAGE = 100  # pieces per query: a query's result has a size limit (a 333,333-document manifest is 1,000+ pieces)


def pieces(c, coll: str, name: str, n: int | None = None, where: str = "") -> Iterator[bytes]:
    """The pieces of table ``name`` in order, decoded, ``PAGE`` at a time: ``n`` of them (a missing
    one raises), or when ``n`` is None, until a page comes back short."""
    s = 0
    while n is None or s < n:
        hi = s + PAGE if n is None else min(n, s + PAGE)
        rows = sorted(c.query(coll, filter=f'name == "{name}" and seq >= {s} and seq < {hi}',
                              output_fields=["seq", "data"]), key=lambda r: r["seq"])
        if n is not None and len(rows) != hi - s:
            raise IndexCorrupt(f"{name} of {where} is missing pieces: rebuild with `verbatim index`")
        for r in rows:
            yield base64.b64decode(r["data"])  # each piece is whole base64
        if n is None and len(rows) < PAGE:
            return
        s = hi


def get_bytes(c, coll: str, name: str, info: dict | None, where: str) -> bytes:
    """Table ``name``, checked against its manifest entry ``info``."""
    if info is None:
        raise IndexCorrupt(f"{name} is not listed in the manifest of {where}")
    data = b"".join(pieces(c, coll, name, int(info["pieces"]), where))
    if len(data) != info["size"] or hashlib.sha256(data).hexdigest() != info["sha256"]:
        raise IndexCorrupt(f"{name} of {where} fails its checksum: rebuild with `verbatim index`")
    return data
