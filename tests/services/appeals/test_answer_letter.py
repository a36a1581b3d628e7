"""The answer letter as a resident receives it: drafted from the template with the right
Russian forms, signed by the town's signer, rendered to a PDF with the administration's
requisites, and parsed back here to check its phrases. Through the real API and services.

With GLOCAL_SCREENSHOTS=<dir> the letter is also left there as answer-letter.pdf."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from pydantic import ValidationError
from sqlalchemy import select

from backend.core.documents import service as documents
from backend.core.documents.models import Document
from backend.core.municipalities import service as towns
from backend.core.municipalities.settings import TownSettings
from backend.core.users.models import Role
from backend.services.appeals import letter
from backend.services.appeals import service as appeals
from backend.services.appeals.rules import Kind
from backend.services.appeals.settings import AppealsSettings
from tests.factories import make_town, make_user, seed, tma
from tests.services.appeals.factories import make_appeal, make_resident

SHOTS = os.environ.get("GLOCAL_SCREENSHOTS")
SUBSTANCE = "Мусор с контейнерной площадки вывезен 9 марта. Управляющей компании выдано предписание о соблюдении графика вывоза."
REQUISITES = {
    "administration": "Администрация городского округа Коломна",
    "address": "140400, Московская область, г. Коломна, ул. Советская, д. 1",
    "phone": "+7 (496) 612-34-56",
    "email": "adm@kolomna.example.ru",
    "website": "kolomna.example.ru",
}


async def _town(runtime, *, signer: bool = True, forms: dict | None = None):  # noqa: ANN001, ANN202
    async def data(s):  # noqa: ANN001, ANN202
        appeals_settings = {"reg_prefix": "KLM"}
        if signer:
            appeals_settings |= {"signer_name": "Главин Иван Иванович", "signer_position": "Заместитель главы администрации городского округа"}
        town = await make_town(s, slug="kolomna", name="Коломна", settings={"requisites": REQUISITES, "services": {"appeals": appeals_settings}})
        dept = await towns.add_department(s, municipality_id=town.id, name="Отдел ЖКХ")
        for key, value in (forms or {}).items():
            setattr(dept, key, value)
        cat = await appeals.create_category(s, municipality_id=town.id, code="housing", name="ЖКХ", department_id=dept.id)
        clerk = await make_user(s, first_name="Иван", town=town, roles=(Role.CLERK,))
        clerk.full_name = "Петров Иван Сергеевич"
        head = await make_user(s, first_name="Ольга", town=town, roles=(Role.DEPARTMENT_HEAD,))
        head.full_name = "Начальникова Ольга Викторовна"
        resident = await make_resident(s, town)
        appeal = await make_appeal(s, town, cat, resident, full_name="Жителева Анна Петровна", reply_address="anna@example.ru")
        return {"town": town, "dept": dept, "clerk": clerk, "head": head, "resident": resident, "appeal": appeal}

    return await seed(runtime, data)


def _text(content: bytes) -> str:
    """The PDF's text with whitespace runs (justification, line ends) as single spaces."""
    return " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).split())


async def _answer(client, runtime, w, who: str, substance: str = SUBSTANCE):  # noqa: ANN001, ANN202
    h = tma(runtime, w[who])
    url = f"/api/v1/municipalities/{w['town'].id}/appeals/{w['appeal'].id}"
    draft = (await client.get(f"{url}/answer-draft", headers=h)).json()["body"]
    r = await client.post(f"{url}/answer", json={"body": draft.replace(letter.ANSWER_TEXT_PLACEHOLDER, substance)}, headers=h)
    assert r.status_code == 200, r.text
    doc = r.json()["documents"][0]
    pdf_bytes = (await client.get(doc["file"]["url"], headers=h)).content
    return draft, doc, pdf_bytes


async def test_the_answer_letter_reads_as_an_official_letter(client, runtime):
    w = await _town(runtime)
    h = tma(runtime, w["clerk"])
    url = f"/api/v1/municipalities/{w['town'].id}/appeals/{w['appeal'].id}"
    reg = w["appeal"].reg_number

    # The draft: the greeting by name and patronymic, the department in the instrumental case,
    # a marked place for the substance, and no signature (the letter's frame signs).
    draft = (await client.get(f"{url}/answer-draft", headers=h)).json()["body"]
    registered = re.search(r"от (\d\d\.\d\d\.\d{4})", draft)[1]  # type: ignore[index]
    assert draft == (
        "Уважаемая Анна Петровна!\n\n"
        f"Ваше обращение от {registered} № {reg} рассмотрено отделом ЖКХ.\n\n"
        f"{letter.ANSWER_TEXT_PLACEHOLDER}\n\n"
        "Если Вы не согласны с ответом, Вы вправе обжаловать его в порядке, установленном законодательством Российской Федерации."
    )

    # Sent as drafted, the placeholder is refused: no letter without its substance.
    r = await client.post(f"{url}/answer", json={"body": draft}, headers=h)
    assert r.status_code == 422
    assert r.json()["message"] == f"Напишите ответ по существу вместо «{letter.ANSWER_TEXT_PLACEHOLDER}»."

    # Written in, with stray blank lines: registered and rendered without empty blocks.
    body = draft.replace(letter.ANSWER_TEXT_PLACEHOLDER, SUBSTANCE + "\n\n\n\n   \n")
    r = await client.post(f"{url}/answer", json={"body": body}, headers=h)
    assert r.status_code == 200, r.text
    doc = r.json()["documents"][0]
    async with runtime.sessionmaker() as s:
        row = await s.get(Document, doc["id"])
    assert "\n\n\n" not in row.body and SUBSTANCE + "\n\nЕсли Вы не согласны" in row.body
    assert row.requisites["signer"] == "Главин Иван Иванович"
    assert row.requisites["signer_position"] == "Заместитель главы администрации городского округа"
    assert row.requisites["executor"] == "Петров Иван Сергеевич"
    assert row.signer_id is None and row.author_id == w["clerk"].id  # the signer is not the clerk

    pdf_bytes = (await client.get(doc["file"]["url"], headers=h)).content
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SHOTS) / "answer-letter.pdf").write_bytes(pdf_bytes)
    text = _text(pdf_bytes)
    for phrase in (
        # the letterhead: the administration, its department, its requisites
        "Администрация городского округа Коломна", "Отдел ЖКХ",
        "140400, Московская область, г. Коломна, ул. Советская, д. 1",
        "Тел.: +7 (496) 612-34-56", "E-mail: adm@kolomna.example.ru", "kolomna.example.ru",
        # date and number, the reference to the appeal, the addressee in the dative
        f"№ {doc['number']}", f"На № {reg} от {registered}", "Жителевой А.П.", "anna@example.ru",
        "О рассмотрении обращения",
        "Уважаемая Анна Петровна!", "рассмотрено отделом ЖКХ", SUBSTANCE,
        # the signer with position, initials before the surname; the executor in small print
        "Заместитель главы администрации городского округа", "И.И. Главин",
        "Исполнитель: Петров Иван Сергеевич",
    ):
        assert phrase in text, phrase
    assert text.count("Исполнитель") == 1 and "Уважаемый(ая)" not in text and "рассмотрено Отдел" not in text
    assert len(PdfReader(io.BytesIO(pdf_bytes)).pages) == 1


async def test_stored_department_forms_win_over_derived_ones(client, runtime):
    w = await _town(runtime, forms={"name_genitive": "отдела жилищно-коммунального хозяйства", "name_instrumental": "отделом жилищно-коммунального хозяйства"})
    draft, _doc, pdf_bytes = await _answer(client, runtime, w, "clerk")
    assert "рассмотрено отделом жилищно-коммунального хозяйства." in draft
    assert "рассмотрено отделом жилищно-коммунального хозяйства" in _text(pdf_bytes)


async def test_without_a_configured_signer_the_clerk_signs_under_their_position(client, runtime):
    w = await _town(runtime, signer=False)
    _draft, doc, pdf_bytes = await _answer(client, runtime, w, "head")
    text = _text(pdf_bytes)
    assert "Начальник отдела ЖКХ" in text and "О.В. Начальникова" in text
    assert "Исполнитель" not in text  # the signer prepared it: not named twice
    async with runtime.sessionmaker() as s:
        row = await s.get(Document, doc["id"])
    assert (row.requisites["signer"], row.requisites["signer_position"]) == ("Начальникова Ольга Викторовна", "Начальник отдела ЖКХ")
    assert row.signer_id == w["head"].id


async def test_a_report_without_a_name_is_greeted_neutrally(client, runtime):
    w = await _town(runtime)

    async def report(s):  # noqa: ANN001, ANN202
        from backend.services.appeals.models import AppealCategory

        cat = await s.scalar(select(AppealCategory).where(AppealCategory.municipality_id == w["town"].id))
        return await make_appeal(s, w["town"], cat, w["resident"], kind=Kind.REPORT, text="Не горит фонарь у дома 3.", full_name=None, reply_address=None)

    w["appeal"] = await seed(runtime, report)
    draft, doc, pdf_bytes = await _answer(client, runtime, w, "clerk", "Фонарь заменён.")
    assert draft.startswith("Здравствуйте!\n\nВаше обращение")
    text = _text(pdf_bytes)
    assert "Автору сообщения" in text and "О рассмотрении сообщения" in text and "Фонарь заменён." in text
    assert doc["title"].startswith(f"Ответ на сообщение № {w['appeal'].reg_number}")


async def test_every_template_field_is_filled_and_the_default_template_checks(runtime):
    w = await _town(runtime)
    documents.check_template(letter.DEFAULT_ANSWER_TEMPLATE)
    everything = "\n".join(f"{f}={{{{ {f} }}}}" for f in sorted(documents.TEMPLATE_FIELDS))
    documents.check_template(everything)

    async def draft(s):  # noqa: ANN001, ANN202
        from backend.services.appeals.models import Appeal, AppealCategory

        cat = await s.scalar(select(AppealCategory).where(AppealCategory.municipality_id == w["town"].id))
        cat.answer_template = everything
        appeal = await s.get(Appeal, w["appeal"].id)
        return await appeals.draft_answer(s, appeal=appeal, actor=w["clerk"])

    lines = dict(line.split("=", 1) for line in (await seed(runtime, draft)).split("\n"))
    assert set(lines) == documents.TEMPLATE_FIELDS and all(lines.values())
    assert lines["salutation"] == "Уважаемая Анна Петровна!"
    assert (lines["department"], lines["department_genitive"], lines["department_instrumental"]) == ("Отдел ЖКХ", "отдела ЖКХ", "отделом ЖКХ")
    assert lines["administration"] == "Администрация городского округа Коломна"
    assert (lines["signer_name"], lines["clerk"]) == ("Главин Иван Иванович", "Петров Иван Сергеевич")
    assert lines["answer_text"] == letter.ANSWER_TEXT_PLACEHOLDER


def test_requisites_and_signer_are_validated_settings():
    assert TownSettings.model_validate({"requisites": REQUISITES}).requisites.phone == "+7 (496) 612-34-56"
    for bad in ({"email": "not an e-mail"}, {"phone": "call me"}, {"fax": "1"}, {"administration": "x" * 301}):
        with pytest.raises(ValidationError):
            TownSettings.model_validate({"requisites": bad})
    with pytest.raises(ValidationError):
        AppealsSettings.model_validate({"signer_name": "Главин Иван Иванович"})  # a name without a position
    assert AppealsSettings.model_validate({}).signer_name is None

