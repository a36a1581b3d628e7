"""Signed download links through the real ASGI app: POST <path>/download-link signs a link to
that GET, and GET /api/v1/dl/<token> serves it as the person it names, with their rights
checked at download time."""

from __future__ import annotations

import base64
import io
import json
import time
from urllib.parse import urlsplit

from openpyxl import load_workbook
from sqlalchemy import delete

from backend.core.downloads import service as links
from backend.core.files import service as files
from backend.core.users.models import Membership, Role
from backend.services.appeals import service as appeals
from tests.factories import make_town, make_user, seed, tma
from tests.services.appeals.factories import appeals_settings, make_appeal, make_category, make_resident

EN = {"Accept-Language": "en"}


def _path(url: str) -> str:
    """The link's path on this server (links are absolute, on the configured public origin)."""
    return urlsplit(url).path


def _token(url: str) -> str:
    return _path(url).removeprefix(links.PREFIX)


async def _clerk_world(runtime):  # noqa: ANN001, ANN202
    async def data(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="dl-town", settings=appeals_settings(reg_prefix="DL"))
        cat = await make_category(s, town)
        clerk = await make_user(s, first_name="Клерк", town=town, roles=(Role.CLERK,))
        resident = await make_resident(s, town)
        appeal = await make_appeal(s, town, cat, resident, text="=HYPERLINK(\"http://evil\") яма у дома 5")
        stored = await appeals.save_attachment(
            s, town=town, user=resident, data=b"%PDF-1.4 scan", filename="скан.pdf", mime="application/pdf",
            files_root=runtime.settings.files_dir,
        )
        await files.attach(s, file_ids=[stored.id], owner_type="appeal", owner_id=appeal.id)
        return {"town": town, "clerk": clerk, "resident": resident, "appeal": appeal, "file": stored}

    return await seed(runtime, data)


async def test_my_data_through_a_link_without_launch_data(client, runtime):
    person = await seed(runtime, lambda s: make_user(s, first_name="Вера"))
    r = await client.post("/api/v1/me/export/download-link", headers=tma(runtime, person))
    assert r.status_code == 200
    link = r.json()
    # Absolute, on MINIAPP_URL's origin (https://glocal.test/app in the suite), named as the GET names it.
    assert link["filename"] == "glocal-my-data.json"
    assert link["url"].startswith("https://glocal.test/api/v1/dl/")

    r = await client.get(_path(link["url"]))  # no Authorization: the link is the credential
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"] == 'attachment; filename="glocal-my-data.json"'
    assert r.json()["user"]["id"] == person.id and r.json()["user"]["first_name"] == "Вера"

    # Signing needs the person's launch data like the GET does.
    assert (await client.post("/api/v1/me/export/download-link")).status_code == 401


async def test_a_file_link_is_that_file_as_that_person_and_rechecks_the_rights(client, runtime):
    w = await _clerk_world(runtime)
    town, f = w["town"], w["file"]
    path = f"/api/v1/municipalities/{town.id}/files/{f.id}"
    r = await client.post(path + "/download-link", headers=tma(runtime, w["clerk"]))
    assert r.status_code == 200 and r.json()["filename"] == "скан.pdf"
    url = r.json()["url"]
    r = await client.get(_path(url))
    assert r.status_code == 200 and r.content == b"%PDF-1.4 scan" and r.headers["content-type"] == "application/pdf"
    # Through a link the file is an attachment (saved, not shown), under its stored name.
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''%D1%81%D0%BA%D0%B0%D0%BD.pdf"
    # Through the API with launch data it stays inline.
    r = await client.get(path, headers=tma(runtime, w["clerk"]))
    assert r.headers["content-disposition"].startswith("inline;")

    # A stranger cannot sign a link to it; the town's clerk could, but once no longer a clerk
    # (and no longer a member), the same link downloads nothing.
    stranger = await seed(runtime, lambda s: make_user(s, first_name="Чужой"))
    assert (await client.post(path + "/download-link", headers=tma(runtime, stranger))).status_code == 404

    async def demote(s):  # noqa: ANN001, ANN202
        await s.execute(delete(Membership).where(Membership.user_id == w["clerk"].id))

    await seed(runtime, demote)
    r = await client.get(_path(url), headers=EN)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


async def test_forged_tampered_expired_and_foreign_links_are_401(client, runtime):
    person = await seed(runtime, lambda s: make_user(s, first_name="Вера"))
    r = await client.post("/api/v1/me/export/download-link", headers=tma(runtime, person))
    token = _token(r.json()["url"])
    payload, _, signature = token.partition(".")

    def with_payload(**change: object) -> str:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        raw = json.dumps({**data, **change}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + signature

    key = links.link_key(runtime.settings.signing_token)
    other_key = links.link_key("987654321:ANOTHER-token-entirely_0000")
    cases = {
        "garbage": "not-a-token",
        "another person": with_payload(u=person.id + 1),
        "another path": with_payload(p="/api/v1/me"),
        "a longer life": with_payload(x=int(time.time()) + 86_400),
        "another key": links.sign(other_key, user_id=person.id, path="/api/v1/me/export"),
        # Well signed, but not one of the API's downloads: a link never names anything else.
        "outside the API": links.sign(key, user_id=person.id, path="/telegram/webhook"),
        "a link to a link": links.sign(key, user_id=person.id, path=links.PREFIX + token),
    }
    for what, forged in cases.items():
        r = await client.get(links.PREFIX + forged, headers=EN)
        assert r.status_code == 401, what
        assert r.json() == {"error": "unauthorized", "message": "This download link is not valid. Download the file again from the app."}, what

    expired = links.sign(key, user_id=person.id, path="/api/v1/me/export", now=time.time() - links.LINK_TTL - 1)
    r = await client.get(links.PREFIX + expired)
    assert r.status_code == 401
    assert r.json()["message"] == "Срок действия ссылки на скачивание истёк. Скачайте файл ещё раз из приложения."
    # The token is text without NUL (422 like every other path parameter); only GET is served.
    assert (await client.get(links.PREFIX + "a%00b")).status_code == 422
    assert (await client.post(links.PREFIX + token)).status_code == 405


async def test_a_link_of_someone_since_erased_downloads_nothing(client, runtime):
    person = await seed(runtime, lambda s: make_user(s, first_name="Вера"))
    url = (await client.post("/api/v1/me/export/download-link", headers=tma(runtime, person))).json()["url"]
    assert (await client.delete("/api/v1/me", headers=tma(runtime, person))).status_code == 204
    r = await client.get(_path(url))
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


async def test_the_queue_export_link_keeps_its_filters_format_and_order(client, runtime):
    w = await _clerk_world(runtime)
    base = f"/api/v1/municipalities/{w['town'].id}/appeals/export"
    params = {"format": "xlsx", "status": "registered", "sort": "-registered"}
    r = await client.post(base + "/download-link", params=params, headers=tma(runtime, w["clerk"]))
    assert r.status_code == 200
    link = r.json()
    assert link["filename"].startswith("appeals-") and link["filename"].endswith(".xlsx")
    r = await client.get(_path(link["url"]))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["content-disposition"].startswith('attachment; filename="appeals-')
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(min_row=2))
    assert [row[0].value for row in rows] == [w["appeal"].reg_number]
    # The resident's formula is text in the sheet (Excel's quote prefix), never a formula.
    text_cell = rows[0][-1]
    assert text_cell.value.startswith("=HYPERLINK") and text_cell.data_type == "s" and text_cell.quotePrefix

    # The same link with another filter is another link: the signature covers the query.
    token = _token(link["url"])
    r = await client.get(links.PREFIX + token, params={"status": "closed"})
    assert r.status_code == 200  # the query string of the link itself is ignored: the signed one is used
    assert [row[0].value for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(min_row=2)] == [w["appeal"].reg_number]
    # Invalid filters are refused when signing, as the GET refuses them.
    r = await client.post(base + "/download-link", params={"format": "pdf"}, headers=tma(runtime, w["clerk"]))
    assert r.status_code == 422


def test_links_point_beside_the_miniapps_else_at_the_request():
    assert links.public_base("https://glocal.example.ru/app", "http://10.0.0.5:8080/") == "https://glocal.example.ru"
    assert links.public_base("https://example.ru/town/app/", "http://10.0.0.5:8080/") == "https://example.ru/town"
    assert links.public_base("https://tunnel.example", "http://10.0.0.5:8080/") == "https://tunnel.example"
    assert links.public_base(None, "http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
