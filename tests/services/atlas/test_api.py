"""The Atlas through the real ASGI app: the public page, its open data and share image, the
curation API, residents' stories and their moderation; SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.core.files.models import StoredFile
from backend.core.notifications.models import OutboxMessage
from backend.core.users.models import Role
from backend.db import utcnow
from backend.services.appeals import queries as appeal_queries
from backend.services.appeals import service as appeals
from backend.services.atlas.models import AtlasStory
from tests.factories import make_town, make_user, seed, tma
from tests.services.appeals.factories import make_appeal, make_category, make_resident
from tests.services.atlas.factories import atlas_settings, jpeg, make_figure, make_place, make_story


async def _world(runtime, **settings):  # noqa: ANN001, ANN202
    """Глокальск with the Atlas on: an organizer, a resident, a clerk, figures, places, two
    appeals (one answered late), an approved and a pending story."""

    async def _make(s):  # noqa: ANN001, ANN202
        now = utcnow()
        town = await make_town(s, slug="glokalsk", name="Глокальск", settings=atlas_settings(**settings))
        organizer = await make_user(s, first_name="Ольга", town=town, roles=(Role.ORGANIZER,))
        resident = await make_resident(s, town, first_name="Анна")
        clerk = await make_user(s, first_name="Пётр", town=town, roles=(Role.CLERK,))
        roads = await make_category(s, town, code="roads", name="Дороги")
        light = await make_category(s, town, code="light", name="Освещение")
        late = await make_appeal(s, town, roads, resident, now=now - timedelta(days=40))
        await make_appeal(s, town, light, resident, now=now - timedelta(days=2))
        await appeals.assign(s, appeal=late, actor=clerk)
        salary = await make_figure(s, town, actor_id=organizer.id, title="Средняя <b>зарплата</b>", value=48200.5, unit="₽")
        leisure = await make_figure(s, town, actor_id=organizer.id, factor="leisure", title="Досуг в городе", value=38, unit="%", source="Опрос")
        park = await make_place(s, town, actor_id=organizer.id, name="Набережная", lat=56.131, lon=40.409)
        club = await make_place(s, town, actor_id=organizer.id, kind="community", name="Клуб «Соседи»", lat=56.127, lon=40.405)
        shown = await make_story(s, town, author_id=resident.id, title="Пекарня у вокзала", approve_by=organizer.id)
        hidden = await make_story(s, town, author_id=resident.id, title="Секретная история про двор")
        return {"town": town, "organizer": organizer, "resident": resident, "clerk": clerk, "salary": salary, "leisure": leisure,
                "park": park, "club": club, "shown": shown, "hidden": hidden, "late": late}

    return await seed(runtime, _make)


def _api(w: dict) -> str:
    return f"/api/v1/municipalities/{w['town'].id}/atlas"


async def test_appeals_stats_keep_answered_and_resolved_apart_with_first_reply_and_categories(runtime):
    w = await _world(runtime)

    async def _stats(s):  # noqa: ANN001, ANN202
        return await appeal_queries.stats(s, w["town"].id, utcnow())

    report = await seed(runtime, _stats)
    figures = report.as_dict()
    assert figures["received"] == 2 and figures["answered"] == 0 and figures["resolved"] == 0
    assert figures["open"] == 2 and figures["overdue"] == 1
    # The late appeal was taken into work today, 40 days after it came: its first reply.
    assert figures["median_days_to_first_reply"] == pytest.approx(40, abs=0.1)
    series = {s.key: {p.label: p.value for p in s.points} for s in report.series}
    assert series["received_by_category"] == {"Дороги": 1, "Освещение": 1}
    assert series["median_days_to_first_reply_by_category"]["Дороги"] == pytest.approx(40, abs=0.1)
    assert report.participants == 1  # one resident wrote both


async def test_public_page_shows_the_town_escaped_with_charts_and_only_approved_stories(client, runtime):
    w = await _world(runtime, population=20_000, tagline="Город, где <хорошо>")
    r = await client.get("/atlas/glokalsk", headers={"Accept-Language": "ru"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    # Everything typed by people is escaped; the page runs no script at all.
    assert "Средняя &lt;b&gt;зарплата&lt;/b&gt;" in html and "<b>зарплата" not in html
    assert "Город, где &lt;хорошо&gt;" in html
    assert "<script" not in html and "script-src" not in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    # Previews in chats: Open Graph and Twitter cards pointing at the share image.
    assert '<meta property="og:title" content="Атлас счастья: Глокальск">' in html
    assert 'property="og:image" content="https://glocal.test/atlas/glokalsk/og.png"' in html
    assert 'name="twitter:card" content="summary_large_image"' in html
    # Figures as the town entered them, with sources; appeal stats; participation per 1,000.
    assert 'data-key="figure_%d"' % w["salary"].id in html and "48 200,5" in html.replace("\xa0", " ")
    assert 'data-key="answered_on_time"' in html and 'data-key="resolved"' in html
    assert 'data-key="received_by_category"' in html
    assert 'data-key="platform_per_1000"' in html  # 3 people of 20,000 -> 0.2
    assert 'data-key="appeals_per_1000" data-service="appeals" data-value="0.1"' in html
    # Only the approved story; the map pins link to the list.
    assert "Пекарня у вокзала" in html and "Секретная история" not in html
    assert 'href="#place-%d"' % w["park"].id in html and "openstreetmap.org/?mlat=56.131000" in html
    assert "@media print" in html
    # Cacheable, revalidated by its ETag.
    assert r.headers["cache-control"].startswith("public, max-age=")
    again = await client.get("/atlas/glokalsk", headers={"Accept-Language": "ru", "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    english = await client.get("/atlas/glokalsk?lang=en")
    assert "Atlas of Happiness: Глокальск" in english.text and "48,200.5" in english.text


async def test_unknown_or_atlas_off_towns_are_404(client, runtime):
    await _world(runtime)
    await seed(runtime, lambda s: make_town(s, slug="no-atlas", name="Без атласа", settings={"components": ["appeals"]}))
    for path in ("/atlas/nowhere", "/atlas/no-atlas", "/atlas/%00bad", "/atlas/" + "a" * 80):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
    for path in ("/atlas/no-atlas/data.csv", "/atlas/no-atlas/og.png", "/atlas/nowhere/photos/1"):
        r = await client.get(path)
        assert r.status_code == 404, path


async def test_open_data_csv_matches_the_page(client, runtime):
    w = await _world(runtime, population=1000)
    r = await client.get("/atlas/glokalsk/data.csv", headers={"Accept-Language": "en"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    by_key = {(row["service"], row["key"], row["label"]): row for row in rows}
    salary = by_key[("atlas", f"figure_{w['salary'].id}", "")]
    assert salary["section"] == "factors" and float(salary["value"]) == 48200.5 and salary["source"] == "Росстат"
    assert salary["as_of"] == "2026-07-01" and salary["unit"] == "₽" and salary["subject"] == "Employment"
    assert float(by_key[("appeals", "received", "")]["value"]) == 2
    assert float(by_key[("appeals", "received_by_category", "Дороги")]["value"]) == 1
    assert float(by_key[("atlas", "population", "")]["value"]) == 1000
    # A title that looks like a formula is neutralised for spreadsheets.
    async def _formula(s):  # noqa: ANN001, ANN202
        return await make_figure(s, w["town"], actor_id=w["organizer"].id, title="=HYPERLINK(\"http://x\")", value=1)

    await seed(runtime, _formula)
    text = (await client.get("/atlas/glokalsk/data.csv")).content.decode("utf-8-sig")
    assert ";'=HYPERLINK" in text or ";\"'=HYPERLINK" in text
    # Unpublished open data: no CSV.
    await client.put(_api(w) + "/settings", json={"population": 1000, "show_data": False}, headers=tma(runtime, w["organizer"]))
    assert (await client.get("/atlas/glokalsk/data.csv")).status_code == 404


async def test_share_image_is_a_png(client, runtime):
    await _world(runtime)
    r = await client.get("/atlas/glokalsk/og.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    from PIL import Image

    assert Image.open(io.BytesIO(r.content)).size == (1200, 630)


async def test_curation_needs_the_curate_action_and_validates_input(client, runtime):
    w = await _world(runtime)
    org, res = tma(runtime, w["organizer"]), tma(runtime, w["resident"])
    assert (await client.get(_api(w), headers=res)).status_code == 403
    outsider_town = await seed(runtime, lambda s: make_town(s, slug="other"))
    outsider = await seed(runtime, lambda s: make_user(s, town=outsider_town, roles=(Role.ORGANIZER,)))
    assert (await client.get(_api(w), headers=tma(runtime, outsider))).status_code == 404

    view = (await client.get(_api(w), headers=org)).json()
    assert view["page_url"] == "https://glocal.test/atlas/glokalsk"
    assert [s["status"] for s in view["stories"]] == ["pending", "approved"]
    assert {f["title"] for f in view["figures"]} == {"Средняя <b>зарплата</b>", "Досуг в городе"}

    good = {"factor": "expectations", "title": "Вернулись выпускники", "value": 27, "unit": "%", "source": "Опрос", "as_of": "2026-06-01"}
    created = await client.post(_api(w) + "/figures", json=good, headers=org)
    assert created.status_code == 201 and created.json()["factor"] == "expectations"
    fid = created.json()["id"]
    assert (await client.put(_api(w) + f"/figures/{fid}", json={**good, "value": 30}, headers=org)).json()["value"] == 30
    for bad in ({**good, "factor": "wealth"}, {**good, "value": "NaN"}, {**good, "value": 1e20}, {**good, "title": "a\x00b"},
                {**good, "as_of": "1800-01-01"}, {**good, "source": ""}, {**good, "extra": 1}):
        r = await client.post(_api(w) + "/figures", json=bad, headers=org)
        assert r.status_code == 422, bad
        assert r.json()["error"] == "invalid" and r.json()["fields"]
    assert (await client.put(_api(w) + "/figures/999999", json=good, headers=org)).status_code == 404
    assert (await client.delete(_api(w) + f"/figures/{fid}", headers=org)).status_code == 204

    place = {"kind": "place", "name": "Парк", "lat": 56.1}
    r = await client.post(_api(w) + "/places", json=place, headers=org)
    assert r.status_code == 422 and r.json()["fields"] == ["lat", "lon"]
    r = await client.post(_api(w) + "/places", json={**place, "lon": 40.4, "link": "javascript:alert(1)"}, headers=org)
    assert r.status_code == 422 and r.json()["fields"] == ["link"]
    r = await client.post(_api(w) + "/places", json={**place, "lon": 40.4, "link": "https://park.example"}, headers=org)
    assert r.status_code == 201

    # The population and which sections are published.
    r = await client.put(_api(w) + "/settings", json={"population": 0}, headers=org)
    assert r.status_code == 422
    r = await client.put(_api(w) + "/settings", json={"population": 5000, "show_stories": False}, headers=org)
    assert r.status_code == 200 and r.json()["population"] == 5000
    html = (await client.get("/atlas/glokalsk")).text
    assert 'id="stories"' not in html and "Пекарня у вокзала" not in html and 'id="participation"' in html


async def test_a_story_is_public_only_once_approved_and_the_author_hears_of_it(client, runtime, harness):
    w = await _world(runtime)
    org, res = tma(runtime, w["organizer"]), tma(runtime, w["resident"])
    r = await client.post(_api(w) + "/stories", json={"title": "Двор, который мы сделали", "body": "Всем подъездом собрали на лавочки и качели.", "signature": "Мария"}, headers=res)
    assert r.status_code == 201 and r.json()["status"] == "pending"
    sid = r.json()["id"]
    photo = await client.post(_api(w) + f"/stories/{sid}/photos", content=jpeg(), headers={**res, "Content-Type": "image/jpeg"})
    assert photo.status_code == 201, photo.text
    file_id = photo.json()["photos"][0]
    # Not an image, a lie about the type, someone else's story: refused.
    assert (await client.post(_api(w) + f"/stories/{sid}/photos", content=b"hello", headers={**res, "Content-Type": "text/plain"})).status_code == 422
    assert (await client.post(_api(w) + f"/stories/{sid}/photos", content=b"GIF89a....", headers={**res, "Content-Type": "image/png"})).status_code == 422
    assert (await client.post(_api(w) + f"/stories/{sid}/photos", content=jpeg(), headers={**org, "Content-Type": "image/jpeg"})).status_code == 404

    # Pending: neither the story nor its photo is public; the author and curators see the photo.
    assert "Двор, который мы сделали" not in (await client.get("/atlas/glokalsk")).text
    assert (await client.get(f"/atlas/glokalsk/photos/{file_id}")).status_code == 404
    assert (await client.get(f"/api/v1/municipalities/{w['town'].id}/files/{file_id}", headers=res)).status_code == 200
    assert (await client.get(f"/api/v1/municipalities/{w['town'].id}/files/{file_id}", headers=tma(runtime, w["clerk"]))).status_code == 404
    mine = (await client.get(_api(w) + "/mine", headers=res)).json()
    assert {s["title"] for s in mine["stories"]} >= {"Двор, который мы сделали"} and mine["may_curate"] is False

    # The resident cannot approve their own story; a bad decision is a 422.
    assert (await client.post(_api(w) + f"/stories/{sid}/moderation", json={"decision": "approve"}, headers=res)).status_code == 403
    assert (await client.post(_api(w) + f"/stories/{sid}/moderation", json={"decision": "maybe"}, headers=org)).status_code == 422
    r = await client.post(_api(w) + f"/stories/{sid}/moderation", json={"decision": "approve"}, headers=org)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    html = (await client.get("/atlas/glokalsk")).text
    assert "Двор, который мы сделали" in html and f'src="/atlas/glokalsk/photos/{file_id}"' in html
    got = await client.get(f"/atlas/glokalsk/photos/{file_id}")
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg" and got.content == jpeg()
    # Photos cannot be added to a published story.
    assert (await client.post(_api(w) + f"/stories/{sid}/photos", content=jpeg(), headers={**res, "Content-Type": "image/jpeg"})).status_code == 409

    # The author is told through the outbox, with the link to the story.
    async def _outbox(s):  # noqa: ANN001, ANN202
        return list(await s.scalars(select(OutboxMessage).where(OutboxMessage.user_id == w["resident"].id, OutboxMessage.kind == "atlas.story_published")))

    sent = [m for m in await seed(runtime, _outbox) if m.payload["title"] == "Двор, который мы сделали"]
    assert sent and sent[0].payload["url"] == f"https://glocal.test/atlas/glokalsk#story-{sid}"

    # Declined later: gone from the page and its photo with it.
    r = await client.post(_api(w) + f"/stories/{sid}/moderation", json={"decision": "reject", "reason": "Не о городе"}, headers=org)
    assert r.json()["status"] == "rejected" and r.json()["reject_reason"] == "Не о городе"
    assert (await client.get(f"/atlas/glokalsk/photos/{file_id}")).status_code == 404

    # The author withdraws it: the story goes, the photo loses its owner (the orphan job deletes it).
    assert (await client.delete(_api(w) + f"/stories/{sid}", headers=res)).status_code == 204

    async def _left(s):  # noqa: ANN001, ANN202
        return await s.get(AtlasStory, sid), await s.get(StoredFile, file_id)

    story, stored = await seed(runtime, _left)
    assert story is None and stored.owner_id is None


async def test_pending_stories_per_person_are_bounded(client, runtime):
    w = await _world(runtime)
    res = tma(runtime, w["resident"])
    body = {"title": "История", "body": "Очень длинная и правдивая история о городе.", "signature": "Анна"}
    codes = [(await client.post(_api(w) + "/stories", json=body, headers=res)).status_code for _ in range(5)]
    assert codes == [201, 201, 201, 201, 409]  # one was already pending


async def test_erasure_deletes_the_persons_stories(client, runtime):
    w = await _world(runtime)
    r = await client.delete("/api/v1/me", headers=tma(runtime, w["resident"]))
    assert r.status_code in (200, 204), r.text

    async def _stories(s):  # noqa: ANN001, ANN202
        return list(await s.scalars(select(AtlasStory).where(AtlasStory.municipality_id == w["town"].id)))

    assert await seed(runtime, _stories) == []
    assert "Пекарня у вокзала" not in (await client.get("/atlas/glokalsk")).text


async def test_figures_tagged_with_a_factor_by_another_service_show_under_it(client, runtime):
    """The Stats contract: a service's report (figures and a series, one tagged with a factor)
    and a service that still answers a plain dict, both on the page and in the CSV."""
    from backend.core.components.manifest import Figure, Manifest, Point, Series, StatsReport
    from backend.installed import registry

    async def survey_stats(session, municipality_id, now):  # noqa: ANN001, ANN202
        return StatsReport(
            figures=(Figure("respondents", "Respondents", 42), Figure("stay", "Plan to stay in the town", 64, unit="%", factor="expectations")),
            series=(Series("jobs", "In-demand occupations", (Point("IT", 12), Point("Туризм", 9)), subject="Какие профессии нужны?"),),
            participants=42,
        )

    async def event_stats(session, municipality_id, now):  # noqa: ANN001, ANN202
        return {"events": 3, "attended": 120}

    extra = (Manifest(slug="fakesurveys", title="Surveys", description="", icon="📊", stats=survey_stats),
             Manifest(slug="fakeevents", title="Events", description="", icon="🎟", stats=event_stats))
    w = await _world(runtime, population=1000)
    runtime.registry = registry(extra)
    html = (await client.get("/atlas/glokalsk?lang=en")).text
    factor = html.split('id="factor-expectations"')[1].split("</article>")[0]
    assert 'data-key="stay" data-service="fakesurveys" data-value="64"' in factor
    assert 'data-key="jobs"' in html and "Какие профессии нужны?" in html
    assert 'data-key="attended" data-service="fakeevents" data-value="120"' in html
    assert 'data-key="fakesurveys_per_1000" data-service="fakesurveys" data-value="42.0"' in html
    rows = list(csv.DictReader(io.StringIO((await client.get("/atlas/glokalsk/data.csv")).content.decode("utf-8-sig")), delimiter=";"))
    assert {(r["service"], r["key"], r["label"], r["value"]) for r in rows} >= {("fakesurveys", "jobs", "IT", "12"), ("fakeevents", "events", "", "3")}
