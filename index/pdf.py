"""PDFs, parsed with pypdf in a child process (``python -m index.pdf``).

pypdf has a history of inputs that make it loop forever or eat all memory:
the child gets an address-space limit, the parent a wall-clock timeout after
which the child is killed. The child receives the file's bytes on stdin and
answers with one JSON object on stdout; nothing from the child is ever
unpickled.
"""

from __future__ import annotations

import argparse
import io
import errno
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from index.errors import UnreadableFile

log = logging.getLogger(__name__)

_NO_TEXT_LAYER = "PDF has no text layer (scanned?); OCR is not supported"
_PDF_META_FIELDS = ("title", "author", "subject", "keywords", "creator", "producer")
_PDF_META_DATES = ("creation_date", "modification_date")
_MAX_WORKER_WARNINGS = 50
_PKG_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds the ``index`` package



# ---- PDF ------------------------------------------------------------------


def _worker_command(memory_mb: int) -> list[str]:
    """The command line of the PDF parser process (tests replace it)."""
    return [sys.executable, "-m", "index.pdf", "--pdf-worker", "--memory-mb", str(memory_mb)]


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PKG_ROOT), env.get("PYTHONPATH")]))
    return env


def _load_pdf(data: bytes, source: str, *, timeout: float, memory_mb: int) -> tuple[list[str], dict]:
    """Parse a PDF in a child process; returns ``(pages, meta)``."""
    try:
        proc = subprocess.run(
            _worker_command(memory_mb),
            input=data,
            capture_output=True,
            timeout=timeout,
            cwd=_PKG_ROOT,  # the current folder comes first on sys.path: make it ours
            env=_worker_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:  # run() has killed the child
        raise UnreadableFile(f"PDF parsing exceeded {timeout:g} s") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot start the PDF parser: {exc}") from exc

    stderr = proc.stderr.decode("utf-8", "replace").strip()
    try:
        result = json.loads(proc.stdout)
        if not isinstance(result, dict):
            raise ValueError("not an object")
    except ValueError:
        if stderr:
            log.debug("%s: PDF parser stderr:\n%s", source, stderr[-4000:])
        if proc.returncode < 0:
            try:
                name = signal.Signals(-proc.returncode).name
            except ValueError:
                name = str(-proc.returncode)
            raise UnreadableFile(f"PDF parser was killed by {name}") from None
        if "MemoryError" in stderr:
            raise UnreadableFile(f"PDF parsing exceeded {memory_mb} MB of memory") from None
        last = stderr.splitlines()[-1] if stderr else "no output"
        raise UnreadableFile(f"PDF parser failed (exit code {proc.returncode}): {last}") from None

    warnings = result.get("warnings")
    for w in warnings if isinstance(warnings, list) else ():
        log.debug("%s: pypdf: %s", source, w)
    if not result.get("ok"):
        raise UnreadableFile(str(result.get("error") or "broken PDF"))

    pages = result.get("pages")
    meta = result.get("meta")
    if not isinstance(pages, list) or not all(isinstance(p, str) for p in pages) or not isinstance(meta, dict):
        raise UnreadableFile("PDF parser returned malformed output")
    pages = [p.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "") for p in pages]
    meta = {str(k): v for k, v in meta.items() if isinstance(v, str)}
    if not pages:
        raise UnreadableFile("PDF has no pages")
    if not any(p.strip() for p in pages):
        failed = result.get("failed_pages")
        if isinstance(failed, int) and failed == len(pages):
            raise UnreadableFile(f"broken PDF: text extraction failed on every page ({result.get('first_error', '')})")
        raise UnreadableFile(_NO_TEXT_LAYER)
    return pages, meta


# ---- the PDF parser process ----------------------------------------------
# Runs as ``python -m index.pdf --pdf-worker``: reads the PDF's bytes on
# stdin, writes one JSON object on stdout:
#   {"ok": true, "pages": [...], "meta": {...}, "failed_pages": n, "first_error": "...", "warnings": [...]}
#   {"ok": false, "error": "...", "warnings": [...]}


def _scrub(text: str) -> str:
    """Drop lone surrogates (from broken font maps), which JSON and UTF-8 cannot carry."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _limit_resources(memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: no limit
        return
    limit = memory_mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < _MAX_WORKER_WARNINGS:
            self.messages.append(_scrub(record.getMessage()))


def _pdf_error(exc: BaseException) -> str:
    message = str(exc).strip() or type(exc).__name__
    return f"broken PDF: {_scrub(message)}"


def _parse_pdf(data: bytes, warnings: list[str], memory_mb: int) -> dict[str, Any]:
    try:
        import pypdf
        from pypdf.errors import DependencyError, FileNotDecryptedError
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name == "pypdf":
            return {"ok": False, "error": "pypdf is not installed: pip install pypdf"}
        # A shared library that cannot be mapped: the memory limit is too low.
        return {"ok": False, "error": f"cannot load pypdf within {memory_mb} MB of memory: {_scrub(str(exc))}"}
    encrypted_aes = "encrypted PDF that needs the 'cryptography' package: pip install cryptography"
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
            return {"ok": False, "error": "encrypted PDF"}
        n = len(reader.pages)
    except DependencyError:
        return {"ok": False, "error": encrypted_aes}
    except FileNotDecryptedError:
        return {"ok": False, "error": "encrypted PDF"}
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # pypdf raises all sorts on broken files, even RecursionError
        return {"ok": False, "error": _pdf_error(exc)}

    pages: list[str] = []
    failed = 0
    first_error = ""
    for i in range(n):
        try:
            text = reader.pages[i].extract_text() or ""
        except DependencyError:
            return {"ok": False, "error": encrypted_aes}
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:
            failed += 1
            message = _scrub(str(exc).strip() or type(exc).__name__)
            first_error = first_error or f"page {i + 1}: {message}"
            warnings.append(f"page {i + 1}: text extraction failed: {message}")
            text = ""
        pages.append(_scrub(text))

    meta: dict[str, str] = {}
    try:
        info = reader.metadata
    except Exception as exc:
        warnings.append(f"unreadable document information: {exc}")
        info = None
    if info is not None:
        for name in _PDF_META_FIELDS:
            try:
                value = info.get(f"/{name.capitalize()}")
                value = value.get_object() if value is not None else None
                if value is not None and not isinstance(value, (str, bytes)):
                    continue
                if isinstance(value, bytes):
                    value = value.decode("latin-1")
            except Exception:
                continue
            if value:
                value = _scrub(value).replace("\x00", "").strip()
                if value:
                    meta[name] = value
        for name in _PDF_META_DATES:
            try:
                date = getattr(info, name)
            except Exception:
                continue
            if date is not None:
                meta[name] = date.isoformat()
    return {"ok": True, "pages": pages, "meta": meta, "failed_pages": failed, "first_error": first_error}


def _pdf_worker_main(memory_mb: int) -> int:
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but the JSON answer may reach stdout
    handler = _ListHandler()
    pypdf_log = logging.getLogger("pypdf")
    pypdf_log.addHandler(handler)
    pypdf_log.propagate = False
    try:
        _limit_resources(memory_mb)
        data = sys.stdin.buffer.read()
        result = _parse_pdf(data, handler.messages, memory_mb)
    except (MemoryError, OSError) as e:
        # under the address-space limit, running out shows as MemoryError or, while importing or
        # opening files, as an OSError with ENOMEM
        if isinstance(e, OSError) and e.errno != errno.ENOMEM:
            raise
        result = {"ok": False, "error": f"PDF parsing exceeded {memory_mb} MB of memory"}
    result["warnings"] = handler.messages[:_MAX_WORKER_WARNINGS]
    out.write(json.dumps(result, ensure_ascii=False).encode("utf-8"))
    out.flush()
    return 0


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m index.pdf", description="Internal: the PDF parser process.")
    parser.add_argument("--pdf-worker", action="store_true", required=True,
                        help="parse the PDF on stdin, answer with JSON on stdout")
    parser.add_argument("--memory-mb", type=int, default=1024, help="address-space limit in MB")
    args = parser.parse_args(argv)
    return _pdf_worker_main(args.memory_mb)


if __name__ == "__main__":
    sys.exit(_main())
