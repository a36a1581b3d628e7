"""What surveys tell people: the results, once the organizers publish them."""

from __future__ import annotations

from backend.core.notifications.notices import Notice, Priority
from backend.i18n import N_


class ResultsPublished(Notice):
    """To each identified respondent: the headline of each question, as text."""

    kind = "surveys.results"
    text = N_("The results of the survey «{title}» are published. Thank you for taking part!\n\n{summary}")
    priority = Priority.BULK
    survey_id: int
    title: str
    summary: str


NOTICES: tuple[type[Notice], ...] = (ResultsPublished,)
