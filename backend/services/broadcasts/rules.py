"""The rules of broadcasts, apart from storage: statuses and their moves, recipients' states,
categories residents can mute, Telegram's HTML and its limits, and the pace of delivery."""

from __future__ import annotations

import enum
import re
from html.parser import HTMLParser

from backend.i18n import N_

TEXT_LIMIT = 4096  # Telegram: a message's text, after entities are parsed
CAPTION_LIMIT = 1024  # a photo's caption
MAX_BUTTON_ROWS = 8
MAX_BUTTONS_PER_ROW = 4  # more than that cannot be read on a phone


class Status(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


# Which status each organizer's move may start from.
MOVES: dict[str, frozenset[Status]] = {
    "edit": frozenset({Status.DRAFT, Status.SCHEDULED}),
    "start": frozenset({Status.DRAFT, Status.SCHEDULED}),
    "schedule": frozenset({Status.DRAFT, Status.SCHEDULED}),
    "unschedule": frozenset({Status.SCHEDULED}),
    "pause": frozenset({Status.RUNNING}),
    "resume": frozenset({Status.PAUSED}),
    "cancel": frozenset({Status.DRAFT, Status.SCHEDULED, Status.RUNNING, Status.PAUSED}),
}


class State(enum.StrEnum):
    """A recipient's state. Only `sending` is ever uncertain: it is written before the call to
    Telegram and replaced once Telegram answered; one found after its worker's lease ran out
    becomes `uncertain` and is never sent again."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"  # Telegram's 403: the person blocked the bot (skipped from then on)
    FAILED = "failed"  # refused, or errors until the attempts ran out
    UNCERTAIN = "uncertain"  # in flight when its worker died: maybe delivered, never repeated
    MUTED = "muted"  # the person muted this category (or all announcements) before it went


FINAL = frozenset({State.SENT, State.BLOCKED, State.FAILED, State.UNCERTAIN, State.MUTED})

# Categories residents mute. "all" is not one: muting everything is its own switch.
CATEGORIES: dict[str, str] = {
    "news": N_("Town news"),
    "events": N_("Events"),
    "surveys": N_("Surveys"),
    "works": N_("Outages and roadworks"),
    "safety": N_("Safety warnings"),
}
ALL = "*"

MAX_ATTEMPTS = 5  # other errors are retried with backoff this many times, then the recipient failed


def backoff_seconds(attempts: int) -> float:
    """How long after the `attempts`-th failure the next try waits."""
    return float(min(600, 5 * 2 ** max(0, attempts - 1)))


# --- Telegram's HTML -------------------------------------------------------------------------
# https://core.telegram.org/bots/api#html-style

_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(), "strong": frozenset(), "i": frozenset(), "em": frozenset(), "u": frozenset(),
    "ins": frozenset(), "s": frozenset(), "strike": frozenset(), "del": frozenset(), "tg-spoiler": frozenset(),
    "span": frozenset({"class"}), "a": frozenset({"href"}), "code": frozenset({"class"}), "pre": frozenset(),
    "blockquote": frozenset({"expandable"}), "tg-emoji": frozenset({"emoji-id"}),
}
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_AMP = re.compile(r"&")
HREF = re.compile(r"^(https?://[^\s<>\"]+|tg://[^\s<>\"]+|mailto:[^\s<>\"]+)$")


class HtmlError(ValueError):
    """The text is not HTML Telegram accepts; `msgid` and `params` say why."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)  # entities come apart, so a bare < in the text shows
        self.stack: list[str] = []
        self.length = 0
        self.blank = True  # nothing but whitespace so far

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            raise HtmlError(N_("Telegram does not support the <{tag}> tag."), tag=tag)
        for name, value in attrs:
            if name not in _TAGS[tag]:
                raise HtmlError(N_("The <{tag}> tag cannot have the attribute {attr}."), tag=tag, attr=name)
            if tag == "a" and not HREF.match(value or ""):
                raise HtmlError(N_("A link must start with https://, http://, tg:// or mailto:."))
            if tag == "span" and value != "tg-spoiler":
                raise HtmlError(N_("A <span> is only allowed as a spoiler (class=\"tg-spoiler\")."))
        if tag == "a" and not any(n == "href" for n, _ in attrs):
            raise HtmlError(N_("A link needs an address (href)."))
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise HtmlError(N_("Telegram does not support the <{tag}> tag."), tag=tag + "/")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise HtmlError(N_("The tag </{tag}> closes a tag that is not open."), tag=tag)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise HtmlError(N_("Write a < that is not a tag as &lt;."))
        self.length += len(data)
        self.blank = self.blank and not data.strip()

    def handle_entityref(self, name: str) -> None:
        self.length += 1
        self.blank = False

    def handle_charref(self, name: str) -> None:
        self.length += 1
        self.blank = False

    def handle_comment(self, data: str) -> None:
        raise HtmlError(N_("Comments are not allowed in a message."))

    def handle_decl(self, decl: str) -> None:
        raise HtmlError(N_("Comments are not allowed in a message."))

    handle_pi = handle_decl
    unknown_decl = handle_decl


def check_html(text: str, *, limit: int) -> int:
    """Check `text` is HTML Telegram accepts and fits `limit` characters once parsed; returns
    its visible length. Raises HtmlError."""
    # Telegram understands only four named entities and numeric ones; a bare & must be &amp;.
    stripped = _ENTITY.sub("", text)
    if _AMP.search(stripped):
        raise HtmlError(N_("Write a bare & as &amp; (Telegram knows only the entities &lt; &gt; &amp; &quot; and numeric ones)."))
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise HtmlError(N_("The tag <{tag}> is not closed."), tag=checker.stack[-1])
    if checker.blank:
        raise HtmlError(N_("The message has no text."))
    if checker.length > limit:
        raise HtmlError(N_("The text is {length} characters long; Telegram allows {limit}."), length=checker.length, limit=limit)
    return checker.length


# --- pace ------------------------------------------------------------------------------------

PRIVATE_CHAT_RATE = 1.0  # Telegram: about one message a second to one chat
GROUP_CHAT_RATE = 20 / 60  # and 20 a minute to one group


def chat_rate(chat_id: int) -> float:
    """Messages a second Telegram lets a bot send to this chat (groups have negative ids)."""
    return GROUP_CHAT_RATE if chat_id < 0 else PRIVATE_CHAT_RATE
