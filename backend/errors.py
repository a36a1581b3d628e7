"""Domain errors. Each carries a translatable message (a gettext msgid) and its parameters;
the HTTP layer and the bot each map them to a localized response in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    code: str = "error"

    def __init__(self, message: str, /, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def render(self, gettext: Any) -> str:
        """The message in the caller's language; `gettext` is the locale-bound translator.
        Parameters named `*_msgid` are msgids themselves and are translated too."""
        params = {k: gettext(v) if k.endswith("_msgid") else v for k, v in self.params.items()}
        return gettext(self.message).format(**params)


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Invalid(DomainError):
    status = 422
    code = "invalid"
