"""Crashes and the store (issue #4): an indexer killed with SIGKILL at random
moments and at every file-system step of a build, damaged or swapped store
files, two indexers on one store at once.

The indexers run in real processes. Each is forked from a "zygote" process that
imported the library once, so a kill costs the build's time, not an
interpreter start; the zygote reaps a child only when asked, so a pid the test
signals is never reused by another process. Every store is opened the way the
app opens it (``qa.retriever.open_index``, its cache cleared).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import qa.retriever as retriever
from index.build import build
from index.store import IndexSettings, read_manifest, store_lock
from index.errors import IndexCorrupt, IndexLocked, IndexNotFound
from qa.retriever import Index, open_index
from tests.conftest import ROOT, SEEDS

FAST = IndexSettings(embedders=("hash:64",), sentence_embedder=None)
FAST_D = {"embedders": ["hash:64"], "sentence_embedder": None}
QUERY = "兒少性剝削"

# The zygote: imports the library, then forks one indexer per request.
# A request may ask the child to SIGKILL itself at the n-th file-system step on
# the store ("before": the step does not happen; "after": an open for writing
# happens, the child dies at its first write), to record those steps, or to
# pause while it holds the lock.
ZYGOTE = r'''
import json, os, signal, sys, time, traceback
import faiss, numpy
import index.loaders, index.store
from index.build import build
from index.store import IndexSettings
from index.errors import VerbatimError

WATCHED = ("open", "os.rename", "os.mkdir", "os.remove", "os.rmdir", "shutil.rmtree")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def describe(event, args, store):
    """[event, path relative to the store] for a step that changes the store, else None."""
    if event not in WATCHED or not args or isinstance(args[0], int):
        return None
    path = os.fsdecode(os.fspath(args[0]))
    if os.path.isabs(path):
        if path != store and not path.startswith(store + os.sep):
            return None
        rel = os.path.relpath(path, store)
    elif event in ("os.remove", "os.rmdir") and args[-1] not in (None, -1):
        rel = "<in rmtree>/" + path  # shutil.rmtree works relative to a directory fd
    else:
        return None
    if event == "open":
        mode, flags = args[1], args[2]
        if not ((isinstance(mode, str) and any(c in mode for c in "wax+"))
                or (isinstance(flags, int) and flags & WRITE_FLAGS)):
            return None
    return [event, rel]


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def child(req):
    code = 1
    try:
        store = os.path.abspath(req["store"])
        crash, record, events = req.get("crash"), req.get("record"), []
        if crash or record:
            seen = [0]

            def at_first_write(frame, event, arg):
                if event == "c_call" and getattr(arg, "__name__", "") in ("write", "writelines", "truncate"):
                    die()

            def hook(event, args):
                step = describe(event, args, store)
                if step is None:
                    return
                events.append(step)
                n = seen[0]
                seen[0] += 1
                if crash and n == crash["at"]:
                    if crash["mode"] == "before":
                        die()
                    sys.setprofile(at_first_write)
                elif crash and n > crash["at"]:
                    die()

            sys.addaudithook(hook)
        progress = None
        if req.get("hold"):
            marker, go = req["hold"]

            def progress(stage, done, total, _held=[]):
                if not _held:  # first call: the lock is held
                    _held.append(1)
                    open(marker, "w").close()
                    t = time.monotonic()
                    while not os.path.exists(go) and time.monotonic() - t < 60:
                        time.sleep(0.02)

        s = req["settings"]
        settings = IndexSettings(embedders=tuple(s["embedders"]), sentence_embedder=s["sentence_embedder"])
        build(req["paths"], store, settings, wait=req.get("wait", 0.0), progress=progress)
        if record:
            with open(record, "w") as f:
                json.dump(events, f)
        code = 0
    except VerbatimError as e:
        sys.stderr.write(f"child {os.getpid()}: {type(e).__name__}: {e}\n")
        code = 2
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


print("ready", flush=True)
for line in sys.stdin:
    req = json.loads(line)
    if req["cmd"] == "start":
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            child(req)
        print(json.dumps({"pid": pid}), flush=True)
    elif req["cmd"] == "reap":
        _, status = os.waitpid(req["pid"], 0)
        print(json.dumps({"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
                          "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None}), flush=True)
'''


def _child_env() -> dict:
    """Children import this tree's code, one thread each (the machine is shared)."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")


class Zygote:
    def __init__(self, log: Path):
        self.log = log
        self._err = open(log, "w")
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err, cwd=ROOT, env=_child_env(), text=True)
        assert self._line() == "ready", self.tail()

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote died:\n{self.tail()}")
        return line.strip()

    def _ask(self, **req) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._line())

    def tail(self, n: int = 3000) -> str:
        self._err.flush()
        return self.log.read_text("utf-8", "replace")[-n:]

    def start(self, paths, store, settings=FAST_D, **kw) -> int:
        return self._ask(cmd="start", paths=[str(p) for p in paths], store=str(store), settings=settings, **kw)["pid"]

    def kill(self, pid: int) -> None:
        # the child is not reaped before reap(): even if it has exited, its pid is not reused
        os.kill(pid, signal.SIGKILL)

    def reap(self, pid: int) -> tuple[int, int | None]:
        r = self._ask(cmd="reap", pid=pid)
        return r["signal"], r["code"]

    def run(self, paths, store, **kw) -> tuple[int, int | None]:
        return self.reap(self.start(paths, store, **kw))

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._err.close()


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("zygote") / "children.log")
    yield z
    z.close()


# -- corpora ---------------------------------------------------------------

def _sentences() -> list[str]:
    text = "".join(p.read_text("utf-8") for p in sorted(SEEDS.iterdir()))
    out = []
    for s in text.split("。"):
        s = "".join(s.split())
        if 8 <= len(s) <= 120:
            out.append(s + "。")
    return out


class Corpus:
    """A folder of documents that changes between builds: files added, changed, removed."""

    def __init__(self, folder: Path, rng: random.Random, *, seeds: bool = True, generated: int = 6,
                 sentences: int = 40):
        self.dir, self.rng, self.n, self.size = folder, rng, 0, sentences
        self.pool = _sentences()
        folder.mkdir(parents=True)
        if seeds:
            for p in SEEDS.iterdir():
                shutil.copy(p, folder / p.name)
        for _ in range(generated):
            self.add()

    def _paragraphs(self, n: int) -> str:
        paras, s = [], self.rng.sample(self.pool, n)
        for i in range(0, n, 5):
            paras.append("".join(s[i:i + 5]))
        return "\n\n".join(paras) + "\n"

    def add(self) -> None:
        self.n += 1
        name = f"gen-{self.n:03d}" + (".md" if self.n % 2 else ".txt")
        head = f"# 文件 {self.n}\n\n" if name.endswith(".md") else ""
        (self.dir / name).write_text(head + self._paragraphs(self.size), "utf-8")

    def generated(self) -> list[Path]:
        return sorted(self.dir.glob("gen-*"))

    def change(self) -> None:
        p = self.rng.choice(self.generated())
        p.write_text(p.read_text("utf-8") + "\n" + self._paragraphs(5), "utf-8")

    def remove(self) -> None:
        gen = self.generated()
        if len(gen) > 2:
            self.rng.choice(gen).unlink()

    def mutate(self) -> None:
        self.add()
        self.change()
        self.remove()

    def state(self) -> dict[str, str]:
        """What the manifest must record for this folder: source name -> sha256 of the file."""
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(self.dir.iterdir())}


# -- what a reader sees ----------------------------------------------------

@dataclass(frozen=True)
class Seen:
    version: str
    state: dict
    chunks: int
    checksums: dict

    def same_store(self, other: "Seen") -> bool:
        return (self.version, self.state, self.checksums) == (other.version, other.state, other.checksums)


def observe(store: Path) -> Seen | None:
    """Open the store as the app does; None when there is no store. Any other error propagates."""
    retriever._OPEN.clear()
    try:
        idx = open_index(store)
    except IndexNotFound:
        return None
    try:
        m = idx.manifest
        assert len(idx.chunks) == m["counts"]["chunks"] > 0
        assert set(idx.docs) == set(m["state"]) == set(m["files"])
        for c in idx.chunks:
            assert idx.docs[c.source].text[c.start:c.end] == c.text
        hits = idx.search(QUERY, 3)
        assert hits and all(p.source in m["state"] for p in hits)
        return Seen(idx.version_dir.name, m["state"], len(idx.chunks), m["checksums"])
    finally:
        retriever._OPEN.clear()


def versions(store: Path) -> list[str]:
    return sorted(p.name for p in store.iterdir() if p.name.startswith("v-")) if store.exists() else []


def leftovers_after_success(store: Path, seen: Seen, previous: Seen | None) -> None:
    """After a completed run only the current version and the one before it remain."""
    names = {p.name for p in store.iterdir()}
    allowed = {"CURRENT", ".lock", seen.version} | ({previous.version} if previous else set())
    assert names <= allowed, f"left behind: {sorted(names - allowed)}"


# -- 1. SIGKILL ------------------------------------------------------------

def test_sigkill_at_random_moments_leaves_the_old_or_the_new_store(zygote, tmp_path):
    """32 kills at seeded random moments over whole builds and updates."""
    rng = random.Random(20240604)
    corpus = Corpus(tmp_path / "docs", rng, generated=4, sentences=20)

    # how long a build and an update take here, so that kills cover them whole
    calib = tmp_path / "calib"
    shutil.copytree(corpus.dir, calib)
    t = time.monotonic()
    assert zygote.run([calib], tmp_path / "calib-store") == (0, 0), zygote.tail()
    t_initial = time.monotonic() - t
    (calib / "gen-001.md").write_text("# 改\n\n" + corpus._paragraphs(10), "utf-8")
    t = time.monotonic()
    assert zygote.run([calib], tmp_path / "calib-store") == (0, 0), zygote.tail()
    t_update = time.monotonic() - t

    took = {"initial": t_initial, "update": t_update}
    plan = ["initial", "update", "update", "initial", "update", "update", "initial", "update"]
    kills = mid_build = saw_new_before_rerun = 0
    store, previous = None, None
    for r, kind in enumerate(plan):
        if kind == "initial":
            store, previous = tmp_path / f"store-{r}", None
        corpus.mutate()
        new_state = corpus.state()
        assert previous is None or new_state != previous.state
        new_seen = None
        for k in range(4):
            delay = rng.uniform(0, 1.1 * took[kind])
            pid = zygote.start([corpus.dir], store)
            time.sleep(delay)
            zygote.kill(pid)
            sig, code = zygote.reap(pid)
            kills += 1
            where = f"round {r} ({kind}), kill {k + 1} after {delay * 1000:.0f} ms"
            if sig == signal.SIGKILL:
                mid_build += 1
            else:
                assert code == 0, f"{where}: the indexer failed\n{zygote.tail()}"
                if new_seen is None:  # it did the whole build in less time: aim earlier (the machine is shared)
                    took[kind] = min(took[kind], delay)
            try:
                seen = observe(store)
            except Exception as e:  # noqa: BLE001 - the point: name the kill that broke the store
                pytest.fail(f"{where}: store unusable: {type(e).__name__}: {e}")
            if seen is None:
                assert previous is None and new_seen is None, f"{where}: a completed store was lost"
            elif seen.state == new_state:
                assert new_seen is None or seen.same_store(new_seen), f"{where}: the new store changed"
                new_seen = seen
            else:
                assert previous is not None and seen.same_store(previous), \
                    f"{where}: neither the previous store nor the new one: {seen}"
                assert new_seen is None, f"{where}: went back to the previous store"
            # the killed indexer's lock died with it
            with store_lock(store, wait=0):
                pass
            # what killed runs leave is bounded by the number of kills
            assert len(versions(store)) <= 2 + k + 1
            assert len(list(store.glob("CURRENT.tmp-*"))) <= k + 1
        saw_new_before_rerun += new_seen is not None
        # a rerun completes (wait=0: a lock left behind would fail it) and gives the new state
        report = build([corpus.dir], store, FAST)
        seen = observe(store)
        assert seen is not None and seen.state == new_state and seen.chunks == report.chunks
        if new_seen is not None:
            assert report.unchanged and seen.same_store(new_seen)
        leftovers_after_success(store, seen, previous)
        previous = seen
    print(f"\n{kills} kills, {mid_build} during a build; t_initial {t_initial * 1000:.0f} ms, "
          f"t_update {t_update * 1000:.0f} ms; new store already in place in {saw_new_before_rerun} rounds")
    assert kills >= 30 and mid_build >= kills // 3


def _step_crash_points(steps: list) -> list[tuple[str, int]]:
    points = [("before", i) for i in range(len(steps))]
    points += [("after", i) for i, (event, rel) in enumerate(steps) if event == "open" and rel != ".lock"]
    return points


@pytest.mark.parametrize("kind", ["initial", "update"])
def test_sigkill_at_every_step_of_a_build(zygote, tmp_path, kind):
    """Kill before every file-system step on the store, and inside every file written."""
    corpus = Corpus(tmp_path / "docs", random.Random(7), seeds=False, generated=3, sentences=10)
    pristine = tmp_path / "pristine"
    previous = None
    if kind == "update":
        build([corpus.dir], pristine, FAST)
        corpus.mutate()
        build([corpus.dir], pristine, FAST)  # now with a version before the current one
        previous = observe(pristine)
        # what earlier killed runs leave: a half-written version and a pointer never swapped in
        (pristine / "v-1").mkdir()
        (pristine / "v-1" / "docs.jsonl").write_text('{"source": "half', "utf-8")
        (pristine / "CURRENT.tmp-999999").write_text("v-1 00\n", "utf-8")
        corpus.mutate()
    new_state = corpus.state()

    record = tmp_path / "steps.json"
    store = tmp_path / "recorded"
    if pristine.exists():
        shutil.copytree(pristine, store)
    assert zygote.run([corpus.dir], store, record=str(record)) == (0, 0), zygote.tail()
    steps = json.loads(record.read_text())
    # the swap: one rename of a new pointer over CURRENT (the others move the build's spooled files in)
    renames = [i for i, (e, rel) in enumerate(steps) if e == "os.rename" and rel.startswith("CURRENT.tmp-")]
    assert len(renames) == 1, steps
    points = _step_crash_points(steps)

    outcomes = {"old": 0, "new": 0, "none": 0}
    for j, (mode, at) in enumerate(points):
        store = tmp_path / f"s{j}"
        if pristine.exists():
            shutil.copytree(pristine, store)
        where = f"killed {mode} step {at} {steps[at]}"
        sig, code = zygote.run([corpus.dir], store, crash={"at": at, "mode": mode})
        assert sig == signal.SIGKILL, f"{where}: not reached ({code})\n{zygote.tail()}"
        try:
            seen = observe(store)
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"{where}: store unusable: {type(e).__name__}: {e}")
        if seen is None:
            assert previous is None, where
            outcomes["none"] += 1
        elif seen.state == new_state:
            outcomes["new"] += 1
        else:
            assert previous is not None and seen.same_store(previous), f"{where}: a third store {seen}"
            outcomes["old"] += 1
        with store_lock(store, wait=0):
            pass
        report = build([corpus.dir], store, FAST)
        after = observe(store)
        assert after is not None and after.state == new_state, where
        if seen is not None and seen.state == new_state:
            assert report.unchanged and after.same_store(seen), where
        try:
            leftovers_after_success(store, after, previous)
        except AssertionError as e:
            pytest.fail(f"{where}: the rerun did not clean up: {e}")
        shutil.rmtree(store)
    if kind == "update":  # the sweep really crosses the swap: both sides were seen
        assert outcomes["old"] > 0 and outcomes["new"] > 0, outcomes
    else:  # the swap is the initial build's last step: before it, there is no store
        assert renames[0] == len(steps) - 1 and outcomes["none"] == len(points), (steps, outcomes)
    print(f"\n{kind}: {len(points)} crash points over {len(steps)} steps: {outcomes}")


def test_a_killed_indexer_leaves_no_lock_behind(zygote, tmp_path):
    corpus = Corpus(tmp_path / "docs", random.Random(1), seeds=False, generated=2, sentences=10)
    store = tmp_path / "s"
    marker, go = tmp_path / "holding", tmp_path / "go"
    pid = zygote.start([corpus.dir], store, hold=[str(marker), str(go)])
    try:
        _wait_for(marker.exists, f"the indexer never took the lock\n{zygote.tail()}")
        with pytest.raises(IndexLocked):  # the lock is really held
            with store_lock(store, wait=0):
                pass
    finally:
        zygote.kill(pid)
        assert zygote.reap(pid)[0] == signal.SIGKILL
    t = time.monotonic()
    with store_lock(store, wait=0):
        pass
    assert time.monotonic() - t < 1
    assert build([corpus.dir], store, FAST).documents == 2
    assert observe(store).state == corpus.state()


# -- 2. damaged and swapped files ------------------------------------------

RICH = IndexSettings(embedders=("hash:64", "hash:32"), sentence_embedder="hash:16")
OTHER = IndexSettings(embedders=("hash:48", "hash:24"), sentence_embedder="hash:8")
STORE_FILES = ["docs.jsonl", "chunks.jsonl", "bm25.npz", "dense-0.faiss", "dense-1.faiss", "sentences.npy", "table-laws.jsonl", "table-citations.jsonl",
               "manifest.json"]
DAMAGES = ["truncate-half", "truncate-empty", "drop-last-byte", "flip-first", "flip-middle", "flip-last",
           "append-byte", "delete", "other-models-file"]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A store with every kind of file, and one of other models over other documents."""
    base = tmp_path_factory.mktemp("stores")
    docs = base / "docs"
    shutil.copytree(SEEDS, docs)
    build([docs], base / "rich", RICH)
    other = Corpus(base / "other-docs", random.Random(3), seeds=False, generated=3, sentences=20)
    build([other.dir], base / "other", OTHER)
    assert set(STORE_FILES) == {p.name for p in read_manifest(base / "rich")[0].iterdir()}
    return {"rich": base / "rich", "other": base / "other", "docs": docs}


@pytest.fixture
def reads(monkeypatch):
    """Every store file whose contents reach a parser, in order.

    Parsers get bytes from ``read_verified`` (recorded when it hands them
    out, i.e. after the checksum matched), and any FAISS or numpy file read
    by path is recorded too (the code should read none that way).
    """
    import faiss

    from index import store as store_mod

    seen: list[str] = []
    real_verified, real_read, real_load = store_mod.read_verified, faiss.read_index, np.load

    def read_verified(vdir, manifest, name):
        data = real_verified(vdir, manifest, name)
        seen.append(str(Path(vdir) / name))
        return data

    def read_index(path, *a):
        if isinstance(path, (str, os.PathLike)):  # deserialize_index passes a reader object
            seen.append(str(path))
        return real_read(path, *a)

    def load(file, *a, **k):
        if isinstance(file, (str, os.PathLike)):
            seen.append(str(file))
        return real_load(file, *a, **k)

    monkeypatch.setattr(store_mod, "read_verified", read_verified)
    monkeypatch.setattr(faiss, "read_index", read_index)
    monkeypatch.setattr(np, "load", load)
    return seen


def _damage(path: Path, how: str, other_store: Path) -> None:
    data = bytearray(path.read_bytes())
    if how == "delete":
        path.unlink()
        return
    if how == "other-models-file":
        shutil.copy(read_manifest(other_store)[0] / path.name, path)
        assert path.read_bytes() != bytes(data)
        return
    if how == "truncate-half":
        data = data[: len(data) // 2]
    elif how == "truncate-empty":
        data = bytearray()
    elif how == "drop-last-byte":
        data = data[:-1]
    elif how == "append-byte":
        data += b"\n"
    else:
        data[{"flip-first": 0, "flip-middle": len(data) // 2, "flip-last": len(data) - 1}[how]] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_sound_store_is_read_through_the_spy(stores, reads):
    """Control for the tests below: the spy sees every file the store is read from, once."""
    idx = Index(stores["rich"])
    vdir = idx.version_dir
    assert sorted(reads) == sorted(str(vdir / n) for n in STORE_FILES if n != "manifest.json")
    assert idx.search(QUERY, 3)


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("victim", STORE_FILES)
def test_a_damaged_or_swapped_file_is_refused_before_it_is_read(stores, tmp_path, reads, victim, damage):
    store = tmp_path / "s"
    shutil.copytree(stores["rich"], store)
    vdir, _ = read_manifest(store)
    _damage(vdir / victim, damage, stores["other"])
    with pytest.raises(IndexCorrupt, match="rebuild"):
        Index(store)
    assert str(vdir / victim) not in reads, "read before its checksum was checked"
    if victim == "manifest.json":
        assert reads == []
    # the app's entry points give the same clear error
    retriever._OPEN.clear()
    with pytest.raises(IndexCorrupt):
        retriever.retrieve(QUERY, 3, store=store)
    retriever._OPEN.clear()


def test_a_version_folder_swapped_for_another_models_is_refused(stores, tmp_path, reads):
    store = tmp_path / "s"
    shutil.copytree(stores["rich"], store)
    vdir, _ = read_manifest(store)
    shutil.rmtree(vdir)
    shutil.copytree(read_manifest(stores["other"])[0], vdir)
    with pytest.raises(IndexCorrupt, match="checksum"):
        Index(store)
    assert reads == []


def test_every_damaged_pointer_is_refused_or_harmless(stores, tmp_path):
    store = tmp_path / "s"
    shutil.copytree(stores["rich"], store)
    good = (store / "CURRENT").read_bytes()
    expected = Index(store).manifest
    variants = [good[:n] for n in range(len(good))]
    for i in range(len(good)):
        for bit in (0x01, 0x80):
            v = bytearray(good)
            v[i] ^= bit
            variants.append(bytes(v))
    harmless = []
    for v in variants:
        (store / "CURRENT").write_bytes(v)
        try:
            idx = Index(store)
        except (IndexCorrupt, IndexNotFound) as e:
            assert "verbatim index" in str(e)
            continue
        assert idx.manifest == expected, v  # only a change that means the same pointer may pass
        harmless.append(v)
    assert all(v.split() == good.split() for v in harmless), harmless


@pytest.mark.parametrize("victim", ["dense-0.faiss", "dense-1.faiss", "chunks.jsonl", "sentences.npy"])
def test_an_update_over_a_damaged_store_reads_nothing_unverified(stores, tmp_path, reads, victim):
    """The indexer reuses vectors of the current version only after their checksum matches."""
    store, docs = tmp_path / "s", tmp_path / "docs"
    shutil.copytree(stores["rich"], store)
    shutil.copytree(stores["docs"], docs)
    (docs / "new.md").write_text("# 新文件\n\n這是一份新的文件，只有一個句子。\n", "utf-8")
    vdir, _ = read_manifest(store)
    _damage(vdir / victim, "flip-middle", stores["other"])
    report = build([docs], store, RICH)
    assert str(vdir / victim) not in reads, "read before its checksum was checked"
    if victim == "chunks.jsonl":
        assert report.reused == 0 and report.embedded == report.chunks * len(RICH.embedders)
    elif victim.startswith("dense-"):  # vectors are reused per embedder: only the damaged one embeds again
        assert report.embedded == report.chunks + len(RICH.embedders) - 1
    assert report.documents == 4 and len(Index(store).docs) == 4


# -- 3. two indexers at once -----------------------------------------------

def _wait_for(cond, message: str, timeout: float = 30) -> None:
    t = time.monotonic()
    while not cond():
        if time.monotonic() - t > timeout:
            pytest.fail(message)
        time.sleep(0.02)


def _cli_index(folder: Path, store: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ui.cli", "index", str(folder), "--store", str(store),
            "--embedder", "hash:64", "--sentence-embedder", "none", *extra]


def _holds_lock(pid: int, store: Path) -> bool:
    """The process has the store's lock file open (it is in store_lock)."""
    lock = str(store / ".lock")
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == lock for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def test_a_second_indexer_process_fails_clearly_or_waits(zygote, tmp_path):
    rng = random.Random(5)
    a_docs = Corpus(tmp_path / "a", rng, seeds=True, generated=1, sentences=10)
    b_docs = Corpus(tmp_path / "b", rng, seeds=True, generated=2, sentences=10)
    store = tmp_path / "s"
    marker, go = tmp_path / "holding", tmp_path / "go"
    a = zygote.start([a_docs.dir], store, hold=[str(marker), str(go)])
    waiter = None
    try:
        _wait_for(marker.exists, f"the first indexer never took the lock\n{zygote.tail()}")
        # without --wait: a clear message, nonzero exit, nothing written
        r = subprocess.run(_cli_index(b_docs.dir, store), capture_output=True, text=True, cwd=ROOT,
                           env=_child_env(), timeout=60)
        assert r.returncode == 2 and "another indexer" in r.stderr and "Traceback" not in r.stderr, r
        assert versions(store) == [] and observe(store) is None
        # with --wait: it blocks on the lock until the first one is done
        waiter = subprocess.Popen(_cli_index(b_docs.dir, store, "--wait", "60"), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_child_env())
        _wait_for(lambda: _holds_lock(waiter.pid, store) or waiter.poll() is not None,
                  "the waiting indexer never reached the lock")
        time.sleep(0.3)
        assert waiter.poll() is None, waiter.communicate()
        assert versions(store) == []
    finally:
        go.touch()
        assert zygote.reap(a) == (0, 0), zygote.tail()
    first = observe(store)
    assert first.state == a_docs.state()
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0 and out.startswith("built"), (out, err)
    second = observe(store)
    assert second.state == b_docs.state()
    leftovers_after_success(store, second, first)


def test_indexers_started_together_run_one_after_another(zygote, tmp_path):
    rng = random.Random(6)
    corpora = [Corpus(tmp_path / f"d{i}", rng, seeds=i == 0, generated=2 + i, sentences=15) for i in range(3)]
    store = tmp_path / "s"
    pids = [zygote.start([c.dir], store, wait=60.0) for c in corpora]
    results = [zygote.reap(p) for p in pids]
    assert results == [(0, 0)] * 3, zygote.tail()
    seen = observe(store)
    assert seen.state in [c.state() for c in corpora]
    assert len(versions(store)) <= 2 and not list(store.glob("CURRENT.tmp-*"))
