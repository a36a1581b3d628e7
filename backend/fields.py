"""Shared input types for the edges of the backend: ids bounded to what the database stores
and text the database accepts, validated once where a request enters (path, query, body).

Why: an id of 2**31 is a PostgreSQL error on an `integer` column and 2**63 one on SQLite;
PostgreSQL refuses NUL (U+0000) in text, and neither engine encodes a lone surrogate. Each of
these is a 500 unless it is refused up front with a 422. Routes and schemas use these types
instead of bare `int` and `str`:

    from backend.fields import Id, IdPath, Text

    class AssignIn(BaseModel):
        assignee_id: Id | None = None
        note: Text(4000) = ""

    async def card(appeal_id: IdPath, ...): ...
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator, Field, Strict, StringConstraints

# Every primary and foreign key is a PostgreSQL `integer` (SQLAlchemy `Integer`).
INT32_MAX = 2**31 - 1
# `BigInteger` columns (telegram_id) and the largest integer SQLite stores.
INT64_MAX = 2**63 - 1
# Telegram: a user id "has at most 52 significant bits" (Bot API, User.id).
TELEGRAM_ID_MAX = 2**52 - 1

# No NUL: PostgreSQL cannot store it in text. The pattern is in the OpenAPI too, so a client
# generated from it knows; constrained strings also refuse lone surrogates (not valid UTF-8).
NO_NUL = r"^[^\x00]*$"


def _not_bool(value: Any) -> Any:
    # JSON `true` is an int to pydantic's lax mode; an id that is a boolean is a forged id.
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


# The constraints come before the validator: the other way round pydantic writes `ge`/`le`
# instead of `minimum`/`maximum` into the JSON schema.
Id = Annotated[int, Field(ge=1, le=INT32_MAX), BeforeValidator(_not_bool)]
"""A row id in a body: a positive integer within PostgreSQL's `integer`; not a boolean."""

IdPath = Annotated[Id, Path()]
"""A row id in the path, e.g. `/appeals/{appeal_id}`."""

IdQuery = Annotated[Id, Query()]
"""A row id in the query string; optional ones are `IdQuery | None = None`."""

TelegramId = Annotated[int, Strict(), Field(ge=1, le=TELEGRAM_ID_MAX)]
"""A Telegram user id as Telegram sends it: a JSON integer, positive, at most 52 bits."""


def Text(max_length: int, *, min_length: int = 0) -> Any:  # noqa: N802 - used like a type
    """A string of at most `max_length` characters without NUL (or lone surrogates)."""
    return Annotated[str, StringConstraints(min_length=min_length or None, max_length=max_length, pattern=NO_NUL)]


def TextQuery(max_length: int, *, min_length: int = 0) -> Any:  # noqa: N802
    """`Text` in the query string, e.g. `q: TextQuery(200) | None = None`."""
    return Annotated[Text(max_length, min_length=min_length), Query()]
