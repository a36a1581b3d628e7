"""59-FZ art. 11 as clerks meet it, through the real API: the crime exception of p. 1 (an
appeal without a name or reply address still goes to the competent body when it reports a
crime) and the notice of p. 3 (abuse of the right to appeal is inadmissible)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.core.audit.models import AuditLog
from backend.core.users.models import Role
from backend.services.appeals import rules
from backend.services.appeals.models import Appeal
from backend.services.appeals.rules import Kind, NoAnswerReason, Status
from tests.factories import deliver_outbox, make_town, make_user, seed, tma
from tests.services.appeals.factories import appeals_settings, make_appeal, make_category, make_resident

CRIME = "Во дворе дома 7 по улице Садовой каждую ночь вскрывают машины, видел, кто это делает."


async def _world(runtime):  # noqa: ANN001, ANN202
    async def data(s):  # noqa: ANN001, ANN202
        # The town does not ask for contacts up front, so art. 11 decides what happens without them.
        town = await make_town(s, slug="art11", settings=appeals_settings(require_contacts=False))
        cat = await make_category(s, town)
        clerk = await make_user(s, town=town, roles=(Role.CLERK,))
        resident = await make_resident(s, town)
        nameless = await make_appeal(s, town, cat, resident, text=CRIME, full_name=None)
        no_address = await make_appeal(s, town, cat, resident, text=CRIME, reply_address=None)
        answerable = await make_appeal(s, town, cat, resident)
        report = await make_appeal(s, town, cat, resident, kind=Kind.REPORT, text=CRIME, full_name=None, reply_address=None)
        unreadable = await make_appeal(s, town, cat, resident, text="?!?!?! ### !!! ???")
        return {"town": town, "clerk": clerk, "resident": resident, "nameless": nameless, "no_address": no_address,
                "answerable": answerable, "report": report, "unreadable": unreadable}

    return await seed(runtime, data)


def _url(w: dict, key: str) -> str:
    return f"/api/v1/municipalities/{w['town'].id}/appeals/{w[key].id}"


async def test_an_appeal_without_a_name_is_forwarded_as_a_report_of_a_crime(client, runtime, harness):
    w = await _world(runtime)
    h = tma(runtime, w["clerk"])
    card = (await client.get(_url(w, "nameless"), headers=h)).json()
    assert card["status"] == "no_answer_required" and card["can_forward_crime_report"] is True

    r = await client.post(f"{_url(w, 'nameless')}/forward-crime-report", json={"to": "  ОМВД России   по городу  "}, headers=h)
    assert r.status_code == 200, r.text
    card = r.json()
    # Where it went is recorded; it is still an appeal without an answer; it cannot go twice.
    assert card["redirected_to"] == "ОМВД России по городу" and card["status"] == "no_answer_required"
    assert card["can_forward_crime_report"] is False
    assert card["history"][-1]["action"] == "appeal.crime_report_forwarded"
    assert card["history"][-1]["details"] == {"to": "ОМВД России по городу"}
    async with runtime.sessionmaker() as s:
        appeal = await s.get(Appeal, w["nameless"].id)
        entry = await s.scalar(select(AuditLog).where(AuditLog.action == "appeal.crime_report_forwarded"))
    assert appeal.route_to_competent_body is True and appeal.redirected_at is not None
    assert (entry.actor_id, entry.object_id, entry.municipality_id) == (w["clerk"].id, str(appeal.id), w["town"].id)

    r = await client.post(f"{_url(w, 'nameless')}/forward-crime-report", json={"to": "Прокуратура"}, headers=h)
    assert r.status_code == 409 and r.json()["message"] == "Это обращение уже направлено: ОМВД России по городу."
    # The law gives no notice here (there is no address to send it to): nothing goes out.
    harness.session.calls.clear()
    await deliver_outbox(runtime)
    assert harness.session.pop() == []

    # Without a reply address the same holds.
    r = await client.post(f"{_url(w, 'no_address')}/forward-crime-report", json={"to": "Прокуратура города"}, headers=h)
    assert r.status_code == 200 and r.json()["redirected_to"] == "Прокуратура города"


@pytest.mark.parametrize("key", ["answerable", "report", "unreadable"])
async def test_forwarding_a_crime_report_is_refused_in_any_other_case(client, runtime, key):
    w = await _world(runtime)
    h = tma(runtime, w["clerk"])
    assert (await client.get(_url(w, key), headers=h)).json()["can_forward_crime_report"] is False
    r = await client.post(f"{_url(w, key)}/forward-crime-report", json={"to": "ОМВД"}, headers=h)
    assert r.status_code == 409
    assert r.json()["message"] == (
        "Как сообщение о преступлении можно направить только обращение, оставленное без ответа из-за того, "
        "что в нём не указаны фамилия или адрес для ответа (ч. 1 ст. 11 Федерального закона № 59-ФЗ)."
    )
    async with runtime.sessionmaker() as s:
        appeal = await s.get(Appeal, w[key].id)
    assert appeal.redirected_to is None and appeal.route_to_competent_body is False


async def test_forwarding_checks_who_asks_and_what_they_send(client, runtime):
    w = await _world(runtime)
    url = f"{_url(w, 'nameless')}/forward-crime-report"
    assert (await client.post(url, json={"to": "ОМВД"}, headers=tma(runtime, w["resident"]))).status_code == 403
    assert (await client.post(url, json={"to": "ОМВД"})).status_code == 401
    assert (await client.post(url, json={"to": "   "}, headers=tma(runtime, w["clerk"]))).status_code == 422
    assert (await client.post(url, json={"to": "x"}, headers=tma(runtime, w["clerk"]))).status_code == 422
    other = await seed(runtime, lambda s: make_town(s, slug="elsewhere"))
    stranger = await seed(runtime, lambda s: make_user(s, town=other, roles=(Role.CLERK,)))
    r = await client.post(f"/api/v1/municipalities/{other.id}/appeals/{w['nameless'].id}/forward-crime-report", json={"to": "ОМВД"},
                          headers=tma(runtime, stranger))
    assert r.status_code == 404


def test_the_rule_is_exactly_the_exception_of_art_11_p_1():
    ok = {"kind": Kind.STATEMENT, "status": Status.NO_ANSWER_REQUIRED, "no_answer_reason": NoAnswerReason.MISSING_NAME, "forwarded": False}
    assert rules.can_forward_as_crime_report(**ok)
    assert rules.can_forward_as_crime_report(**{**ok, "no_answer_reason": NoAnswerReason.MISSING_REPLY_ADDRESS})
    for change in (
        {"kind": Kind.REPORT}, {"status": Status.IN_PROGRESS}, {"no_answer_reason": NoAnswerReason.OBSCENE},
        {"no_answer_reason": NoAnswerReason.UNREADABLE}, {"no_answer_reason": None}, {"forwarded": True},
    ):
        assert not rules.can_forward_as_crime_report(**{**ok, **change}), change


async def test_the_obscenity_notice_says_abuse_of_the_right_is_inadmissible(client, runtime, harness):
    w = await _world(runtime)
    r = await client.post(f"{_url(w, 'answerable')}/no-answer", json={"reason": "obscene"}, headers=tma(runtime, w["clerk"]))
    assert r.status_code == 200 and r.json()["status"] == "no_answer_required"
    harness.session.calls.clear()
    await deliver_outbox(runtime)
    [sent] = harness.session.pop()
    assert sent.chat_id == w["resident"].telegram_id
    assert sent.text == (
        f"Ваше обращение {w['answerable'].reg_number} оставлено без ответа по существу поставленных в нём вопросов: "
        "в нём содержатся нецензурные либо оскорбительные выражения, угрозы жизни, здоровью и имуществу должностного лица, "
        "а также членов его семьи. Сообщаем о недопустимости злоупотребления правом (ч. 3 ст. 11 Федерального закона № 59-ФЗ)."
    )


async def test_other_grounds_keep_their_plain_notice(client, runtime, harness):
    w = await _world(runtime)
    r = await client.post(f"{_url(w, 'answerable')}/no-answer", json={"reason": "no_essence"}, headers=tma(runtime, w["clerk"]))
    assert r.status_code == 200
    harness.session.calls.clear()
    await deliver_outbox(runtime)
    [sent] = harness.session.pop()
    assert sent.text == (
        f"На ваше обращение {w['answerable'].reg_number} не будет дан ответ по существу. "
        "Причина: Из текста нельзя понять суть предложения, заявления или жалобы."
    )
