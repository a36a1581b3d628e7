"""The events API through the real ASGI app: organizers create events and check tickets in
(idempotently: a second scan says when the first was), participants per session, attendance
as CSV and XLSX; bad input is a 4xx with a message; capacity holds under concurrent
registrations on both engines; the manifest's stats, personal data export and erasure."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime, timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError

from backend.core.users import service as users
from backend.core.users.models import Role, User
from backend.db import unit_of_work, utcnow
from backend.errors import DomainError
from backend.services.events import queries
from backend.services.events import service as events
from backend.services.events.models import Event, EventRegistration
from backend.services.events.manifest import MANIFEST
from tests.factories import make_town, make_user, seed, tma
from tests.services.events.factories import game_in, make_event


async def _world(runtime: Any) -> dict[str, Any]:
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Kolomna")
        other = await make_town(s, slug="sosedsk", name="Sosedsk")
        organizer = await make_user(s, first_name="Vera", town=town, roles=(Role.RESIDENT, Role.ORGANIZER))
        await users.set_locale(s, user=organizer, locale="en")
        resident = await make_user(s, first_name="Anna", town=town)
        boris = await make_user(s, first_name="Boris", town=town)
        stranger = await make_user(s, first_name="Olga", town=other, roles=(Role.RESIDENT, Role.ORGANIZER))
        event = await make_event(s, town, capacity=3, reserved=0)
        reg_a = await events.register(s, event=event, user=resident, answers={"direction": "Tourism"}, accepted_terms=True)
        reg_b = await events.register(s, event=event, user=boris, answers={"direction": "Urban space", "idea": "=HYPERLINK(1)"}, accepted_terms=True)
        return {"town": town, "other": other, "organizer": organizer, "resident": resident, "boris": boris, "stranger": stranger,
                "event": event, "reg_a": reg_a, "reg_b": reg_b}

    return await seed(runtime, make)


def _url(w: dict[str, Any], tail: str = "") -> str:
    return f"/api/v1/municipalities/{w['town'].id}/events{tail}"


async def test_check_in_is_idempotent_and_says_when_first_used(client, runtime):
    w = await _world(runtime)
    org = tma(runtime, w["organizer"])
    path = _url(w, f"/{w['event'].id}/check-ins")

    r = await client.post(path, json={"code": w["reg_a"].code.lower()}, headers=org)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["result"] == "checked_in" and first["message"] == "Checked in: Anna" and first["checked_in"] == 1
    # A queued check-in sent again, or the same ticket scanned twice: when it was first used.
    r = await client.post(path, json={"code": w["reg_a"].code}, headers=org)
    again = r.json()
    assert r.status_code == 200 and again["result"] == "already" and again["checked_in"] == 1
    assert again["first_at"] == first["first_at"]
    local = datetime.fromisoformat(first["first_at"]).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Moscow"))
    assert again["message"] == f"Already used at {local:%H:%M, %d.%m.%Y}: Anna"
    async with runtime.sessionmaker() as s:
        assert (await s.get(EventRegistration, w["reg_a"].id)).status == "checked_in"

    # A check-in queued offline keeps the time it was scanned (never a future one).
    scanned = (utcnow() - timedelta(minutes=7)).replace(microsecond=0)
    r = await client.post(path, json={"code": w["reg_b"].code, "at": scanned.isoformat()}, headers=org)
    assert datetime.fromisoformat(r.json()["first_at"]) == scanned and r.json()["checked_in"] == 2

    # Per session of the schedule: a ticket used for the event is new for day 1.
    async with runtime.sessionmaker() as s:
        day1 = (await queries.sessions_of(s, event_id=w["event"].id))[0]
    r = await client.post(path, json={"code": w["reg_a"].code, "session_id": day1.id}, headers=org)
    assert r.json()["result"] == "checked_in" and r.json()["checked_in"] == 1
    r = await client.get(_url(w, f"/{w['event'].id}/participants"), params={"session_id": day1.id}, headers=org)
    people = {p["name"]: p for p in r.json()["participants"]}
    assert people["Anna"]["checked_in_at"] is not None and people["Boris"]["checked_in_at"] is None
    assert r.json()["counts"] == {"registered": 2, "waitlisted": 0, "checked_in": 1}
    r = await client.get(_url(w, f"/{w['event'].id}/staff"), headers=org)
    assert r.json()["counts"] == {"registered": 2, "waitlisted": 0, "checked_in": 2}


async def test_check_in_refuses_bad_tickets_with_4xx(client, runtime):
    w = await _world(runtime)
    org = tma(runtime, w["organizer"])
    path = _url(w, f"/{w['event'].id}/check-ins")
    cases = [
        ({"code": "hello"}, 422, "This is not a ticket code: hello"),
        ({"code": "AAAAAA"}, 404, "No ticket of this event has the code AAAAAA."),
        ({"code": w["reg_a"].code, "session_id": 2**31 - 1}, 404, "This session is not in the event's schedule."),
        ({"code": "A\u0000AAAA"}, 422, None),
        ({"code": w["reg_a"].code, "session_id": 2**31}, 422, None),
        ({"code": w["reg_a"].code, "at": "2026-01-01T10:00:00"}, 422, None),  # no time zone
        ({"code": w["reg_a"].code, "at": "9999-12-31T23:59:59-23:59"}, 422, None),
        ({}, 422, None),
    ]
    for body, status, message in cases:
        r = await client.post(path, json=body, headers=org)
        assert r.status_code == status, (body, r.text)
        if message:
            assert r.json()["message"] == message
    # A cancelled ticket does not open the door.
    async def cancel(s):  # noqa: ANN001, ANN202
        reg = await s.get(EventRegistration, w["reg_b"].id)
        await events.cancel(s, registration=reg, town=w["town"])
    await seed(runtime, cancel)
    r = await client.post(path, json={"code": w["reg_b"].code}, headers=org)
    assert r.status_code == 409 and r.json()["message"] == f"The ticket {w['reg_b'].code} is not valid: Cancelled."

    # Residents cannot check people in; another town's organizer does not see the event.
    r = await client.post(path, json={"code": w["reg_a"].code}, headers=tma(runtime, w["resident"]))
    assert r.status_code == 403
    r = await client.post(path, json={"code": w["reg_a"].code}, headers=tma(runtime, w["stranger"]))
    assert r.status_code == 404
    r = await client.post(f"/api/v1/municipalities/{w['other'].id}/events/{w['event'].id}/check-ins", json={"code": w["reg_a"].code},
                          headers=tma(runtime, w["stranger"]))
    assert r.status_code == 404 and r.json()["message"] == "Такого события нет."  # in her language (no locale: Russian)


async def test_create_event_and_its_validation(client, runtime):
    w = await _world(runtime)
    org = tma(runtime, w["organizer"])
    body = game_in(title="Investment session", kind="investment", capacity=40, reserved=4, sessions=[]).model_dump(mode="json")
    r = await client.post(_url(w), json=body, headers=org)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["title"] == "Investment session" and made["places_left"] == 36 and made["timezone"] == "Europe/Moscow"
    assert made["counts"] == {"registered": 0, "waitlisted": 0, "checked_in": 0}
    r = await client.post(_url(w, f"/{made['id']}/sessions"), json={
        "title": "Pitches", "starts_at": body["starts_at"], "ends_at": body["ends_at"], "place": "Hall"}, headers=org)
    assert r.status_code == 201 and r.json()["title"] == "Pitches"

    r = await client.get(_url(w), headers=tma(runtime, w["resident"]))
    assert [e["title"] for e in r.json()] == ["Glocal City Game", "Investment session"]
    r = await client.get(_url(w, f"/{made['id']}"), headers=tma(runtime, w["resident"]))
    assert r.status_code == 200 and [s["title"] for s in r.json()["sessions"]] == ["Pitches"]

    bad = [
        {**body, "reserved": 50},
        {**body, "ends_at": "2020-01-01T00:00:00+00:00"},
        {**body, "starts_at": "2027-01-01T10:00:00"},
        {**body, "team_min": 5, "team_max": 2},
        {**body, "questions": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]},
        {**body, "questions": [{"id": "Bad Id", "text": "x"}]},
        {**body, "capacity": 0},
        {**body, "lat": 91},
        {**body, "title": ""},
        {**body, "kind": "party"},
    ]
    for b in bad:
        r = await client.post(_url(w), json=b, headers=org)
        assert r.status_code == 422, (b, r.text)
        assert r.json()["error"] == "invalid" and r.json()["message"]
    r = await client.post(_url(w), json=body, headers=tma(runtime, w["resident"]))
    assert r.status_code == 403


async def test_attendance_export_csv_and_xlsx(client, runtime):
    w = await _world(runtime)
    org = tma(runtime, w["organizer"])
    await client.post(_url(w, f"/{w['event'].id}/check-ins"), json={"code": w["reg_a"].code}, headers=org)
    r = await client.get(_url(w, f"/{w['event'].id}/attendance/export"), headers=org)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Code", "Participant", "Status", "Team", "Checked in", "Day 1", "Day 2", "Day 3",
                       "Which direction is closer to you?", "Your idea for the town, in a few words?"]
    assert rows[1][:4] == [w["reg_a"].code, "Anna", "Checked in", ""] and rows[1][4] and rows[1][5:8] == ["", "", ""]
    assert rows[2][-2:] == ["Urban space", "'=HYPERLINK(1)"]  # formulas are neutralised
    r = await client.get(_url(w, f"/{w['event'].id}/attendance/export"), params={"format": "xlsx"}, headers=org)
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in sheet[1]][:2] == ["Code", "Participant"] and sheet.cell(2, 1).value == w["reg_a"].code
    r = await client.post(_url(w, f"/{w['event'].id}/attendance/export/download-link"), params={"format": "xlsx"}, headers=org)
    assert r.status_code == 200 and "/api/v1/dl/" in r.json()["url"]
    r = await client.get(_url(w, f"/{w['event'].id}/attendance/export"), params={"format": "pdf"}, headers=org)
    assert r.status_code == 422


async def test_capacity_holds_under_concurrent_registrations(runtime):
    """Eight people press Register for the last three places at once: three get them, five
    wait, on SQLite and on PostgreSQL alike. (SQLite may refuse a write while another holds
    the lock: a refused attempt is repeated, as the inbox does with an update.)"""
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s)
        people = [await make_user(s, first_name=f"P{i}", town=town) for i in range(8)]
        return await make_event(s, town, capacity=4, reserved=1), people

    event, people = await seed(runtime, make)

    async def one(user: User) -> str:
        for _attempt in range(50):
            try:
                async with unit_of_work(runtime.sessionmaker) as s:
                    row = await s.get(Event, event.id)
                    reg = await events.register(s, event=row, user=await s.get(User, user.id), answers={"direction": "Tourism"}, accepted_terms=True)
                    return reg.status
            except (OperationalError, DBAPIError):
                await asyncio.sleep(0.01)
        raise AssertionError("never registered")

    statuses = await asyncio.gather(*(one(p) for p in people))
    assert sorted(statuses) == ["registered"] * 3 + ["waitlisted"] * 5
    async with runtime.sessionmaker() as s:
        assert (await s.get(Event, event.id)).taken == 3
        waitlist = list(await s.scalars(select(EventRegistration).where(EventRegistration.status == "waitlisted")
                                        .order_by(EventRegistration.waitlisted_at, EventRegistration.id)))
    assert len(waitlist) == 5


async def test_registration_rules(runtime):
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s)
        return town, await make_user(s, town=town), await make_event(s, town, registration_closes_at=utcnow() - timedelta(minutes=1))

    town, user, closed = await seed(runtime, make)
    async with runtime.sessionmaker() as s:
        row, person = await s.get(Event, closed.id), await s.get(User, user.id)
        with pytest.raises(DomainError) as e:
            await events.register(s, event=row, user=person, answers={"direction": "Tourism"}, accepted_terms=True)
        assert e.value.render("en") == "Registration is closed."
        row.registration_closes_at = None
        with pytest.raises(DomainError) as e:
            await events.register(s, event=row, user=person, answers={"direction": "Tourism"}, accepted_terms=False)
        assert e.value.render("en") == "Please accept the terms of the event first."
        with pytest.raises(DomainError) as e:
            await events.register(s, event=row, user=person, answers={}, accepted_terms=True)
        assert e.value.render("en") == "Please answer: Which direction is closer to you?"
        with pytest.raises(DomainError) as e:
            await events.register(s, event=row, user=person, answers={"direction": "Space"}, accepted_terms=True)
        assert e.value.render("en") == "Please choose one of the options: Which direction is closer to you?"


async def test_stats_personal_data_export_and_erasure(client, runtime):
    w = await _world(runtime)
    await client.post(_url(w, f"/{w['event'].id}/check-ins"), json={"code": w["reg_a"].code}, headers=tma(runtime, w["organizer"]))
    async with runtime.sessionmaker() as s:
        assert await MANIFEST.stats(s, w["town"].id, utcnow()) == {
            "events": 1, "events_held": 0, "registrations": 2, "attendance": 1, "attendance_rate": 0.5,
        }
        exported = await MANIFEST.personal_data.export(s, w["boris"].id)
    assert exported[0]["event"] == "Glocal City Game" and exported[0]["code"] == w["reg_b"].code and exported[0]["status"] == "registered"

    # Boris is erased: his place is freed, his answers gone, the row no longer his.
    async def erase(s):  # noqa: ANN001, ANN202
        await MANIFEST.personal_data.erase(s, w["boris"].id)
    await seed(runtime, erase)
    async with runtime.sessionmaker() as s:
        reg = await s.get(EventRegistration, w["reg_b"].id)
        assert (reg.user_id, reg.answers, reg.status, reg.cancel_reason) == (None, {}, "cancelled", "erased")
        assert (await s.get(Event, w["event"].id)).taken == 1
        assert await MANIFEST.personal_data.export(s, w["boris"].id) == []


