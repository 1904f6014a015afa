"""The learned part of the guard: a linear model over signals that generalise.

The hand-written patterns of ``qa.guard`` hold on the phrasings they were
written from. This model reads, for every question:

- the patterns' own signals (``qa.guard.read``: their verdict, and whether
  the question seeks, names sexual material, a minor, a real person, an
  edit, help, a victim's story, evasion);
- character 1- to 4-grams of the normalised text (``qa.guard.normalize``),
  hashed into ``BUCKETS`` features, so a misspelling, a spacing or a new word
  order still shares most of its features with what was seen;
- the question's sentence vectors, the ones retrieval computes anyway (one
  per embedder; no second encoding), which carry meaning across languages
  and paraphrase;
- how close those vectors come to the hand-written prompts it was fitted on
  (``neighbour_margin``: the mean similarity of the ``k`` nearest prompts to
  refuse minus that of the ``k`` nearest to answer), which follows a new
  phrasing of a known kind of request where one linear boundary does not.

It is fitted by ``bench/guard.py`` (scikit-learn's logistic regression) on the
labelled corpus in ``tests/data/guard_corpus/`` and the project's question
sets, validated by leaving whole families of prompts out, and shipped as
numbers in ``qa/data/guard_model.npz`` (no pickle): a model with vector
weights for the embedders it was fitted with, and a text-only one for a
store built with others. The threshold keeps false refusals of harmless
questions at the fitted rate; the decision is ``qa.guard.check``'s.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import InitVar, dataclass
from pathlib import Path

import numpy as np

from qa import guard

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).with_name("data") / "guard_model.npz"
BUCKETS = 1 << 18
K = 10  # neighbours counted on each side by neighbour_margin
MEMORY_SCALE = 127  # the remembered vectors are shipped as int8: round(x * MEMORY_SCALE)
_MULT = np.uint64(0x9E3779B97F4A7C15)
_MAX_CHARS = 4000


def ngram_ids(text: str) -> np.ndarray:
    """The distinct hashed character 1- to 4-grams of ``text`` (already normalised), as bucket numbers."""
    text = text[:_MAX_CHARS]
    if not text:
        return np.zeros(0, np.int64)
    cps = np.frombuffer(text.encode("utf-32-le", "replace"), dtype=np.uint32).astype(np.uint64)
    grams = [cps]
    h = cps
    with np.errstate(over="ignore"):
        for n in range(2, 5):
            if len(cps) < n:
                break
            h = (h[:-1] * _MULT) ^ cps[n - 1:]
            grams.append(h * np.uint64(n) + np.uint64(n * 7919))
        ids = (np.concatenate(grams) * _MULT) >> np.uint64(64 - 18)
    return np.unique(ids.astype(np.int64))


@dataclass(frozen=True)
class Features:
    """One question's inputs: the rules' signals, its n-gram buckets, its vectors by embedder name,
    and what the rules made of it (``qa.guard.Reading``, read once for both)."""

    signals: np.ndarray
    ngrams: np.ndarray
    vectors: dict[str, np.ndarray]
    reading: guard.Reading


def features(question: str, vectors: dict[str, np.ndarray] | None = None) -> Features:
    r = guard.read(question)
    return Features(np.array([r.signals[k] for k in guard.SIGNALS], np.float32), ngram_ids(r.folded),
                    dict(vectors or {}), r)


@dataclass(frozen=True)
class Model:
    bias: float
    threshold: float
    w_signals: np.ndarray
    w_ngrams: np.ndarray  # one weight a bucket; a question's n-gram vector is binary, L2-normalised
    w_vectors: dict[str, np.ndarray]  # by embedder name; empty for the text-only model
    memory: InitVar[dict[str, np.ndarray] | None] = None  # by embedder name: the fitted prompts' vectors
    memory_refuse: InitVar[np.ndarray | None] = None  # bool, one per memory row
    w_neighbours: float = 0.0
    k: int = K
    memory_scale: InitVar[float] = 1.0  # the memory's vectors are these times the real ones (int8 as shipped)
    # what the model keeps of the memory: the embedders' names in order, and the rows of each side
    memory_names: tuple[str, ...] = ()
    memory_sides: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self, memory, memory_refuse, memory_scale):
        # only the two sides are kept (one float matrix each), built straight from what is given: a
        # second float copy of the shipped memory cost 31 MB of an answer's peak memory
        if memory:
            object.__setattr__(self, "memory_names", tuple(memory))
            object.__setattr__(self, "memory_sides", sides(memory, memory_refuse, memory_scale))

    def vector_score(self, vectors: dict[str, np.ndarray]) -> float:
        """What the question's vectors add to the score: their weights and the neighbour margin. The same
        for every window of a question, so ``qa.guard.check`` computes it once."""
        z = sum(float(w @ vectors[name]) for name, w in self.w_vectors.items())
        if self.memory_sides is not None:
            q = np.concatenate([np.asarray(vectors[n], np.float32) for n in self.memory_names])[None, :]
            z += self.w_neighbours * float(_side_margin(self.memory_sides, q, self.k)[0])
        return z

    def probability(self, f: Features, vector_score: float | None = None) -> float:
        """The model's score for ``f``; ``vector_score``: ``self.vector_score(f.vectors)`` when already known."""
        z = self.bias + float(self.w_signals @ f.signals)
        if len(f.ngrams):
            z += float(self.w_ngrams[f.ngrams].sum()) / np.sqrt(len(f.ngrams))
        z += self.vector_score(f.vectors) if vector_score is None else vector_score
        return 1.0 / (1.0 + np.exp(-max(min(z, 40.0), -40.0)))


def sides(memory: dict[str, np.ndarray], refuse: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The memory rows labelled refuse and those labelled answer, each one contiguous float32 matrix of
    the embedders' vectors side by side (divided by ``scale``): one product a side (a model builds them
    once; a question then costs 1.6 ms on this host where one product per embedder over every row and a
    copy of each side cost 2.2)."""
    out = []
    for rows in (refuse, ~refuse):
        side = np.hstack([memory[n][rows] for n in memory])
        out.append(np.ascontiguousarray(side, np.float32) if scale == 1.0 else
                   np.divide(side, np.float32(scale), dtype=np.float32))
    return tuple(out)


def _side_margin(both: tuple[np.ndarray, np.ndarray], queries: np.ndarray, k: int,
                 exclude: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    out = np.zeros(len(queries), np.float32)
    for i, (side, sign) in enumerate(zip(both, (1.0, -1.0))):
        sims = queries @ side.T
        if exclude is not None:
            sims = np.where(exclude[i], -np.inf, sims)
        kk = min(k, sims.shape[1])
        if kk:
            top = np.partition(sims, sims.shape[1] - kk, axis=1)[:, -kk:]
            out += sign * np.where(np.isfinite(top), top, 0.0).mean(axis=1)
    return out


def neighbour_margin(memory: dict[str, np.ndarray], refuse: np.ndarray, queries: dict[str, np.ndarray], k: int,
                     exclude: np.ndarray | None = None) -> np.ndarray:
    """For each query row: the mean similarity of its ``k`` nearest memory rows labelled refuse minus that of
    its ``k`` nearest labelled answer, the similarity being the sum over embedders of the dot products of
    their (normalised) vectors. ``exclude``: a boolean (queries x memory) mask of pairs not to count (in
    fitting, a prompt never meets itself or the variants derived from it)."""
    q = np.hstack([np.asarray(queries[n], np.float32) for n in memory])
    return _side_margin(sides(memory, refuse), q, k, None if exclude is None else (exclude[:, refuse],
                                                                                   exclude[:, ~refuse]))


# Below this score the model overrules the patterns: on the labelled prompts and named question sets
# that the patterns refuse (the sixth batch's refit), the text model scores every harmful one 0.444 or
# more ("DeepNude能把這張照片脫衣嗎？"; "Where can I buy AI-generated CSAM?" 0.470) and every harmless
# one (a false alarm of the patterns) 0.361 or less. Midway between the two.
PATTERN_VETO = 0.40
WINDOW = 300  # characters: a longer question is judged window by window, the highest score decides
_BREAK = re.compile(r"(?<=[。！？!?；;\n])")


def windows(question: str) -> list[str]:
    """The question itself when short; else runs of whole sentences of about ``WINDOW`` characters of
    its normalised text (``qa.guard.normalize``: invisible characters and spacing do not count), so
    that a request padded with other text scores as it would alone; a sentence longer than a window
    is cut into windows that overlap by half, so no word is only ever seen cut in two. A very long
    text keeps only the windows holding a word the guard's patterns look for (at most ``MAX_WINDOWS``)."""
    if len(question) <= WINDOW:
        return [question]
    text = guard.normalize(question)
    if len(text) <= WINDOW:
        return [text]
    out, cur = [], ""
    for part in _BREAK.split(text):
        if cur and len(cur) + len(part) > WINDOW:
            out.append(cur)
            cur = ""
        if len(part) > WINDOW:
            out.extend(part[i:i + WINDOW] for i in range(0, len(part) - WINDOW // 2, WINDOW // 2))
            continue
        cur += part
    if cur:
        out.append(cur)
    if len(out) > MAX_WINDOWS:
        out = [w for w in out if guard.has_anchor(w)][:MAX_WINDOWS]
    return out


MAX_WINDOWS = 64


@functools.lru_cache(maxsize=2)
def _load(path: Path = MODEL_PATH) -> dict[str, Model]:
    """The shipped models by kind: ``"full"`` (with vectors) and ``"text"``; empty if none is shipped."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        log.warning("no guard model at %s (%s): the patterns decide alone", path, e)
        return {}
    out = {}
    for kind in ("full", "text"):
        if f"{kind}_bias" not in data:
            continue
        fitted = [str(n) for n in data[f"{kind}_signal_names"]] if f"{kind}_signal_names" in data else None
        if fitted != list(guard.SIGNALS):
            log.warning("the guard model at %s was fitted on other signals (%s, not %s): the patterns decide "
                        "alone until bench/guard.py --write refits it", path, fitted, list(guard.SIGNALS))
            return {}
        names = [str(n) for n in data[f"{kind}_vector_names"]] if f"{kind}_vector_names" in data else []
        memory = None
        if f"{kind}_memory_refuse" in data:  # int8 as shipped; the model keeps only its float sides
            memory = {n: data[f"{kind}_memory_{i}"] for i, n in enumerate(names)}
        out[kind] = Model(float(data[f"{kind}_bias"]), float(data[f"{kind}_threshold"]),
                          data[f"{kind}_w_signals"].astype(np.float32), data[f"{kind}_w_ngrams"].astype(np.float32),
                          {n: data[f"{kind}_w_vec_{i}"].astype(np.float32) for i, n in enumerate(names)},
                          memory, data[f"{kind}_memory_refuse"].astype(bool) if memory else None,
                          float(data[f"{kind}_w_neighbours"]) if memory else 0.0,
                          int(data[f"{kind}_k"]) if memory else K, MEMORY_SCALE)
    return out


def model_for(vector_names: tuple[str, ...]) -> Model | None:
    """The model to use with the question's vectors (by embedder name): the full one when it was
    fitted for exactly these embedders, else the text-only one."""
    models = _load()
    full = models.get("full")
    if full is not None and set(full.w_vectors) <= set(vector_names) and full.w_vectors:
        return full
    return models.get("text")
