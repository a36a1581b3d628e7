"""A town that has appeals off: every appeals route is a 404 (each route of the manifest's
routers, found by iterating them, not listed by hand), the chat has no /appeal command and no
appeals button, and the bot says clearly that the service is off on /appeal and on old buttons.

Texts are asserted in English (the test people have language_code "en")."""

from __future__ import annotations

import re
from typing import Any

from aiogram.methods import AnswerCallbackQuery, SendMessage, SetMyCommands
from fastapi.routing import APIRoute

from backend.core.municipalities.models import Municipality
from backend.core.users.models import Role
from backend.services.appeals.manifest import MANIFEST
from bot.services.appeals.callbacks import AppealKindCB, AppealMenuCB, AppealRateCB, AppealReplyCB, AppealViewCB
from tests import updates as U
from tests.factories import make_town, make_user, seed, tma
from tests.services.appeals.factories import make_appeal, make_category, make_resident

OFF = {"error": "not_found", "message": "This service is not available in this town."}
SAID_OFF = "«Appeals» is not available in Quiet."
APPEALS_COMMANDS = {c for c, _ in (("appeal", ""), ("myappeals", ""))}


def _routes(routers: Any) -> list[tuple[str, str]]:
    """(method, path) of every route of these routers."""
    return sorted((method, route.path) for router in routers for route in router.routes if isinstance(route, APIRoute) for method in route.methods)


def _fill(path: str, **values: Any) -> str:
    """The path with each {parameter} given its value, or 1."""
    return re.sub(r"\{(\w+)(:path)?\}", lambda m: str(values.get(m.group(1), 1)), path)


async def _world(runtime: Any) -> dict[str, Any]:
    async def make(s):  # noqa: ANN001, ANN202
        on = await make_town(s, slug="kolomna", name="Kolomna")
        off = await make_town(s, slug="quiet", name="Quiet", settings={"components": []})
        out: dict[str, Any] = {"on": on, "off": off}
        for key, town in (("on", on), ("off", off)):
            category = await make_category(s, town)
            admin = await make_user(s, first_name="Admin", town=town, roles=(Role.CLERK, Role.HEAD, Role.ADMIN))
            resident = await make_resident(s, town)
            appeal = await make_appeal(s, town, category, resident)
            out[key + "_admin"], out[key + "_appeal"], out[key + "_category"] = admin, appeal, category
        return out

    return await seed(runtime, make)


async def test_every_appeals_route_is_404_in_a_town_that_has_appeals_off(client, runtime):
    w = await _world(runtime)
    routes = _routes(MANIFEST.routers)
    assert len(routes) >= 25  # the queue, the card, its actions, categories, Open311 keys ...
    for method, path in routes:
        for key in ("off", "on"):
            ids = {"municipality_id": w[key].id, "appeal_id": w[key + "_appeal"].id, "category_id": w[key + "_category"].id}
            r = await client.request(method, _fill(path, **ids), json={}, headers={**tma(runtime, w[key + "_admin"]), "Accept-Language": "en"})
            if key == "off":
                assert (r.status_code, r.json()) == (404, OFF), f"{method} {path}"
            else:  # the same call where appeals are on reaches the route (whatever the route says)
                assert r.status_code != 404 or r.json() != OFF, f"{method} {path}"
    # Even without launch data: the town's switch is checked first, for anyone.
    for method, path in routes:
        r = await client.request(method, _fill(path, municipality_id=w["off"].id), headers={"Accept-Language": "en"})
        assert (r.status_code, r.json()) == (404, OFF), f"{method} {path}"


async def test_every_open311_route_is_404_for_a_town_that_has_appeals_off(client, runtime):
    w = await _world(runtime)
    routes = _routes(MANIFEST.public_routers)
    assert len(routes) >= 15
    for method, path in routes:
        off = await client.request(method, _fill(path, slug="quiet", rest="x"))
        assert off.status_code == 404, f"{method} {path}"
    on = await client.get(_fill("/open311/v2/{slug}/services.json", slug="kolomna"))
    assert on.status_code == 200 and on.json()[0]["service_code"] == "roads"


def _menu(calls: list[Any]) -> SendMessage:
    return next(c for c in calls if isinstance(c, SendMessage) and c.text.endswith("what would you like to do?"))


async def _town_settings(runtime: Any, town: Municipality, settings: dict) -> None:
    async def change(s):  # noqa: ANN001, ANN202
        row = await s.get(Municipality, town.id)
        row.settings = settings

    await seed(runtime, change)


async def test_no_command_no_button_and_a_clear_word_in_the_chat(harness, runtime):
    w = await _world(runtime)
    tg = U.tg_user(8101, "Ivan", language_code="en")

    # In a town with appeals on: the global command list (no call for the chat), the buttons.
    calls = await harness.feed(U.message(tg, "/start kolomna"))
    assert not [c for c in calls if isinstance(c, SetMyCommands)]
    menu = _menu(calls)
    assert AppealMenuCB(action="new").pack() in str(menu.reply_markup)

    # To a town that has appeals off: the chat's own list, without them; no appeals buttons.
    calls = await harness.feed(U.message(tg, "/start quiet"))
    [chat_list] = [c for c in calls if isinstance(c, SetMyCommands)]
    assert chat_list.scope.chat_id == 8101
    names = [c.command for c in chat_list.commands]
    assert not APPEALS_COMMANDS & set(names) and {"start", "help", "mydata"} <= set(names)
    menu = _menu(calls)
    assert menu.text == "Quiet: what would you like to do?"
    assert "amenu" not in str(menu.reply_markup) and "Write to the administration" not in str(menu.reply_markup)
    help_text = (await harness.feed(U.message(tg, "/help")))[0].text
    assert "/appeal" not in help_text

    # The commands typed anyway, and every kind of appeals button a chat may still hold.
    for command in ("/appeal", "/myappeals"):
        calls = await harness.feed(U.message(tg, command))
        assert isinstance(calls[0], SendMessage) and calls[0].text == SAID_OFF, command
    for data in (
        AppealMenuCB(action="new").pack(), AppealMenuCB(action="mine").pack(), AppealRateCB(appeal_id=1, stars=5).pack(),
        AppealReplyCB(appeal_id=1).pack(), AppealViewCB(appeal_id=1).pack(),
    ):
        calls = await harness.feed(U.callback(tg, data))
        assert isinstance(calls[0], AnswerCallbackQuery) and (calls[0].text, calls[0].show_alert) == (SAID_OFF, True), data

    # Back to a town with appeals: the chat's own list is dropped for the global one again.
    calls = await harness.feed(U.message(tg, "/start kolomna"))
    assert "DeleteMyCommands" in [type(c).__name__ for c in calls]


async def test_a_town_that_switches_appeals_off_while_people_are_in_it(harness, runtime):
    """Their chats had /appeal: /start gives them the town's list; a dialog left half-way
    says the service is off, and /start, /help and the profile keep working."""
    w = await _world(runtime)
    tg = U.tg_user(8102, "Ivan", language_code="en")
    await harness.feed(U.message(tg, "/start kolomna"))
    await harness.feed(U.message(tg, "/appeal"))
    await harness.feed(U.callback(tg, AppealKindCB(kind="report").pack()))

    await _town_settings(runtime, w["on"], {"components": []})
    calls = await harness.feed(U.message(tg, "Half of a report"))
    assert [c.text for c in calls if isinstance(c, SendMessage)] == ["«Appeals» is not available in Kolomna."]
    # The dialog is closed: the next words are the fallback's, not the refusal again.
    ctx = harness.dp.fsm.get_context(harness.bot, chat_id=8102, user_id=8102)
    assert await ctx.get_state() is None
    calls = await harness.feed(U.message(tg, "Hello there"))
    assert [c.text for c in calls] == ["I understand buttons and commands. Open the menu with /start or see /help."]
    calls = await harness.feed(U.message(tg, "/start"))
    [chat_list] = [c for c in calls if isinstance(c, SetMyCommands)]
    assert "appeal" not in [c.command for c in chat_list.commands]
    assert _menu(calls).text == "Kolomna: what would you like to do?"
    assert (await harness.feed(U.message(tg, "/help")))[0].text.startswith("What I can do:")
