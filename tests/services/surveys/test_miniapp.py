"""The Surveys miniapp in a real headless Chromium against the real app on a real port:
an organizer builds a question, opens the survey, a resident answers it in the miniapp, and
the organizer sees the results charted (the server's SVG, inline) and closes and publishes.
Fixtures and launch helpers are those of tests/core/hub/test_miniapps_browser.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.core.users.models import Role
from backend.services.surveys.models import Survey, SurveyResponse
from tests.core.hub.test_miniapps_browser import (  # noqa: F401 - fixtures are found by name
    Tab,
    browser,
    launch_url,
    live,
    open_tab,
    sign,
    telegram_stub,
    tg_user,
)
from tests.factories import make_town, make_user, seed

pytestmark = pytest.mark.browser


async def _world(runtime: Any) -> dict[str, Any]:
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="gorokhovets", name="Gorokhovets")
        organizer = await make_user(s, town=town, roles=(Role.RESIDENT, Role.ORGANIZER), first_name="Olga")
        resident = await make_user(s, town=town, first_name="Pavel")
        return {"town": town, "organizer": organizer, "resident": resident}

    return await seed(runtime, make)


async def test_build_answer_and_see_the_chart(open_tab, live, runtime, settings):
    w = await _world(runtime)
    town_id = w["town"].id
    tab: Tab = await open_tab()
    page = tab.page
    await page.goto(launch_url(live, f"surveys/?town={town_id}", sign(settings, tg_user(w["organizer"], "en"))))
    await page.wait_for_selector("#create")
    assert await page.locator("h1").inner_text() == "Surveys"

    # A new survey, one single-choice question with three options.
    await page.fill("#new-title", "Park benches")
    await page.click("#create")
    await page.wait_for_selector("#add")
    await page.click("#add")
    q = page.locator("fieldset.question").first
    await q.locator(".q-text").fill("Which colour for the benches?")
    await q.locator(".q-kind").select_option("single")
    await q.locator(".q-options").fill("Green\nBrown\nBlue")
    # For residents only (the organizer is one too).
    await page.select_option("#audience", "roles")
    await page.locator("#audience-roles").get_by_label("Residents").check()
    await page.click("#save")
    await page.wait_for_function("document.querySelector('#notice') && document.querySelector('#notice').textContent === 'Saved.'")
    await page.wait_for_selector("#open")
    await page.click("#open")
    await page.wait_for_function("document.querySelector('#status') && document.querySelector('#status').textContent.startsWith('Open')")
    async with runtime.sessionmaker() as s:
        survey = await s.scalar(select(Survey).where(Survey.municipality_id == town_id))
    assert survey.title == "Park benches" and survey.status == "open" and survey.anonymous is True
    assert survey.audience == {"kind": "roles", "roles": ["resident"], "tags": [], "topic": None}

    # A resident answers in the miniapp.
    other: Tab = await open_tab()
    rp = other.page
    await rp.goto(launch_url(live, f"surveys/?town={town_id}", sign(settings, tg_user(w["resident"], "en"))))
    await rp.wait_for_selector("#open-surveys li")
    assert await rp.locator("#open-surveys li strong").all_inner_texts() == ["Park benches"]
    await rp.click("#open-surveys li a")
    await rp.wait_for_selector("#answer")
    assert "anonymous" in await rp.locator("#answer .hint").first.inner_text()
    await rp.get_by_label("Brown").check()
    await rp.click("#send")
    await rp.wait_for_selector("#thanks")
    assert await rp.locator("#thanks").inner_text() == "Thank you! Your answers are saved."
    async with runtime.sessionmaker() as s:
        responses = list(await s.scalars(select(SurveyResponse)))
    assert len(responses) == 1 and responses[0].user_id is None and list(responses[0].answers.values()) == ["brown"]

    # The organizer sees the chart: one bar per option, the server's SVG inline.
    await page.reload()
    await page.wait_for_selector("#surveys li")
    assert "Responses: 1" in await page.locator("#surveys li").first.inner_text()
    await page.click("#surveys li a")
    await page.wait_for_selector("#results svg.chart")
    bars = await page.locator("#results svg.chart g.bar").evaluate_all("els => els.map(e => [e.dataset.label, e.dataset.count])")
    assert bars == [["Green", "0"], ["Brown", "1"], ["Blue", "0"]]
    width = await page.locator("#results svg.chart").evaluate("e => e.getBoundingClientRect().width")
    assert 0 < width <= 390
    assert await page.locator("#rate").inner_text() == "1 of 2 people answered"
    # Anonymous: the page says plainly who will not be told.
    assert "respondents cannot be sent the results in chat" in await page.locator("#results").inner_text()

    # Close and publish.
    await page.click("#close")
    await page.wait_for_selector("#publish")
    await page.click("#publish")
    await page.wait_for_function("document.querySelector('#status') && document.querySelector('#status').textContent.startsWith('Closed, results published')")
    assert tab.errors == [] and other.errors == []
