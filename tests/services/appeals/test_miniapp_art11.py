"""The clerk forwards an appeal without a name as a report of a crime (59-FZ art. 11 p. 1)
from the Appeals miniapp's action sheet, in a real headless Chromium against the real app.
A screenshot of the sheet and of the card after goes to GLOCAL_SCREENSHOTS=<dir> when set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.core.audit.models import AuditLog
from backend.core.users import service as users
from backend.core.users.models import Role
from backend.runtime import Runtime
from backend.services.appeals.models import Appeal
from tests.core.hub.test_miniapps_browser import (  # noqa: F401 - fixtures are found by name
    SHOTS,
    browser,
    launch_url,
    live,
    open_tab,
    sign,
    telegram_stub,
    tg_user,
)
from tests.factories import make_town, make_user, seed
from tests.services.appeals.factories import appeals_settings, make_appeal, make_category, make_resident

pytestmark = pytest.mark.browser

CRIME = "Во дворе дома 7 по улице Садовой каждую ночь вскрывают машины, видел, кто это делает."


async def _seed(runtime: Runtime) -> dict[str, Any]:
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Коломна", settings=appeals_settings(reg_prefix="KOL", require_contacts=False))
        cat = await make_category(s, town, code="safety", name="Безопасность")
        clerk = await make_user(s, first_name="Ольга", town=town, roles=(Role.CLERK,))
        clerk.full_name = "Иванова Ольга"
        await users.set_locale(s, user=clerk, locale="en")
        resident = await make_resident(s, town)
        nameless = await make_appeal(s, town, cat, resident, text=CRIME, full_name=None)
        answerable = await make_appeal(s, town, cat, resident, text="Прошу отремонтировать подъезд дома 3.")
        return {"town": town, "clerk": clerk, "nameless": nameless, "answerable": answerable}

    return await seed(runtime, make)


async def test_forward_as_a_report_of_a_crime_from_the_action_sheet(open_tab, live, runtime, settings):
    w = await _seed(runtime)
    town_id, appeal = w["town"].id, w["nameless"]
    data = sign(settings, tg_user(w["clerk"], "en"))
    tab = await open_tab()
    page = tab.page

    # A card the exception does not fit has no such action.
    await page.goto(launch_url(live, f"appeals/?town={town_id}&appeal={w['answerable'].id}", data))
    await page.locator("#reg").wait_for()
    await page.locator("#more-actions").click()
    await page.locator("#actions").wait_for()
    assert "🚨\nForward as a report of a crime" not in await page.locator("#actions .action-row").all_inner_texts()

    # The appeal without a name: left without an answer, the action is in the sheet, marked
    # as one that cannot be undone, like the others of its kind.
    await page.goto(launch_url(live, f"appeals/?town={town_id}&appeal={appeal.id}", data))
    await page.locator("#status[data-status=no_answer_required]").wait_for()
    await page.locator("#more-actions").click()
    sheet = page.locator("#actions")
    await sheet.wait_for()
    assert await sheet.locator(".action-row.danger").all_inner_texts() == ["🚨\nForward as a report of a crime"]
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "appeals-crime-report-sheet.png"))
    await sheet.get_by_role("button", name="Forward as a report of a crime").click()
    form = page.locator("#crime-report-form")
    await form.wait_for()
    assert "59-FZ art. 11 p. 1" in await form.locator(".hint").first.inner_text()
    await page.locator("#field-crime-report").fill("ОМВД России по г. Коломне")

    dialogs: list[str] = []

    async def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.once("dialog", lambda d: accept(d))
    await form.get_by_role("button", name="Forward").click()
    await page.locator("#crime-report").wait_for()
    assert dialogs == ["Forward the appeal to “ОМВД России по г. Коломне” as a report of a crime? This is recorded in its history."]
    assert await page.locator("#crime-report").inner_text() == "Forwarded as a report of a crime to: ОМВД России по г. Коломне"
    assert await page.locator("#notice").inner_text() == "The appeal has been forwarded as a report of a crime."
    assert await page.locator("#crime-report-form").count() == 0

    # The card's history shows it, and the action is gone: it is done once.
    await page.locator("#history summary").click()
    assert "Forwarded as a report of a crime to ОМВД России по г. Коломне" in await page.locator("#history").inner_text()
    assert await page.locator("[data-action='crime-report']").count() == 0
    if await page.locator("#more-actions").count():
        await page.locator("#more-actions").click()
        assert "🚨\nForward as a report of a crime" not in await page.locator("#actions .action-row").all_inner_texts()
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "appeals-crime-report-done.png"), full_page=True)

    calls = tab.api_calls("POST", f"/municipalities/{town_id}/appeals/{appeal.id}/forward-crime-report")
    assert len(calls) == 1 and calls[0].post_data_json == {"to": "ОМВД России по г. Коломне"}
    async with runtime.sessionmaker() as s:
        stored = await s.get(Appeal, appeal.id)
        entry = await s.scalar(select(AuditLog).where(AuditLog.action == "appeal.crime_report_forwarded"))
    assert (stored.redirected_to, stored.route_to_competent_body, stored.status) == ("ОМВД России по г. Коломне", True, "no_answer_required")
    assert entry is not None and entry.actor_id == w["clerk"].id
    assert tab.errors == []
