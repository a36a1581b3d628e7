"""The notification port is channel-neutral: a channel that is not Telegram gets typed notices
for recipients from the outbox (backend/core/notifications service.deliver_pending), and each
message's outcome is its own: delivered, the person unreachable, asked to wait, or failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from backend.core.notifications import service as outbox
from backend.core.notifications.models import OutboxMessage
from backend.core.notifications.notices import CORE_NOTICES, NoticeTypes, PlainText, Priority, Notice
from backend.core.notifications.pacing import MemoryPacer, Rate
from backend.core.notifications.port import Attachment, Recipient, RetryLater, Unreachable
from backend.core.users.models import User
from backend.db import utcnow
from tests.factories import FakeClock, make_town, make_user, seed


class Reminder(Notice):
    kind = "test.reminder"
    text = "Remember: {what}"
    priority = Priority.WORK
    what: str


NOTICES = NoticeTypes([*CORE_NOTICES, Reminder])


@dataclass
class InAppInbox:
    """A channel that is not a messenger: it addresses people by their account id and keeps
    what it was given. `outcomes` (user id -> exception) makes it refuse someone."""

    name: str = "inbox"
    received: list[tuple[Recipient, Notice, Attachment | None]] = field(default_factory=list)
    outcomes: dict[int, BaseException] = field(default_factory=dict)

    def rates(self, recipient: Recipient) -> list[Rate]:
        return [Rate("inbox", 100.0, burst=100), Rate(f"inbox:{recipient.user_id}", 1.0)]

    async def deliver(self, *, recipient: Recipient, notice: Notice, attachment: Attachment | None = None) -> None:
        if recipient.user_id in self.outcomes:
            raise self.outcomes[recipient.user_id]
        self.received.append((recipient, notice, attachment))


async def _deliver(runtime, channel, *, pacer=None, now=None) -> int:  # noqa: ANN001
    return await outbox.deliver_pending(
        runtime.sessionmaker, channel, notices=NOTICES, pacer=pacer or MemoryPacer(clock=FakeClock()),
        files_root=runtime.settings.files_dir, default_locale="ru", now=now or utcnow(),
    )


async def _rows(runtime) -> dict[int, OutboxMessage]:  # noqa: ANN001
    async with runtime.sessionmaker() as s:
        return {m.user_id: m for m in await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))}


async def test_a_channel_that_is_not_telegram_gets_typed_notices_for_a_recipient(runtime):
    async def world(s):  # noqa: ANN001, ANN202
        town = await make_town(s)
        anna = await make_user(s, first_name="Анна", town=town)
        anna.locale = "en"
        # Someone with no Telegram account at all: reachable on this channel all the same.
        boris = await make_user(s, first_name="Борис", town=town)
        boris.telegram_id = None
        await outbox.enqueue(s, user_id=anna.id, notice=Reminder(what="the meeting"), municipality_id=town.id)
        await outbox.enqueue(s, user_id=boris.id, notice=PlainText(msgid="Hello, {name}", values={"name": "Борис"}))
        return town, anna, boris

    town, anna, boris = await seed(runtime, world)
    channel = InAppInbox()
    assert await _deliver(runtime, channel) == 2
    # Most important first: the personal text before the work reminder.
    (first, text, _), (second, reminder, attachment) = channel.received
    assert first == Recipient(user_id=boris.id, locale="ru", addresses={}, municipality_id=None)
    assert text == PlainText(msgid="Hello, {name}", values={"name": "Борис"}) and text.render("ru") == "Hello, Борис"
    assert second.user_id == anna.id and second.locale == "en" and second.municipality_id == town.id
    assert second.addresses == {"telegram": str(anna.telegram_id)}
    assert isinstance(reminder, Reminder) and reminder.what == "the meeting" and attachment is None
    assert all(m.sent_at is not None and m.attempts == 0 for m in (await _rows(runtime)).values())
    # Nothing is sent twice.
    assert await _deliver(runtime, channel) == 0 and len(channel.received) == 2


async def test_each_message_has_its_own_outcome(runtime):
    """Delivered, unreachable (the person is marked and not tried again), asked to wait
    (rescheduled by the channel's delay, not counted as an attempt), and a plain failure
    (retried with backoff) — in one pass, each recorded on its own row."""

    async def world(s):  # noqa: ANN001, ANN202
        people = [await make_user(s, first_name=name) for name in ("Ok", "Gone", "Broken", "Busy")]
        for p in people:
            await outbox.enqueue(s, user_id=p.id, notice=Reminder(what=p.first_name))
        return people

    ok, gone, broken, busy = await seed(runtime, world)
    channel = InAppInbox(outcomes={
        gone.id: Unreachable("deleted their account"),
        busy.id: RetryLater(42.0, "inbox"),
        broken.id: ConnectionError("connection reset"),
    })
    now = utcnow()
    pacer = MemoryPacer(clock=FakeClock())
    assert await _deliver(runtime, channel, pacer=pacer, now=now) == 1
    rows = await _rows(runtime)
    assert [n.what for _, n, _ in channel.received] == ["Ok"]
    assert rows[ok.id].sent_at == now

    assert rows[gone.id].failed_at == now and rows[gone.id].last_error == "deleted their account" and rows[gone.id].sent_at is None
    async with runtime.sessionmaker() as s:
        assert (await s.get(User, gone.id)).bot_blocked is True
        assert (await s.get(User, ok.id)).bot_blocked is False

    assert rows[busy.id].next_attempt_at == now + timedelta(seconds=42)
    assert (rows[busy.id].attempts, rows[busy.id].sent_at, rows[busy.id].failed_at) == (0, None, None)
    # The channel's account is paused as long as it asked, for every message under it.
    assert await pacer.reserve([Rate("inbox", 100.0, burst=100)]) == 42.0
    async with runtime.sessionmaker() as s:
        await outbox.enqueue(s, user_id=ok.id, notice=Reminder(what="held"))
        await s.commit()
    then = utcnow()
    assert await _deliver(runtime, channel, pacer=pacer, now=then) == 0
    async with runtime.sessionmaker() as s:
        held = await s.scalar(select(OutboxMessage).where(OutboxMessage.payload["what"].as_string() == "held"))
        assert held.next_attempt_at == then + timedelta(seconds=42) and held.attempts == 0
        await s.delete(held)
        await s.commit()

    assert rows[broken.id].attempts == 1 and rows[broken.id].last_error == "ConnectionError: connection reset"
    assert rows[broken.id].next_attempt_at == now + timedelta(seconds=10) and rows[broken.id].failed_at is None

    # Later: the one asked to wait and the broken one go; the unreachable one is not tried again.
    channel.outcomes.clear()
    later = now + timedelta(seconds=60)
    assert await _deliver(runtime, channel, now=later) == 2
    assert sorted(n.what for _, n, _ in channel.received) == ["Broken", "Busy", "Ok"]
    async with runtime.sessionmaker() as s:
        await outbox.enqueue(s, user_id=gone.id, notice=Reminder(what="again"))
        await s.commit()
    assert await _deliver(runtime, channel, now=later) == 0
    rows = await _rows(runtime)
    assert rows[gone.id].last_error == "unreachable" and all(r.what != "again" for _, r, _ in channel.received)


async def test_a_message_the_pace_holds_back_is_put_back_with_its_time(runtime):
    """Two messages to one person: the second waits the per-person second, uncharged."""

    async def world(s):  # noqa: ANN001, ANN202
        p = await make_user(s)
        for what in ("one", "two"):
            await outbox.enqueue(s, user_id=p.id, notice=Reminder(what=what))
        return p

    person = await seed(runtime, world)
    clock = FakeClock()
    pacer = MemoryPacer(clock=clock)
    channel = InAppInbox()
    now = utcnow()
    assert await _deliver(runtime, channel, pacer=pacer, now=now) == 1
    async with runtime.sessionmaker() as s:
        waiting = await s.scalar(select(OutboxMessage).where(OutboxMessage.user_id == person.id, OutboxMessage.sent_at.is_(None)))
    assert waiting.next_attempt_at == now + timedelta(seconds=1) and waiting.attempts == 0
    clock.advance(1.0)
    assert await _deliver(runtime, channel, pacer=pacer, now=now + timedelta(seconds=1)) == 1
    assert [n.what for _, n, _ in channel.received] == ["one", "two"]
