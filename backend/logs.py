"""Structured JSON logs that carry the update and user being handled."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

update_id_var: ContextVar[int | None] = ContextVar("update_id", default=None)
user_id_var: ContextVar[int | None] = ContextVar("user_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, var in (("update_id", update_id_var), ("user_id", user_id_var)):
            value = var.get()
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ctx = " ".join(
            f"{k}={v.get()}" for k, v in (("update_id", update_id_var), ("user_id", user_id_var)) if v.get() is not None
        )
        base = f"{record.levelname:<7} {record.name}: {record.getMessage()}" + (f" [{ctx}]" if ctx else "")
        if record.exc_info:
            base += "\n" + (record.exc_text or self.formatException(record.exc_info))
        return base


# A Telegram bot token (`<bot id>:<35 characters>`): in a Bot API URL (`/bot<token>/getMe`,
# which httpx and aiohttp log and put into their errors) or anywhere else.
BOT_TOKEN_RE = re.compile(r"(\d{3,20}):[A-Za-z0-9_-]{20,}")


def redact(text: str) -> str:
    """The text with every bot token masked, the bot's id kept."""
    return BOT_TOKEN_RE.sub(r"\1:[REDACTED]", text)


class RedactTokens(logging.Filter):
    """No bot token reaches a log line: the message, its arguments and any traceback are
    masked before a handler formats them (the platform's token and every town's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def setup_logging(level: str = "INFO", *, json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_logs else TextFormatter())
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiosqlite", "httpx", "apscheduler.executors.default", "apscheduler.scheduler", "uvicorn.access", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
