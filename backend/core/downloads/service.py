"""Signed download links. A link grants one GET - that path with that query string - as one
person, for a few minutes; it is signed with a key derived from the bot's token, so every
replica can verify it without shared state. The rights are not in the link: the GET is
served as that person through the route's own checks, at download time.

A token is `<payload>.<signature>`, both base64url: the payload is compact JSON
{"u": user id, "p": path, "q": query string, "x": expiry (Unix seconds)}, the signature
HMAC-SHA256 of the payload under HMAC-SHA256(token, "glocal-download-link/v1").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.users.models import User
from backend.errors import Unauthorized
from backend.i18n import N_

LINK_TTL = 300  # seconds: long enough for Telegram to start the download, short enough to leak little
PREFIX = "/api/v1/dl/"  # where links point; the token follows
SUFFIX = "/download-link"  # POST <download path>/download-link signs a link to <download path>
SCOPE_KEY = "glocal.download_grant"  # the verified grant, in the ASGI scope of the GET it serves
MAX_TOKEN = 4096

INVALID = N_("This download link is not valid. Download the file again from the app.")
EXPIRED = N_("This download link has expired. Download the file again from the app.")


@dataclass(frozen=True)
class Grant:
    """What a link allows: GET `path`?`query` as the person `user_id`, until `expires`."""

    user_id: int
    path: str
    query: str
    expires: int


def link_key(signing_token: str) -> bytes:
    """The links' own key: derived, so a link never reveals or reuses the bot's token."""
    return hmac.new(signing_token.encode(), b"glocal-download-link/v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, *, user_id: int, path: str, query: str = "", now: float | None = None, ttl: int = LINK_TTL) -> str:
    """A token granting GET `path`?`query` as `user_id` for `ttl` seconds from `now`."""
    expires = int((time.time() if now is None else now) + ttl)
    payload = _b64(json.dumps({"u": user_id, "p": path, "q": query, "x": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())}"


def verify(key: bytes, token: str, *, now: float | None = None) -> Grant:
    """The grant a token carries; Unauthorized when it is forged, malformed or expired."""
    payload, _, signature = token.partition(".")
    try:
        if len(token) > MAX_TOKEN or not payload or not signature:
            raise ValueError(token[:40])
        expected = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise ValueError("signature")
        data: dict[str, Any] = json.loads(_unb64(payload))
        grant = Grant(user_id=int(data["u"]), path=str(data["p"]), query=str(data["q"]), expires=int(data["x"]))
        # Only the API's own downloads are signed; never another link, nor anything outside.
        if not grant.path.startswith("/api/v1/") or grant.path.startswith(PREFIX):
            raise ValueError(grant.path)
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        raise Unauthorized(INVALID) from None
    if grant.expires < (time.time() if now is None else now):
        raise Unauthorized(EXPIRED)
    return grant


def granted(scope: dict[str, Any]) -> Grant | None:
    """The grant the request is served under, when it came through a signed link."""
    grant = scope.get(SCOPE_KEY)
    return grant if isinstance(grant, Grant) else None


async def person(session: AsyncSession, *, grant: Grant) -> User:
    """The person a link downloads as; a link of someone since erased downloads nothing."""
    user = await session.get(User, grant.user_id)
    if user is None or user.anonymized_at is not None:
        raise Unauthorized(INVALID)
    return user


def public_base(miniapp_base: str | None, request_base: str) -> str:
    """Where the API is reached from the person's device: beside the miniapps (MINIAPP_URL, or
    PUBLIC_URL/app) - the parent of their folder, usually the origin - else this request's base."""
    if not miniapp_base:
        return request_base.rstrip("/")
    parts = urlsplit(miniapp_base)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/').rpartition('/')[0]}"
