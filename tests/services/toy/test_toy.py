"""A service nobody installed in backend/services or bot/services — the toy, declared in
tests/services/toy — installed into a registry and a dispatcher built here: it appears in the
hub, the API (404 where the town has it off), the administration's settings, the scheduler,
the bot (command, button, notice, "not available"), the demo and the personal-data export,
with no file of the house changed for it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram.methods import AnswerCallbackQuery, SendMessage, SetMyCommands
from sqlalchemy import select, update

from backend import demo, installed
from backend.core.users.models import Role
from backend.db import Base, unit_of_work, utcnow
from backend.jobs import all_jobs
from backend.models import SERVICE_MODELS
from backend.scheduler import make_scheduler, run_job
from bot.commands import commands_for
from tests import updates as U
from tests.factories import deliver_outbox, make_town, make_user, seed, tma
from tests.services.toy.backend.models import ToyNote
from tests.services.toy.bot.router import ToyCB
from tests.services.toy.conftest import COMPONENTS

NOTES = "/api/v1/municipalities/{town}/toy/notes"
OFF = "This service is not available in this town."


async def _world(runtime: Any) -> dict[str, Any]:
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Kolomna")
        quiet = await make_town(s, slug="quiet", name="Quiet", settings={"components": ["appeals"]})  # the toy off
        return {
            "town": town, "quiet": quiet,
            "anna": await make_user(s, telegram_id=7001, first_name="Anna", town=town),
            "boris": await make_user(s, telegram_id=7002, first_name="Boris", town=quiet),
            "admin": await make_user(s, telegram_id=7003, first_name="Admin", town=town, roles=(Role.ADMIN,)),
        }

    return await seed(runtime, make)


async def test_the_toy_is_in_the_hub_where_the_town_has_it_on(client, runtime):
    w = await _world(runtime)
    hub = await client.get(f"/api/v1/municipalities/{w['town'].id}/services", headers=tma(runtime, w["anna"]))
    assert {"slug": "toy", "title": "Toy notes", "description": "Short notes a resident keeps", "icon": "🧸", "path": "toy/"} in hub.json()
    quiet = await client.get(f"/api/v1/municipalities/{w['quiet'].id}/services", headers=tma(runtime, w["boris"]))
    assert quiet.status_code == 200 and "toy" not in [c["slug"] for c in quiet.json()]
    # It is there because this registry has it: the house's own does not.
    assert "toy" in runtime.registry and "toy" not in installed.registry()


async def test_the_toy_api_answers_and_is_404_where_the_town_has_it_off(client, runtime):
    w = await _world(runtime)
    url = NOTES.format(town=w["town"].id)
    r = await client.post(url, json={"text": "Buy milk"}, headers=tma(runtime, w["anna"]))
    assert r.status_code == 201 and r.json()["text"] == "Buy milk"
    mine = await client.get(url, headers=tma(runtime, w["anna"]))
    assert [n["text"] for n in mine.json()] == ["Buy milk"]
    assert (await client.post(url, json={"text": ""}, headers=tma(runtime, w["anna"]))).status_code == 422
    # Described in the OpenAPI like every other route.
    paths = (await client.get("/api/openapi.json")).json()["paths"]
    assert set(paths["/api/v1/municipalities/{municipality_id}/toy/notes"]) == {"get", "post"}

    for method in ("GET", "POST"):
        off = await client.request(method, NOTES.format(town=w["quiet"].id), json={"text": "x"}, headers=tma(runtime, w["boris"]) | {"Accept-Language": "en"})
        assert off.status_code == 404 and off.json() == {"error": "not_found", "message": OFF}


async def test_the_toys_settings_and_actions_appear_in_the_administration(client, runtime):
    """Rendered from the toy's manifest and checked by its model; the town's values reach its routes."""
    w = await _world(runtime)
    base = f"/api/v1/municipalities/{w['town'].id}/admin"
    data = (await client.get(f"{base}/settings", headers=tma(runtime, w["admin"]))).json()
    toy = next(c for c in data["components"] if c["slug"] == "toy")
    assert toy["enabled"] is True and toy["settings"] == {"keep_days": 30, "max_notes": 3}
    assert set(toy["settings_schema"]["properties"]) == {"keep_days", "max_notes"}
    assert [a["name"] for a in toy["actions"]] == ["write"]

    bad = await client.patch(f"{base}/components/toy", json={"settings": {"max_notes": 0}}, headers=tma(runtime, w["admin"]))
    assert bad.status_code == 422 and bad.json()["fields"] == ["settings.max_notes"]
    ok = await client.patch(f"{base}/components/toy", json={"settings": {"max_notes": 1}}, headers=tma(runtime, w["admin"]))
    assert ok.status_code == 200 and ok.json()["settings"]["max_notes"] == 1
    url = NOTES.format(town=w["town"].id)
    assert (await client.post(url, json={"text": "one"}, headers=tma(runtime, w["anna"]))).status_code == 201
    two = await client.post(url, json={"text": "two"}, headers=tma(runtime, w["anna"]))
    assert two.status_code == 409 and two.json()["message"] == "You have as many notes as this town allows."

    # The town may narrow who may use it, like any declared action.
    r = await client.patch(f"{base}/components/toy", json={"permissions": {"write": ["admin"]}}, headers=tma(runtime, w["admin"]))
    assert r.status_code == 200
    assert (await client.get(url, headers=tma(runtime, w["anna"]))).status_code == 403
    # Switched off there: 404.
    r = await client.patch(f"{base}/components/toy", json={"enabled": False}, headers=tma(runtime, w["admin"]))
    assert r.status_code == 200
    assert (await client.get(url, headers=tma(runtime, w["admin"]))).status_code == 404


async def test_the_toys_job_is_scheduled_and_runs(runtime):
    w = await _world(runtime)
    jobs = {job.id: job for job in all_jobs(runtime.registry)}
    assert "toy.tidy" in jobs and "toy.tidy" not in {job.id for job in all_jobs(installed.registry())}
    scheduler = make_scheduler(runtime, list(jobs.values()))
    scheduled = scheduler.get_job("toy.tidy")
    assert scheduled is not None and scheduled.trigger.interval == timedelta(hours=1)

    async def notes(s):  # noqa: ANN001, ANN202
        s.add_all([ToyNote(municipality_id=w["town"].id, user_id=w["anna"].id, text=t) for t in ("old", "new")])
        await s.flush()
        await s.execute(update(ToyNote).where(ToyNote.text == "old").values(created_at=utcnow() - timedelta(days=31)))

    await seed(runtime, notes)
    assert await run_job(runtime, jobs["toy.tidy"]) is True
    async with runtime.sessionmaker() as s:
        assert list(await s.scalars(select(ToyNote.text))) == ["new"]


async def test_the_toy_is_in_the_personal_data_export_and_erased_with_the_person(client, runtime):
    w = await _world(runtime)
    url = NOTES.format(town=w["town"].id)
    assert (await client.post(url, json={"text": "Buy milk"}, headers=tma(runtime, w["anna"]))).status_code == 201
    export = await client.get("/api/v1/me/export", headers=tma(runtime, w["anna"]))
    assert export.status_code == 200
    [note] = export.json()["toy"]
    assert (note["municipality_id"], note["text"]) == (w["town"].id, "Buy milk")
    assert (await client.get("/api/v1/me/export", headers=tma(runtime, w["boris"]))).json()["toy"] == []

    assert (await client.delete("/api/v1/me", headers=tma(runtime, w["anna"]))).status_code == 204
    async with runtime.sessionmaker() as s:
        assert list(await s.scalars(select(ToyNote))) == []


async def test_the_toy_in_the_chat(harness, client, runtime):
    """Its command, its menu button, its notice with its own button, its /help line; and in a
    town that has it off, no command, no button and a clear word on /toy and on an old button."""
    w = await _world(runtime)
    anna = U.tg_user(7001, "Anna", language_code="en")

    calls = await harness.feed(U.message(anna, "/start kolomna"))
    menu = next(c for c in calls if isinstance(c, SendMessage) and c.text == "Kolomna: what would you like to do?")
    rows = [[(b.text, b.callback_data) for b in row] for row in menu.reply_markup.inline_keyboard]
    assert [("🧸 My notes", ToyCB(action="list").pack())] in rows
    assert ("🧸 Toy notes", None) in [b for row in rows for b in row]  # its miniapp, from the manifest
    calls = await harness.feed(U.message(anna, "/toy"))
    assert [c.text for c in calls] == ["You have no notes yet."]

    assert (await client.post(NOTES.format(town=w["town"].id), json={"text": "Buy milk"}, headers=tma(runtime, w["anna"]))).status_code == 201
    harness.session.calls.clear()
    assert await deliver_outbox(runtime) == 1
    [kept] = harness.session.pop()
    assert isinstance(kept, SendMessage) and kept.chat_id == 7001 and kept.text == "Your note is kept: Buy milk"
    assert kept.reply_markup.inline_keyboard[0][0].callback_data == ToyCB(action="list").pack()
    calls = await harness.feed(U.callback(anna, ToyCB(action="list").pack()))
    assert isinstance(calls[0], AnswerCallbackQuery) and calls[1].text == "Your notes:\n• Buy milk"
    assert "/toy — your notes" in (await harness.feed(U.message(anna, "/help")))[0].text
    assert "toy" in [c.command for c in commands_for("en", COMPONENTS)]

    # Quiet has the toy off.
    boris = U.tg_user(7002, "Boris", language_code="en")
    calls = await harness.feed(U.message(boris, "/start quiet"))
    [chat_commands] = [c for c in calls if isinstance(c, SetMyCommands)]
    assert chat_commands.scope.chat_id == 7002 and "toy" not in [c.command for c in chat_commands.commands]
    assert "appeal" in [c.command for c in chat_commands.commands]
    menu = next(c for c in calls if isinstance(c, SendMessage) and c.text == "Quiet: what would you like to do?")
    assert "🧸" not in str(menu.reply_markup)
    # /toy (typed, or from a list the chat had before) and an old button: a clear word, and the
    # chat gets the town's own list again.
    calls = await harness.feed(U.message(boris, "/toy"))
    assert [type(c) for c in calls] == [SendMessage, SetMyCommands] and calls[0].text == "«Toy notes» is not available in Quiet."
    assert "toy" not in [c.command for c in calls[1].commands] and calls[1].scope.chat_id == 7002
    calls = await harness.feed(U.callback(boris, ToyCB(action="list").pack()))
    assert isinstance(calls[0], AnswerCallbackQuery) and calls[0].text == "«Toy notes» is not available in Quiet." and calls[0].show_alert is True
    assert [type(c) for c in calls] == [AnswerCallbackQuery, SetMyCommands]


async def test_the_toy_seeds_its_demo_data(runtime):
    async with unit_of_work(runtime.sessionmaker) as s:
        assert await demo.seed(s, runtime.registry) is True
    async with runtime.sessionmaker() as s:
        assert list(await s.scalars(select(ToyNote.text))) == ["Buy bread"]


def test_the_toys_table_is_not_in_the_migrated_metadata():
    """The toy is not migrated: the drift check and the shared metadata never see it."""
    assert "toy_note" not in Base.metadata.tables and ToyNote not in SERVICE_MODELS
