"""A build's first pass, kept on disk for its second (``index.build``)."""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from index.chunk import Chunk
from index.store import (
    CHUNKS,
    DOCS,
    SPOOL_PREFIX,
    DocRecord,
    chunk_lines,
    docs_bytes,
    text_key,
)


class Spool:
    """What the first pass over the files leaves on disk for the second: the exact lines of
    ``docs.jsonl`` and ``chunks.jsonl``, and each chunk's indexed text. Nothing of the corpus is
    held in memory between the passes."""

    TEXTS = "texts.jsonl"

    def __init__(self, root: Path | None):
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX, dir=root))
        self._files = {n: open(self.dir / n, "wb") for n in (DOCS, CHUNKS, self.TEXTS)}

    def add(self, doc: DocRecord, chunks: list[tuple[Chunk, str]]) -> int:
        """Write a document and its (chunk, indexed text) pairs; returns its sentence count."""
        self._files[DOCS].write(docs_bytes([doc]))
        shas = [text_key(t) for _, t in chunks]
        for line in chunk_lines(chunks, shas):
            self._files[CHUNKS].write(line)
        for _, t in chunks:
            self._files[self.TEXTS].write(json.dumps(t).encode("ascii") + b"\n")
        return sum(len(c.sentences) for c, _ in chunks)

    def seal(self) -> None:
        for f in self._files.values():
            f.close()

    def path(self, name: str) -> Path:
        return self.dir / name

    def parts(self, name: str, size: int = 1 << 20) -> Iterator[bytes]:
        with open(self.dir / name, "rb") as f:
            yield from iter(lambda: f.read(size), b"")

    def texts(self) -> Iterator[str]:
        with open(self.dir / self.TEXTS, "rb") as f:
            for line in f:
                yield json.loads(line)

    def batches(self, size: int) -> Iterator[tuple[int, list[dict], list[str]]]:
        """(first chunk number, chunk records, indexed texts), ``size`` chunks at a time."""
        with open(self.dir / CHUNKS, "rb") as fc:
            texts, lo = self.texts(), 0
            while True:
                recs = [json.loads(line.decode("utf-8", "surrogatepass")) for line in itertools.islice(fc, size)]
                if not recs:
                    return
                yield lo, recs, list(itertools.islice(texts, len(recs)))
                lo += len(recs)

    def remove(self) -> None:
        if self._files is None:
            return
        for f in self._files.values():
            f.close()
        self._files = None
        shutil.rmtree(self.dir, ignore_errors=True)


def sentence_texts(c: dict) -> list[str]:
    return [c["text"][a - c["start"]:b - c["start"]] for a, b in c["sentences"]]
