"""What the toy tells people: typed and channel-neutral (the bot decides how it looks)."""

from __future__ import annotations

from backend.core.notifications.notices import Notice
from backend.i18n import N_


class NoteKept(Notice):
    kind = "toy.kept"
    text = N_("Your note is kept: {note}")
    note_id: int
    note: str


NOTICES = (NoteKept,)
