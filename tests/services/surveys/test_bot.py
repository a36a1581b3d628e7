"""Surveys answered in the chat, end to end: real Update JSON through the real Dispatcher,
asserting on the exact Bot API calls and on what lands in the database.

Texts are asserted in English (the test people have language_code "en")."""

from __future__ import annotations

import json
from typing import Any

from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, SendMessage
from sqlalchemy import select

from backend.core.files.models import StoredFile
from backend.core.users.models import Role, User
from backend.models import Base
from backend.services.surveys import service as surveys
from backend.services.surveys.models import SurveyResponse, SurveyVoter
from backend.services.surveys.rules import Question
from backend.services.surveys.schemas import SurveyIn
from bot.callbacks import PrivacyCB
from bot.services.surveys.callbacks import SurveyChangeCB, SurveyEditCB, SurveyOpenCB, SurveyOptionCB, SurveyStepCB
from tests import updates as U
from tests.conftest import BotHarness
from tests.factories import make_town, make_user, seed

QUESTIONS = [
    {"key": "car", "kind": "single", "text": "Do you drive to work?", "options": [{"key": "yes", "label": "Yes"}, {"key": "no", "label": "No"}]},
    {"key": "km", "kind": "number", "text": "How many km a day?", "min_value": 0, "max_value": 1000,
     "show_if": {"question": "car", "any_of": ["yes"]}},
    {"key": "use", "kind": "multiple", "text": "What else do you use?", "options": [
        {"key": "bus", "label": "Bus"}, {"key": "bike", "label": "Bike"}, {"key": "walk", "label": "Walking"}]},
    {"key": "more", "kind": "text", "text": "Anything else?", "required": False},
    {"key": "mark", "kind": "scale", "text": "Rate the roads", "scale_min": 1, "scale_max": 5},
]


def step(action: str) -> str:
    return SurveyStepCB(action=action).pack()  # type: ignore[arg-type]


def opt(q: int, v: int) -> str:
    return SurveyOptionCB(q=q, v=v).pack()


def buttons(call: Any) -> list[list[str]]:
    return [[b.text for b in row] for row in call.reply_markup.inline_keyboard]


class Person:
    def __init__(self, harness: BotHarness, telegram_id: int) -> None:
        self.h = harness
        self.tg = U.tg_user(telegram_id, "Ivan", language_code="en")
        self.id = telegram_id

    async def send(self, text: str) -> list[Any]:
        return await self.h.feed(U.message(self.tg, text))

    async def press(self, data: str) -> list[Any]:
        return await self.h.feed(U.callback(self.tg, data))

    async def feed(self, builder: Any, *args: Any) -> list[Any]:
        return await self.h.feed(builder(self.tg, *args))


def sent(calls: list[Any]) -> list[SendMessage]:
    return [c for c in calls if isinstance(c, SendMessage)]


async def make_world(runtime: Any, *, anonymous: bool, questions: list[dict] = QUESTIONS) -> dict[str, Any]:
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="murom", name="Murom")
        organizer = await make_user(s, town=town, roles=(Role.RESIDENT, Role.ORGANIZER))
        # A few other people first, so the resident's row id is not one a survey row holds by chance.
        for _ in range(4):
            await make_user(s, town=town)
        survey = await surveys.create(
            s, municipality_id=town.id, actor_id=organizer.id,
            data=SurveyIn(title="Getting around", anonymous=anonymous, questions=[Question.model_validate(q) for q in questions]),
        )
        await surveys.open_(s, survey=survey, actor_id=organizer.id)
        return {"town": town, "survey": survey, "organizer": organizer}

    return await seed(runtime, make)


async def _snapshot(runtime: Any) -> dict[str, set[str]]:
    """Every row of every table, as JSON text."""
    out: dict[str, set[str]] = {}
    async with runtime.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(table.select())).mappings().all()
            out[table.name] = {json.dumps(dict(r), default=str, sort_keys=True) for r in rows}
    return out


def _user_fk_columns() -> dict[str, list[str]]:
    """The columns of each table that refer to a person (foreign keys to user_account)."""
    out: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        cols = [c.name for c in table.columns if any(fk.column.table.name == "user_account" for fk in c.foreign_keys)]
        out[table.name] = cols
    return out


async def test_anonymous_survey_with_branching_skip_and_back(harness, runtime):
    w = await make_world(runtime, anonymous=True)
    r = Person(harness, 7_700_001)
    await r.send("/start murom")
    async with runtime.sessionmaker() as s:
        me = await s.scalar(select(User).where(User.telegram_id == r.id))
    before = await _snapshot(runtime)

    calls = await r.send("/surveys")
    assert sent(calls)[0].text == "Surveys of Murom: choose one to answer."
    assert buttons(sent(calls)[0]) == [["📊 Getting around"], ["🗂 Answer in the Mini App"]]
    assert sent(calls)[0].reply_markup.inline_keyboard[1][0].web_app.url == f"https://glocal.test/app/surveys/?town={w['town'].id}"
    calls = await r.press(SurveyOpenCB(survey_id=w["survey"].id).pack())
    intro = sent(calls)[0].text
    assert intro.startswith("📊 Getting around") and "🔒 This survey is anonymous." in intro and "only that message holds the key" in intro

    # Question 1 of 4: the km question is not counted while its condition does not hold.
    calls = await r.press(step("begin"))
    q1 = sent(calls)[0]
    assert q1.text.startswith("Question 1 of 4\n\nDo you drive to work?") and buttons(q1) == [["Yes"], ["No"], ["✖️ Cancel"]]
    # "Yes" reveals the km question: now 2 of 5.
    calls = await r.press(opt(0, 0))
    assert sent(calls)[0].text.startswith("Question 2 of 5\n\nHow many km a day?")
    assert buttons(sent(calls)[0]) == [["⬅️ Back", "✖️ Cancel"]]
    # A wrong number: a clear message, nothing lost, still on the same question.
    calls = await r.send("a lot")
    assert sent(calls)[0].text == "Send a number, e.g. 12 or 3,5.\nNothing is lost: answer this question again."
    calls = await r.send("5000")
    assert sent(calls)[0].text.startswith("Send a number from 0 to 1000.")
    calls = await r.send("12,5")
    assert sent(calls)[0].text.startswith("Question 3 of 5\n\nWhat else do you use?")
    # Back, twice: the answers so far are shown; then "No" skips the km question.
    calls = await r.press(step("back"))
    assert "Your answer now: 12.5" in sent(calls)[0].text
    calls = await r.press(step("back"))
    assert sent(calls)[0].text.startswith("Question 1 of 5") and "Your answer now: Yes" in sent(calls)[0].text
    calls = await r.press(opt(0, 1))
    q3 = sent(calls)[0]
    assert q3.text.startswith("Question 2 of 4\n\nWhat else do you use?")
    # A button of an older question does nothing.
    calls = await r.press(opt(0, 0))
    assert isinstance(calls[0], AnswerCallbackQuery) and calls[0].text == "This button belongs to another question."
    # Multiple choice: toggles redraw the buttons; Done takes them.
    calls = await r.press(opt(2, 0))
    assert isinstance(calls[1], EditMessageReplyMarkup) and buttons(calls[1])[0] == ["☑️ Bus"]
    calls = await r.press(opt(2, 2))
    assert [row[0] for row in buttons(calls[1])[:3]] == ["☑️ Bus", "⬜ Bike", "☑️ Walking"]
    calls = await r.press(step("done"))
    q4 = sent(calls)[0]
    assert q4.text.startswith("Question 3 of 4\n\nAnything else?") and "You may skip this question." in q4.text
    assert buttons(q4) == [["⬅️ Back", "⏭ Skip", "✖️ Cancel"]]
    calls = await r.press(step("skip"))
    q5 = sent(calls)[0]
    assert q5.text.startswith("Question 4 of 4\n\nRate the roads") and buttons(q5)[0] == ["1", "2", "3", "4", "5"]
    calls = await r.press(opt(4, 4))
    summary = sent(calls)[0]
    assert summary.text == (
        "Your answers to «Getting around»:\n\n"
        "1. Do you drive to work?\n   No\n2. What else do you use?\n   Bus, Walking\n3. Anything else?\n   (skipped)\n"
        "4. Rate the roads\n   4\n\nPress “Send” to send them, or change an answer by its number."
    )
    assert buttons(summary) == [["📨 Send"], ["✏️ 1", "✏️ 2", "✏️ 3", "✏️ 4"], ["⬅️ Back", "✖️ Cancel"]]
    # Change the mark from the summary: straight back to the summary.
    calls = await r.press(SurveyEditCB(q=3).pack())
    assert sent(calls)[0].text.startswith("Question 4 of 4")
    calls = await r.press(opt(4, 3))
    assert "4. Rate the roads\n   3" in sent(calls)[0].text
    calls = await r.press(step("submit"))
    thanks = sent(calls)[-1]
    assert thanks.text.startswith("Thank you! Your answers are saved, with no link to you.")
    # The key to change them lives only in this button (the database keeps its hash).
    change = thanks.reply_markup.inline_keyboard[0][0]
    assert change.text == "✏️ Change my answers" and change.callback_data.startswith(f"schg:{w['survey'].id}:")
    assert len(change.callback_data.encode()) <= 64

    async with runtime.sessionmaker() as s:
        responses = list(await s.scalars(select(SurveyResponse)))
        voters = list(await s.scalars(select(SurveyVoter)))
    assert len(responses) == 1 and len(voters) == 1
    # The hidden km answer is not kept; the skipped one is absent.
    assert responses[0].answers == {"car": "no", "use": ["bus", "walk"], "mark": 3}
    assert responses[0].user_id is None and responses[0].submitted_at.hour == 0 and responses[0].submitted_at.minute == 0

    # Every row that answering created or changed, in every table, holds neither the
    # person's id (in any column referring to a person) nor their Telegram id. Two tables
    # are keyed by the chat by design and are checked for what they still hold: the dialog
    # state (emptied at Send) and the transport's handled updates (their payloads are
    # dropped once handled; their replies, kept up to 3 days for exactly-once delivery, are
    # the bot's own messages and are told to respondents).
    after = await _snapshot(runtime)
    fks = _user_fk_columns()
    changed = {t: after[t] - before.get(t, set()) for t in after}
    assert changed["survey_response"] and changed["survey_voter"]
    for table, rows in changed.items():
        for text in rows:
            row = json.loads(text)
            if table == "dialog_state":
                assert row["state"] is None and row["data"] in ({}, "{}")
                continue
            if table == "inbound_update":
                assert row["payload"] is None
                continue
            assert str(r.id) not in text, (table, row)
            for col in fks[table]:
                assert row[col] != me.id, (table, col, row)

    assert responses[0].edit_key is not None and change.callback_data.rsplit(":", 1)[1] not in responses[0].edit_key

    # Once is enough: the list marks it answered, and opening it again says how to change it.
    calls = await r.send("/surveys")
    assert buttons(sent(calls)[0])[0] == ["✅ Getting around"]
    calls = await r.press(SurveyOpenCB(survey_id=w["survey"].id).pack())
    assert sent(calls)[0].text.startswith("You have already answered «Getting around». Thank you! To change your answers")

    # The button opens the same answers; sent again, they replace the response.
    calls = await r.press(change.callback_data)
    assert not any(isinstance(c, EditMessageReplyMarkup) for c in calls)  # the key stays on its message
    assert sent(calls)[0].text == "Changing your answers to «Getting around»."
    assert "Your answer now: No" in sent(calls)[1].text
    await r.press(opt(0, 0))
    await r.send("7")
    calls = await r.press(step("done"))  # bus and walking are still chosen
    await r.press(step("skip"))
    await r.press(opt(4, 5))
    calls = await r.press(step("submit"))
    assert sent(calls)[-1].text == "Thank you! Your answers are replaced, still with no link to you."
    async with runtime.sessionmaker() as s:
        responses = list(await s.scalars(select(SurveyResponse)))
        voters = list(await s.scalars(select(SurveyVoter)))
    assert len(responses) == 1 and len(voters) == 1 and responses[0].user_id is None
    assert responses[0].answers == {"car": "yes", "km": 7, "use": ["bus", "walk"], "mark": 5}
    # A forged key opens nothing.
    calls = await r.press(SurveyChangeCB(survey_id=w["survey"].id, key="x" * 22).pack())
    assert calls[0].text == "This button no longer opens your answers."


async def test_identified_survey_consent_photo_and_change(harness, runtime):
    questions = [
        {"key": "when", "kind": "date", "text": "When did you move here?"},
        {"key": "pic", "kind": "photo", "text": "A photo of your street", "required": False},
        {"key": "why", "kind": "text", "text": "Why here?"},
    ]
    w = await make_world(runtime, anonymous=False, questions=questions)
    r = Person(harness, 7_700_002)
    await r.send("/start murom")
    # The deep link opens the survey.
    calls = await r.send(f"/start srv_{w['survey'].id}")
    intro = sent(calls)[-1].text
    assert "👤 This survey is not anonymous" in intro and "152-FZ" in intro
    calls = await r.press(step("begin"))
    assert sent(calls)[0].text.startswith("Consent to the processing of personal data")
    calls = await r.press(PrivacyCB(action="accept").pack())
    assert calls[0].text == "Thank you, consent recorded."
    assert sent(calls)[0].text.startswith("Question 1 of 3\n\nWhen did you move here?")
    calls = await r.send("31.02.2020")
    assert sent(calls)[0].text == "Send a date as DD.MM.YYYY, e.g. 25.12.2026.\nNothing is lost: answer this question again."
    calls = await r.send("01.09.2015")
    assert sent(calls)[0].text.startswith("Question 2 of 3\n\nA photo of your street")
    calls = await r.send("no photo")
    assert sent(calls)[0].text == "Send a photo in reply. Nothing is lost: answer this question again."
    calls = await r.feed(U.photo, "photo-street")
    assert sent(calls)[0].text.startswith("Question 3 of 3")
    await r.send("The river")
    calls = await r.press(step("submit"))
    assert sent(calls)[-1].text == "Thank you! Your answers are saved. You can change them until the survey closes: /surveys"

    async with runtime.sessionmaker() as s:
        me = await s.scalar(select(User).where(User.telegram_id == r.id))
        response = await s.scalar(select(SurveyResponse))
        photo = await s.get(StoredFile, response.answers["pic"])
    assert response.user_id == me.id and response.answers["when"] == "2015-09-01" and response.answers["why"] == "The river"
    assert photo.owner_type == "survey_response" and photo.owner_id == response.id and photo.created_by == me.id

    # Going through it again replaces the answers (earlier ones shown).
    calls = await r.send("/surveys")
    calls = await r.press(SurveyOpenCB(survey_id=w["survey"].id).pack())
    assert "You answered this survey before" in sent(calls)[0].text
    calls = await r.press(step("begin"))
    assert "Your answer now: 01.09.2015" in sent(calls)[0].text
    await r.send("02.09.2015")
    await r.press(step("skip"))
    calls = await r.send("The forest")
    assert "2. A photo of your street\n   (skipped)" in sent(calls)[0].text
    calls = await r.press(step("submit"))
    assert sent(calls)[-1].text == "Thank you! Your answers are replaced. You can change them until the survey closes: /surveys"
    async with runtime.sessionmaker() as s:
        rows = list(await s.scalars(select(SurveyResponse)))
        dropped = await s.get(StoredFile, photo.id)
    assert len(rows) == 1 and rows[0].answers == {"when": "2015-09-02", "why": "The forest"}
    # The photo skipped this time is no longer an answer: unowned, the orphan job removes it.
    assert dropped.owner_id is None


async def test_cancel_and_closed_survey(harness, runtime):
    w = await make_world(runtime, anonymous=True)
    r = Person(harness, 7_700_003)
    await r.send("/start murom")
    await r.press(SurveyOpenCB(survey_id=w["survey"].id).pack())
    await r.press(step("begin"))
    calls = await r.send("/cancel")
    assert sent(calls)[0].text == "The survey is put aside; nothing was sent. /surveys to come back to it."
    # Closed meanwhile: Send is refused and the answers stay in the dialog.
    await r.press(SurveyOpenCB(survey_id=w["survey"].id).pack())
    await r.press(step("begin"))
    await r.press(opt(0, 1))
    await r.press(opt(2, 1))
    await r.press(step("done"))
    await r.press(step("skip"))
    await r.press(opt(4, 1))

    async def close(s):  # noqa: ANN001, ANN202
        from backend.services.surveys.models import Survey

        await surveys.close(s, survey=await s.get(Survey, w["survey"].id), actor_id=w["organizer"].id)

    await seed(runtime, close)
    calls = await r.press(step("submit"))
    assert isinstance(calls[0], AnswerCallbackQuery) and calls[0].text == "This survey is not accepting answers now."
    ctx = harness.dp.fsm.get_context(harness.bot, chat_id=r.id, user_id=r.id)
    assert (await ctx.get_data())["answers"] == {"car": "no", "use": ["bike"], "mark": 1}
    async with runtime.sessionmaker() as s:
        assert list(await s.scalars(select(SurveyResponse))) == []
    calls = await r.send("/surveys")
    assert sent(calls)[0].text == "No surveys are open in Murom right now."
