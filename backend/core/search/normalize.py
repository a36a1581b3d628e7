"""The one normalisation both engines index and query with: lower case, ё → е, words of
letters or digits, Russian and English Snowball stems (PyStemmer). The engines never parse
text themselves: they store and match these stems verbatim, so SQLite and PostgreSQL find
the same rows for the same query."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

import Stemmer

# A word: a run of Latin or Cyrillic letters and digits. Everything else separates words,
# so "GLZ-2026-000123" is three words and "кое-как" two.
# Spelled out rather than IGNORECASE, which would also take the Kelvin sign for a "k" and the
# long s for an "s": every stem is [0-9a-zа-я]+, which the engines' quoting below relies on.
WORD = re.compile(r"[0-9a-zA-Zа-яА-ЯёЁ]+")
_CYRILLIC = re.compile(r"[а-я]+")
_LATIN = re.compile(r"[a-z]+")
MAX_TERM = 60  # a stem longer than any real word is cut (PostgreSQL refuses lexemes over 2 KB)
MAX_QUERY_TERMS = 8

_russian = Stemmer.Stemmer("russian")
_english = Stemmer.Stemmer("english")


def fold(word: str) -> str:
    """Lower case and ё → е: the spelling differences nobody means."""
    return word.lower().replace("ё", "е")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem of one folded word: Russian for Cyrillic, English for Latin, digits and
    mixed words as they are."""
    if _CYRILLIC.fullmatch(word):
        word = _russian.stemWord(word)
    elif _LATIN.fullmatch(word):
        word = _english.stemWord(word)
    return word[:MAX_TERM]


def words(text: str) -> Iterator[re.Match[str]]:
    """The words of a text with their positions in it."""
    return WORD.finditer(text)


def stems(texts: Iterable[str | None]) -> list[str]:
    """Every word's stem, in order (repeats kept: they weigh in the rank)."""
    return [stem(fold(m.group())) for t in texts if t for m in words(t)]


def query_terms(query: str) -> list[str]:
    """The distinct stems of a query, in order, at most MAX_QUERY_TERMS; all must match."""
    seen: dict[str, None] = {}
    for s in stems([query]):
        seen.setdefault(s, None)
    return list(seen)[:MAX_QUERY_TERMS]


# -- what each engine stores and matches -------------------------------------------------------
# Stems are [0-9a-zа-я]+ only, so neither quoting below can be broken out of.


def fts5_document(terms: list[str]) -> str:
    """The FTS5 column: stems separated by spaces (the table's `ascii` tokenizer splits on them)."""
    return " ".join(terms)


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression: every stem as a quoted string, all required."""
    return " ".join(f'"{t}"' for t in terms)


MAX_POSITION = 16383  # PostgreSQL's last position in a tsvector
MAX_POSITIONS_PER_LEXEME = 255


def tsvector_literal(terms: list[str]) -> str:
    """A tsvector in its text form with positions (ts_rank counts them), built here so that
    PostgreSQL does not parse the words again."""
    positions: dict[str, list[int]] = {}
    for i, t in enumerate(terms[:MAX_POSITION], start=1):
        at = positions.setdefault(t, [])
        if len(at) < MAX_POSITIONS_PER_LEXEME:
            at.append(i)
    return " ".join(f"'{t}':{','.join(map(str, at))}" for t, at in positions.items())


def tsquery_literal(terms: list[str]) -> str:
    """A tsquery in its text form: every stem required."""
    return " & ".join(f"'{t}'" for t in terms)
