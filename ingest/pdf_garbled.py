"""Whether a PDF's text layer can be used: mojibake from a broken font encoding
(`_garbled_reason`, on the character statistics of `_text_stats`), and a warning when the text
comes from an OCR layer drawn over scanned pages (`_ocr_warnings`).

Part of ingest/pdf.py's `read_pdf`, kept apart because these heuristics stand on their own
(and are tested on their own); `read_pdf` refuses a garbled file or skips a garbled page, and
tells ingest/ocr.py which pages to read by OCR instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from ingest.pdf_extract import _RawPage

# --------------------------------------------------------------------------------------------
# Garbled text layers


@dataclass
class _Stats:
    nonspace: int = 0
    bad: int = 0  # control, private-use, unassigned characters, U+FFFD
    letters: int = 0
    scripts: Counter[str] = field(default_factory=Counter)
    cased_tokens: int = 0  # tokens of >= 3 letters in a script with upper/lower case
    chaotic_tokens: int = 0  # ... with two or more lower->upper switches ("AmNesTy", "HQČåQt")


_CJK_WORDS = {"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC", "HALFWIDTH"}
_NEUTRAL_WORDS = {"MODIFIER", "MASCULINE", "FEMININE", "SUPERSCRIPT", "SUBSCRIPT"}


@lru_cache(maxsize=8192)
def _script(ch: str) -> str:
    word = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
    if word in _CJK_WORDS or word == "FULLWIDTH":
        return "CJK"
    if word in _NEUTRAL_WORDS:
        return ""
    return word


def _text_stats(text: str) -> _Stats:
    st = _Stats()
    for ch, n in Counter(text).items():
        if ch.isspace():
            continue
        st.nonspace += n
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Cn", "Cs") or ch == "\ufffd":
            st.bad += n
        elif cat.startswith("L"):
            script = _script(ch)
            if script:
                st.letters += n
                st.scripts[script] += n
    for tok in text.split():
        if tok.islower() or tok.istitle() or tok.isupper() or tok.upper() == tok.lower():
            if tok.upper() != tok.lower() and sum(c.isalpha() for c in tok) >= 3:
                st.cased_tokens += 1
            continue
        letters = [c for c in tok if c.isalpha()]
        if len(letters) < 3:
            continue
        st.cased_tokens += 1
        switches = sum(1 for a, b in zip(letters, letters[1:], strict=False)
                       if a.islower() and b.isupper())
        if switches >= 2:
            st.chaotic_tokens += 1
    return st


def _garbled_reason(st: _Stats) -> str | None:
    """Why a text layer looks like mojibake from a broken character map, or None.

    Three measures, each explainable on its own:
    * junk characters: >= 5% of the non-space characters are control, private-use or
      unassigned code points (e.g. '\\x03' separators from a non-Unicode CMap);
    * script mixture: with >= 50 letters, the two most common scripts (Latin, Cyrillic, CJK
      with kana and hangul counted as one, Arabic...) cover < 80% of the letters AND at least
      5 scripts have >= 1% each (mojibake scatters glyph ids over Greek, Tamil, Kannada,
      NKo...); bilingual text (Arabic + Latin, Russian + English) and a UN masthead in its
      six languages (4 scripts) pass;
    * case chaos: >= 30% of the words written in a cased script switch from lower to upper
      case twice or more inside the word ('3HQČåQtSURVWĜHGN').
    """
    if st.nonspace < 10:
        return None
    if st.bad >= 0.05 * st.nonspace:
        return f"{st.bad} of {st.nonspace} characters are control/unassigned/private-use"
    if st.letters >= 50:
        top2 = sum(n for _, n in st.scripts.most_common(2))
        many = sum(1 for n in st.scripts.values() if n >= 0.01 * st.letters)
        if top2 < 0.8 * st.letters and many >= 5:
            return f"letters scattered over scripts {dict(st.scripts.most_common(4))}"
    if st.cased_tokens and st.chaotic_tokens >= max(1, 0.3 * st.cased_tokens):
        return f"{st.chaotic_tokens} of {st.cased_tokens} words switch case inside the word"
    return None


_OCR_SUSPECT = re.compile(
    r"""[^\W\d_][{}|\\^~<>"]|[{}|\\^~<>][^\W\d_]   # odd symbol glued to a letter
      | [a-z]\d+[a-z]                               # digit inside a lowercase word
      | ^\d[a-z]{3,}$                               # '0ctober'
      | [A-Z]{2,}[a-z]+[A-Z]                        # 'SWlTZERLAND'
      | ^\d+[A-Z]{2,}$                              # '510NE'
    """,
    re.X,
)


def _ocr_warnings(pages: list[_RawPage], text: str) -> list[str]:
    """A warning when the text comes from an (invisible) OCR layer drawn over scanned pages."""
    with_text = [p for p in pages if p.raw.strip()]
    ocr = [p for p in with_text if p.invisible]
    if not ocr or len(ocr) < 0.5 * len(with_text):
        return []
    words = [w.strip(".,;:()[]\"'“”‘’") for w in text.split()]
    words = [w for w in words if any(c.isalpha() for c in w)]
    suspect = sum(1 for w in words if _OCR_SUSPECT.search(w))
    return [
        f"text comes from an OCR layer over scanned pages ({len(ocr)} of {len(with_text)} "
        f"pages); expect recognition errors ({suspect} of {len(words)} words look misread)"
    ]
