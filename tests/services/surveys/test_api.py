"""The surveys API through the real ASGI app: building, versioning, answering from the
miniapp, results as JSON and SVG, CSV/XLSX exports, publishing, and 4xx on bad input."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from aiogram.methods import SendMessage
from openpyxl import load_workbook
from sqlalchemy import func, select

from backend.core.notifications.models import OutboxMessage
from backend.core.users.models import Role
from backend.services.surveys import jobs as survey_jobs
from backend.services.surveys.models import Survey, SurveyResponse, SurveyVersion
from tests.factories import deliver_outbox, make_town, make_user, seed, tma

QUESTIONS = [
    {"key": "color", "kind": "multiple", "text": "Favourite colours", "options": [
        {"key": "red", "label": "Red"}, {"key": "green", "label": "Green"}, {"key": "blue", "label": "Blue"}]},
    {"key": "mark", "kind": "scale", "text": "Your mark", "scale_min": 1, "scale_max": 5},
    {"key": "why", "kind": "text", "text": "Why red?", "required": False, "show_if": {"question": "color", "any_of": ["red"]}},
    {"key": "age", "kind": "number", "text": "Your age", "required": False, "min_value": 0, "max_value": 120},
]


async def _world(runtime):
    async def make(s):
        town = await make_town(s, slug="suzdal", name="Suzdal")
        other = await make_town(s, slug="vyazniki", name="Vyazniki")
        organizer = await make_user(s, town=town, roles=(Role.RESIDENT, Role.ORGANIZER), first_name="Olga")
        residents = [await make_user(s, town=town, first_name=f"R{i}") for i in range(3)]
        outsider = await make_user(s, town=other, roles=(Role.RESIDENT, Role.ORGANIZER))
        return {"town": town, "other": other, "organizer": organizer, "residents": residents, "outsider": outsider}

    return await seed(runtime, make)


def auth(runtime, user) -> dict[str, str]:
    """The miniapp's header of a person whose Telegram speaks English (messages in English)."""
    return tma(runtime, {"id": user.telegram_id, "first_name": user.first_name, "language_code": "en"})


def base(w) -> str:
    return f"/api/v1/municipalities/{w['town'].id}"


async def _created(client, runtime, w, *, anonymous: bool = False) -> dict:
    h = auth(runtime, w["organizer"])
    r = await client.post(f"{base(w)}/surveys", headers=h, json={"title": "Colours", "anonymous": anonymous, "questions": QUESTIONS})
    assert r.status_code == 201, r.text
    survey = r.json()
    r = await client.post(f"{base(w)}/surveys/{survey['id']}/open", headers=h)
    assert r.status_code == 200 and r.json()["accepting"] is True
    return r.json()


async def test_build_answer_results_export(client, runtime):
    w = await _world(runtime)
    survey = await _created(client, runtime, w)
    sid = survey["id"]
    answers = [
        {"color": ["red", "blue"], "mark": 5, "why": "Bright", "age": "34"},
        {"color": ["blue"], "mark": 3},
        {"color": ["red", "green", "blue"], "mark": 4, "age": 61},
    ]
    for person, a in zip(w["residents"], answers, strict=True):
        r = await client.post(f"{base(w)}/surveys/{sid}/response", headers=auth(runtime, person), json={"answers": a, "consent": True})
        assert r.status_code == 200, r.text
        assert r.json() == {"survey_id": sid, "answered": True, "replaced": False}

    # Identified: the person changes their answers while it is open.
    r = await client.post(f"{base(w)}/surveys/{sid}/response", headers=auth(runtime, w["residents"][1]),
                          json={"answers": {"color": ["green"], "mark": 2}})
    assert r.json()["replaced"] is True
    form = (await client.get(f"{base(w)}/surveys/{sid}/form", headers=auth(runtime, w["residents"][1]))).json()
    assert form["answered"] is True and form["answers"] == {"color": ["green"], "mark": 2} and form["can_change"] is True

    h = auth(runtime, w["organizer"])
    res = (await client.get(f"{base(w)}/surveys/{sid}/results", headers=h)).json()
    assert res["responses"] == 3 and res["eligible"] == 4
    color = res["questions"][0]
    # Counts per option, not per combination: red 2, green 2, blue 2 of 3 people.
    assert [(o["key"], o["count"]) for o in color["options"]] == [("red", 2), ("green", 2), ("blue", 2)]
    mark = res["questions"][1]
    assert [b["count"] for b in mark["buckets"]] == [0, 1, 0, 1, 1] and mark["mean"] == 3.67 and mark["median"] == 4.0
    assert res["questions"][2]["texts"] == ["Bright"]
    assert res["questions"][3]["answered"] == 2 and res["questions"][3]["median"] == 47.5

    r = await client.get(f"{base(w)}/surveys/{sid}/charts/color", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(r.text)
    bars = [(g.get("data-label"), g.get("data-count")) for g in svg.iter("{http://www.w3.org/2000/svg}g")]
    assert bars == [("Red", "2"), ("Green", "2"), ("Blue", "2")]

    r = await client.get(f"{base(w)}/surveys/{sid}/export?format=csv", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["No.", "Version", "Date", "Respondent", "Favourite colours", "Your mark", "Why red?", "Your age"]
    assert rows[1][3] == "R0" and rows[1][4] == "Red, Blue" and rows[1][5] == "5" and rows[1][7] == "34"
    assert rows[2][4] == "Green" and rows[2][6] == ""

    r = await client.get(f"{base(w)}/surveys/{sid}/export?format=xlsx", headers=h)
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.values)
    assert values[0][4] == "Favourite colours" and values[3][4] == "Red, Green, Blue" and values[3][5] == 4

    # Publish: only once closed; each identified respondent is told in chat, after commit.
    assert (await client.post(f"{base(w)}/surveys/{sid}/publish", headers=h)).status_code == 409
    assert (await client.post(f"{base(w)}/surveys/{sid}/close", headers=h)).status_code == 200
    r = await client.post(f"{base(w)}/surveys/{sid}/response", headers=auth(runtime, w["residents"][0]), json={"answers": {"color": ["red"], "mark": 1}})
    assert r.status_code == 409
    assert (await client.post(f"{base(w)}/surveys/{sid}/publish", headers=h)).json()["results_published"] is True
    assert (await client.post(f"{base(w)}/surveys/{sid}/publish", headers=h)).status_code == 409
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "surveys.results")) == 3


async def test_results_reach_respondents_in_chat(harness, client, runtime):
    w = await _world(runtime)
    survey = await _created(client, runtime, w)
    sid = survey["id"]
    await client.post(f"{base(w)}/surveys/{sid}/response", headers=auth(runtime, w["residents"][0]),
                      json={"answers": {"color": ["red"], "mark": 4}, "consent": True})
    h = auth(runtime, w["organizer"])
    await client.post(f"{base(w)}/surveys/{sid}/close", headers=h)
    await client.post(f"{base(w)}/surveys/{sid}/publish", headers=h)
    harness.session.calls.clear()
    await deliver_outbox(runtime)
    sent = [c for c in harness.session.pop() if isinstance(c, SendMessage)]
    assert len(sent) == 1 and sent[0].chat_id == w["residents"][0].telegram_id
    # In the respondent's language (the default, Russian: they chose none).
    assert sent[0].text.startswith("Опубликованы итоги опроса «Colours». Спасибо за участие!") and "Red — 100% (1)" in sent[0].text


async def test_questions_lock_into_a_new_version(client, runtime):
    w = await _world(runtime)
    survey = await _created(client, runtime, w)
    sid = survey["id"]
    h = auth(runtime, w["organizer"])
    # Before any answer the version is edited in place.
    r = await client.put(f"{base(w)}/surveys/{sid}/questions", headers=h, json={"questions": QUESTIONS[:2]})
    assert r.json()["version"] == 1 and r.json()["locked"] is False
    await client.post(f"{base(w)}/surveys/{sid}/response", headers=auth(runtime, w["residents"][0]),
                      json={"answers": {"color": ["red"], "mark": 4}, "consent": True})
    assert (await client.get(f"{base(w)}/surveys/{sid}", headers=h)).json()["locked"] is True
    r = await client.put(f"{base(w)}/surveys/{sid}/questions", headers=h, json={"questions": QUESTIONS})
    assert r.json()["version"] == 2 and r.json()["locked"] is False and len(r.json()["questions"]) == 4
    async with runtime.sessionmaker() as s:
        versions = list(await s.scalars(select(SurveyVersion).where(SurveyVersion.survey_id == sid).order_by(SurveyVersion.number)))
        response = await s.scalar(select(SurveyResponse))
    assert [len(v.questions) for v in versions] == [2, 4] and versions[0].locked_at is not None
    assert response.version_id == versions[0].id
    # The mode is what respondents were told: fixed once anyone answered.
    r = await client.patch(f"{base(w)}/surveys/{sid}", headers=h, json={"anonymous": True})
    assert r.status_code == 409


async def test_template_and_closing_time(client, runtime):
    w = await _world(runtime)
    h = auth(runtime, w["organizer"])
    r = await client.post(f"{base(w)}/surveys/from-template", headers=h, json={"template": "maturity_audit"})
    assert r.status_code == 201
    body = r.json()
    keys = [q["key"] for q in body["questions"]]
    assert body["anonymous"] is True and {"in_demand", "expectations", "story"} <= set(keys)
    assert next(q for q in body["questions"] if q["key"] == "in_demand")["kind"] == "multiple"
    sid = body["id"]
    past = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    assert (await client.patch(f"{base(w)}/surveys/{sid}", headers=h, json={"closes_at": past})).status_code == 200
    assert (await client.post(f"{base(w)}/surveys/{sid}/open", headers=h)).status_code == 200
    async with runtime.sessionmaker() as s:
        survey = await s.get(Survey, sid)
        survey.closes_at = datetime.now(UTC) - timedelta(minutes=1)
        await s.commit()
    await survey_jobs.close_due(runtime)
    assert (await client.get(f"{base(w)}/surveys/{sid}", headers=h)).json()["status"] == "closed"


async def test_bad_input_is_4xx(client, runtime):
    w = await _world(runtime)
    survey = await _created(client, runtime, w)
    sid = survey["id"]
    h = auth(runtime, w["organizer"])
    resident = auth(runtime, w["residents"][0])
    bad_questions = [
        [{"key": "a", "kind": "single", "text": "One option", "options": [{"key": "x", "label": "X"}]}],
        [{"key": "a", "kind": "text", "text": "A"}, {"key": "a", "kind": "text", "text": "B"}],
        [{"key": "b", "kind": "text", "text": "Later", "show_if": {"question": "c", "any_of": ["x"]}},
         {"key": "c", "kind": "single", "text": "C", "options": [{"key": "x", "label": "X"}, {"key": "y", "label": "Y"}]}],
        [{"key": "BAD KEY", "kind": "text", "text": "A"}],
        [{"key": "a", "kind": "poll", "text": "A"}],
        [{"key": "a", "kind": "text", "text": "A\x00"}],
    ]
    for questions in bad_questions:
        r = await client.put(f"{base(w)}/surveys/{sid}/questions", headers=h, json={"questions": questions})
        assert r.status_code == 422, (questions, r.text)
        assert r.json()["error"] == "invalid" and r.json()["message"]
    bad_answers = [
        ({"color": ["purple"], "mark": 3}, "Choose one or more of the options."),
        ({"color": ["red"], "mark": 9}, "Choose a mark from 1 to 5."),
        ({"color": ["red"]}, "Please answer “Your mark”: it is required."),
        ({"color": ["red"], "mark": 3, "age": "old"}, "Send a number, e.g. 12 or 3,5."),
        ({"color": ["red"], "mark": 3, "age": 500}, "Send a number from 0 to 120."),
        ({"color": ["red"], "mark": 3, "nope": 1}, "There is no question “nope” in this survey."),
    ]
    for answers, message in bad_answers:
        r = await client.post(f"{base(w)}/surveys/{sid}/response", headers=resident, json={"answers": answers, "consent": True})
        assert r.status_code == 422 and r.json()["message"] == message, r.text
    # Identified without consent: refused until the policy is accepted.
    r = await client.post(f"{base(w)}/surveys/{sid}/response", headers=auth(runtime, w["residents"][1]), json={"answers": {"color": ["red"], "mark": 3}})
    assert r.status_code == 403
    # Residents do not manage; other towns do not see; a question that is not there is 404.
    assert (await client.get(f"{base(w)}/surveys", headers=resident)).status_code == 403
    assert (await client.get(f"{base(w)}/surveys/{sid}", headers=auth(runtime, w["outsider"]))).status_code == 404
    other = f"/api/v1/municipalities/{w['other'].id}"
    assert (await client.get(f"{other}/surveys/{sid}", headers=auth(runtime, w["outsider"]))).status_code == 404
    assert (await client.get(f"{base(w)}/surveys/{sid}/charts/nothere", headers=h)).status_code == 404
    assert (await client.get(f"{base(w)}/surveys/{sid}/export?format=pdf", headers=h)).status_code == 422
    r = await client.post(f"{base(w)}/surveys", headers=h, json={"title": "T", "opens_at": "2026-12-10T10:00:00Z", "closes_at": "2026-12-09T10:00:00Z"})
    assert r.status_code == 422 and r.json()["message"] == "The survey must close after it opens."
