"""The Russian grammar that official letters need, as pure functions: a department's name in
the genitive and instrumental cases, and a person's name as letters address them.

No morphology dictionary and no external service (152-FZ: nothing leaves the installation):
the rules cover the shapes these names take in municipal practice, and every function says
when it cannot tell (None), so the caller falls back to a form that is right anyway (a
department's forms stored by the town, the administration instead of the department, the
neutral «Здравствуйте!»).

- Departments: "Отдел ЖКХ", "Управление образования", "Финансовое управление", "Комитет по
  управлению имуществом", "Контрольно-счётная палата": the head noun (from a known list) and
  the adjectives before it change, the words after it (a genitive, a prepositional phrase,
  an abbreviation, a name in quotes) stay.
- People: the full name as official letters write it, surname first ("Жителева Анна
  Петровна"); "Анна Петровна Жителева" is recognised by the patronymic in second place.
  Gender is read from the patronymic only (-вич/-ич, -вна/-чна, оглы/кызы): a first name or
  a surname alone does not say it reliably.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Case = Literal["genitive", "instrumental"]
Gender = Literal["m", "f"]

# Head nouns of the names of bodies and their parts: (genitive, instrumental, gender of the
# adjectives that agree with it; "n" for neuter).
_HEADS: dict[str, tuple[str, str, str]] = {
    "отдел": ("отдела", "отделом", "m"),
    "управление": ("управления", "управлением", "n"),
    "комитет": ("комитета", "комитетом", "m"),
    "департамент": ("департамента", "департаментом", "m"),
    "сектор": ("сектора", "сектором", "m"),
    "центр": ("центра", "центром", "m"),
    "аппарат": ("аппарата", "аппаратом", "m"),
    "совет": ("совета", "советом", "m"),
    "фонд": ("фонда", "фондом", "m"),
    "служба": ("службы", "службой", "f"),
    "администрация": ("администрации", "администрацией", "f"),
    "инспекция": ("инспекции", "инспекцией", "f"),
    "комиссия": ("комиссии", "комиссией", "f"),
    "дирекция": ("дирекции", "дирекцией", "f"),
    "канцелярия": ("канцелярии", "канцелярией", "f"),
    "палата": ("палаты", "палатой", "f"),
    "группа": ("группы", "группой", "f"),
    "дума": ("думы", "думой", "f"),
    "приёмная": ("приёмной", "приёмной", "f"),
    "приемная": ("приемной", "приемной", "f"),
    "учреждение": ("учреждения", "учреждением", "n"),
    "агентство": ("агентства", "агентством", "n"),
    "министерство": ("министерства", "министерством", "n"),
    "бюро": ("бюро", "бюро", "n"),
}
_MAX_ADJECTIVES = 3  # "Главное финансовое управление": adjectives before the head, at most
_SIBILANT = set("жшчщ")


def _keep_case(source: str, lower: str) -> str:
    """`lower` (a form of `source`) written as `source` is: ЖКХ-style caps, Capitalised, lower."""
    if source.isupper() and len(source) > 1:
        return lower.upper()
    if source[:1].isupper():
        return lower[:1].upper() + lower[1:]
    return lower


def _adjective(word: str, gender: str, case: Case) -> str | None:
    """An adjective agreeing with a head of `gender`, in `case`; None if it is not one."""
    w = word.lower()
    # A hyphenated adjective changes its last part only ("контрольно-счётная").
    head, dash, last = w.rpartition("-")
    if len(last) < 4:
        return None
    stem, ending = last[:-2], last[-2:]
    before = stem[-1:]  # the consonant before the ending decides between ы and и, о and е
    if gender == "m" and ending in ("ый", "ой", "ий"):
        soft = ending == "ий" and before not in "гкх"  # общий, синий: -его
        gen = "его" if soft else "ого"
        ins = "ым" if ending == "ый" or (ending == "ой" and before not in "гкхжш") else "им"
    elif gender == "n" and ending in ("ое", "ее"):
        gen = "его" if ending == "ее" else "ого"
        ins = "ым" if ending == "ое" and before not in "гкхжш" else "им"
    elif gender == "f" and ending in ("ая", "яя"):
        gen = ins = "ей" if ending == "яя" or before in _SIBILANT else "ой"
    else:
        return None
    form = head + dash + stem + (gen if case == "genitive" else ins)
    return _keep_case(word, form)


def inflect_department(name: str, case: Case) -> str | None:
    """A department's (or body's) name in the genitive or instrumental case, or None when the
    name does not have a shape these rules know (the caller then needs the stored form)."""
    words = name.split()
    for i, word in enumerate(words[: _MAX_ADJECTIVES + 1]):
        head = _HEADS.get(word.lower())
        if head is None:
            continue
        gen, ins, gender = head
        before = [_adjective(w, gender, case) for w in words[:i]]
        if any(b is None for b in before):
            return None
        form = _keep_case(word, gen if case == "genitive" else ins)
        return " ".join([*before, form, *words[i + 1 :]])  # type: ignore[list-item]
    return None


# --- people ---------------------------------------------------------------------------------

_TURKIC_MALE = {"оглы", "оглу", "улы", "уулу"}
_TURKIC_FEMALE = {"кызы", "гызы", "кизи", "қызы"}
_PARTICLES = _TURKIC_MALE | _TURKIC_FEMALE
# Surname endings that first names practically never have (a first name ending in -ина, such
# as Ирина or Марина, is why -ина is not here).
_SURNAME_ENDINGS = ("ов", "ев", "ёв", "ова", "ева", "ёва", "ин", "ын", "ына", "ский", "цкий", "ская", "цкая", "енко", "ых", "их")
_CYRILLIC = re.compile(r"^[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)*$")


@dataclass(frozen=True, slots=True)
class PersonName:
    """A person's name in its parts; `gender` only when the patronymic tells it."""

    surname: str | None
    first: str | None
    patronymic: str | None
    gender: Gender | None


def _title(word: str) -> str:
    if word.lower() in _PARTICLES:
        return word.lower()
    return "-".join(p[:1].upper() + p[1:].lower() for p in word.split("-"))


def patronymic_gender(word: str) -> Gender | None:
    """The gender a patronymic shows (Петрович, Ильич; Петровна, Ильинична), else None."""
    w = word.lower()
    if len(w) >= 5 and w.endswith("ич"):
        return "m"
    if len(w) >= 6 and (w.endswith("вна") or w.endswith("чна")):
        return "f"
    return None


def _looks_like_surname(word: str) -> bool:
    w = word.lower()
    return any(w.endswith(e) and len(w) > len(e) + 2 for e in _SURNAME_ENDINGS)


def parse_name(full_name: str) -> PersonName | None:
    """The parts of a Russian full name, or None when it is not written in Cyrillic words."""
    words = [w.strip(".,;") for w in full_name.split()]
    words = [w for w in words if w]
    if not words or not all(_CYRILLIC.match(w) for w in words):
        return None
    words = [_title(w) for w in words]
    if len(words) >= 3 and words[-1].lower() in _PARTICLES:
        # Мамедов Рашид Гейдар оглы: the patronymic is the father's name and the particle.
        gender: Gender = "m" if words[-1].lower() in _TURKIC_MALE else "f"
        return PersonName(words[0], words[1], " ".join(words[2:]), gender)
    if len(words) == 3:
        if gender_ := patronymic_gender(words[1]):  # Анна Петровна Жителева
            return PersonName(words[2], words[0], words[1], gender_)
        if gender_ := patronymic_gender(words[2]):  # Жителева Анна Петровна
            return PersonName(words[0], words[1], words[2], gender_)
        return PersonName(words[0], words[1], None, None)
    if len(words) == 2:
        # Surname first, as the bot asks; "Анна Жителева" is recognised by the surname's ending.
        if _looks_like_surname(words[1]) and not _looks_like_surname(words[0]):
            return PersonName(words[1], words[0], None, None)
        return PersonName(words[0], words[1], None, None)
    if len(words) == 1:
        return PersonName(words[0], None, None, None) if _looks_like_surname(words[0]) else PersonName(None, words[0], None, None)
    return PersonName(words[0], words[1], None, None)


def salutation(full_name: str | None) -> str:
    """How the letter addresses the person: «Уважаемая Анна Петровна!» by name and patronymic,
    else a neutral «Здравствуйте, Анна!», «Здравствуйте, John Smith!» or «Здравствуйте!»."""
    if not full_name or not full_name.strip():
        return "Здравствуйте!"
    name = parse_name(full_name)
    if name is None:
        return f"Здравствуйте, {' '.join(full_name.split())}!"
    if name.first and name.patronymic and name.gender:
        respected = "Уважаемый" if name.gender == "m" else "Уважаемая"
        return f"{respected} {name.first} {name.patronymic}!"
    if name.first:
        return f"Здравствуйте, {name.first}!"
    return "Здравствуйте!"


def _surname_gender(surname: str) -> Gender | None:
    s = surname.lower()
    if s.endswith(("ова", "ева", "ёва", "ина", "ына", "ская", "цкая")):
        return "f"
    if s.endswith(("ов", "ев", "ёв", "ин", "ын", "ский", "цкий")):
        return "m"
    return None


def surname_dative(surname: str, gender: Gender | None) -> str | None:
    """A Russian surname in the dative case (кому: Жителевой, Петрову), or None when unsure."""
    s = surname.lower()
    gender = gender or _surname_gender(surname)
    if gender is None or len(s) < 3:
        return None
    # Surnames in -енко, -ых/-их, -аго/-яго, or any other vowel but -а/-я do not change.
    if s.endswith(("ко", "ых", "их", "аго", "яго", "о", "е", "и", "у", "ю", "э", "ы")):
        return surname
    if gender == "f":
        if s.endswith(("ова", "ева", "ёва", "ина", "ына")):
            out = s[:-1] + "ой"
        elif s.endswith("ая"):
            out = s[:-2] + ("ей" if s[-3:-2] in _SIBILANT else "ой")
        elif s.endswith("яя"):
            out = s[:-2] + "ей"
        elif s[-1] not in "аяь":
            return surname  # Шевчук, Гаврилюк: a woman's surname on a consonant does not change
        else:
            return None
    else:
        if s.endswith(("ов", "ев", "ёв", "ин", "ын")):
            out = s + "у"
        elif s.endswith(("ский", "цкий")) or (s.endswith(("ый", "ой")) and len(s) > 4):
            out = s[:-2] + "ому"
        elif s.endswith("ий") and len(s) > 4:
            out = s[:-2] + ("ому" if s[-3:-2] in "гкх" else "ему")
        elif s.endswith("ия"):
            out = s[:-1] + "и"
        elif s.endswith(("а", "я")):
            out = s[:-1] + "е"
        elif s.endswith(("ь", "й")):
            out = s[:-1] + "ю"
        else:
            out = s + "у"  # Шевчук → Шевчуку, Кравец → Кравецу (the surname keeps its vowel)
    return _title(out)


def initials(name: PersonName) -> str:
    """"А.П." from the first name and the patronymic (as far as they are known)."""
    return "".join(f"{part[0]}." for part in (name.first, name.patronymic) if part)


def addressee(full_name: str | None) -> str | None:
    """The addressee line of a letter: the surname in the dative and the initials
    («Жителевой А.П.»), the name as given where the dative is unsure, None without a name."""
    if not full_name or not full_name.strip():
        return None
    name = parse_name(full_name)
    if name is None or name.surname is None:
        return " ".join(full_name.split())
    dative = surname_dative(name.surname, name.gender)
    if dative is None or not name.first:
        return " ".join(p for p in (name.surname, name.first, name.patronymic) if p)
    return f"{dative} {initials(name)}"


def signature_name(full_name: str) -> str:
    """The signer's name under a letter: initials, then the surname («И.И. Главин»)."""
    name = parse_name(full_name)
    if name is None or name.surname is None or not name.first:
        return " ".join(full_name.split())
    return f"{initials(name)} {name.surname}"
