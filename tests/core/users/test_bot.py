"""The bot, end to end: real Update JSON through the real Dispatcher, asserting on the exact
Bot API calls it makes."""

from __future__ import annotations

import json

import httpx

from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    SetChatMenuButton,
)
from aiogram.types import ReplyKeyboardMarkup, ReplyKeyboardRemove
from sqlalchemy import select

from backend.core.privacy.models import Consent
from backend.core.users.models import Membership, User
from bot.callbacks import ForgetCB, LangCB, PrivacyCB, TownCB
from tests import updates as U
from tests.factories import make_town, seed


async def _user(runtime, telegram_id):  # noqa: ANN001, ANN202
    async with runtime.sessionmaker() as s:
        return await s.scalar(select(User).where(User.telegram_id == telegram_id))


async def test_start_with_deep_link_joins_town_and_shows_menu(harness, runtime):
    await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    await seed(runtime, lambda s: make_town(s, slug="other", name="Другой"))
    anna = U.tg_user(701, "Анна")

    calls = await harness.feed(U.message(anna, "/start kolomna"))

    assert [type(c) for c in calls] == [SendMessage, SendMessage, SetChatMenuButton]
    assert calls[0].chat_id == 701
    assert calls[0].text.startswith("Здравствуйте, Анна!")
    assert calls[1].text.startswith("Коломна: что вы хотите сделать?")
    buttons = [b for row in calls[1].reply_markup.inline_keyboard for b in row]
    webapps = [b.web_app.url for b in buttons if b.web_app]
    assert webapps == ["https://glocal.test/app/profile/"]
    assert calls[2].menu_button.web_app.url == "https://glocal.test/app/hub/"
    assert calls[2].chat_id == 701

    user = await _user(runtime, 701)
    async with runtime.sessionmaker() as s:
        roles = list(await s.scalars(select(Membership.role).where(Membership.user_id == user.id)))
    assert roles == ["resident"]
    assert user.current_municipality_id is not None


async def test_start_without_payload_offers_choice_when_ambiguous(harness, runtime):
    a = await seed(runtime, lambda s: make_town(s, slug="aaa", name="Аааград"))
    await seed(runtime, lambda s: make_town(s, slug="bbb", name="Бббград"))
    ivan = U.tg_user(702, "Иван", language_code="en")

    calls = await harness.feed(U.message(ivan, "/start"))

    assert len(calls) == 1 and isinstance(calls[0], SendMessage)
    assert "Choose your town:" in calls[0].text
    data = [row[0].callback_data for row in calls[0].reply_markup.inline_keyboard]
    assert data[0] == TownCB(id=a.id).pack()

    calls = await harness.feed(U.callback(ivan, TownCB(id=a.id).pack()))
    assert isinstance(calls[0], AnswerCallbackQuery)
    assert calls[0].text == "Your town: Аааград"
    assert calls[1].text.startswith("Аааград: what would you like to do?")


async def test_start_unknown_slug_falls_back_to_only_town(harness, runtime):
    await seed(runtime, lambda s: make_town(s, slug="solo", name="Одинск"))
    calls = await harness.feed(U.message(U.tg_user(703), "/start nosuchtown"))
    assert calls[1].text.startswith("Одинск:")


async def test_language_switch_changes_replies(harness, runtime):
    await seed(runtime, lambda s: make_town(s, slug="solo", name="Одинск"))
    u = U.tg_user(704, language_code="ru")
    calls = await harness.feed(U.message(u, "/language"))
    assert calls[0].text == "Выберите язык интерфейса:"

    calls = await harness.feed(U.callback(u, LangCB(code="en").pack()))
    assert [type(c) for c in calls] == [AnswerCallbackQuery, EditMessageText]
    assert calls[1].text == "Language: English"

    calls = await harness.feed(U.message(u, "/help"))
    assert calls[0].text.startswith("What I can do:")
    assert (await _user(runtime, 704)).locale == "en"


async def test_locale_falls_back_to_telegram_then_default(harness):
    calls = await harness.feed(U.message(U.tg_user(705, language_code="en-GB"), "/help"))
    assert calls[0].text.startswith("What I can do:")
    calls = await harness.feed(U.message(U.tg_user(706, language_code="de"), "/help"))
    assert calls[0].text.startswith("Что я умею:")


async def test_phone_needs_consent_first_then_contact_is_saved(harness, runtime):
    u = U.tg_user(707)
    calls = await harness.feed(U.message(u, "/phone"))
    assert len(calls) == 1
    assert calls[0].text == "Сначала примите политику обработки персональных данных: /privacy"

    calls = await harness.feed(U.message(u, "/privacy"))
    assert "Согласие на обработку персональных данных" in calls[0].text
    assert calls[0].reply_markup.inline_keyboard[0][0].callback_data == PrivacyCB(action="accept").pack()

    calls = await harness.feed(U.callback(u, PrivacyCB(action="accept").pack()))
    assert [type(c) for c in calls] == [AnswerCallbackQuery, EditMessageReplyMarkup]
    async with runtime.sessionmaker() as s:
        consent = await s.scalar(select(Consent))
    assert consent.version and consent.channel == "bot" and len(consent.text_hash) == 64 and consent.withdrawn_at is None

    calls = await harness.feed(U.message(u, "/phone"))
    assert isinstance(calls[0].reply_markup, ReplyKeyboardMarkup)
    assert calls[0].reply_markup.keyboard[0][0].request_contact is True

    # Someone else's contact is refused and nothing is stored.
    calls = await harness.feed(U.contact(u, "+79990001122", owner_id=999))
    assert calls[0].text == "Пожалуйста, отправьте свой собственный номер кнопкой ниже."
    assert (await _user(runtime, 707)).phone is None

    calls = await harness.feed(U.contact(u, "79990001122"))
    assert calls[0].text == "Номер телефона сохранён: +79990001122"
    assert isinstance(calls[0].reply_markup, ReplyKeyboardRemove)
    user = await _user(runtime, 707)
    assert (user.phone, user.identity_level) == ("+79990001122", "phone")


async def test_mydata_sends_json_with_everything(harness, runtime):
    u = U.tg_user(708, "Пётр")
    await seed(runtime, lambda s: make_town(s, slug="solo", name="Одинск"))
    await harness.feed(U.message(u, "/start"))
    await harness.feed(U.callback(u, PrivacyCB(action="accept").pack()))

    calls = await harness.feed(U.message(u, "/mydata"))
    assert len(calls) == 1 and isinstance(calls[0], SendDocument)
    assert calls[0].document.filename == "glocal-my-data.json"
    data = json.loads(calls[0].document.data)
    assert data["user"]["telegram_id"] == 708 and data["user"]["first_name"] == "Пётр"
    assert data["memberships"][0]["municipality"] == "solo"
    assert data["consents"][0]["channel"] == "bot"
    assert {a["action"] for a in data["activity"]} >= {"membership.grant", "consent.give"}


async def test_forget_anonymizes_and_keeps_audit(harness, runtime):
    u = U.tg_user(709, "Ольга", last_name="Смирнова", username="olga")
    await seed(runtime, lambda s: make_town(s, slug="solo", name="Одинск"))
    await harness.feed(U.message(u, "/start"))
    await harness.feed(U.callback(u, PrivacyCB(action="accept").pack()))
    await harness.feed(U.contact(u, "+79990001123"))
    user_id = (await _user(runtime, 709)).id

    calls = await harness.feed(U.message(u, "/forget"))
    assert calls[0].reply_markup.inline_keyboard[0][0].callback_data == ForgetCB(confirm=True).pack()
    calls = await harness.feed(U.callback(u, ForgetCB(confirm=True).pack()))
    assert calls[-1].text.startswith("Ваши персональные данные удалены.")

    async with runtime.sessionmaker() as s:
        user = await s.get(User, user_id)
        assert (user.telegram_id, user.first_name, user.last_name, user.username, user.phone) == (None, None, None, None, None)
        assert user.anonymized_at is not None
        assert await s.scalar(select(Membership).where(Membership.user_id == user_id)) is None
        consent = await s.scalar(select(Consent).where(Consent.user_id == user_id))
        assert consent.withdrawn_at is not None


async def test_unknown_command_sticker_edit_and_stale_button(harness):
    u = U.tg_user(710)
    calls = await harness.feed(U.message(u, "/frobnicate"))
    assert calls[0].text == "Я не знаю такой команды. Отправьте /help, чтобы увидеть, что я умею."

    calls = await harness.feed(U.message(u, sticker={"file_id": "x", "file_unique_id": "y", "type": "regular", "width": 1, "height": 1, "is_animated": False, "is_video": False}))
    assert calls[0].text.startswith("Отличный стикер!")

    calls = await harness.feed(U.edited(u, "hello"))
    assert calls[0].text.startswith("Изменения отправленных сообщений не отслеживаются.")

    calls = await harness.feed(U.message(u, "x" * 4000))
    assert calls[0].text.startswith("Это длинное сообщение")

    calls = await harness.feed(U.callback(u, "obsolete:123"))
    assert isinstance(calls[0], AnswerCallbackQuery) and calls[0].show_alert is True
    assert calls[0].text.startswith("Эта кнопка больше не действует.")


async def test_group_chat_is_quiet_except_start(harness):
    u = U.tg_user(711)
    group = {"id": -100123, "type": "supergroup", "title": "Жители"}
    assert await harness.feed(U.message(u, "привет всем", chat=group)) == []
    calls = await harness.feed(U.message(u, "/start", chat=group))
    assert len(calls) == 1 and calls[0].chat_id == -100123
    assert calls[0].text.startswith("Я работаю в личных сообщениях.")


async def test_blocking_the_bot_is_remembered(harness, runtime):
    u = U.tg_user(712)
    assert await harness.feed(U.my_chat_member(u, "member", "kicked")) == []
    assert (await _user(runtime, 712)).bot_blocked is True
    await harness.feed(U.my_chat_member(u, "kicked", "member"))
    assert (await _user(runtime, 712)).bot_blocked is False


async def test_unexpected_error_gets_apology_and_log(harness, caplog, monkeypatch):
    from backend.core.users import service as users

    async def boom(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("database on fire")

    monkeypatch.setattr(users, "start", boom)
    upd = U.message(U.tg_user(713), "/start")
    calls = await harness.feed(upd)
    assert len(calls) == 1
    assert calls[0].text.startswith("Извините, у нас что-то пошло не так.")
    assert any(f"update {upd['update_id']} failed" in r.getMessage() for r in caplog.records)
    metrics = harness.runtime.metrics.render().decode()
    assert 'glocal_update_errors_total{type="message"} 1.0' in metrics


async def test_throttling_warns_once_then_drops(runtime, harness, monkeypatch):
    harness.runtime.settings.THROTTLE_RATE = 2
    # Rebuild the dispatcher so the middleware picks up the lower rate.
    from tests.conftest import BotHarness

    h = BotHarness(runtime)
    u = U.tg_user(714)
    assert len(await h.feed(U.message(u, "/help"))) == 1
    assert len(await h.feed(U.message(u, "/help"))) == 1
    warn = await h.feed(U.message(u, "/help"))
    assert warn[0].text == "Слишком много сообщений подряд. Подождите несколько секунд."
    assert await h.feed(U.message(u, "/help")) == []
    await h.close()


async def test_steady_chat_reads_the_person_from_the_cache(harness, runtime):
    """After the first update a chat costs no query for the person; any change is seen."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001, ANN002, ANN202
        statements.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        u = U.tg_user(720, "Вера", language_code="ru")
        await harness.feed(U.message(u, "/help"))
        statements.clear()
        calls = await harness.feed(U.message(u, "/help"))
        assert calls[0].text.startswith("Что я умею:")
        assert not [s for s in statements if "user_account" in s]

        # a change made elsewhere (here: the language, from the miniapp's API) is seen at once
        from tests.factories import tma

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.app), base_url="http://t") as c:
            r = await c.patch("/api/v1/me", json={"locale": "en"}, headers=tma(runtime, {"id": 720, "first_name": "Вера"}))
            assert r.status_code == 200
        calls = await harness.feed(U.message(u, "/help"))
        assert calls[0].text.startswith("What I can do:")

        # a new name in Telegram reaches the database
        await harness.feed(U.message(U.tg_user(720, "Вероника", language_code="ru"), "/help"))
        assert (await _user(runtime, 720)).first_name == "Вероника"
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)


async def test_forgotten_person_is_not_served_from_the_cache(harness, runtime):
    u = U.tg_user(721, "Глеб")
    await harness.feed(U.message(u, "/help"))
    old_id = (await _user(runtime, 721)).id
    await harness.feed(U.callback(u, ForgetCB(confirm=True).pack()))
    await harness.feed(U.message(u, "/help"))
    fresh = await _user(runtime, 721)
    assert fresh is not None and fresh.id != old_id
    async with runtime.sessionmaker() as s:
        assert (await s.get(User, old_id)).telegram_id is None
