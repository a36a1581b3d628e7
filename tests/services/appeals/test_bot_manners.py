"""The chat's manners around appeals, through the real Dispatcher: a warning for a text that
cannot be read and a receipt that promises one thing; free text outside a dialog offered for
filing; /start in the middle of a dialog saying that the draft is kept.

Texts are asserted in English (the test people have language_code "en")."""

from __future__ import annotations

from typing import Any

from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, SendMessage

from backend.services.appeals.models import Appeal
from bot.routers.fallback import LONG_TEXT
from bot.services.appeals.callbacks import AppealCategoryCB, AppealKindCB
from bot.services.appeals.dialog import AppealForm
from tests.factories import make_town, seed
from tests.services.appeals.test_bot import Resident, buttons, closed, joined_and_consented, make_kolomna, only_appeal, step, types

FORMAL_WARNING = (
    "⚠️ This text has no words that can be read. Under article 11 of Federal Law 59-FZ an appeal whose "
    "text cannot be read is not answered. Add words, press “Start over”, or go on if you are sure."
)
REPORT_WARNING = "⚠️ This text has no words that can be read: the service may not understand the problem. Add words or press “Start over”."
OFFER = (
    "Shall I pass this on to the administration of Kolomna? I can file it as a formal appeal under Federal Law 59-FZ (it needs your "
    "name, a reply address and identification) or as a problem report (quicker, no identification). What you "
    "wrote becomes its text, and you can add to it."
)
OFFER_BUTTONS = [
    [("📄 File as an appeal", step("offer", "formal")), ("⚡ File as a problem report", step("offer", "report"))],
    [("✖️ No, thanks", step("offer", "dismiss"))],
]
SMALL_TALK = "I understand buttons and commands. Open the menu with /start or see /help."


def texts(calls: list[Any]) -> list[str]:
    return [c.text for c in calls if isinstance(c, SendMessage)]


# --- unreadable texts ---------------------------------------------------------------------------


async def test_unreadable_text_is_warned_at_the_text_step_and_the_receipt_is_consistent(harness, runtime):
    town, roads, _light = await make_kolomna(runtime, identity="telegram")
    r = Resident(harness, 901)
    await joined_and_consented(r)
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="complaint").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())

    calls = await r.send("😡😡😡 !!! ???")
    assert calls[0].text == "Got it: 11 of 10000 characters. Send more, or press “Done”.\n\n" + FORMAL_WARNING
    assert buttons(calls[0])[0] == [("✅ Done", step("text", "done")), ("🗑 Start over", step("text", "clear"))]
    # The person may go on anyway; the summary repeats the warning.
    await r.press(step("text", "done"))
    await r.press(step("files", "skip"))
    await r.send("⏭ Skip")
    await r.send("Ivanov Ivan Ivanovich")
    calls = await r.send("ivanov@example.ru")
    summary = calls[-1].text
    assert summary.startswith("Please check everything before sending:") and summary.endswith("\n\n" + FORMAL_WARNING)

    calls = await r.press(step("sum", "submit"))
    appeal = await only_appeal(runtime)
    assert (appeal.status, appeal.answer_required) == ("no_answer_required", False)
    receipt = calls[2].text
    assert "Under article 11 of Federal Law 59-FZ this appeal will not be answered: The text of the appeal cannot be read." in receipt
    assert "To receive an answer, write the appeal again in words." in receipt
    assert receipt.endswith("\n\nYour appeals: /myappeals")
    assert "The answer will come to this chat" not in receipt and "Answer due by" not in receipt


async def test_a_readable_text_gets_no_warning_and_a_report_its_own(harness, runtime):
    _town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 902)
    await r.send("/start kolomna")
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="report").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    calls = await r.send("ЯМА!!!")  # short and loud, but words
    assert calls[0].text == "Got it: 6 of 10000 characters. Send more, or press “Done”."
    await r.press(step("text", "clear"))
    calls = await r.send("🕳🕳🕳")
    assert calls[0].text.endswith("\n\n" + REPORT_WARNING)


# --- free text outside a dialog ----------------------------------------------------------------


async def test_free_text_outside_a_dialog_is_offered_as_a_report_with_the_text_prefilled(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 903)
    await r.send("/start kolomna")
    first, second = "There is a deep pothole on Mira street.", "Cars get damaged every day."
    calls = await r.send(first)
    assert types(calls) == [SendMessage] and calls[0].text == OFFER and buttons(calls[0]) == OFFER_BUTTONS
    calls = await r.send(second)  # the complaint comes in two messages: both are kept
    joined = f"{first}\n\n{second}"
    assert calls[0].text == f"Added: the text has {len(joined)} characters now. File it with the buttons below, or press “No, thanks”."
    assert buttons(calls[0]) == OFFER_BUTTONS
    assert await r.state() == (None, {"offer": [first, second]})

    calls = await r.press(step("offer", "report"))
    assert closed(calls) and calls[2].text == "What is it about? Choose a category."
    calls = await r.press(AppealCategoryCB(id=roads.id).pack())
    assert calls[2].text.startswith(f"Your text has {len(joined)} characters now.")
    state, data = await r.state()
    assert state == AppealForm.text.state
    assert data == {"town_id": town.id, "parts": [first, second], "files": [], "kind": "report", "category_id": roads.id}
    # An old offer button now belongs to another step.
    calls = await r.press(step("offer", "formal"))
    assert calls[0].show_alert is True and calls[0].text.startswith("This button belongs to another step.")


async def test_free_text_offered_as_an_appeal_asks_the_kind_first(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 904)
    await r.send("/start kolomna")
    await r.send("Nobody repairs the stairs in house 3.")
    calls = await r.press(step("offer", "formal"))
    assert closed(calls) and calls[2].text.startswith("What would you like to send?")
    await r.press(AppealKindCB(kind="complaint").pack())
    calls = await r.press(AppealCategoryCB(id=roads.id).pack())
    assert calls[2].text.startswith("Your text has 37 characters now.")
    assert (await r.state())[1]["parts"] == ["Nobody repairs the stairs in house 3."]


async def test_no_thanks_drops_the_offer(harness, runtime):
    await make_kolomna(runtime)
    r = Resident(harness, 905)
    await r.send("/start kolomna")
    await r.send("Where can I pay for parking near the station?")
    calls = await r.press(step("offer", "dismiss"))
    assert closed(calls) and calls[2].text == "All right, nothing was sent. The menu: /start, all commands: /help"
    assert await r.state() == (None, {})
    calls = await r.press(step("offer", "report"))  # pressed again: nothing to file any more
    assert types(calls) == [AnswerCallbackQuery] and calls[0].show_alert is True
    assert calls[0].text == "This button is no longer active. Send /start for a fresh menu."
    async with runtime.sessionmaker() as s:
        assert (await s.get(Appeal, 1)) is None


async def test_small_talk_no_town_and_towns_without_appeals_go_to_the_fallback(harness, runtime):
    await make_kolomna(runtime)
    r = Resident(harness, 906)
    # No town yet: a long paste gets the fallback's word, and so does small talk.
    calls = await r.send("x " * (LONG_TEXT // 2 + 1))
    assert calls[0].text.startswith("That is a long message")
    await r.send("/start kolomna")
    calls = await r.send("Hello there")  # two words: small talk, not an offer
    assert texts(calls) == [SMALL_TALK]
    calls = await r.send("🙂🙂🙂 👍👍👍 🙏🙏🙏")
    assert texts(calls) == [SMALL_TALK]

    # A long paste in a town with appeals is offered like any other text.
    paste = "The heating in our block has been off since Monday. " * 70
    assert len(paste) > LONG_TEXT
    calls = await r.send(paste)
    assert calls[0].text == OFFER

    # In a town that has appeals off, free text is the fallback's, not the service's "off".
    await seed(runtime, lambda s: make_town(s, slug="quiet", name="Quiet", settings={"components": []}))
    r2 = Resident(harness, 907)
    await r2.send("/start quiet")
    calls = await r2.send("There is a deep pothole on Mira street.")
    assert texts(calls) == [SMALL_TALK]
    assert await r2.state() == (None, {})


# --- /start in the middle of a dialog -----------------------------------------------------------


async def test_start_mid_dialog_says_the_draft_is_kept_and_offers_to_go_on_or_discard(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 908)
    await r.send("/start kolomna")
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="report").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    await r.send("Half-written text.")

    calls = await r.send("/start")
    said = texts(calls)
    assert said[0] == "You have an unfinished appeal; it is kept. Continue it, or discard it?"
    assert buttons(calls[0]) == [[("▶️ Continue", step("resume", "continue")), ("🗑 Discard", step("resume", "discard"))]]
    # ... and /start still does what it does: the greeting and the menu.
    assert said[1].startswith("Hello, Ivan!") and said[2] == "Kolomna: what would you like to do?"
    assert (await r.state())[0] == AppealForm.text.state

    calls = await r.press(step("resume", "continue"))
    assert closed(calls) and calls[2].text.startswith("Your text has 18 characters now.")

    # With a deep link the link still works, after the same word about the draft.
    calls = await r.send("/start kolomna")
    assert texts(calls)[0] == "You have an unfinished appeal; it is kept. Continue it, or discard it?"
    assert texts(calls)[-1] == "Kolomna: what would you like to do?"
    calls = await r.press(step("resume", "discard"))
    assert types(calls)[:2] == [AnswerCallbackQuery, EditMessageReplyMarkup]
    assert calls[2].text == "The unfinished appeal has been discarded."
    assert await r.state() == (None, {})

    # Without a dialog /start is as before: no word about drafts.
    calls = await r.send("/start")
    assert texts(calls)[0].startswith("Hello, Ivan!")
    # And /help in the middle of a dialog still answers.
    await r.send("/appeal")
    calls = await r.send("/help")
    assert texts(calls)[0].startswith("What I can do:")
