"""What appeals tell people: typed notices, rendered by each channel (the bot adds the
buttons: rate the answer, reply to a question, open the appeal)."""

from __future__ import annotations

from backend.core.notifications.notices import Notice, Priority
from backend.i18n import N_


class AppealNotice(Notice):
    appeal_id: int
    number: str


class StatusChanged(AppealNotice):
    kind = "appeals.status"
    text = N_("Your appeal {number}: the status is now «{status_msgid}».")
    status_msgid: str


class InfoRequested(AppealNotice):
    kind = "appeals.info_requested"
    text = N_("Your appeal {number}: the administration asks for more information:\n\n{question}")
    question: str


class Redirected(AppealNotice):
    kind = "appeals.redirected"
    text = N_("Your appeal {number} has been sent to the body competent to answer it: {to}.")
    to: str


class Extended(AppealNotice):
    kind = "appeals.extended"
    text = N_("The answer to your appeal {number} has been extended to {date}. Reason: {reason}")
    date: str
    reason: str


class LeftWithoutAnswer(AppealNotice):
    kind = "appeals.no_answer"
    text = N_("Your appeal {number} will not be answered on the merits. Reason: {reason_msgid}")
    reason_msgid: str


class AbuseInadmissible(AppealNotice):
    """art. 11 p. 3: left unanswered on the merits for obscene or insulting language or
    threats, the citizen is told that abuse of the right to appeal is inadmissible."""

    kind = "appeals.no_answer_abuse"
    text = N_(
        "Your appeal {number} is left without an answer on the merits of the questions it raises: it contains "
        "obscene or insulting language, or threats to the life, health or property of an official or their family. "
        "Abuse of the right to appeal is inadmissible (art. 11 p. 3 of Federal Law 59-FZ)."
    )


class Merged(AppealNotice):
    kind = "appeals.merged"
    text = N_("Your report {number} is about the same problem as report {other}; you will receive the answer to it.")
    other: str


class Answered(AppealNotice):
    kind = "appeals.answered"
    text = N_("Answer to your appeal {number} (outgoing No. {doc_number}):\n\n{body}")
    doc_number: str
    body: str


class Reminder(AppealNotice):
    """To the assignee and department heads, before and after the answer deadline."""

    priority = Priority.WORK
    municipality_id: int
    date: str


class DueIn5Days(Reminder):
    kind = "appeals.due_in_5_days"
    text = N_("Reminder: the answer to appeal {number} is due in 5 days ({date}).")


class DueTomorrow(Reminder):
    kind = "appeals.due_in_1_day"
    text = N_("Reminder: the answer to appeal {number} is due tomorrow ({date}).")


class Overdue(Reminder):
    kind = "appeals.overdue"
    text = N_("Overdue: the answer to appeal {number} was due {date}.")


NOTICES: tuple[type[Notice], ...] = (
    StatusChanged, InfoRequested, Redirected, Extended, LeftWithoutAnswer, AbuseInadmissible, Merged, Answered, DueIn5Days, DueTomorrow, Overdue,
)
