"""aiogram's FSM storage over the database, in the update's own transaction.

Dialog state lives in `dialog_state` (backend/core/dialogs) on both engines. Inside an update it
is read and written through that update's session, so a step's state change commits with its
effects or not at all: a Submit whose transaction rolled back leaves the draft and the summary
step as they were, and one that committed has cleared them. Outside an update (a test, a tool)
each call is a small transaction of its own.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.dialogs import service as dialogs
from backend.db import unit_of_work

update_session: ContextVar[AsyncSession | None] = ContextVar("glocal_update_session", default=None)


class DatabaseStorage(BaseStorage):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], key_builder: KeyBuilder | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, prefix="tg")

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        session = update_session.get()
        if session is not None:
            yield session
            return
        async with unit_of_work(self.sessionmaker) as own:
            yield own

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self._session() as session:
            await dialogs.set_state(session, key=self.key_builder.build(key), state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._session() as session:
            row = await dialogs.load(session, key=self.key_builder.build(key))
            return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self._session() as session:
            await dialogs.set_data(session, key=self.key_builder.build(key), data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._session() as session:
            row = await dialogs.load(session, key=self.key_builder.build(key))
            # A deep copy: a handler that changes a list in place must not change the row behind our back.
            return copy.deepcopy(row.data) if row and row.data else {}

    async def close(self) -> None:
        return None
