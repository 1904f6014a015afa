"""FAISS index files: the kinds a store may be built with, read and made ready to serve."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from index.threads import ensure_configured

NPROBE_SHARE = 32  # an inverted-file index searches 1/32 of its lists (nprobe = nlist / 32)


def ivf_lists(kind: str) -> int | None:
    """The number of lists of an inverted-file index kind ("IVF1024,Flat" -> 1024), else None."""
    m = re.match(r"IVF(\d+),", kind)
    return int(m.group(1)) if m else None


def nprobe(lists: int) -> int:
    return max(1, lists // NPROBE_SHARE)


def load_faiss():
    """The faiss module, loaded after the engines' thread settings are chosen (index/threads.py)."""
    ensure_configured()
    import faiss

    return faiss


def read_faiss(data: bytes):
    """A FAISS index from verified bytes, ready to serve (``searchable``)."""
    faiss = load_faiss()

    return searchable(faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8)))


def read_faiss_file(path: Path):
    """A FAISS index from a verified file, memory-mapped (a rebuild reads a few rows of it)."""
    faiss = load_faiss()

    return searchable(faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY))


def searchable(index):
    """A read FAISS index made ready to serve: an inverted file searches ``nprobe`` of its lists
    and can give back its vectors by chunk number (a direct map), as every other kind can."""
    faiss = load_faiss()
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:  # not an inverted file
        return index
    ivf.nprobe = nprobe(ivf.nlist)
    ivf.make_direct_map()
    return index
