"""The pacer (GCRA) on a fake clock, in process and in the real Redis: Telegram's limits
(1 a second per chat, 30 a second overall, 20 a minute per group), bursts, replies charged
after the fact, several keys at once, pauses. No sleeping: the clock moves when told."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from backend.core.notifications.pacing import MemoryPacer, Pacer, Rate, RedisPacer
from tests.conftest import TEST_REDIS
from tests.factories import FakeClock

BOT = Rate("bot", 30.0, burst=30)


def chat(n: int) -> Rate:
    return Rate(f"bot:chat:{n}", 1.0)


def group(n: int) -> Rate:
    return Rate(f"bot:chat:-{n}", 20 / 60)


@pytest.fixture(params=["memory", "redis"])
async def paced(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Pacer, FakeClock]]:
    """A pacer of each kind and the fake clock it reads."""
    clock = FakeClock(start=1_000_000.0)
    if request.param == "memory":
        yield MemoryPacer(clock=clock), clock
        return
    if not TEST_REDIS:
        pytest.skip("GLOCAL_TEST_REDIS_URL is not set")
    from redis.asyncio import Redis

    redis = Redis.from_url(TEST_REDIS, decode_responses=True)
    prefix = f"test:pace:{uuid.uuid4().hex}:"
    try:
        yield RedisPacer(redis, prefix=prefix, clock=clock), clock
    finally:
        keys = [k async for k in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_one_message_a_second_per_chat(paced):
    pacer, clock = paced
    assert await pacer.reserve([chat(1)]) == 0.0
    assert await pacer.reserve([chat(1)]) == pytest.approx(1.0)
    clock.advance(0.4)
    assert await pacer.reserve([chat(1)]) == pytest.approx(0.6)
    clock.advance(0.6)
    assert await pacer.reserve([chat(1)]) == 0.0
    # Another chat has its own budget.
    assert await pacer.reserve([chat(2)]) == 0.0


async def test_thirty_a_second_overall_in_a_burst_then_one_every_thirtieth(paced):
    pacer, clock = paced
    waits = [await pacer.reserve([BOT, chat(n)]) for n in range(30)]
    assert waits == [0.0] * 30
    assert await pacer.reserve([BOT, chat(30)]) == pytest.approx(1 / 30)
    clock.advance(1 / 30)
    assert await pacer.reserve([BOT, chat(30)]) == 0.0
    assert await pacer.reserve([BOT, chat(31)]) == pytest.approx(1 / 30)
    # A second later the whole burst is back.
    clock.advance(1.0 + 1 / 30)
    assert [await pacer.reserve([BOT, chat(100 + n)]) for n in range(30)] == [0.0] * 30
    assert await pacer.reserve([BOT, chat(200)]) > 0


async def test_twenty_a_minute_per_group(paced):
    pacer, clock = paced
    sent = 0
    for _ in range(60):  # a minute, second by second
        if await pacer.reserve([group(7)]) == 0.0:
            sent += 1
        clock.advance(1.0)
    assert sent == 20
    assert await pacer.reserve([group(8)]) == 0.0 and await pacer.reserve([group(8)]) == pytest.approx(3.0)


async def test_a_burst_allows_that_many_at_once_and_no_more(paced):
    pacer, clock = paced
    rate = Rate("burst", 2.0, burst=5)
    assert [await pacer.reserve([rate]) for _ in range(5)] == [0.0] * 5
    assert await pacer.reserve([rate]) == pytest.approx(0.5)
    clock.advance(0.5)
    assert await pacer.reserve([rate]) == 0.0
    assert await pacer.reserve([rate]) == pytest.approx(0.5)


async def test_replies_charged_after_the_fact_leave_less_for_reserve(paced):
    pacer, clock = paced
    # Replies go out at once, whatever the budget says, and are counted.
    for _ in range(3):
        await pacer.charge([BOT, chat(5)])
    # The chat is booked three seconds ahead: a notice to it waits for them.
    assert await pacer.reserve([BOT, chat(5)]) == pytest.approx(3.0)
    # The overall budget lost three of its thirty.
    assert [await pacer.reserve([BOT, chat(10 + n)]) for n in range(27)] == [0.0] * 27
    assert await pacer.reserve([BOT, chat(99)]) == pytest.approx(1 / 30)
    # Charging never waits, even past the budget.
    await pacer.charge([BOT, chat(99)])
    assert await pacer.reserve([BOT, chat(98)]) == pytest.approx(2 / 30)


async def test_several_keys_at_once_all_must_allow_and_a_refusal_charges_none(paced):
    pacer, clock = paced
    assert await pacer.reserve([BOT, chat(1)]) == 0.0
    # The chat refuses: the overall budget is not charged for the refused message.
    for _ in range(5):
        assert await pacer.reserve([BOT, chat(1)]) == pytest.approx(1.0)
    assert [await pacer.reserve([BOT, chat(10 + n)]) for n in range(29)] == [0.0] * 29
    # Now the overall budget refuses a fresh chat, which stays uncharged too.
    assert await pacer.reserve([BOT, chat(50)]) == pytest.approx(1 / 30)
    clock.advance(1 / 30)
    assert await pacer.reserve([chat(50)]) == 0.0  # the chat alone: it was never charged
    # The longest wait of all the keys is the answer.
    assert await pacer.reserve([BOT, chat(50)]) == pytest.approx(1.0)


async def test_a_pause_stops_every_message_under_its_key(paced):
    pacer, clock = paced
    await pacer.pause("bot", 7.0)
    assert await pacer.reserve([BOT, chat(1)]) == pytest.approx(7.0)
    assert await pacer.reserve([chat(1)]) == 0.0  # other keys go on
    await pacer.pause("bot", 2.0)  # a shorter pause does not shorten the longer one
    clock.advance(6.0)
    assert await pacer.reserve([BOT, chat(2)]) == pytest.approx(1.0)
    clock.advance(1.0)
    assert await pacer.reserve([BOT, chat(2)]) == 0.0


async def test_no_rates_means_no_wait(paced):
    pacer, _clock = paced
    assert await pacer.reserve([]) == 0.0
    await pacer.charge([])


async def test_redis_pacer_without_a_clock_reads_redis_time():
    """In production the Redis pacer reads Redis's own clock, so replicas agree."""
    if not TEST_REDIS:
        pytest.skip("GLOCAL_TEST_REDIS_URL is not set")
    from redis.asyncio import Redis

    redis = Redis.from_url(TEST_REDIS, decode_responses=True)
    prefix = f"test:pace:{uuid.uuid4().hex}:"
    pacer = RedisPacer(redis, prefix=prefix)
    try:
        assert await pacer.reserve([chat(1)]) == 0.0
        assert 0.0 < await pacer.reserve([chat(1)]) <= 1.0
    finally:
        await redis.delete(prefix + chat(1).key)
        await redis.aclose()


def test_telegram_channel_paces_private_chats_groups_and_the_whole_bot():
    """1 a second per private chat, 20 a minute per group, 30 a second for the bot."""
    from aiogram import Bot

    from backend.core.notifications.port import Recipient
    from bot.channel import TelegramChannel
    from tests.conftest import BOT_TOKEN

    channel = TelegramChannel(Bot(BOT_TOKEN), None, ())  # type: ignore[arg-type]
    person = channel.rates(Recipient(user_id=1, locale="ru", addresses={"telegram": "42"}))
    assert [(r.key, r.per_second, r.burst) for r in person] == [("tg:123456789", 30.0, 30), ("tg:123456789:chat:42", 1.0, 1)]
    group_chat = channel.rates(Recipient(user_id=1, locale="ru", addresses={"telegram": "-100123"}))
    assert [(r.key, r.per_second, r.burst) for r in group_chat] == [("tg:123456789", 30.0, 30), ("tg:123456789:chat:-100123", 20 / 60, 1)]
