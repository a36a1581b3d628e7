"""The delivery engine on a fake clock: the pace (bot, share, chat), replies counted first,
fair turns between towns, mutes and blocks settled at send time, pause and cancel, and rows
left in flight reported uncertain and never repeated."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from backend.core.notifications.pacing import MemoryPacer, Rate
from backend.core.users.models import Role, User
from backend.db import unit_of_work
from backend.services.broadcasts import service
from backend.services.broadcasts.engine import Engine, EngineConfig
from backend.services.broadcasts.models import Broadcast, BroadcastRecipient
from backend.services.broadcasts.rules import State, Status
from tests.factories import make_town, make_user, seed
from tests.services.broadcasts.factories import FakeTime, RecordingPoster, make_broadcast, make_residents


def engine(runtime, poster, time: FakeTime, **config) -> Engine:  # noqa: ANN001
    return Engine(
        runtime.sessionmaker, poster, MemoryPacer(clock=time.clock), files_root=runtime.settings.files_dir,
        config=EngineConfig(**{"senders": 8, **config}), sleep=time.sleep, now=time.now,
    )


async def world(runtime, n: int, **bfields):  # noqa: ANN001
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s)
        org = await make_user(s, town=town, roles=(Role.ORGANIZER,))
        people = await make_residents(s, town, n)
        b = await make_broadcast(s, town, org, **bfields)
        return town, org, people, b
    return await seed(runtime, make)


async def states(runtime, broadcast_id: int) -> Counter:  # noqa: ANN001
    async with unit_of_work(runtime.sessionmaker) as s:
        rows = await s.scalars(select(BroadcastRecipient.state).where(BroadcastRecipient.broadcast_id == broadcast_id))
        return Counter(rows)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most posts in any window of `window` seconds (half-open, sliding; a nanosecond's
    slack for sums of intervals in floating point)."""
    times = sorted(times)
    window -= 1e-9
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def test_paced_to_the_share_of_the_bot_and_one_a_second_per_chat(runtime) -> None:
    town, org, people, b = await world(runtime, 120)
    time = FakeTime()
    poster = RecordingPoster(clock=time.clock)
    # One sender: the fake clock moves only when the engine waits, so a sender waiting for its
    # commit while another's wait moves the clock would look late (in real time a commit takes
    # milliseconds; the benchmark measures the real thing with every sender).
    summary = await engine(runtime, poster, time, bot_rate=30.0, share=0.85, senders=1).run()

    times = [t for t, _, _ in poster.posts]
    assert summary.sent == 120 and len(times) == 120
    # 85% of 30 a second is 25.5: never more than 26 in any second, and no slower than that pace.
    assert max_in_window(times) <= 26
    assert times[-1] - times[0] >= 119 / 25.5 - 1e-6
    assert times[-1] - times[0] <= 119 / 25.5 + 0.5
    assert all(n == 1 for n in Counter(chat for _, chat, _ in poster.posts).values())
    assert await states(runtime, b.id) == Counter({State.SENT.value: 120})
    async with unit_of_work(runtime.sessionmaker) as s:
        done = await s.get(Broadcast, b.id)
        assert done.status == Status.DONE.value and done.finished_at is not None
        ids = set(await s.scalars(select(BroadcastRecipient.message_id).where(BroadcastRecipient.broadcast_id == b.id)))
        assert None not in ids and len(ids) == 120


async def test_replies_charged_to_the_bot_slow_the_broadcast_not_the_other_way_round(runtime) -> None:
    town, org, people, b = await world(runtime, 150)
    time = FakeTime()
    poster = RecordingPoster(clock=time.clock)
    eng = engine(runtime, poster, time, bot_rate=30.0, share=1.0, senders=1)
    bot = Rate("tg:1", 30.0, burst=30)

    original = poster.post

    async def post_with_reply(**kw):  # noqa: ANN003, ANN202
        if len(poster.posts) % 2 == 0:
            await eng.pacer.charge([bot])  # a reply the bot sent meanwhile
        return await original(**kw)

    poster.post = post_with_reply  # type: ignore[method-assign]
    await eng.run()
    times = [t for t, _, _ in poster.posts]
    span = times[-1] - times[0]
    # Half as many replies as posts took budget first: posts ran at about 30 * 2/3 a second.
    assert len(times) == 150
    assert span >= 149 / 30 * 1.5 - 1.5
    assert max_in_window(times) <= 30


async def test_towns_sharing_the_bot_take_turns(runtime) -> None:
    big = await world(runtime, 200)
    small = await world(runtime, 20)
    time = FakeTime()
    poster = RecordingPoster(clock=time.clock)
    await engine(runtime, poster, time, bot_rate=30.0, share=1.0, senders=4).run()
    towns = [n.municipality_id for _, _, n in poster.posts]
    assert len(towns) == 220
    # The small town's 20 went out within the first 45 messages, not after the big town's 200.
    last_small = max(i for i, t in enumerate(towns) if t == small[0].id)
    assert last_small < 45


async def test_mutes_and_blocks_are_settled_when_sending(runtime) -> None:
    town, org, people, b = await world(runtime, 6, category="works", start=False)

    async def prepare(s):  # noqa: ANN001, ANN202
        await service.mute(s, user_id=people[0].id, municipality_id=town.id, category="works")
        await service.mute(s, user_id=people[1].id, municipality_id=town.id, category="*")
        await service.mute(s, user_id=people[2].id, municipality_id=town.id, category="news")  # another category: still gets it
        broadcast = await s.get(Broadcast, b.id)
        t = await s.get(type(town), town.id)
        from backend.installed import registry

        await service.start(s, town=t, registry=registry(), broadcast=broadcast)
        (await s.get(User, people[3].id)).bot_blocked = True  # blocked the bot after the start
    await seed(runtime, prepare)

    time = FakeTime()
    poster = RecordingPoster(clock=time.clock)
    await engine(runtime, poster, time).run()
    chats = {chat for _, chat, _ in poster.posts}
    assert chats == {people[2].telegram_id, people[4].telegram_id, people[5].telegram_id}
    assert await states(runtime, b.id) == Counter({"sent": 3, "muted": 2, "blocked": 1})


async def test_403_marks_unreachable_and_later_broadcasts_skip_them(runtime) -> None:
    from backend.core.notifications.port import Unreachable

    town, org, people, b = await world(runtime, 4)
    time = FakeTime()
    poster = RecordingPoster(clock=time.clock)
    blocked = people[1].telegram_id

    def refuse(chat: int) -> None:
        if chat == blocked:
            raise Unreachable("Forbidden: bot was blocked by the user")

    poster.refuse = refuse
    await engine(runtime, poster, time).run()
    assert await states(runtime, b.id) == Counter({"sent": 3, "blocked": 1})
    again = await seed(runtime, lambda s: make_broadcast(s, town, org))
    assert again.total == 3


async def test_other_errors_are_retried_with_backoff_then_failed(runtime) -> None:
    town, org, people, b = await world(runtime, 3)
    time = FakeTime()
    poster = RecordingPoster(clock=time.clock)
    flaky, broken = people[0].telegram_id, people[1].telegram_id
    tries: Counter = Counter()

    def refuse(chat: int) -> None:
        tries[chat] += 1
        if chat == broken or (chat == flaky and tries[chat] <= 2):
            raise ConnectionError("Bad Gateway")

    poster.refuse = refuse
    summary = await engine(runtime, poster, time, idle_poll=1.0).run()
    assert tries[flaky] == 3 and tries[broken] == 5
    assert summary.sent == 2 and summary.failed == 1
    async with unit_of_work(runtime.sessionmaker) as s:
        rows = {r.chat_id: r for r in await s.scalars(select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == b.id))}
    assert rows[flaky].state == "sent" and rows[flaky].attempts == 2
    assert rows[broken].state == "failed" and "Bad Gateway" in rows[broken].error


async def test_a_429_pauses_the_bot_for_retry_after_then_the_same_message_goes(runtime) -> None:
    from backend.core.notifications.port import RetryLater

    town, org, people, b = await world(runtime, 10)
    time = FakeTime()
    poster = RecordingPoster(clock=time.clock)
    hit: list[float] = []

    def refuse(chat: int) -> None:
        if len(poster.posts) == 4 and not hit:
            hit.append(time.clock())
            raise RetryLater(7.0, "tg:1")

    poster.refuse = refuse
    summary = await engine(runtime, poster, time).run()
    times = [t for t, _, _ in poster.posts]
    assert summary.paused == 1 and len(times) == 10
    assert all(n == 1 for n in Counter(chat for _, chat, _ in poster.posts).values())
    # Nothing went out during the pause; everything after it went on.
    assert not [t for t in times if hit[0] < t < hit[0] + 7.0]
    assert times[4] >= hit[0] + 7.0


async def test_pause_resume_and_cancel(runtime) -> None:
    town, org, people, b = await world(runtime, 5)

    async def move(fn):  # noqa: ANN001, ANN202
        async def go(s):  # noqa: ANN001, ANN202
            return await fn(s, broadcast=await s.get(Broadcast, b.id))
        return await seed(runtime, go)

    await move(service.pause)
    time = FakeTime()
    poster = RecordingPoster(clock=time.clock)
    await engine(runtime, poster, time).run()
    assert poster.posts == []
    await move(service.resume)
    await engine(runtime, poster, time).run()
    assert len(poster.posts) == 5

    other = await seed(runtime, lambda s: make_broadcast(s, town, org))
    b = other
    await move(service.cancel)
    await engine(runtime, poster, time).run()
    assert len(poster.posts) == 5
    assert await states(runtime, other.id) == Counter({"pending": 5})


async def test_a_row_left_in_flight_becomes_uncertain_and_is_never_sent_again(runtime) -> None:
    town, org, people, b = await world(runtime, 3)
    time = FakeTime()

    async def crash_mid_send(s):  # noqa: ANN001, ANN202
        row = await s.scalar(select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == b.id).order_by(BroadcastRecipient.id))
        row.state, row.claimed_by, row.lease_until = "sending", "dead-worker", time.now()
        return row.chat_id
    in_flight = await seed(runtime, crash_mid_send)
    time.clock.advance(1)
    poster = RecordingPoster(clock=time.clock)
    summary = await engine(runtime, poster, time).run()
    assert summary.recovered_uncertain == 1
    assert in_flight not in {chat for _, chat, _ in poster.posts} and len(poster.posts) == 2
    assert await states(runtime, b.id) == Counter({"sent": 2, "uncertain": 1})
    async with unit_of_work(runtime.sessionmaker) as s:
        assert (await s.get(Broadcast, b.id)).status == Status.DONE.value
