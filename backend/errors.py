"""Domain errors. Each carries a translatable message (a gettext msgid) and its parameters;
the HTTP layer and the bot each map them to a localized response in one place."""

from __future__ import annotations

from typing import Any

from backend import i18n


class DomainError(Exception):
    status: int = 400
    code: str = "error"

    def __init__(self, message: str, /, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def render(self, locale: str | None = None) -> str:
        """The message in `locale` (default: the current one), parameters filled in."""
        return i18n.render(self.message, self.params, locale)


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


class InvalidFields(Invalid):
    """Invalid input the HTTP layer answers like a body that failed validation: the message
    says what is wrong with each field, and `fields` names them (e.g. `settings.answer_days`)."""

    def __init__(self, message: str, /, *, fields: list[str], **params: Any) -> None:
        super().__init__(message, **params)
        self.fields = fields
