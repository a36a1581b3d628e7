"""/atlas through the real Dispatcher: the page's link and the button to share a story; a town
with the Atlas off says so."""

from __future__ import annotations

from aiogram.methods import SendMessage, SetMyCommands

from tests import updates as U
from tests.factories import make_town, seed


async def test_atlas_command_gives_the_page_and_a_share_button(harness, runtime):
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    anna = U.tg_user(731, "Анна")
    await harness.feed(U.message(anna, "/start kolomna"))

    calls = await harness.feed(U.message(anna, "/atlas"))

    assert len(calls) == 1 and isinstance(calls[0], SendMessage)
    assert "Атлас счастья города Коломна" in calls[0].text and "https://glocal.test/atlas/kolomna" in calls[0].text
    buttons = [b for row in calls[0].reply_markup.inline_keyboard for b in row]
    assert buttons[0].url == "https://glocal.test/atlas/kolomna"
    assert buttons[1].web_app.url == f"https://glocal.test/app/atlas/?town={town.id}&view=share"


async def test_atlas_command_in_a_town_without_it(harness, runtime):
    await seed(runtime, lambda s: make_town(s, slug="plain", name="Простоград", settings={"components": ["appeals"]}))
    ivan = U.tg_user(732, "Иван")
    await harness.feed(U.message(ivan, "/start plain"))

    calls = await harness.feed(U.message(ivan, "/atlas"))

    # Touching a service the town switched off also sets the chat's commands again.
    [said] = [c for c in calls if isinstance(c, SendMessage)]
    assert "недоступ" in said.text and "Простоград" in said.text
    assert all(isinstance(c, (SendMessage, SetMyCommands)) for c in calls)
