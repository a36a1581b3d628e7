"""The ticket's calendar file: one VEVENT as RFC 5545 describes it (CRLF line ends, text
escaped, lines folded at 75 octets), with a URL back to the event in the bot."""

from __future__ import annotations

from datetime import UTC, datetime


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets, never inside a UTF-8 character (§3.1)."""
    out: list[str] = []
    current, size = "", 0
    for ch in line:
        width = len(ch.encode())
        limit = 75 if not out else 74  # continuation lines start with a space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += ch
        size += width
    out.append(current)
    return "\r\n ".join(out)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(
    *, uid: str, title: str, starts_at: datetime, ends_at: datetime, now: datetime, description: str = "", location: str = "",
    lat: float | None = None, lon: float | None = None, url: str | None = None,
) -> bytes:
    """An iCalendar file with the one event."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Glocal//Events//RU", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp(now)}",
        f"DTSTART:{stamp(starts_at)}",
        f"DTEND:{stamp(ends_at)}",
        f"SUMMARY:{escape(title)}",
    ]
    if description:
        lines.append(f"DESCRIPTION:{escape(description)}")
    if location:
        lines.append(f"LOCATION:{escape(location)}")
    if lat is not None and lon is not None:
        lines.append(f"GEO:{lat:.6f};{lon:.6f}")
    if url:
        lines.append(f"URL:{url}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode()
