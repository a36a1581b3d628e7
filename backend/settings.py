"""One validated settings object, read from the environment and `.env`.

Nothing else in the code reads `os.environ`: everything comes through `Settings`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_LOCALES = ("ru", "en")
_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "xxx", "todo", "token"}
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class SettingsError(Exception):
    """A configuration value is wrong: the message names the variable, in one line."""


class Settings(BaseSettings):
    """Process-wide configuration; see README, section Configuration."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    BOT_TOKEN: SecretStr | None = None
    # The bot's @username without the @: staff invitations become t.me/<username>?start=... links.
    BOT_USERNAME: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
    WEBHOOK_SECRET: SecretStr | None = None
    # Encrypts town bots' tokens at rest (backend/core/bots/vault.py); without it, a key derived
    # from the platform bot's token. Changing it means connecting the town bots again.
    SECRET_KEY: SecretStr | None = None
    PUBLIC_URL: str | None = None
    MINIAPP_URL: str | None = Field(
        default=None, description="HTTPS base of the miniapps when it differs from PUBLIC_URL/app/"
    )
    TELEGRAM_API_URL: str = "https://api.telegram.org"
    DATABASE_URL: str = f"sqlite+aiosqlite:///{ROOT / 'var' / 'glocal.db'}"
    REDIS_URL: str | None = None
    DEFAULT_LOCALE: Literal["ru", "en"] = "ru"
    AUTH_MAX_AGE: int = Field(default=3600, gt=0)
    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8080, gt=0, lt=65536)
    DATA_DIR: Path = ROOT / "var"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_JSON: bool = True
    THROTTLE_RATE: int = Field(default=8, gt=0, description="updates a user may send per THROTTLE_WINDOW")
    THROTTLE_WINDOW: int = Field(default=5, gt=0)
    USER_CACHE_TTL: int = Field(default=300, gt=0, description="seconds a person's row is cached between updates")
    FSM_TTL: int = Field(default=7 * 24 * 3600, gt=0, description="seconds an untouched dialog is kept")
    REPLY_LEASE: int = Field(default=30, gt=0, le=3600, description="seconds before another replica resends replies nobody reported sent")
    SCHEDULER: bool = True
    DEMO: bool = Field(default=True, description="seed the demo town on first start")
    TIMEZONE: str = "Europe/Moscow"
    BROADCAST_BOT_RATE: float = Field(default=30.0, gt=0, le=1000, description="messages a second Telegram lets the bot send overall")
    BROADCAST_SHARE: float = Field(default=0.85, gt=0, le=1, description="the share of that a broadcast may take (replies get the rest first)")
    BROADCAST_SENDERS: int = Field(default=32, ge=1, le=512, description="calls in flight per broadcast worker")
    BROADCAST_LEASE: int = Field(default=30, ge=2, le=3600, description="seconds a dead worker's recipients wait before others take them")
    PDF_FONT: Path | None = Field(default=None, description="a TrueType font with Cyrillic glyphs for PDFs")

    @field_validator("BOT_TOKEN")
    @classmethod
    def _token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        if not _TOKEN_RE.match(v.get_secret_value()):
            raise ValueError("is not a bot token of the form 123456:ABC... (get one from @BotFather)")
        return v

    @field_validator("WEBHOOK_SECRET")
    @classmethod
    def _secret_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        raw = v.get_secret_value()
        if raw.lower() in _PLACEHOLDERS or len(raw) < 16:
            raise ValueError("is a placeholder or shorter than 16 characters")
        if not _WEBHOOK_SECRET_RE.match(raw):
            raise ValueError("may contain only A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return v

    @field_validator("SECRET_KEY")
    @classmethod
    def _secret_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        if v.get_secret_value().lower() in _PLACEHOLDERS or len(v.get_secret_value()) < 32:
            raise ValueError("is a placeholder or shorter than 32 characters")
        return v

    @field_validator("PUBLIC_URL", "MINIAPP_URL")
    @classmethod
    def _https(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not v.startswith("https://"):
            raise ValueError("must start with https:// (Telegram accepts webhooks and Mini Apps only over HTTPS)")
        return v.rstrip("/")

    @field_validator("TELEGRAM_API_URL")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL of a Bot API server")
        return v.rstrip("/")

    @field_validator("DATABASE_URL")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if v.startswith("postgresql://") or v.startswith("postgres://"):
            v = "postgresql+asyncpg://" + v.split("://", 1)[1]
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        return v

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_url(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// URL")
        return v

    @field_validator("TIMEZONE")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone such as Europe/Moscow") from None
        return v

    @model_validator(mode="after")
    def _webhook_needs_token(self) -> Settings:
        if self.PUBLIC_URL and not self.BOT_TOKEN:
            raise ValueError("PUBLIC_URL is set but BOT_TOKEN is not: a webhook needs a bot")
        return self

    # -- derived values ---------------------------------------------------------

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    @property
    def bot_enabled(self) -> bool:
        return self.BOT_TOKEN is not None

    @cached_property
    def signing_token(self) -> str:
        """The token that signs Mini App launch data: the bot's, or a local development one.

        Without BOT_TOKEN a development token is generated once and kept in DATA_DIR, so the
        printed demo links keep working across restarts; the verification code is the same.
        """
        if self.BOT_TOKEN is not None:
            return self.BOT_TOKEN.get_secret_value()
        path = self.DATA_DIR / "dev_bot_token"
        if path.exists():
            return path.read_text().strip()
        self.DATA_DIR.mkdir(parents=True, exist_ok=True)
        token = f"{secrets.randbelow(10**9) + 10**9}:DEV{secrets.token_urlsafe(30)}"
        path.write_text(token)
        path.chmod(0o600)
        return token

    @cached_property
    def webhook_secret(self) -> str:
        """The secret Telegram must echo in X-Telegram-Bot-Api-Secret-Token.

        Derived from the bot token when not configured, so every replica agrees without
        shared state and the value is never guessable without the token.
        """
        if self.WEBHOOK_SECRET is not None:
            return self.WEBHOOK_SECRET.get_secret_value()
        return hmac.new(self.signing_token.encode(), b"glocal-webhook", hashlib.sha256).hexdigest()

    @property
    def secret_key(self) -> str:
        """The secret town bots' tokens are encrypted with (SECRET_KEY, else the signing token)."""
        if self.SECRET_KEY is not None:
            return self.SECRET_KEY.get_secret_value()
        return hmac.new(self.signing_token.encode(), b"glocal-secret-key", hashlib.sha256).hexdigest()

    @property
    def miniapp_base(self) -> str | None:
        """HTTPS base URL of the miniapps, or None when Telegram cannot open them."""
        if self.MINIAPP_URL:
            return self.MINIAPP_URL
        if self.PUBLIC_URL:
            return f"{self.PUBLIC_URL}/app"
        return None

    @property
    def files_dir(self) -> Path:
        return self.DATA_DIR / "files"

    @property
    def local_url(self) -> str:
        return f"http://{self.HOST}:{self.PORT}"


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning a validation error into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err.get("loc", ())) or "configuration"
        msg = err.get("msg", "invalid value").removeprefix("Value error, ")
        raise SettingsError(f"{name}: {msg}") from None
