"""The answer letter: who signs it, what its template may use, and how its PDF is laid out.
Pure functions over loaded rows; `service.answer` and `service.draft_answer` call them.

The letter is the body's, in Russian whatever the clerk's interface language: the town's
requisites (core town settings) head it, the signer configured in the appeals settings signs
it (59-FZ art. 10 p. 3), the clerk who prepared it is the executor in small print, and the
fixed phrases take the grammatical forms they need (backend/core/documents/russian.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.core.documents import pdf, russian
from backend.core.municipalities.models import Department, Municipality
from backend.core.municipalities.settings import Requisites, town_settings
from backend.core.users.models import Role, User
from backend.services.appeals.models import Appeal
from backend.services.appeals.rules import Kind
from backend.services.appeals.settings import of as settings_of
from backend.services.appeals.settings import policy_for

# Where the substance goes in a draft: the clerk replaces it, and an answer that still holds
# it is refused (an answer "on the merits of the questions raised", 59-FZ art. 10 p. 1 item 4,
# is never a blank between the greeting and the closing).
ANSWER_TEXT_PLACEHOLDER = "[Здесь изложите ответ по существу каждого вопроса обращения]"

DEFAULT_ANSWER_TEMPLATE = """{{ salutation }}

Ваше обращение от {{ registered_date }} № {{ reg_number }} рассмотрено {{ department_instrumental }}.

{{ answer_text }}

Если Вы не согласны с ответом, Вы вправе обжаловать его в порядке, установленном законодательством Российской Федерации."""


def administration_name(town: Municipality, requisites: Requisites | None = None) -> str:
    """The issuing body's full name: the town's requisites, else one built from its name."""
    requisites = requisites or town_settings(town).requisites
    return requisites.administration or f"Администрация муниципального образования «{town.name}»"


def _mid_sentence(form: str) -> str:
    """A derived form as it stands inside a sentence: "отделом ЖКХ", not "Отделом ЖКХ"."""
    first = form.split(" ", 1)[0]
    if len(first) > 1 and first[1:].islower():
        return form[:1].lower() + form[1:]
    return form


def department_case(department: Department | None, town: Municipality, case: russian.Case) -> str:
    """The department's name in `case`: as the town stored it, else derived from the name;
    the administration's when there is no department or its name has an unknown shape."""
    if department is not None:
        stored = department.name_genitive if case == "genitive" else department.name_instrumental
        if stored:
            return stored
        derived = russian.inflect_department(department.name, case)
        if derived:
            return _mid_sentence(derived)
    admin = administration_name(town)
    return _mid_sentence(russian.inflect_department(admin, case) or admin)


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signs the answer: a name as configured and a position; `is_clerk` when the clerk
    who answers signs it themselves (then nobody is named a second time as the executor)."""

    name: str
    position: str
    is_clerk: bool


def _same_person(a: str, b: str) -> bool:
    return " ".join(a.lower().replace("ё", "е").split()) == " ".join(b.lower().replace("ё", "е").split())


def clerk_name(clerk: User) -> str:
    return clerk.full_name or clerk.display_name


def signer_for(town: Municipality, *, clerk: User, roles: set[Role], department: Department | None) -> Signer:
    """The town's configured signer; without one, the clerk under a position their role
    gives (the head, a department's head, a specialist of the department)."""
    s = settings_of(town)
    if s.signer_name and s.signer_position:
        return Signer(s.signer_name, s.signer_position, _same_person(s.signer_name, clerk_name(clerk)))
    if Role.HEAD in roles:
        position = "Глава " + department_case(None, town, "genitive")
    elif Role.DEPARTMENT_HEAD in roles:
        position = "Начальник " + department_case(department, town, "genitive") if department else "Руководитель структурного подразделения"
    else:
        position = "Специалист " + department_case(department, town, "genitive")
    return Signer(clerk_name(clerk), position, True)


def _local(moment: datetime, town: Municipality) -> datetime:
    return moment.astimezone(policy_for(town).tz)


def template_context(
    *, appeal: Appeal, town: Municipality, department: Department | None, clerk: User, signer: Signer,
    answer_text: str, today: datetime,
) -> dict[str, Any]:
    """Every field an answer template may use (documents.TEMPLATE_FIELDS), all filled."""
    return {
        "salutation": russian.salutation(appeal.full_name),
        "resident_name": appeal.full_name or "",
        "reg_number": appeal.reg_number,
        "registered_date": f"{_local(appeal.registered_at, town):%d.%m.%Y}",
        "due_date": f"{_local(appeal.due_at, town):%d.%m.%Y}",
        "today": f"{_local(today, town):%d.%m.%Y}",
        "clerk": clerk_name(clerk),
        "department": department.name if department else administration_name(town),
        "department_genitive": department_case(department, town, "genitive"),
        "department_instrumental": department_case(department, town, "instrumental"),
        "administration": administration_name(town),
        "signer_name": signer.name,
        "signer_position": signer.position,
        "town": town.name,
        "text": appeal.text,
        "answer_text": answer_text,
    }


_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def normalized_body(text: str) -> str:
    """The answer's text without trailing spaces and runs of blank lines (no empty blocks)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines))


def title(appeal: Appeal, town: Municipality) -> str:
    """The outgoing document's title, as registers list it."""
    what = "обращение" if Kind(appeal.kind).is_formal else "сообщение"
    return f"Ответ на {what} № {appeal.reg_number} от {_local(appeal.registered_at, town):%d.%m.%Y}"


def addressee_lines(appeal: Appeal) -> tuple[str, ...]:
    """The addressee block: the person in the dative with initials, and the reply address."""
    person = russian.addressee(appeal.full_name)
    if person is None:
        person = "Заявителю" if Kind(appeal.kind).is_formal else "Автору сообщения"
    return tuple(p for p in (person, appeal.reply_address) if p)


def executor_lines(clerk: User, department: Department | None, signer: Signer) -> tuple[str, ...]:
    """Small print at the foot: who prepared the answer, unless they signed it."""
    if signer.is_clerk:
        return ()
    return tuple(p for p in (f"Исполнитель: {clerk_name(clerk)}", department.name if department else None) if p)


def pdf_content(
    *, appeal: Appeal, town: Municipality, department: Department | None, clerk: User, signer: Signer,
    number: str, body: str, now: datetime,
) -> pdf.PdfContent:
    """The PDF's parts: letterhead with requisites, reference, addressee, text, signature."""
    requisites = town_settings(town).requisites
    details = tuple(
        line for line in (
            requisites.address,
            f"Тел.: {requisites.phone}" if requisites.phone else None,
            f"E-mail: {requisites.email}" if requisites.email else None,
            requisites.website,
        ) if line
    )
    formal = Kind(appeal.kind).is_formal
    return pdf.PdfContent(
        letterhead=pdf.Letterhead(name=administration_name(town, requisites), unit=department.name if department else None, details=details),
        date=f"{_local(now, town):%d.%m.%Y}",
        number=number,
        reference=f"На № {appeal.reg_number} от {_local(appeal.registered_at, town):%d.%m.%Y}",
        addressee=addressee_lines(appeal),
        title="О рассмотрении обращения" if formal else "О рассмотрении сообщения",
        body=body,
        signature=pdf.Signature(position=signer.position, name=russian.signature_name(signer.name)),
        executor=executor_lines(clerk, department, signer),
        footer=f"Документ зарегистрирован в системе «Глокал» {_local(now, town):%d.%m.%Y %H:%M}.",
        subject=title(appeal, town),
        meta={"author": administration_name(town, requisites)},
    )
