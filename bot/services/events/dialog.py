"""States of the events dialogs: answering the registration form, naming a team, typing a
team's code."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

ANSWER_MAX = 1000
TEAM_NAME_MAX = 100


class EventForm(StatesGroup):
    question = State()  # data: event_id, q (index), answers, terms


class TeamForm(StatesGroup):
    name = State()  # data: registration_id
    code = State()
