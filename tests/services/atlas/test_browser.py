"""The Atlas in a real headless Chromium against the real app on a real port: the public page
with its charts and map (figures checked against the database), printed to PDF; the curation
miniapp approving a story and adding a figure; a resident sharing a story with a photo.
Screenshots go to GLOCAL_SCREENSHOTS=<dir> when it is set."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from backend.core.files.models import StoredFile
from backend.db import utcnow
from backend.services.appeals import queries as appeal_queries
from backend.services.atlas.models import AtlasFigure, AtlasStory
from tests.core.hub.test_miniapps_browser import (  # noqa: F401 - fixtures are found by name
    SHOTS,
    browser,
    launch_url,
    live,
    open_tab,
    sign,
    tg_user,
)
from tests.factories import seed
from tests.services.atlas.factories import jpeg
from tests.services.atlas.test_api import _world

pytestmark = pytest.mark.browser


async def _shot(page, name: str) -> None:  # noqa: ANN001
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / f"atlas-{name}.png"), full_page=True)


async def test_public_page_renders_its_charts_and_map_with_the_databases_figures(open_tab, live, runtime):
    w = await _world(runtime, population=10_000)
    tab = await open_tab()
    page = tab.page
    response = await page.goto(f"{live.url}/atlas/glokalsk")
    assert response.status == 200
    await page.locator("#factors").wait_for()
    assert tab.errors == []
    # Nothing but the page itself and its photos: no script, no third party.
    assert {r.resource_type for r in tab.requests} <= {"document", "image"}
    assert all(r.url.startswith(live.url) for r in tab.requests)

    # The town's figures as in the database.
    async def _figures(s):  # noqa: ANN001, ANN202
        return list(await s.scalars(select(AtlasFigure).where(AtlasFigure.municipality_id == w["town"].id)))

    for fig in await seed(runtime, _figures):
        card = page.locator(f".figure[data-key='figure_{fig.id}']")
        assert float(await card.get_attribute("data-value")) == fig.value
        assert fig.title in await card.inner_text() and fig.source in await card.inner_text()

    # Appeal charts: one bar per category, with the stats' values, drawn as SVG with a size.
    async def _stats(s):  # noqa: ANN001, ANN202
        return await appeal_queries.stats(s, w["town"].id, utcnow())

    report = await seed(runtime, _stats)
    expected = {p.label: p.value for s in report.series if s.key == "received_by_category" for p in s.points}
    chart = page.locator("svg.bars[data-key='received_by_category']")
    bars = await chart.locator("g.bar").evaluate_all("gs => gs.map(g => [g.dataset.label, Number(g.dataset.value), g.querySelector('rect').getBBox().width])")
    assert {label: value for label, value, _ in bars} == expected
    assert all(width > 0 for _, _, width in bars)
    assert await page.locator("svg.bars").count() >= 2  # charts of nothing but zeros are left out
    assert float(await page.locator(".figure[data-key='received']").get_attribute("data-value")) == report.as_dict()["received"]
    box = await chart.bounding_box()
    assert box and 300 <= box["width"] <= 390  # fits the phone's column

    # The map: a pin per place with a point, inside the picture, linking to its list item.
    pins = await page.locator("svg.map .pin circle").evaluate_all("cs => cs.map(c => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))])")
    assert len(pins) == 2 and all(0 <= x <= 320 and 0 <= y <= 220 for x, y in pins)
    assert await page.locator(f"svg.map a[href='#place-{w['park'].id}']").count() == 1
    await page.locator(f"svg.map a[href='#place-{w['club'].id}']").click()
    assert page.url.endswith(f"#place-{w['club'].id}")

    # The approved story only; the page prints (navigation hidden) to a PDF.
    assert await page.locator(f"#story-{w['shown'].id}").count() == 1
    assert await page.locator(f"#story-{w['hidden'].id}").count() == 0
    await _shot(page, "page")
    await page.emulate_media(media="print")
    assert await page.locator(".toc").evaluate("e => getComputedStyle(e).display") == "none"
    pdf = await page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


async def test_organizer_approves_a_story_and_adds_a_figure_in_the_miniapp(open_tab, live, runtime, settings):
    w = await _world(runtime)
    tab = await open_tab()
    page = tab.page
    await page.goto(launch_url(live, "atlas/", sign(settings, tg_user(w["organizer"], "ru"))))
    pending = page.locator(f"[data-story='{w['hidden'].id}']")
    await pending.wait_for()
    assert await pending.get_attribute("data-status") == "pending"
    assert await page.locator("[data-tab=stories]").inner_text() == "Истории (1)"
    await pending.locator("[data-action=approve]").click()
    await page.locator(f"[data-story='{w['hidden'].id}'][data-status='approved']").wait_for()

    async def _status(s):  # noqa: ANN001, ANN202
        return (await s.get(AtlasStory, w["hidden"].id)).status

    assert await seed(runtime, _status) == "approved"

    await page.locator("[data-tab=figures]").click()
    await page.locator("#add-figure").click()
    await page.select_option("#figure-factor", "expectations")
    await page.fill("#figure-title", "Вернулись выпускники")
    await page.fill("#figure-value", "27,5")
    await page.fill("#figure-unit", "%")
    await page.fill("#figure-source", "Опрос жителей")
    await page.fill("#figure-date", "2026-06-01")
    await page.locator("#figure-sheet .main-button").click()
    await page.locator("[data-factor=expectations] [data-figure]").wait_for()

    async def _new(s):  # noqa: ANN001, ANN202
        return await s.scalar(select(AtlasFigure).where(AtlasFigure.title == "Вернулись выпускники"))

    fig = await seed(runtime, _new)
    assert (fig.factor, fig.value, fig.source, fig.as_of.isoformat()) == ("expectations", 27.5, "Опрос жителей", "2026-06-01")

    # A bad value: the server's message, the field marked, nothing saved.
    await page.locator("#add-figure").click()
    await page.fill("#figure-title", "Пусто")
    await page.fill("#figure-source", "—")
    await page.locator("#figure-sheet .main-button").click()
    await page.locator("#figure-sheet .form-error:not([hidden])").wait_for()
    assert await page.locator("#figure-value").get_attribute("aria-invalid") == "true"
    await _shot(page, "curation")
    assert tab.errors == []


async def test_resident_shares_a_story_with_a_photo(open_tab, live, runtime, settings, tmp_path):
    w = await _world(runtime)
    photo = tmp_path / "dvor.jpg"
    photo.write_bytes(jpeg(2400, 1600))  # scaled down in the browser before it is sent
    tab = await open_tab()
    page = tab.page
    await page.goto(launch_url(live, "atlas/", sign(settings, tg_user(w["resident"], "ru"))))
    await page.locator("#story-title").wait_for()
    assert await page.locator("#page-link").get_attribute("href") == "https://glocal.test/atlas/glokalsk"
    await page.fill("#story-title", "Наш двор")
    await page.fill("#story-body", "Соседи вместе посадили сирень и поставили качели во дворе.")
    await page.fill("#story-signature", "Анна, соседка")
    await page.set_input_files("#story-photos", str(photo))
    await page.locator(".main-button").click()
    await page.locator("[data-story][data-status=pending]", has_text="Наш двор").wait_for()

    async def _story(s):  # noqa: ANN001, ANN202
        story = await s.scalar(select(AtlasStory).where(AtlasStory.title == "Наш двор"))
        files = list(await s.scalars(select(StoredFile).where(StoredFile.owner_type == "atlas_story", StoredFile.owner_id == story.id)))
        return story, files

    story, files = await seed(runtime, _story)
    assert story.status == "pending" and story.signature == "Анна, соседка" and story.author_id == w["resident"].id
    assert len(files) == 1 and files[0].mime == "image/jpeg" and files[0].size < 1_000_000
    # Its photo shows in the resident's own list (fetched with the launch data).
    await page.locator(f"[data-story='{story.id}'] img[src^='blob:']").wait_for()
    assert tab.errors == []
