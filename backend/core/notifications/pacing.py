"""Pacing: how many messages may go where, per second, shared by every sender.

A generic cell rate algorithm (GCRA, the virtual-scheduling form of a token bucket) per key:
each key keeps a theoretical arrival time; a message is allowed when that time is no further
ahead of now than the burst allows. A message counts against several keys at once (the bot's
whole budget, the chat's) and is allowed only when all allow it; then all are charged, in one
atomic step (one Lua call in Redis, so every replica shares one budget).

Replies to a person go out at once and are charged after the fact (`charge`), so they are
never delayed and the bulk senders that `reserve` see less budget left: replies go first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

Clock = Callable[[], float]


@dataclass(frozen=True)
class Rate:
    """At most `per_second` on average under `key`, with bursts of `burst` messages."""

    key: str
    per_second: float
    burst: int = 1

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second

    @property
    def tolerance(self) -> float:
        return self.interval * (self.burst - 1)


class MemoryPacer:
    """In-process pacer: correct for one process (the embedded default)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._tat: dict[str, float] = {}
        self._paused: dict[str, float] = {}

    async def reserve(self, rates: Sequence[Rate]) -> float:
        """0.0 when a message may go now (and it is charged), else the seconds to wait (nothing charged)."""
        now = self.clock()
        wait = 0.0
        for rate in rates:
            wait = max(wait, self._paused.get(rate.key, 0.0) - now)
            tat = max(self._tat.get(rate.key, now), now)
            wait = max(wait, tat - rate.tolerance - now)
        if wait > 0:
            return wait
        self._charge(rates, now)
        return 0.0

    async def charge(self, rates: Sequence[Rate]) -> None:
        """Count a message that went out without asking (a reply)."""
        self._charge(rates, self.clock())

    def _charge(self, rates: Sequence[Rate], now: float) -> None:
        for rate in rates:
            self._tat[rate.key] = max(self._tat.get(rate.key, now), now) + rate.interval
        if len(self._tat) > 100_000:  # forget keys whose time has passed
            self._tat = {k: v for k, v in self._tat.items() if v > now}

    async def pause(self, key: str, seconds: float) -> None:
        """Stop everything under `key` for `seconds` (Telegram's retry_after)."""
        self._paused[key] = max(self._paused.get(key, 0.0), self.clock() + seconds)


class RedisPacer:
    """The same algorithm in Redis: one budget across every replica. Times come from Redis's
    own clock (TIME), so replicas with skewed clocks still agree; a `clock` given instead (a
    test's fake one) is passed into the script."""

    # KEYS: tat keys then pause keys; ARGV: now ('' for Redis's TIME), n, then (interval,
    # tolerance) per key, then charge_only.
    _SCRIPT = """
        local now = tonumber(ARGV[1])
        if not now then
            local t = redis.call('TIME')
            now = tonumber(t[1]) + tonumber(t[2]) / 1000000
        end
        local n = tonumber(ARGV[2])
        local force = ARGV[2 * n + 3] == '1'
        local wait = 0
        if not force then
            for i = 1, n do
                local paused = tonumber(redis.call('GET', KEYS[n + i]) or '0')
                if paused - now > wait then wait = paused - now end
                local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or '0'), now)
                local w = tat - tonumber(ARGV[2 * i + 2]) - now
                if w > wait then wait = w end
            end
            if wait > 0 then return tostring(wait) end
        end
        for i = 1, n do
            local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or '0'), now)
            local interval = tonumber(ARGV[2 * i + 1])
            redis.call('SET', KEYS[i], string.format('%.17g', tat + interval), 'PX', math.ceil((tat + interval - now) * 1000) + 1000)
        end
        return '0'
    """
    # KEYS: the pause key; ARGV: now ('' for TIME), seconds.
    _PAUSE = """
        local now = tonumber(ARGV[1])
        if not now then
            local t = redis.call('TIME')
            now = tonumber(t[1]) + tonumber(t[2]) / 1000000
        end
        local until_ = now + tonumber(ARGV[2])
        local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
        if until_ > cur then
            redis.call('SET', KEYS[1], string.format('%.17g', until_), 'PX', math.ceil(tonumber(ARGV[2]) * 1000) + 1000)
        end
        return 1
    """

    def __init__(self, redis: Redis, prefix: str = "glocal:pace:", clock: Clock | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.clock = clock
        self._script = redis.register_script(self._SCRIPT)
        self._pause = redis.register_script(self._PAUSE)

    def _now(self) -> str:
        return "" if self.clock is None else repr(float(self.clock()))

    async def _run(self, rates: Sequence[Rate], force: bool) -> float:
        if not rates:
            return 0.0
        keys = [self.prefix + r.key for r in rates] + [self.prefix + "paused:" + r.key for r in rates]
        args: list[object] = [self._now(), len(rates)]
        for r in rates:
            args += [repr(r.interval), repr(r.tolerance)]
        args.append("1" if force else "0")
        return float(await self._script(keys=keys, args=args))

    async def reserve(self, rates: Sequence[Rate]) -> float:
        """0.0 when a message may go now (and it is charged), else the seconds to wait (nothing charged)."""
        return await self._run(rates, force=False)

    async def charge(self, rates: Sequence[Rate]) -> None:
        """Count a message that went out without asking (a reply)."""
        await self._run(rates, force=True)

    async def pause(self, key: str, seconds: float) -> None:
        """Stop everything under `key` for `seconds` (Telegram's retry_after)."""
        await self._pause(keys=[self.prefix + "paused:" + key], args=[self._now(), repr(float(seconds))])


Pacer = MemoryPacer | RedisPacer
