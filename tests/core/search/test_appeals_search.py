"""Appeals through core search, over HTTP on the engine under test: the queue finds word forms
and ё/е, marks them in an escaped snippet, and the index follows filing, the resident's reply
and erasure. And the queue's status counts, kept by triggers, stay exact through every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from backend.core.search import service as search
from backend.core.users.models import Role
from backend.db import utcnow
from backend.services.appeals import queries
from backend.services.appeals import service as appeals
from backend.services.appeals.models import Appeal, AppealStatusCount
from backend.services.appeals.rules import Kind, Status
from backend.services.appeals.schemas import QueueFilters
from tests.factories import make_town, make_user, seed, tma
from tests.services.appeals.factories import make_appeal, make_category, make_resident

TEXTS = (
    "Большая яма на дороге у дома 5 <script>alert(1)</script>",
    "Упала ёлка во дворе, дороги не видно",
    "Не горит фонарь у школы",
    "Разбиты дороги & тротуары на улице Мира",
)


async def _town(runtime):
    async def data(s):
        town = await make_town(s, slug="searchq")
        roads = await make_category(s, town, code="roads", name="Дороги")
        clerk = await make_user(s, town=town, roles=(Role.CLERK,))
        resident = await make_resident(s, town)
        base = datetime(2026, 3, 2, 9, tzinfo=UTC)
        made = [await make_appeal(s, town, roads, resident, kind=Kind.REPORT, text=t, now=base + timedelta(hours=i))
                for i, t in enumerate(TEXTS)]
        other = await make_town(s, slug="searchq-other")
        await make_appeal(s, other, await make_category(s, other), await make_resident(s, other), text="Яма на дороге")
        return town, clerk, resident, made

    return await seed(runtime, data)


async def test_queue_search_finds_word_forms_and_marks_them(client, runtime):
    town, clerk, _resident, made = await _town(runtime)
    h, base = tma(runtime, clerk), f"/api/v1/municipalities/{town.id}/appeals"

    async def found(q: str, **params) -> list[dict]:
        r = await client.get(base, params={"q": q, **params}, headers=h)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    items = await found("дорога", sort="due")
    assert [i["id"] for i in items] == [made[0].id, made[1].id, made[3].id]  # this town only
    # Without a sort a search is best match first; the same rows.
    assert sorted(i["id"] for i in await found("дорога")) == [made[0].id, made[1].id, made[3].id]
    assert items[0]["snippet"] == ("Большая яма на <mark>дороге</mark> у дома 5 &lt;script&gt;alert(1)&lt;/script&gt;")
    assert items[2]["snippet"] == "Разбиты <mark>дороги</mark> &amp; тротуары на улице Мира"
    assert items[0]["excerpt"] == TEXTS[0]  # the plain excerpt stays as it was
    assert [i["id"] for i in await found("Елка")] == [made[1].id]
    assert [i["id"] for i in await found("ЁЛКИ дорог")] == [made[1].id]
    r = await client.get(base, params={"q": "дорога"}, headers=h)
    assert r.json()["sort"] == "rank"
    r = await client.get(base, params={"sort": "rank"}, headers=h)  # best match needs a search: due date then
    assert r.json()["sort"] == "due" and len(r.json()["items"]) == 4
    assert [i["id"] for i in await found("дороги", sort="-registered")] == [made[3].id, made[1].id, made[0].id]
    assert await found("бегемот") == [] and await found("???") == []
    # Found by the number and the author's name too, where no word of the text is marked.
    by_number = await found(made[2].reg_number)
    assert [i["id"] for i in by_number] == [made[2].id] and by_number[0]["snippet"] is None
    assert {i["id"] for i in await found("Жителевой")} == {a.id for a in made}
    # Without a search there is no snippet.
    assert all(i["snippet"] is None for i in (await client.get(base, headers=h)).json()["items"])
    r = await client.get(f"{base}/counts", params={"q": "дороги"}, headers=h)
    assert r.json()["counts"]["registered"] == 3


async def test_best_match_first_pages_by_rank(client, runtime):
    async def data(s):
        town = await make_town(s, slug="ranked")
        cat = await make_category(s, town)
        clerk = await make_user(s, town=town, roles=(Role.CLERK,))
        resident = await make_resident(s, town)
        texts = ["Фонарь не горит", "Фонарь, фонарь и ещё фонарь не горят", "Яма", "Фонари погасли, фонарь у дома тоже",
                 "Фонарь"]
        return town, clerk, [await make_appeal(s, town, cat, resident, kind=Kind.REPORT, text=t) for t in texts]

    town, clerk, made = await seed(runtime, data)
    h, base = tma(runtime, clerk), f"/api/v1/municipalities/{town.id}/appeals"
    first = (await client.get(base, params={"q": "фонари"}, headers=h)).json()
    ranked = [i["id"] for i in first["items"]]
    assert first["sort"] == "rank" and sorted(ranked) == sorted(a.id for i, a in enumerate(made) if i != 2)
    assert ranked[0] == made[1].id  # three times in one text
    walked, cursor = [], None
    while True:
        page = (await client.get(base, params={"q": "фонари", "limit": 1, **({"cursor": cursor} if cursor else {})},
                                 headers=h)).json()
        walked += [i["id"] for i in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert walked == ranked
    # A best-match cursor is refused in another order and the other way round.
    second = (await client.get(base, params={"q": "фонари", "limit": 1}, headers=h)).json()["next_cursor"]
    r = await client.get(base, params={"q": "фонари", "sort": "due", "cursor": second}, headers=h)
    assert r.status_code == 422
    due = (await client.get(base, params={"q": "фонари", "sort": "due", "limit": 1}, headers=h)).json()["next_cursor"]
    assert (await client.get(base, params={"q": "фонари", "cursor": due}, headers=h)).status_code == 422
    assert (await client.get(base, params={"q": "фонари", "cursor": "cmFua3xuYW58MQ"}, headers=h)).status_code == 422


async def test_the_index_follows_the_reply_and_erasure(client, runtime):
    town, clerk, resident, made = await _town(runtime)

    async def ask(s):
        appeal = await s.get(Appeal, made[2].id)
        await appeals.request_info(s, appeal=appeal, actor=await s.get(type(clerk), clerk.id), question="Какой дом?")

    await seed(runtime, ask)

    async def reply(s):
        await appeals.add_resident_reply(s, appeal_id=made[2].id, user=await s.get(type(resident), resident.id),
                                         text="Фонарь у гимназии номер три")

    await seed(runtime, reply)

    async def ids(query: str) -> list[int]:
        async with runtime.sessionmaker() as s:
            return sorted(await s.scalars(search.matching(s, owner_type="appeal", municipality_id=town.id, query=query).ids))

    assert await ids("гимназия") == [made[2].id]
    assert await ids("Жителева") == sorted(a.id for a in made)
    assert (await client.delete("/api/v1/me", headers=tma(runtime, resident))).status_code == 204
    # Erased: neither the name nor the resident's own words find the appeals; the text still does.
    assert await ids("Жителева") == [] and await ids("гимназия") == []
    assert await ids("фонарь") == [made[2].id]


async def _scan(runtime, town_id: int, now: datetime | None = None) -> tuple[dict[str, int], int]:
    """The counts by a plain scan (what the endpoint did before the counters)."""
    now = now or utcnow()
    async with runtime.sessionmaker() as s:
        rows = await s.execute(select(Appeal.status, func.count()).where(
            Appeal.municipality_id == town_id, Appeal.merged_into_id.is_(None)).group_by(Appeal.status))
        counts = {st.value: 0 for st in Status} | dict(rows.all())
        overdue = await s.scalar(select(func.count()).select_from(Appeal).where(
            Appeal.municipality_id == town_id, Appeal.merged_into_id.is_(None),
            Appeal.status.in_(["registered", "in_progress", "info_requested"]), Appeal.due_at < now))
    return counts, int(overdue or 0)


async def test_status_counts_stay_exact_through_every_change(client, runtime):
    town, clerk, _resident, made = await _town(runtime)
    h, base = tma(runtime, clerk), f"/api/v1/municipalities/{town.id}/appeals"

    async def check() -> dict[str, int]:
        r = await client.get(f"{base}/counts", headers=h)
        body = r.json()
        assert (body["counts"], body["overdue"]) == await _scan(runtime, town.id)
        return body["counts"]

    assert (await check())["registered"] == 4
    assert (await client.post(f"{base}/{made[0].id}/assign", json={}, headers=h)).status_code == 200
    assert (await check())["in_progress"] == 1
    assert (await client.post(f"{base}/{made[1].id}/merge", json={"into_id": made[3].id}, headers=h)).status_code == 200
    counts = await check()
    assert counts["registered"] == 2 and sum(counts.values()) == 3  # a merged report is not counted
    assert (await client.post(f"{base}/{made[0].id}/status", json={"status": "closed"}, headers=h)).status_code in (200, 409)
    await check()
    r = await client.post(f"{base}/{made[2].id}/extend", json={"days": 5, "reason": "Нужна проверка"}, headers=h)
    assert r.status_code == 200, r.text
    await check()

    # Written behind the services' back, and deleted: the triggers count it all the same.
    async def by_hand(s):
        await s.execute(text("UPDATE appeal SET status = 'answered' WHERE id = :id"), {"id": made[2].id})
        await s.execute(text("UPDATE appeal SET merged_into_id = NULL WHERE id = :id"), {"id": made[1].id})
        await s.execute(text("DELETE FROM appeal WHERE id = :id"), {"id": made[3].id})

    await seed(runtime, by_hand)
    counts = await check()
    assert counts["answered"] == 1 and sum(counts.values()) == 3
    async with runtime.sessionmaker() as s:
        # The counters are the fast path only without filters; a filter scans, and agrees.
        filtered, overdue = await queries.status_counts(s, municipality_id=town.id, filters=QueueFilters(kind=[Kind.REPORT]),
                                                        user_id=clerk.id)
        assert (filtered, overdue) == await _scan(runtime, town.id)
        assert await s.scalar(select(func.count()).select_from(AppealStatusCount).where(AppealStatusCount.n < 0)) == 0


async def test_overdue_from_the_counters_is_the_open_past_due(client, runtime):
    town, clerk, _resident, made = await _town(runtime)  # filed in March 2026, due in 10 days: overdue now
    async with runtime.sessionmaker() as s:
        counts, overdue = await queries.status_counts(s, municipality_id=town.id, filters=QueueFilters(), user_id=clerk.id)
        assert overdue == 4 and counts["registered"] == 4
        counts, overdue = await queries.status_counts(
            s, municipality_id=town.id, filters=QueueFilters(), user_id=clerk.id, now=datetime(2026, 3, 1, tzinfo=UTC))
        assert overdue == 0  # before they were filed nothing was due yet
        # Around each deadline, to the second: the day's counters plus today's range agree with a scan.
        for a in made:
            due = (await s.get(Appeal, a.id)).due_at
            for at in (due - timedelta(seconds=1), due, due + timedelta(seconds=1), due.replace(hour=0, minute=0, second=0)):
                assert await queries.status_counts(s, municipality_id=town.id, filters=QueueFilters(), user_id=clerk.id,
                                                   now=at) == await _scan(runtime, town.id, at)
