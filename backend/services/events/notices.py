"""What events tell people: typed notices (the bot adds the buttons: confirm an offered place,
open the ticket)."""

from __future__ import annotations

from backend.core.notifications.notices import Notice
from backend.i18n import N_


class EventNotice(Notice):
    registration_id: int
    event_id: int
    title: str


class PlaceOffered(EventNotice):
    """The first of the waitlist: a place freed up, confirm it by the deadline."""

    kind = "events.offered"
    text = N_(
        "A place has freed up at «{title}» ({when}). It is held for you until {deadline}: "
        "confirm it with the button below, or it goes to the next person on the waitlist."
    )
    when: str
    deadline: str


class OfferExpired(EventNotice):
    kind = "events.offer_expired"
    text = N_("The place at «{title}» held for you was not confirmed in time and went to the next person on the waitlist.")


class ReminderDay(EventNotice):
    kind = "events.reminder_day"
    text = N_("Tomorrow: «{title}», {when}, {venue}. Your ticket code: {code}.")
    when: str
    venue: str
    code: str


class ReminderHour(EventNotice):
    kind = "events.reminder_hour"
    text = N_("In an hour: «{title}», {when}, {venue}. Your ticket code: {code}.")
    when: str
    venue: str
    code: str


NOTICES: tuple[type[Notice], ...] = (PlaceOffered, OfferExpired, ReminderDay, ReminderHour)
