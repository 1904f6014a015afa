"""The engines' thread settings (index/threads.py): chosen once, before an engine loads, a deployment's own kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_VARS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def _run(code: str, **env) -> str:
    base = {k: v for k, v in os.environ.items() if k not in _VARS}
    r = subprocess.run([sys.executable, "-c", code], env={**base, **env}, cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip()


def test_the_default_is_one_sleeping_thread_set_before_the_first_engine():
    out = _run("import os, index.threads as t; assert 'OMP_NUM_THREADS' not in os.environ; "
               "from index.embed import get_embedder; get_embedder('hash:8'); "
               "print(os.environ['OMP_NUM_THREADS'], os.environ['OMP_WAIT_POLICY'], t.configure().source)")
    assert out == "1 PASSIVE verbatim"


def test_the_server_share_of_cores_applies_only_to_the_default():
    assert _run("import index.threads as t; print(t.configure(omp_threads=2).omp_threads)") == "2"
    out = _run("import index.threads as t; c = t.configure(omp_threads=2); print(c.omp_threads, c.source)",
               OMP_NUM_THREADS="3")
    assert out == "3 environment"


def test_the_version_report_names_the_setting():
    out = subprocess.run([sys.executable, "-m", "ui.cli", "--version"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={k: v for k, v in os.environ.items() if k not in _VARS}).stdout
    assert "verbatim" in out and "OpenMP threads=1" in out and "numpy BLAS threads=1" in out
