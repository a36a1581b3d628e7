"""What the manifest promises beyond the dialog and the API: a person's data exported and
erased (identified answers only: anonymous ones hold no person), the Atlas' figures, the
file access of photo answers, the demo seed, and the rules' pure parts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from backend.core.components.manifest import Viewer
from backend.core.files.models import StoredFile
from backend.core.privacy import service as privacy
from backend.core.users.models import Role
from backend.errors import Conflict, Invalid
from backend.services.surveys import queries, rules
from backend.services.surveys import service as surveys
from backend.services.surveys.models import SurveyResponse
from backend.services.surveys.rules import Question
from backend.services.surveys.schemas import SurveyIn
from tests.factories import make_town, make_user, seed

SECRET = b"test-secret"
CHOICE = {"key": "best", "kind": "single", "text": "Best place", "options": [{"key": "park", "label": "Park"}, {"key": "river", "label": "River"}]}
MARK = {"key": "mark", "kind": "scale", "text": "Mark", "scale_min": 1, "scale_max": 5}
PHOTO = {"key": "pic", "kind": "photo", "text": "Photo", "required": False}


async def _survey(s, town, organizer, *, anonymous: bool, questions=(CHOICE, MARK, PHOTO)):  # noqa: ANN001, ANN202
    survey = await surveys.create(
        s, municipality_id=town.id, actor_id=organizer.id,
        data=SurveyIn(title="Town", anonymous=anonymous, questions=[Question.model_validate(q) for q in questions]),
    )
    await surveys.open_(s, survey=survey, actor_id=organizer.id)
    return survey


async def test_personal_data_export_and_erasure(runtime, tmp_path):
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s)
        organizer = await make_user(s, town=town, roles=(Role.ORGANIZER,))
        person = await make_user(s, town=town)
        named = await _survey(s, town, organizer, anonymous=False)
        anon = await _survey(s, town, organizer, anonymous=True)
        await privacy.give_consent(s, user_id=person.id, channel="bot")
        photo = await surveys.save_photo(s, survey=named, user=person, data=b"\xff\xd8\xff\xe0 jpeg", filename="p.jpg", mime="image/jpeg", files_root=tmp_path)
        await surveys.submit(s, survey=named, user=person, answers={"best": "park", "mark": 4, "pic": photo.id}, secret=SECRET)
        # Changed while open, the same photo kept: the response is replaced, the photo stays its.
        _r, replaced = await surveys.submit(s, survey=named, user=person, answers={"best": "river", "mark": 4, "pic": photo.id}, secret=SECRET)
        assert replaced is True and photo.owner_id == _r.id
        await surveys.submit(s, survey=anon, user=person, answers={"best": "park", "mark": 2}, secret=SECRET)
        return town, person, photo

    town, person, photo = await seed(runtime, make)

    async def export(s):  # noqa: ANN001, ANN202
        return await privacy.export_user_data(s, user_id=person.id, registry=runtime.registry)

    data = await seed(runtime, export)
    assert data["surveys"] == [{"survey": "Town", "submitted_at": data["surveys"][0]["submitted_at"],
                                "answers": {"Best place": "River", "Mark": "4", "Photo": "📷"}}]

    async def forget(s):  # noqa: ANN001, ANN202
        await privacy.forget_user(s, user_id=person.id, registry=runtime.registry)

    await seed(runtime, forget)
    async with runtime.sessionmaker() as s:
        rows = list(await s.scalars(select(SurveyResponse)))
        stored = await s.get(StoredFile, photo.id)
    # The identified answer is gone, its photo unowned (the orphan job removes the bytes);
    # the anonymous answer, which holds nobody, stays in the results.
    assert [r.answers for r in rows] == [{"best": "park", "mark": 2}] and rows[0].user_id is None
    assert stored.owner_id is None


async def test_stats_photo_access_and_one_anonymous_answer(runtime, tmp_path):
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s)
        organizer = await make_user(s, town=town, roles=(Role.RESIDENT, Role.ORGANIZER))
        people = [await make_user(s, town=town) for _ in range(5)]
        survey = await _survey(s, town, organizer, anonymous=True)
        photo = await surveys.save_photo(s, survey=survey, user=people[0], data=b"\xff\xd8\xff\xe0 jpeg", filename="p.jpg", mime="image/jpeg", files_root=tmp_path)
        assert photo.created_by is None and photo.created_at.hour == 0
        answers = [("park", 5), ("park", 4), ("river", 3), ("park", 4), ("river", 2)]
        for i, (person, (best, mark)) in enumerate(zip(people, answers, strict=True)):
            extra = {"pic": photo.id} if i == 0 else {}
            await surveys.submit(s, survey=survey, user=person, answers={"best": best, "mark": mark, **extra}, secret=SECRET)
        with pytest.raises(Conflict):
            await surveys.submit(s, survey=survey, user=people[0], answers={"best": "river", "mark": 1}, secret=SECRET)
        await surveys.close(s, survey=survey, actor_id=organizer.id)
        notified = await surveys.publish(s, survey=survey, actor_id=organizer.id, results=await queries.results(s, survey=survey))
        assert notified == 0  # anonymous respondents cannot be reached
        response = await s.scalar(select(SurveyResponse).where(SurveyResponse.answers["pic"].is_not(None)))
        return town, organizer, people, survey, response

    town, organizer, people, survey, response = await seed(runtime, make)

    async def read(s):  # noqa: ANN001, ANN202
        stats = await queries.stats(s, town.id, datetime.now(UTC))
        staff = await queries.may_see(s, Viewer(user_id=organizer.id, municipality_id=town.id, roles=frozenset({Role.ORGANIZER})), response.id)
        resident = await queries.may_see(s, Viewer(user_id=people[1].id, municipality_id=town.id, roles=frozenset({Role.RESIDENT})), response.id)
        return stats, staff, resident

    stats, staff, resident = await seed(runtime, read)
    assert stats["surveys"] == 1 and stats["respondents"] == 5 and stats["published"] == 1
    assert stats["response_rate"] == round(5 / 6, 4)
    assert stats[f"survey_{survey.id}.best"] == 0.6 and stats[f"survey_{survey.id}.mark"] == 3.6
    assert staff is True and resident is False


def test_rules_visibility_and_checks():
    qs = [Question.model_validate(q) for q in (
        CHOICE,
        {"key": "why", "kind": "text", "text": "Why the river?", "show_if": {"question": "best", "any_of": ["river"]}},
        MARK,
    )]
    assert [q.key for q in rules.visible(qs, {})] == ["best", "mark"]
    assert [q.key for q in rules.visible(qs, {"best": "river"})] == ["best", "why", "mark"]
    assert rules.next_index(qs, {"best": "park"}, 0) == 2 and rules.next_index(qs, {"best": "river"}, 0) == 1
    assert rules.progress(qs, {"best": "river"}, 2) == (3, 3)
    # A hidden question's answer is dropped, a required one is enforced only where shown.
    assert rules.check_answers(qs, {"best": "park", "why": "x", "mark": 3}) == {"best": "park", "mark": 3}
    with pytest.raises(Invalid):
        rules.check_answers(qs, {"best": "river", "mark": 3})
    assert rules.parse_number("1 234,5") == 1234.5
    assert rules.parse_date("05.03.2026").isoformat() == "2026-03-05"
    with pytest.raises(Invalid):
        rules.check_answer(Question.model_validate({"key": "n", "kind": "number", "text": "N"}), "inf")
    with pytest.raises(Invalid):
        rules.check_answer(Question.model_validate(MARK), True)
    digest = rules.voter_digest(SECRET, survey_id=1, user_id=2)
    assert digest != rules.voter_digest(SECRET, survey_id=1, user_id=3) != rules.voter_digest(b"other", survey_id=1, user_id=2)
    assert len(digest) == 64


async def test_demo_seed(runtime):
    from backend import demo

    async def run(s):  # noqa: ANN001, ANN202
        return await demo.seed(s, runtime.registry)

    assert await seed(runtime, run) is True
    async with runtime.sessionmaker() as s:
        rows = list(await s.scalars(select(SurveyResponse)))
    assert len(rows) == 1 and rows[0].answers["best"] == "fair"
