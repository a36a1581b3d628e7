"""Typed notices: what the backend tells a person, independent of the channel.

A notice is a pydantic model: its class names the kind and the text (a gettext msgid whose
placeholders are the model's fields; fields named `*_msgid` are msgids themselves and are
translated too). Services declare their notices in their manifest; a channel adapter (the
bot) renders each kind as it sees fit, with the text as the fallback.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from backend.i18n import render


class Priority(IntEnum):
    """Lower goes first. Replies to a person's own message never wait behind any of these."""

    PERSONAL = 10  # about the person's own case: an answer, a status, a question to them
    WORK = 20  # to staff: reminders, assignments, approvals
    BULK = 30  # announcements to many


class Notice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str]
    text: ClassVar[str]
    priority: ClassVar[Priority] = Priority.PERSONAL

    def params(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def render(self, locale: str | None = None) -> str:
        """The text in `locale`, parameters filled in."""
        return render(self.text, self.params(), locale)


class NoticeTypes:
    """Notice kinds by name, built from the installed components' manifests."""

    def __init__(self, types: list[type[Notice]]) -> None:
        self._by_kind: dict[str, type[Notice]] = {}
        for t in types:
            if t.kind in self._by_kind and self._by_kind[t.kind] is not t:
                raise ValueError(f"notice kind {t.kind!r} declared twice")
            self._by_kind[t.kind] = t

    def load(self, kind: str, payload: dict[str, Any]) -> Notice:
        """Rebuild a stored notice (KeyError for a kind no installed component declares)."""
        return self._by_kind[kind].model_validate(payload)

    def __contains__(self, kind: object) -> bool:
        return kind in self._by_kind


class PlainText(Notice):
    """A message whose text is any msgid with values (what the outbox held before notices
    were typed; also for one-off texts that need no buttons)."""

    kind = "text"
    text = "{msgid}"
    msgid: str
    values: dict[str, Any] = {}

    def render(self, locale: str | None = None) -> str:
        return render(self.msgid, self.values, locale)


CORE_NOTICES: list[type[Notice]] = [PlainText]
