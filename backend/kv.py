"""Small shared-state primitives: claims (a scheduled job's slot), rate windows (throttling)
and values with a TTL (the cache of people).

Two engines behind one interface: in-process (single process, the embedded default) and
Redis (several replicas). Nothing here is home-made distribution: with Redis every key is
a Redis key with a TTL, so replicas agree and nothing outlives its purpose.
"""

from __future__ import annotations

import time
import uuid
from typing import Protocol

from redis.asyncio import Redis


class KV(Protocol):
    async def claim(self, key: str, ttl: int) -> bool:
        """Set `key` if absent, for `ttl` seconds; True when this caller got it first."""

    async def release(self, key: str) -> None:
        """Forget a claim, so the next `claim` of the key succeeds."""

    async def hit(self, key: str, window: int) -> int:
        """Count one event in a fixed window of `window` seconds; return the count so far."""

    async def get(self, key: str) -> str | None:
        """The value stored under `key`, or None."""

    async def put(self, key: str, value: str, ttl: int) -> None:
        """Store `value` under `key` for `ttl` seconds."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemoryKV:
    """In-process engine; correct for one process, which is what the SQLite default runs."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._counts: dict[str, tuple[float, int]] = {}
        self._values: dict[str, tuple[float, str]] = {}
        self._ops = 0

    def _gc(self, now: float) -> None:
        self._ops += 1
        if self._ops % 1024:
            return
        for k in [k for k, exp in self._expiry.items() if exp <= now]:
            del self._expiry[k]
        for k in [k for k, (exp, _) in self._counts.items() if exp <= now]:
            del self._counts[k]
        for k in [k for k, (exp, _) in self._values.items() if exp <= now]:
            del self._values[k]

    async def claim(self, key: str, ttl: int) -> bool:
        now = time.monotonic()
        self._gc(now)
        exp = self._expiry.get(key)
        if exp is not None and exp > now:
            return False
        self._expiry[key] = now + ttl
        return True

    async def release(self, key: str) -> None:
        self._expiry.pop(key, None)
        self._values.pop(key, None)

    async def get(self, key: str) -> str | None:
        item = self._values.get(key)
        if item is None or item[0] <= time.monotonic():
            return None
        return item[1]

    async def put(self, key: str, value: str, ttl: int) -> None:
        now = time.monotonic()
        self._gc(now)
        self._values[key] = (now + ttl, value)

    async def hit(self, key: str, window: int) -> int:
        now = time.monotonic()
        self._gc(now)
        exp, count = self._counts.get(key, (0.0, 0))
        if exp <= now:
            exp, count = now + window, 0
        count += 1
        self._counts[key] = (exp, count)
        return count


    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class RedisKV:
    """Redis engine: SET NX EX for claims, INCR+EXPIRE for windows, SET EX for values."""

    def __init__(self, redis: Redis, prefix: str = "glocal:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def claim(self, key: str, ttl: int) -> bool:
        return bool(await self.redis.set(self.prefix + key, uuid.uuid4().hex, nx=True, ex=ttl))

    async def release(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)

    async def get(self, key: str) -> str | None:
        return await self.redis.get(self.prefix + key)

    async def put(self, key: str, value: str, ttl: int) -> None:
        await self.redis.set(self.prefix + key, value, ex=ttl)

    async def hit(self, key: str, window: int) -> int:
        k = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(k)
            pipe.expire(k, window, nx=True)
            count, _ = await pipe.execute()
        return int(count)


    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def close(self) -> None:
        await self.redis.aclose()


def make_kv(redis_url: str | None) -> MemoryKV | RedisKV:
    if redis_url:
        return RedisKV(Redis.from_url(redis_url, decode_responses=True))
    return MemoryKV()
