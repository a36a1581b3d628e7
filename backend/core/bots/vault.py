"""Town bots' tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key
derived from SECRET_KEY (or, without it, from the platform bot's token).

What it protects: a database dump, a backup file or a read-only SQL account gives no town's
bot token; the key lives only in the process's configuration. What it does not: someone who
can read the process's environment has both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

_CONTEXT = b"glocal-town-bot-token/v1"


class Cipher:
    def __init__(self, secret: str) -> None:
        key = hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def __repr__(self) -> str:
        return "Cipher(<secret>)"

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The token, or None when it was sealed with another key (SECRET_KEY changed)."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            return None


def webhook_secret(token: str) -> str:
    """The X-Telegram-Bot-Api-Secret-Token of a bot: derived from its token, as the platform
    bot's is (backend/settings.py), so every replica agrees without storing another secret."""
    return hmac.new(token.encode(), b"glocal-webhook", hashlib.sha256).hexdigest()


def hint(token: str) -> str:
    """A masked form people can recognise: the bot's id and the token's last four characters."""
    bot_id, _, rest = token.partition(":")
    return f"{bot_id}:…{rest[-4:]}"
