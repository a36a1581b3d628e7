"""The one normalisation both engines index and query with (pure functions)."""

from __future__ import annotations

from backend.core.search import normalize
from backend.core.search.service import snippet


def test_word_forms_fold_to_one_stem():
    assert normalize.query_terms("дороги") == normalize.query_terms("дорога") == normalize.query_terms("ДОРОГУ") == ["дорог"]
    assert normalize.query_terms("ёлка") == normalize.query_terms("елки") == ["елк"]
    assert normalize.query_terms("Roads") == normalize.query_terms("road") == ["road"]
    assert normalize.query_terms("running") == ["run"]


def test_words_split_on_anything_but_letters_and_digits():
    assert normalize.stems(["GLZ-2026-000123"]) == ["glz", "2026", "000123"]
    assert normalize.stems(["кое-как, «ямы»!"]) == ["ко", "как", "ям"]
    assert normalize.stems([None, "", "м5 трасса"]) == ["м5", "трасс"]
    # Repeats stay in the document (they weigh in the rank), not in the query.
    assert normalize.stems(["яма яма"]) == ["ям", "ям"] and normalize.query_terms("яма ямы") == ["ям"]


def test_a_giant_word_is_cut_and_queries_are_capped():
    assert normalize.stems(["а" * 5000]) == ["а" * normalize.MAX_TERM]
    assert len(normalize.query_terms(" ".join(f"слово{i}" for i in range(50)))) == normalize.MAX_QUERY_TERMS
    assert normalize.query_terms("!!! ???") == []
    # Look-alikes that a case-blind pattern would let in are separators, not letters.
    assert normalize.stems(["\u212aelvin \u017fun"]) == ["elvin", "un"]


def test_engine_forms_cannot_be_broken_out_of():
    terms = normalize.stems(["O'Brien \"quoted\" яма & | !"])
    assert terms == ["o", "brien", "quot", "ям"]
    assert normalize.fts5_query(terms) == '"o" "brien" "quot" "ям"'
    assert normalize.tsquery_literal(terms) == "'o' & 'brien' & 'quot' & 'ям'"
    assert normalize.tsvector_literal(["ям", "на", "ям"]) == "'ям':1,3 'на':2"


def test_snippet_marks_every_form_and_escapes_the_rest():
    text = 'Яма на <b>дороге</b> & "дороги" разбиты; ёлка упала'
    out = snippet(text, "дорога елка")
    assert out == ('Яма на &lt;b&gt;<mark>дороге</mark>&lt;/b&gt; &amp; &quot;<mark>дороги</mark>&quot; '
                   'разбиты; <mark>ёлка</mark> упала')
    assert snippet(text, "светофор") is None and snippet(text, "") is None and snippet("", "яма") is None


def test_snippet_is_a_window_around_the_first_match():
    text = "начало " + "слово " * 100 + "дорога " + "конец " * 100
    out = snippet(text, "дороги", width=80)
    assert out is not None and out.startswith("…") and out.endswith("…") and "<mark>дорога</mark>" in out
    assert len(out) < 120


def test_every_stem_of_any_text_is_plain_letters_or_digits():
    import re

    everything = "".join(chr(i) for i in range(0x20, 0x3000)) + " ДОРОГИ Ёлка İstanbul ǅemal"
    terms = normalize.stems([everything])
    assert terms and all(re.fullmatch(r"[0-9a-zа-я]+", t) for t in terms)
