"""The language of a document, detected with lingua (its models ship inside the wheel).

Only the languages this corpus meets are considered, which keeps detection fast and avoids
confusing close languages it never holds. lingua has no Kyrgyz, Uzbek or Tajik model: a text
in one of them is reported as the nearest of these (Kyrgyz in Cyrillic mostly as Kazakh).
"""

from __future__ import annotations

from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

LANGUAGES = (Language.ENGLISH, Language.RUSSIAN, Language.KAZAKH, Language.FRENCH)
CODES = tuple(lang.iso_code_639_1.name.lower() for lang in LANGUAGES)  # "en", "ru", "kk", "fr"
SAMPLE_CHARS = 20_000  # enough to decide; a 400-page report is not read whole
DEFAULT = "en"
MIN_LETTERS = 100  # below this a guess is noise ("pdf encryption test password" is "French")


@cache
def _detector() -> LanguageDetector:
    # low accuracy mode uses the trigram models only: loads in a fraction of the time and is
    # as good as the full models on texts of more than a few sentences
    return LanguageDetectorBuilder.from_languages(*LANGUAGES).with_low_accuracy_mode().build()


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the text's language ("en", "ru", ...); DEFAULT when undecided."""
    sample = _sample(text)
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return DEFAULT
    found = _detector().detect_language_of(sample)
    return found.iso_code_639_1.name.lower() if found is not None else DEFAULT


def _sample(text: str) -> str:
    """The start, middle and end of a long text: a Russian law may open with an English
    cover page, an English report may end with annexes in another language."""
    if len(text) <= SAMPLE_CHARS:
        return text
    third = SAMPLE_CHARS // 3
    mid = len(text) // 2
    return "\n".join((text[:third], text[mid - third // 2 : mid + third // 2], text[-third:]))


def is_cyrillic(text: str) -> bool:
    """Whether most of the letters of a text (a query) are Cyrillic."""
    letters = [ch for ch in text if ch.isalpha()]
    cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u04ff")
    return bool(letters) and cyrillic >= 0.5 * len(letters)
