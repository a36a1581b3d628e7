"""A town that limits clerks to their own department (appeals setting
`clerks_see_own_department_only`, queries.department_scope): a clerk of department A finds
nothing of department B anywhere - queue, counts, card, its lists, files, links, export,
actions - while a department head, and every clerk of a town without the limit, sees all."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest

from backend.core.files import service as files
from backend.core.users import service as users
from backend.core.users.models import Role
from backend.services.appeals import service as appeals
from backend.services.appeals.rules import Kind
from tests.factories import make_town, make_user, seed, tma
from tests.services.appeals.factories import appeals_settings, make_appeal, make_category, make_resident


async def _world(runtime, *, limited: bool = True) -> dict:  # noqa: ANN001
    async def data(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="depts", settings=appeals_settings(reg_prefix="DP", clerks_see_own_department_only=limited))
        roads = await make_category(s, town, code="roads", name="Дороги")  # department A
        parks = await make_category(s, town, code="parks", name="Парки")  # department B
        # Not routed to any department yet: every clerk sees it.
        misc = await appeals.create_category(s, municipality_id=town.id, code="misc", name="Разное")
        a, b = roads.department_id, parks.department_id

        async def person(name: str, role: Role, department: int | None):  # noqa: ANN202
            user = await make_user(s, first_name=name, town=town, roles=())
            await users.grant_role(s, user_id=user.id, municipality_id=town.id, role=role, department_id=department)
            return user

        clerk_a = await person("Клерк А", Role.CLERK, a)
        clerk_b = await person("Клерк Б", Role.CLERK, b)
        head = await person("Начальник", Role.DEPARTMENT_HEAD, a)
        resident = await make_resident(s, town)
        # The same resident writes to both departments (formal appeals: the later ones are
        # linked to the earlier as repeats), and files a report no department has yet.
        text = "Яма на дороге у дома 5 по улице Мира, прошу отремонтировать"
        in_a = await make_appeal(s, town, roads, resident, text=text)
        in_b = await make_appeal(s, town, parks, resident, text=text)
        in_a2 = await make_appeal(s, town, roads, resident, text=text)
        loose = await make_appeal(s, town, misc, resident, kind=Kind.REPORT, text="Не знаю, куда писать")
        scans = {}
        for appeal in (in_a, in_b):
            stored = await appeals.save_attachment(
                s, town=town, user=resident, data=b"%PDF-1.4 " + appeal.reg_number.encode(), filename="скан.pdf",
                mime="application/pdf", files_root=runtime.settings.files_dir,
            )
            await files.attach(s, file_ids=[stored.id], owner_type="appeal", owner_id=appeal.id)
            scans[appeal.id] = stored.id
        return {
            "town": town, "clerk_a": clerk_a, "clerk_b": clerk_b, "head": head, "in_a": in_a, "in_a2": in_a2, "in_b": in_b,
            "loose": loose, "scans": scans,
        }

    return await seed(runtime, data)


def _ids(items: list[dict]) -> set[int]:
    return {i["id"] for i in items}


async def _everything(client, runtime, w: dict, who: str, *, card_of: str = "in_a2") -> dict:  # noqa: ANN001
    """What one person finds of the town's appeals through every route that shows them (the
    lists on the card: of `card_of`)."""
    h = tma(runtime, w[who])
    base = f"/api/v1/municipalities/{w['town'].id}"
    found: dict = {}
    found["queue"] = _ids((await client.get(f"{base}/appeals", headers=h)).json()["items"])
    found["filtered to B"] = _ids((await client.get(f"{base}/appeals", params={"department_id": w["in_b"].department_id}, headers=h)).json()["items"])
    counts = (await client.get(f"{base}/appeals/counts", headers=h)).json()
    found["counted"] = sum(counts["counts"].values())
    export = (await client.get(f"{base}/appeals/export", headers=h)).content.decode("utf-8-sig")
    found["exported"] = {a for a in ("in_a", "in_a2", "in_b", "loose") if w[a].reg_number in export}
    link = await client.post(f"{base}/appeals/export/download-link", headers=h)
    linked_export = (await client.get(urlsplit(link.json()["url"]).path)).content.decode("utf-8-sig")
    found["exported by link"] = {row[0] for row in csv.reader(io.StringIO(linked_export), delimiter=";")} - {"Регистрационный номер"}
    r = await client.get(f"{base}/appeals/{w[card_of].id}", headers=h)
    assert r.status_code == 200, r.text
    card = r.json()
    found["resident's other appeals"] = _ids(card["resident_appeals"])
    found["linked repeats"] = _ids(card["linked"])
    found["card of B"] = (await client.get(f"{base}/appeals/{w['in_b'].id}", headers=h)).status_code
    found["draft of B"] = (await client.get(f"{base}/appeals/{w['in_b'].id}/answer-draft", headers=h)).status_code
    found["note on B"] = (await client.post(f"{base}/appeals/{w['in_b'].id}/comments", json={"text": "заметка"}, headers=h)).status_code
    scan_b = f"{base}/files/{w['scans'][w['in_b'].id]}"
    found["file of B"] = (await client.get(scan_b, headers=h)).status_code
    found["link to the file of B"] = (await client.post(scan_b + "/download-link", headers=h)).status_code
    found["file of A"] = (await client.get(f"{base}/files/{w['scans'][w['in_a'].id]}", headers=h)).status_code
    return found


async def test_a_clerk_of_department_a_finds_nothing_of_department_b(client, runtime):
    w = await _world(runtime)
    found = await _everything(client, runtime, w, "clerk_a")
    a_side = {w["in_a"].id, w["in_a2"].id, w["loose"].id}
    assert found == {
        "queue": a_side,
        "filtered to B": set(),
        "counted": 3,
        "exported": {"in_a", "in_a2", "loose"},
        "exported by link": {w["in_a"].reg_number, w["in_a2"].reg_number, w["loose"].reg_number},
        "resident's other appeals": {w["in_a"].id, w["loose"].id},
        "linked repeats": {w["in_a"].id},
        "card of B": 404,
        "draft of B": 404,
        "note on B": 404,
        "file of B": 404,
        "link to the file of B": 404,
        "file of A": 200,
    }
    # And the other way round for department B's clerk.
    found_b = await _everything(client, runtime, w, "clerk_b", card_of="in_b")
    assert found_b["queue"] == {w["in_b"].id, w["loose"].id} and found_b["counted"] == 2
    assert found_b["resident's other appeals"] == {w["loose"].id} and found_b["linked repeats"] == set()
    assert found_b["file of B"] == 200 and found_b["file of A"] == 404


@pytest.mark.parametrize("limited", [True, False], ids=["the town limits clerks", "the town does not"])
async def test_a_department_head_and_clerks_of_an_open_town_see_every_department(client, runtime, limited):
    w = await _world(runtime, limited=limited)
    everyone = {w["in_a"].id, w["in_a2"].id, w["in_b"].id, w["loose"].id}
    for who in ("head", "clerk_a") if not limited else ("head",):
        found = await _everything(client, runtime, w, who)
        assert found["queue"] == everyone and found["counted"] == 4, who
        assert found["filtered to B"] == {w["in_b"].id}
        assert found["exported"] == {"in_a", "in_a2", "in_b", "loose"}
        assert len(found["exported by link"]) == 4
        assert found["resident's other appeals"] == {w["in_a"].id, w["in_b"].id, w["loose"].id}
        assert found["linked repeats"] == {w["in_a"].id, w["in_b"].id}
        assert (found["card of B"], found["draft of B"], found["note on B"]) == (200, 200, 200)
        assert (found["file of B"], found["link to the file of B"], found["file of A"]) == (200, 200, 200)
