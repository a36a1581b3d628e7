"""Clerk queue latency: p50/p95 of `GET /api/v1/municipalities/{id}/appeals` for the filters
clerks use, on the first page and on a page 1,000 pages deep, against the bare SQL of the
same page measured in the same run.

    cd /work/main && .venv/bin/python bench/queue.py
    .venv/bin/python bench/queue.py --database-url postgresql+asyncpg://postgres@127.0.0.1/benchq \\
        --reset-postgres

Filters: (1) none, (2) the open statuses, (3) one category, (4) overdue, (5) assignee=me,
(6) reports among the open, (7) due within 5 days, (8) a word search, and (9) complaints among
the open - what the miniapp sends when a clerk picks a formal kind, added because formal
appeals sit behind the reports in due order (see `filter_cases`). The deep page is measured
for every filter that matches enough rows (at least (1)-(3)).

Orders: the queue is by due date unless `sort=` says otherwise. (10)-(14) are newest first
(`sort=-registered`) with no filter, the open statuses, one category, assignee=me and open
reports; (15)-(16) oldest first (`sort=registered`) with no filter and the open statuses.
Each is a keyset on an index ending in (registered_at, id), read backwards for newest first.

Targets (from the issue): p95 under 30 ms on every measured page, and the deep page's p95 at
most 1.5 times the first page's. Search (`q=`, core search: FTS5 on SQLite, tsvector + GIN on
PostgreSQL): (17)-(19) a word no appeal holds, (20)-(23) another form of a word the seeding puts
in 1 % of the appeals (RARE_TAIL), best match first (what a search gets without a sort), among
the open ones, by due date and newest first; (8) a word in ~2 % by due date. Every search page:
p95 under 50 ms. The counts endpoint (no filter, which the miniapp requests next to every first
page): p95 under 50 ms, measured over 200 requests.

App: the real ASGI app from the composition root (`bot.main.build`), driven in-process by
httpx's ASGI transport, with a clerk's real `Authorization: tma ...` header - so every request
pays what production pays: launch-data verification and the user upsert, the town and role
check, the queue SELECT, the category, assignee-name and attachment look-ups, serialization.

Baseline: the very SELECT the service issued for that page, captured at the driver level
during one API request and replayed with `exec_driver_sql` on the same engine (connection
checkout, execute, fetch all rows). The api/sql ratio is what everything around the query
costs. A breakdown of the API request (statements, time in the driver, the service call alone)
is printed for the first filter.

Data: --rows appeals (200,000 on SQLite, 1,000,000 on PostgreSQL) across 10 towns. A page
1,000 pages deep needs 50,050 matching rows in one town, so the distribution is skewed: the
first town holds 55 % of the rows, the other nine share the rest evenly; in every town half
of the appeals are in the "roads" category. Kinds, statuses, assignees and deadlines follow
the mix described in `_generate`; deadlines come from `rules.answer_due`, so many appeals
share one `due_at` and the keyset's `id` tie-break is exercised. Towns, departments,
categories and clerks are created through the real services; appeals, residents and
attachments are bulk-inserted (Core executemany, or COPY on PostgreSQL), then ANALYZE runs.

The deep page's cursor is computed directly - the (due_at, id) row at offset 49,999 under the
same filters and order, through `queries.encode_cursor` - because walking 1,000 pages would take
minutes; for every deep filter the bench first checks that walking 20 pages through the API
ends on the cursor the direct computation gives.

Measuring: 20 warm-up requests per case, then --requests (200) per case spread over --rounds
(4) rounds through all filters, the cases of a filter alternating request by request, so a
burst of other work on a shared machine lands on every filter and on both sides of each
ratio; the load average is printed next to the figures.

Databases: SQLite by default, seeded once into var/bench/queue-sqlite-<rows>.db and reused
(migrated and re-ANALYZEd on every run; --reseed forces a fresh one; a copy older than 7 days
is reseeded because deadlines are relative to the seeding day). A PostgreSQL URL needs
--reset-postgres, because the bench DROPS and recreates that database's `public` schema:
give it a database of its own. --reuse-postgres measures what such a run seeded before (found
by the marker the seeding leaves in the first town's settings), after migrating it - so an
index added by a new migration can be measured without seeding again.

Exit status: 0 whether or not the targets are met (this is a measurement, not a test), 1 when
a request did not return 200, a page had the wrong number of items or the cursor check failed,
2 on a usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/queue.py`, bench/ comes first on sys.path and this file would shadow the
# standard library's `queue` (redis imports it); the bench must keep this name, so step aside.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import re
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.core.auth import initdata
from backend.core.files.models import StoredFile
from backend.core.municipalities.models import Municipality
from backend.core.search import normalize
from backend.core.municipalities import service as towns
from backend.core.users import service as users
from backend.core.users.models import Role, User
from backend.db import make_engine, unit_of_work, utcnow
from backend.logs import setup_logging
from backend.migrate import reset_postgres, upgrade
from backend import installed
from backend.runtime import Runtime
from backend.services.appeals import queries, rules, service
from backend.services.appeals import settings as appeal_settings
from backend.services.appeals.models import Appeal
from backend.services.appeals.rules import Kind, Status
from backend.services.appeals.schemas import QueueFilters, QueueOrder
from backend.settings import ROOT, Settings, SettingsError, load_settings
from bot.main import build

BOT_TOKEN = "123456789:TEST-token-for-glocal-queue-bench"
TARGET_P95_MS = 30.0
TARGET_DEEP_RATIO = 1.5
PAGE = 50
DEEP_PAGES = 1000
WALK_PAGES = 20  # the walk that checks the direct cursor
TOWNS = 10
FIRST_TOWN_SHARE = 0.55
CLERKS_PER_TOWN = 5
BATCH = 5000
HISTORY_DAYS = 120
SEED_VERSION = 2  # bump when the generated data changes, so cached SQLite copies are rebuilt
CACHE_MAX_AGE = timedelta(days=7)
CACHE_DIR = ROOT / "var" / "bench"
FIRST_CLERK_TELEGRAM_ID = 790_000_000
FIRST_RESIDENT_TELEGRAM_ID = 791_000_000
SEARCH_WORD = "светофор"
# Search targets (issue 7): a word that matches nothing, and one that matches about 1 % of the
# town - the seeding adds RARE_TAIL to 1 % of the appeals; the query is another form of its word.
TARGET_SEARCH_P95_MS = 50.0
TARGET_COUNTS_P95_MS = 50.0
NOMATCH_WORD = "бегемотами"
RARE_TAIL = " Рядом гимназия, там ходят дети."
RARE_SHARE = 0.01
RARE_QUERY = "гимназии"
MARKER = "bench_queue_seed"  # key in the first town's settings: what was seeded, when, how
API = "/api/v1/municipalities/{town}/appeals"


class BenchError(Exception):
    """The stack under measurement misbehaved: a non-200 answer, a wrong page, a bad cursor."""


# -- the data ----------------------------------------------------------------------------

STREETS = ("Ленина", "Советская", "Мира", "Гагарина", "Школьная", "Садовая", "Молодёжная", "Набережная",
           "Пушкина", "Лесная", "Заводская", "Октябрьская", "Центральная", "Полевая", "Строителей")
SURNAMES = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров")
FIRST_NAMES = ("Иван", "Алексей", "Сергей", "Андрей", "Дмитрий", "Мария", "Елена", "Ольга", "Наталья", "Татьяна")
PATRONYMICS = ("Иванович", "Петрович", "Сергеевич", "Андреевич", "Ивановна", "Петровна", "Сергеевна", "Андреевна")
TAILS = ("", " Прошу принять меры.", " Жители обращаются не первый раз.", " Прошу сообщить сроки устранения.",
         " Ситуация повторяется каждую весну.", " Фото прилагаю.")
DEPARTMENTS = ("Отдел ЖКХ и благоустройства", "Отдел транспорта и дорог", "Отдел социальной политики", "Общий отдел")
# code, name, share of the town's appeals, department index, texts ({s} street, {h} house)
CATEGORIES = (
    ("roads", "Дороги и тротуары", 0.50, 1, (
        "Большая яма на проезжей части у дома {h} по улице {s}, машины объезжают по встречной.",
        "Разрушен тротуар на улице {s} возле дома {h}, пешеходы идут по дороге.",
        "Не убран снег с дороги на улице {s}, проезд к дому {h} невозможен.",
        "После ремонта теплотрассы на улице {s} не восстановлен асфальт у дома {h}.")),
    ("lighting", "Уличное освещение", 0.08, 0, (
        "Не горят фонари на улице {s} от дома {h} до перекрёстка, вечером темно и опасно.",
        "Фонарь у дома {h} по улице {s} мигает всю ночь.")),
    ("yards", "Дворы и благоустройство", 0.08, 0, (
        "Во дворе дома {h} по улице {s} сломаны качели на детской площадке.",
        "Просим установить скамейки и урны во дворе дома {h} на улице {s}.")),
    ("waste", "Мусор и свалки", 0.08, 0, (
        "Контейнерная площадка у дома {h} по улице {s} переполнена, мусор не вывозят неделю.",
        "Стихийная свалка за домом {h} на улице {s}.")),
    ("utilities", "ЖКХ", 0.07, 0, (
        "В доме {h} по улице {s} нет горячей воды третий день.",
        "Протекает крыша в подъезде дома {h} на улице {s}, управляющая компания не реагирует.")),
    ("transport", "Общественный транспорт", 0.07, 1, (
        "Автобус на остановке у дома {h} по улице {s} не соблюдает расписание.",
        "Не работает светофор на перекрёстке улицы {s} у дома {h}.",
        "Просим установить остановочный павильон на улице {s} у дома {h}.",
        "Маршрутка проезжает остановку на улице {s} без остановки.")),
    ("social", "Социальная поддержка", 0.06, 2, (
        "Прошу разъяснить порядок получения субсидии на оплату жилья, проживаю на улице {s}, дом {h}.",
        "Пожилым жителям дома {h} по улице {s} нужна помощь с доставкой продуктов.")),
    ("other", "Другое", 0.06, 3, (
        "Предлагаю провести субботник в сквере на улице {s}.",
        "Шумные работы по ночам на стройке у дома {h} по улице {s}.")),
)
KIND_WEIGHTS = ((Kind.REPORT, 40), (Kind.PROPOSAL, 20), (Kind.STATEMENT, 20), (Kind.COMPLAINT, 20))
STATUS_WEIGHTS = (
    (Status.REGISTERED, 30), (Status.IN_PROGRESS, 25), (Status.INFO_REQUESTED, 5), (Status.ANSWERED, 25),
    (Status.CLOSED, 10), (Status.REDIRECTED, 3), (Status.NO_ANSWER_REQUIRED, 2),
)
OPEN = tuple(s.value for s in (Status.REGISTERED, Status.IN_PROGRESS, Status.INFO_REQUESTED))


def town_sizes(rows: int) -> list[int]:
    first = round(rows * FIRST_TOWN_SHARE)
    rest, extra = divmod(rows - first, TOWNS - 1)
    return [first] + [rest + (1 if i < extra else 0) for i in range(TOWNS - 1)]


@dataclass
class Town:
    id: int
    slug: str
    prefix: str
    policies: dict[bool, rules.DeadlinePolicy]  # is_formal -> policy
    categories: list[tuple[int, int | None, int]]  # (category id, department id, index into CATEGORIES)
    clerks: list[int]
    center: tuple[float, float]


@dataclass
class Seeded:
    """What the measurement needs to know about the data; kept in the first town's settings."""

    rows: int
    distribution: list[int]
    town_id: int
    roads_category_id: int
    clerk: dict[str, Any]  # user id and the Telegram profile the clerk's miniapp sends
    seeded_at: str
    seed_seconds: float
    method: str
    version: int = SEED_VERSION


async def _create_towns(runtime: Runtime, rng: random.Random) -> list[Town]:
    """Towns, departments, categories and clerks, through the real services."""
    out: list[Town] = []
    async with unit_of_work(runtime.sessionmaker) as session:
        for t in range(TOWNS):
            town = await towns.create(session, slug=f"bench-town-{t + 1:02d}", name=f"Город {t + 1}",
                                      settings={"services": {"appeals": {"reg_prefix": f"BQ{t + 1:02d}"}}})
            depts = [(await towns.add_department(session, municipality_id=town.id, name=n)).id for n in DEPARTMENTS]
            cats = []
            for i, (code, name, _share, dept, _texts) in enumerate(CATEGORIES):
                cat = await service.create_category(session, municipality_id=town.id, code=code, name=name,
                                                    department_id=depts[dept], sort=i * 10)
                cats.append((cat.id, cat.department_id, i))
            clerks = []
            for c in range(CLERKS_PER_TOWN):
                tg = FIRST_CLERK_TELEGRAM_ID + t * 100 + c
                user, _ = await users.upsert_telegram_user(
                    session, telegram_id=tg, first_name=FIRST_NAMES[c], last_name=SURNAMES[c],
                    username=f"clerk_{t + 1}_{c + 1}",
                )
                await users.grant_role(session, user_id=user.id, municipality_id=town.id, role=Role.CLERK)
                user.current_municipality_id = town.id
                clerks.append(user.id)
            out.append(Town(
                id=town.id, slug=town.slug, prefix=appeal_settings.reg_prefix(town),
                policies={True: appeal_settings.policy_for(town, kind=Kind.STATEMENT), False: appeal_settings.policy_for(town, kind=Kind.REPORT)},
                categories=cats, clerks=clerks, center=(55.0 + rng.random() * 5, 37.0 + rng.random() * 10),
            ))
    return out


def _resident_rows(n: int) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {"telegram_id": FIRST_RESIDENT_TELEGRAM_ID + i, "first_name": FIRST_NAMES[i % 10], "last_name": SURNAMES[i % 10],
         "username": None, "locale": "ru", "created_at": now, "updated_at": now}
        for i in range(n)
    ]


def _generate(rows: int, towns_: list[Town], residents: list[int], rng: random.Random, now: datetime):
    """Appeals in registration order (so ids grow with time, as in production), in batches,
    with the attachments of some reports.

    Kinds ~40 % reports and 20 % each proposal, statement, complaint; statuses ~30 %
    registered, 25 % in progress, 5 % info requested, 25 % answered, 10 % closed, 5 %
    redirected or left unanswered; registered over the last 120 days; due per the town's
    policy (30 days, 10 for reports); half the appeals of a town in "roads", the rest over
    seven other categories; 30 % unassigned, the rest spread over the town's 5 clerks; 1 % of
    reports merged into an earlier report; 30 % of reports with a photo."""
    sizes = town_sizes(rows)
    order = [t for t, n in enumerate(sizes) for _ in range(n)]
    rng.shuffle(order)
    kinds, kind_w = zip(*KIND_WEIGHTS)
    statuses, status_w = zip(*STATUS_WEIGHTS)
    cat_w = [c[2] for c in CATEGORIES]
    seq = [0] * TOWNS
    recent_reports: list[list[int]] = [[] for _ in range(TOWNS)]
    due_cache: dict[tuple[int, datetime, bool], datetime] = {}
    start = now - timedelta(days=HISTORY_DAYS)
    step = timedelta(days=HISTORY_DAYS) / rows
    batch: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    index: list[dict[str, Any]] = []
    for i, t in enumerate(order):
        town = towns_[t]
        ident = i + 1
        registered = start + step * i + timedelta(seconds=rng.random() * 30)
        kind = rng.choices(kinds, kind_w)[0]
        status = rng.choices(statuses, status_w)[0]
        cat_id, dept_id, ci = town.categories[rng.choices(range(len(cat_w)), cat_w)[0]]
        texts = CATEGORIES[ci][4]
        body = rng.choice(texts).format(s=rng.choice(STREETS), h=rng.randint(1, 120)) + rng.choice(TAILS)
        if rng.random() < RARE_SHARE:
            body += RARE_TAIL
        formal = kind.is_formal
        # A deadline depends only on the local date of registration; Moscow's dates turn on a whole UTC hour.
        key = (t, registered.replace(minute=0, second=0, microsecond=0), formal)
        due = due_cache.get(key)
        if due is None:
            due = due_cache[key] = rules.answer_due(registered, town.policies[formal])
        seq[t] += 1
        reg_number = rules.format_reg_number(town.prefix, registered.year, seq[t])
        full_name = None
        if formal or rng.random() < 0.5:
            full_name = f"{rng.choice(SURNAMES)} {rng.choice(FIRST_NAMES)} {rng.choice(PATRONYMICS)}"
        reply, reply_type = None, None
        if formal:
            if rng.random() < 0.6:
                reply, reply_type = f"resident{rng.randint(1, 99999)}@mail.ru", "email"
            else:
                reply, reply_type = f"г. Город {t + 1}, ул. {rng.choice(STREETS)}, д. {rng.randint(1, 120)}, кв. {rng.randint(1, 200)}", "postal"
        address = f"ул. {rng.choice(STREETS)}, д. {rng.randint(1, 120)}" if not formal or rng.random() < 0.5 else None
        lat = lon = None
        if not formal:
            lat, lon = town.center[0] + rng.uniform(-0.05, 0.05), town.center[1] + rng.uniform(-0.05, 0.05)
        merged = None
        if not formal and recent_reports[t] and rng.random() < 0.01:
            merged = rng.choice(recent_reports[t])
        answered = registered + timedelta(days=rng.uniform(1, 25)) if status in (Status.ANSWERED, Status.CLOSED) else None
        if answered is not None and answered > now:
            answered = now
        batch.append({
            "id": ident, "municipality_id": town.id, "kind": kind.value, "status": status.value,
            "category_id": cat_id, "department_id": dept_id,
            "author_id": rng.choice(residents) if formal or rng.random() < 0.7 else None,
            "assignee_id": None if rng.random() < 0.3 else rng.choice(town.clerks),
            "source": "bot" if formal else rng.choice(("bot", "miniapp", "miniapp", "open311")),
            "full_name": full_name, "reply_address": reply, "reply_address_type": reply_type,
            "phone": f"+79{rng.randint(0, 999_999_999):09d}" if rng.random() < 0.5 else None,
            "text": body, "address": address, "lat": lat, "lon": lon,
            "reg_number": reg_number, "received_at": registered - timedelta(minutes=rng.randint(0, 120)),
            "registered_at": registered, "due_at": due, "extended_at": None, "extension_reason": None,
            "redirected_to": "Прокуратура района" if status is Status.REDIRECTED else None,
            "redirected_at": registered + timedelta(days=3) if status is Status.REDIRECTED else None,
            "answer_required": status is not Status.NO_ANSWER_REQUIRED,
            "no_answer_reason": service.NO_ANSWER_KEYS["no_essence"] if status is Status.NO_ANSWER_REQUIRED else None,
            "route_to_competent_body": False, "flagged_obscene": False, "flagged_for_head": False,
            "merged_into_id": merged, "answered_at": answered, "answer_document_id": None,
            "rating": rng.randint(1, 5) if status is Status.CLOSED and rng.random() < 0.5 else None,
            "rating_comment": None, "rated_at": None, "open311_token": None,
            "updated_at": answered or registered, "created_at": registered,
        })
        # What service.submit() indexes: the number, the name, the address and the text.
        index.append({"id": ident, "municipality_id": town.id,
                      "terms": normalize.stems([reg_number, full_name, address, body])})
        if not formal:
            recent_reports[t].append(ident)
            if len(recent_reports[t]) > 500:
                del recent_reports[t][:250]
            if rng.random() < 0.3:
                files.append({
                    "municipality_id": town.id, "owner_type": "appeal", "owner_id": ident, "filename": "photo.jpg",
                    "mime": "image/jpeg", "size": rng.randint(50_000, 3_000_000), "sha256": f"{ident:064x}",
                    "storage_key": f"bench/{ident}.jpg", "created_by": None, "created_at": registered,
                })
        if len(batch) == BATCH:
            yield batch, files, index
            batch, files, index = [], [], []
    if batch:
        yield batch, files, index


async def _bulk(engine: AsyncEngine, table: Any, chunks, *, copy: bool) -> None:  # noqa: ANN001
    """Insert a stream of row batches, one transaction each: COPY on PostgreSQL when asked,
    else Core executemany."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA synchronous=OFF")  # a scratch database: durability is moot
        for rows in chunks:
            if not rows:
                continue
            if copy:
                raw = (await conn.get_raw_connection()).driver_connection
                cols = list(rows[0])
                await raw.copy_records_to_table(table.name, columns=cols, records=[tuple(r[c] for c in cols) for r in rows])
            else:
                await conn.execute(insert(table), rows)
            await conn.commit()


async def _bulk_index(engine: AsyncEngine, entries: list[dict[str, Any]]) -> None:
    """The search index of the seeded appeals, as core search writes it (entry ids = appeal
    ids, the table being empty): FTS5 rows on SQLite; on PostgreSQL the tsvector, with the GIN
    index built once after the load, as migration 0011 does."""
    postgres = engine.dialect.name == "postgresql"
    async with engine.connect() as conn:
        if postgres:
            await conn.exec_driver_sql("DROP INDEX ix_search_entry_tsv")
        else:
            await conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for i in range(0, len(entries), BATCH):
            chunk = entries[i:i + BATCH]
            if postgres:
                await conn.execute(
                    text("INSERT INTO search_entry (id, owner_type, owner_id, municipality_id, tsv) "
                         "VALUES (:id, 'appeal', :id, :m, CAST(:v AS tsvector))"),
                    [{"id": e["id"], "m": e["municipality_id"], "v": normalize.tsvector_literal(e["terms"])} for e in chunk],
                )
            else:
                await conn.execute(
                    text("INSERT INTO search_entry (id, owner_type, owner_id, municipality_id) VALUES (:id, 'appeal', :id, :m)"),
                    [{"id": e["id"], "m": e["municipality_id"]} for e in chunk],
                )
                await conn.execute(text("INSERT INTO search_fts (rowid, body) VALUES (:id, :b)"),
                                   [{"id": e["id"], "b": normalize.fts5_document(e["terms"])} for e in chunk])
            await conn.commit()
        if postgres:
            await conn.exec_driver_sql("CREATE INDEX ix_search_entry_tsv ON search_entry USING gin (tsv)")
            await conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('search_entry', 'id'), (SELECT max(id) FROM search_entry))")
            await conn.commit()


async def seed(settings: Settings, rows: int, *, copy: bool, log: Callable[[str], None]) -> Seeded:
    """Create towns and clerks through the services, bulk-insert the appeals, ANALYZE."""
    t0 = time.perf_counter()
    rng = random.Random(20240601)
    runtime = Runtime.build(settings, installed.registry())
    try:
        towns_ = await _create_towns(runtime, rng)
        n_residents = max(1000, rows // 40)
        await _bulk(runtime.engine, User.__table__, [_resident_rows(n_residents)], copy=False)
        async with runtime.engine.connect() as conn:
            residents = list((await conn.execute(
                select(User.id).where(User.telegram_id >= FIRST_RESIDENT_TELEGRAM_ID))).scalars())
        now = utcnow()
        done = 0
        pending_files: list[dict[str, Any]] = []

        pending_index: list[dict[str, Any]] = []

        def appeals():  # noqa: ANN202
            nonlocal done
            for batch, files, index in _generate(rows, towns_, residents, rng, now):
                pending_files.extend(files)
                pending_index.extend(index)
                done += len(batch)
                if done % 100_000 < BATCH:
                    log(f"  {done:,} appeals ({time.perf_counter() - t0:.0f} s)")
                yield batch

        await _bulk(runtime.engine, Appeal.__table__, appeals(), copy=copy)
        await _bulk(runtime.engine, StoredFile.__table__,
                    [pending_files[i:i + BATCH] for i in range(0, len(pending_files), BATCH)], copy=False)
        log(f"  indexing {len(pending_index):,} appeals for search ({time.perf_counter() - t0:.0f} s)")
        await _bulk_index(runtime.engine, pending_index)
        del pending_index
        inserted = time.perf_counter() - t0
        log(f"  inserted in {inserted:.0f} s; analyzing")
        if runtime.engine.dialect.name == "postgresql":
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT setval(pg_get_serial_sequence('appeal', 'id'), (SELECT max(id) FROM appeal))"))
                await conn.commit()
            # Autovacuum would get there in production; VACUUM also sets the visibility map.
            async with runtime.engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.exec_driver_sql("VACUUM (ANALYZE)")
        else:
            async with runtime.engine.connect() as conn:
                await conn.exec_driver_sql("ANALYZE")
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                await conn.commit()
        first = towns_[0]
        async with runtime.sessionmaker() as session:
            clerk = await session.get(User, first.clerks[0])
            assert clerk is not None
            profile = {"id": clerk.telegram_id, "first_name": clerk.first_name, "last_name": clerk.last_name,
                       "username": clerk.username, "language_code": "ru"}
        seeded = Seeded(
            rows=rows, distribution=town_sizes(rows), town_id=first.id, roads_category_id=first.categories[0][0],
            clerk={"user_id": clerk.id, "telegram": profile}, seeded_at=now.isoformat(),
            seed_seconds=time.perf_counter() - t0, method="COPY" if copy else "INSERT executemany",
        )
        # The marker goes in last: a seeding that died half-way leaves none, so it is redone.
        async with unit_of_work(runtime.sessionmaker) as session:
            town = await towns.get(session, municipality_id=first.id)
            town.settings = {**town.settings, MARKER: seeded.__dict__}
        return seeded
    finally:
        await runtime.close()


# -- the cases ---------------------------------------------------------------------------


@dataclass
class FilterCase:
    key: str
    label: str
    spec: dict[str, Any]
    informational: bool = False
    order: QueueOrder = QueueOrder.DUE
    target_ms: float = TARGET_P95_MS

    @property
    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for name, value in self.spec.items():
            for v in value if isinstance(value, list) else [value]:
                out.append((name, str(v).lower() if isinstance(v, bool) else str(v)))
        # A search is best match first unless told otherwise: its due-order cases say so.
        if self.order is not QueueOrder.DUE or "q" in self.spec:
            out.append(("sort", self.order.value))
        return out

    @property
    def filters(self) -> QueueFilters:
        return QueueFilters(**self.spec)


def filter_cases(seeded: Seeded) -> list[FilterCase]:
    open_ = list(OPEN)
    return [
        FilterCase("default", "(1) no filters", {}),
        FilterCase("open", "(2) open statuses", {"status": open_}),
        FilterCase("category", "(3) one category", {"category_id": seeded.roads_category_id}),
        FilterCase("overdue", "(4) overdue", {"overdue": True}),
        FilterCase("mine", "(5) assignee=me", {"assignee": "me"}),
        FilterCase("reports_open", "(6) reports, open", {"kind": ["report"], "status": open_}),
        FilterCase("due5", "(7) due within 5 days", {"due_within_days": 5}),
        FilterCase("search", f"(8) q={SEARCH_WORD} (due)", {"q": SEARCH_WORD}, target_ms=TARGET_SEARCH_P95_MS),
        # What the miniapp sends when a clerk picks a formal kind (its status chips start on the
        # open ones). Formal appeals are due 30 days after registration and reports 10, so the
        # earliest-due stretch of the queue holds reports only, and a scan in due order must
        # step over it before finding the first complaint.
        FilterCase("complaints_open", "(9) complaints, open", {"kind": ["complaint"], "status": open_}),
        # The other orders the miniapp offers, by registration time.
        FilterCase("newest", "(10) newest first", {}, order=QueueOrder.NEWEST),
        FilterCase("open_newest", "(11) open, newest", {"status": open_}, order=QueueOrder.NEWEST),
        FilterCase("category_newest", "(12) category, newest", {"category_id": seeded.roads_category_id}, order=QueueOrder.NEWEST),
        FilterCase("mine_newest", "(13) mine, newest", {"assignee": "me"}, order=QueueOrder.NEWEST),
        FilterCase("reports_open_newest", "(14) reports open, newest", {"kind": ["report"], "status": open_}, order=QueueOrder.NEWEST),
        FilterCase("oldest", "(15) oldest first", {}, order=QueueOrder.OLDEST),
        FilterCase("open_oldest", "(16) open, oldest", {"status": open_}, order=QueueOrder.OLDEST),
        # Search (core search: FTS5 / tsvector): a word no appeal holds, and another form of a
        # word in 1 % of them, alone and among the open ones; best match first (what a search
        # gets without a sort), due order and newest first.
        FilterCase("search_nomatch", f"(17) q={NOMATCH_WORD}", {"q": NOMATCH_WORD}, order=QueueOrder.RANK,
                   target_ms=TARGET_SEARCH_P95_MS),
        FilterCase("search_nomatch_due", "(18) q=no match, due", {"q": NOMATCH_WORD}, target_ms=TARGET_SEARCH_P95_MS),
        FilterCase("search_nomatch_open", "(19) q=no match, open", {"q": NOMATCH_WORD, "status": open_},
                   order=QueueOrder.RANK, target_ms=TARGET_SEARCH_P95_MS),
        FilterCase("search_1pct", f"(20) q={RARE_QUERY} (1 %)", {"q": RARE_QUERY}, order=QueueOrder.RANK,
                   target_ms=TARGET_SEARCH_P95_MS),
        FilterCase("search_1pct_open", "(21) q=1 %, open", {"q": RARE_QUERY, "status": open_}, order=QueueOrder.RANK,
                   target_ms=TARGET_SEARCH_P95_MS),
        FilterCase("search_1pct_due", "(22) q=1 %, due", {"q": RARE_QUERY}, target_ms=TARGET_SEARCH_P95_MS),
        FilterCase("search_1pct_newest", "(23) q=1 %, newest", {"q": RARE_QUERY}, order=QueueOrder.NEWEST,
                   target_ms=TARGET_SEARCH_P95_MS),
    ]


async def matching(runtime: Runtime, seeded: Seeded, case: FilterCase) -> int:
    """How many appeals the filter matches in the town, by the counts endpoint's service."""
    async with runtime.sessionmaker() as session:
        counts, _ = await queries.status_counts(session, municipality_id=seeded.town_id, filters=case.filters,
                                                user_id=seeded.clerk["user_id"])
    wanted = {s.value for s in case.filters.status} or set(counts)
    return sum(n for s, n in counts.items() if s in wanted)


async def cursor_at(runtime: Runtime, seeded: Seeded, case: FilterCase, offset: int) -> str | None:
    """The cursor the service hands out after the row at `offset` (0-based) of the queue.

    The WHERE clause is the service's own `_filtered` plus the status condition `queue()`
    adds; the walk in `check_cursor` proves the two agree."""
    f = case.filters
    column = Appeal.due_at if case.order is QueueOrder.DUE else Appeal.registered_at
    order = (column.desc(), Appeal.id.desc()) if case.order is QueueOrder.NEWEST else (column, Appeal.id)
    async with runtime.sessionmaker() as session:
        stmt = queries._filtered(select(Appeal.due_at, Appeal.registered_at, Appeal.id), session=session,
                                 municipality_id=seeded.town_id, filters=f, user_id=seeded.clerk["user_id"], now=utcnow(),
                                 departments=None)
        if f.status:
            stmt = stmt.where(Appeal.status.in_([s.value for s in f.status]))
        row = (await session.execute(stmt.order_by(*order).offset(offset).limit(1))).first()
    return queries.encode_cursor(row, case.order) if row is not None else None  # type: ignore[arg-type]


# -- the stacks under measurement -------------------------------------------------------


class Client:
    """The clerk's miniapp: the real app over ASGI, with signed launch data."""

    def __init__(self, app: Any, seeded: Seeded, token: str) -> None:
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.glocal")
        self.seeded, self.token = seeded, token
        self.path = API.format(town=seeded.town_id)
        self.sign()

    def sign(self) -> None:
        """Fresh launch data, as a miniapp opened now would send (verification checks its age)."""
        data = initdata.sign({"query_id": "AAHbench", "user": self.seeded.clerk["telegram"], "auth_date": int(time.time())},
                             token=self.token)
        self.headers = {"Authorization": f"tma {data}"}

    async def get(self, params: list[tuple[str, str]]) -> httpx.Response:
        return await self.http.get(self.path, params=params, headers=self.headers)

    @staticmethod
    def page(response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise BenchError(f"{what}: {response.status_code} {response.text[:300]}")
        return response.json()


@dataclass
class Captured:
    statement: str
    parameters: Any


class Capture:
    """The queue SELECT as the driver received it (placeholders and bound values)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.last: Captured | None = None

    def _listen(self, conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        if "FROM appeal" in statement and ("ORDER BY appeal.due_at" in statement or "ORDER BY appeal.registered_at" in statement
                                           or re.search(r"ORDER BY \w+\.rank DESC", statement)):
            self.last = Captured(statement, parameters)

    async def around(self, call: Awaitable[Any]) -> Captured:
        self.last = None
        event.listen(self.engine, "before_cursor_execute", self._listen)
        try:
            await call
        finally:
            event.remove(self.engine, "before_cursor_execute", self._listen)
        if self.last is None:
            raise BenchError("the queue SELECT was not seen at the driver")
        return self.last


async def run_sql(engine: AsyncEngine, q: Captured) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(q.statement, q.parameters)
        return result.fetchall()


async def explain(engine: AsyncEngine, q: Captured) -> str:
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
    async with engine.connect() as conn:
        rows = (await conn.exec_driver_sql(prefix + q.statement, q.parameters)).fetchall()
    if engine.dialect.name == "sqlite":
        return "\n".join(f"{r[0]:>3} {r[1]:>3}  {r[3]}" for r in rows)
    return "\n".join(r[0] for r in rows)


# -- measuring ---------------------------------------------------------------------------


def pct(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1] * 1000


def stats(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(samples, 50), "p95_ms": pct(samples, 95), "mean_ms": statistics.fmean(samples) * 1000}


@dataclass
class Prepared:
    """One filter, ready to time: its timed calls, its captured SELECTs and its samples."""

    case: FilterCase
    matching: int
    calls: dict[str, Callable[[], Awaitable[tuple[float, float]]]]
    plans: dict[str, Captured]
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (wall, process CPU) seconds


async def prepare_filter(runtime: Runtime, client: Client, seeded: Seeded, case: FilterCase) -> Prepared:
    """The filter's cases - API first page, API deep page, the bare SQL of each - after
    checking that the replayed SELECT returns the API's page and the deep page starts where
    it should."""
    engine = runtime.engine
    total = await matching(runtime, seeded, case)
    params = case.params
    first_expected = min(PAGE, total)
    deep_offset = DEEP_PAGES * PAGE
    deep_cursor = await cursor_at(runtime, seeded, case, deep_offset - 1) if total >= deep_offset + PAGE else None
    capture = Capture(engine)

    async def api_first() -> tuple[float, float]:
        c0, t0 = time.process_time(), time.perf_counter()
        r = await client.get(params)
        dt = time.perf_counter() - t0, time.process_time() - c0
        n = len(Client.page(r, f"{case.key} first page")["items"])
        if n != first_expected:
            raise BenchError(f"{case.key} first page: {n} items, expected {first_expected}")
        return dt

    async def api_deep() -> tuple[float, float]:
        c0, t0 = time.process_time(), time.perf_counter()
        r = await client.get(params + [("cursor", deep_cursor)])
        dt = time.perf_counter() - t0, time.process_time() - c0
        n = len(Client.page(r, f"{case.key} deep page")["items"])
        if n != PAGE:
            raise BenchError(f"{case.key} deep page: {n} items, expected {PAGE}")
        return dt

    def timed_sql(q: Captured) -> Callable[[], Awaitable[tuple[float, float]]]:
        async def run() -> tuple[float, float]:
            c0, t0 = time.process_time(), time.perf_counter()
            await run_sql(engine, q)
            return time.perf_counter() - t0, time.process_time() - c0
        return run

    sql_first = await capture.around(client.get(params))
    sql_first_ids = [r.id for r in await run_sql(engine, sql_first)][:PAGE]
    api_ids = [i["id"] for i in Client.page(await client.get(params), case.key)["items"]]
    if api_ids != sql_first_ids:
        raise BenchError(f"{case.key}: the replayed SELECT returns other rows than the API page")
    calls: dict[str, Callable[[], Awaitable[tuple[float, float]]]] = {"api_first": api_first, "sql_first": timed_sql(sql_first)}
    plans: dict[str, Captured] = {"first": sql_first}
    if deep_cursor is not None:
        plans["deep"] = await capture.around(client.get(params + [("cursor", deep_cursor)]))
        calls["api_deep"], calls["sql_deep"] = api_deep, timed_sql(plans["deep"])
        expect_first = queries.decode_cursor(await cursor_at(runtime, seeded, case, deep_offset) or "", case.order)[1]
        got = Client.page(await client.get(params + [("cursor", deep_cursor)]), case.key)["items"][0]["id"]
        if got != expect_first:
            raise BenchError(f"{case.key}: the deep page starts at appeal {got}, expected {expect_first}")
    return Prepared(case, total, calls, plans, {k: [] for k in calls})


async def run_rounds(client: Client, prepared: list[Prepared], args: argparse.Namespace,
                     log: Callable[[str], None]) -> None:
    """Warm up every case, then time them in --rounds rounds over all filters; inside a
    filter the cases alternate request by request. On a shared, noisy machine a burst of
    someone else's work then lands on every filter and on both sides of every ratio."""
    for p in prepared:
        for call in p.calls.values():
            for _ in range(args.warmup):
                await call()
    per_round = [args.requests // args.rounds + (1 if r < args.requests % args.rounds else 0) for r in range(args.rounds)]
    for r, n in enumerate(per_round):
        client.sign()
        for p in prepared:
            order = list(p.calls)
            gc.collect()
            for i in range(n):
                k = i % len(order)
                for key in order[k:] + order[:k]:
                    p.samples[key].append(await p.calls[key]())
        log(f"  round {r + 1}/{args.rounds} done (load average {os.getloadavg()[0]:.1f})")


async def summarize(engine: AsyncEngine, p: Prepared, args: argparse.Namespace) -> dict[str, Any]:
    case = p.case
    row: dict[str, Any] = {"label": case.label, "params": case.params, "informational": case.informational,
                           "matching": p.matching, "deep": "deep" in p.plans}
    for key, s in p.samples.items():
        row[key] = stats([wall for wall, _ in s])
        row[key]["cpu"] = stats([cpu for _, cpu in s])
    row["api_sql_p50"] = row["api_first"]["p50_ms"] / row["sql_first"]["p50_ms"]
    if "api_deep" in row:
        row["deep_first_p95"] = row["api_deep"]["p95_ms"] / row["api_first"]["p95_ms"]
    pages = [row["api_first"]] + ([row["api_deep"]] if "api_deep" in row else [])
    row["target_ms"] = case.target_ms
    row["p95_met"] = all(x["p95_ms"] < case.target_ms for x in pages)
    row["ratio_met"] = row.get("deep_first_p95", 0) <= TARGET_DEEP_RATIO
    row["met"] = row["p95_met"] and row["ratio_met"]
    if args.explain or (not row["met"] and not case.informational):
        row["plans"] = {k: await explain(engine, q) for k, q in p.plans.items()}
    row["sql"] = {k: {"statement": q.statement, "parameters": [str(v) for v in q.parameters]} for k, q in p.plans.items()}
    return row


async def check_cursor(runtime: Runtime, client: Client, seeded: Seeded, case: FilterCase) -> dict[str, Any]:
    """Walk WALK_PAGES pages by next_cursor and compare with the directly computed cursor."""
    cursor = None
    for page in range(WALK_PAGES):
        params = case.params + ([("cursor", cursor)] if cursor else [])
        body = Client.page(await client.get(params), f"{case.key} walk page {page + 1}")
        if len(body["items"]) != PAGE or not body["next_cursor"]:
            raise BenchError(f"{case.key} walk page {page + 1}: {len(body['items'])} items, cursor {body['next_cursor']!r}")
        cursor = body["next_cursor"]
    direct = await cursor_at(runtime, seeded, case, WALK_PAGES * PAGE - 1)
    if direct != cursor:
        raise BenchError(f"{case.key}: walking {WALK_PAGES} pages ends on {cursor}, the direct computation gives {direct}")
    return {"filter": case.key, "pages": WALK_PAGES, "cursor": cursor, "agree": True}


async def breakdown(runtime: Runtime, client: Client, seeded: Seeded, case: FilterCase, n: int,
                    profile: bool) -> dict[str, Any]:
    """Where an API request's time goes: its statements and their time in the driver, and
    the service call alone (ORM, own session) next to the whole request."""
    engine = runtime.engine.sync_engine
    per_request: list[list[tuple[str, float]]] = []
    started: list[float] = []

    def label(statement: str) -> str:
        s = " ".join(statement.split())
        m = re.search(r"\bFROM (\w+)", s)
        table = m.group(1) if m else s.split(" ", 1)[0]
        if table == "user_account":
            return "user_account by telegram_id (auth upsert)" if "telegram_id =" in s else "user_account by id (assignee names)"
        if table == "appeal":
            return "appeal (the queue SELECT)"
        return {"membership": "membership (role check)", "municipality": "municipality (town)",
                "appeal_category": "appeal_category (category names)",
                "stored_file": "stored_file (attachment counts)"}.get(table, table)

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        started.append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        per_request[-1].append((label(statement), time.perf_counter() - started.pop()))

    params = case.params
    walls: list[float] = []
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        for _ in range(n):
            per_request.append([])
            t0 = time.perf_counter()
            Client.page(await client.get(params), "breakdown")
            walls.append(time.perf_counter() - t0)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    by_label: dict[str, list[float]] = defaultdict(list)
    counts: Counter[str] = Counter()
    for req in per_request:
        for lab, dt in req:
            by_label[lab].append(dt)
            counts[lab] += 1
    driver_ms = statistics.median(sum(dt for _, dt in req) for req in per_request) * 1000
    svc: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with unit_of_work(runtime.sessionmaker) as session:
            await queries.queue(session, municipality_id=seeded.town_id, filters=case.filters,
                                user_id=seeded.clerk["user_id"], limit=PAGE, order=case.order)
        svc.append(time.perf_counter() - t0)
    ladder = {}
    town = seeded.town_id
    for name, path, extra in (
        ("GET /healthz (HTTP stack)", "/healthz", []),
        ("appeal-categories (auth, town check, 1 query)", f"/api/v1/municipalities/{town}/appeal-categories", []),
        ("appeals limit=1", client.path, params + [("limit", "1")]),
        (f"appeals limit={PAGE}", client.path, params),
        ("appeals limit=200", client.path, params + [("limit", "200")]),
    ):
        times = []
        for i in range(n + 5):
            t0 = time.perf_counter()
            Client.page(await client.http.get(path, params=extra, headers=client.headers), name)
            if i >= 5:
                times.append(time.perf_counter() - t0)
        ladder[name] = pct(times, 50)
    out: dict[str, Any] = {
        "filter": case.key,
        "ladder": ladder,
        "requests": n,
        "api_p50_ms": pct(walls, 50),
        "statements_per_request": statistics.median(len(r) for r in per_request),
        "driver_ms_per_request_p50": driver_ms,
        "statements": {lab: {"per_request": counts[lab] / n, "p50_ms": pct(v, 50) if len(v) > 1 else v[0] * 1000}
                       for lab, v in sorted(by_label.items(), key=lambda kv: -sum(kv[1]))},
        "service_queue_p50_ms": pct(svc, 50),
    }
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            await client.get(params)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(15)
        out["profile_top_tottime"] = buf.getvalue()
    return out


async def counts_endpoint(client: Client, n: int = 200) -> dict[str, Any]:
    """`GET .../appeals/counts`, which the miniapp requests together with every first page
    (and waits for both), over the whole town with no filter: target p95 < 50 ms."""
    times = []
    for i in range(n + 20):
        if i % 50 == 0:
            client.sign()
        t0 = time.perf_counter()
        Client.page(await client.http.get(client.path + "/counts", headers=client.headers), "counts")
        if i >= 20:
            times.append(time.perf_counter() - t0)
    p95 = pct(times, 95)
    return {"requests": n, "p50_ms": pct(times, 50), "p95_ms": p95, "max_ms": max(times) * 1000,
            "met": p95 < TARGET_COUNTS_P95_MS}


async def measure(settings: Settings, seeded: Seeded, args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    runtime = Runtime.build(settings, installed.registry())
    app, bot, dp = build(runtime)
    client = Client(app, seeded, settings.signing_token)
    try:
        cases = filter_cases(seeded)
        only = set(args.filters or [c.key for c in cases])
        cases = [c for c in cases if c.key in only]
        checks = []
        for case in cases:
            if await matching(runtime, seeded, case) >= DEEP_PAGES * PAGE + PAGE:
                checks.append(await check_cursor(runtime, client, seeded, case))
        log(f"  cursor check: walking {WALK_PAGES} pages agrees with the direct cursor for "
            f"{', '.join(c['filter'] for c in checks) or 'no filter'}")
        client.sign()
        prepared = [await prepare_filter(runtime, client, seeded, case) for case in cases]
        load_before = os.getloadavg()
        await run_rounds(client, prepared, args, log)
        load_after = os.getloadavg()
        rows = {p.case.key: await summarize(runtime.engine, p, args) for p in prepared}
        client.sign()
        parts = await breakdown(runtime, client, seeded, cases[0], max(50, args.requests // 2), args.profile)
        counts = await counts_endpoint(client)
        size = await db_size(runtime.engine, settings)
    finally:
        await client.http.aclose()
        if bot is not None:
            await bot.session.close()
        if dp is not None:
            await dp.storage.close()
            await dp.fsm.events_isolation.close()
        await runtime.close()
    return {"filters": rows, "cursor_checks": checks, "breakdown": parts, "counts_endpoint": counts, "db_size": size,
            "load_average": {"before": load_before, "after": load_after}}


async def db_size(engine: AsyncEngine, settings: Settings) -> dict[str, Any]:
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            path = Path(settings.DATABASE_URL.split("///", 1)[1])
            wal = path.with_name(path.name + "-wal")
            return {"database_mb": path.stat().st_size / 2**20, "wal_mb": wal.stat().st_size / 2**20 if wal.exists() else 0.0}
        db = await conn.scalar(text("SELECT pg_database_size(current_database())"))
        table = await conn.scalar(text("SELECT pg_total_relation_size('appeal')"))
        idx = await conn.scalar(text("SELECT pg_indexes_size('appeal')"))
        return {"database_mb": db / 2**20, "appeal_total_mb": table / 2**20, "appeal_indexes_mb": idx / 2**20}


# -- output ------------------------------------------------------------------------------


def _ms(case: dict[str, float] | None) -> str:
    return f"{case['p50_ms']:6.1f} /{case['p95_ms']:6.1f}" if case else f"{'n/a':>14}"


def print_table(result: dict[str, Any]) -> None:
    d = result["distribution"]
    print(f"Glocal clerk queue benchmark: database={result['database']}, {result['rows']:,} appeals "
          f"in {TOWNS} towns, python {result['python']}, {result['cpus']} CPUs")
    print(f"distribution: town 1 (measured) {d[0]:,}; towns 2-{TOWNS} {min(d[1:]):,}-{max(d[1:]):,} each; "
          f"'roads' is half of every town")
    print(f"seeding: {result['seed_seconds']:.0f} s by {result['seed_method']}"
          f"{' (cached copy, seeded ' + result['seeded_at'][:16] + ')' if result['cached'] else ''}; "
          + ", ".join(f"{k} {v:,.0f} MB" for k, v in result["db_size"].items()))
    la = result["load_average"]
    print(f"requests: {result['warmup']} warm-up + {result['requests']} measured per case in {result['rounds']} rounds, "
          f"interleaved; limit {PAGE}; deep = after {DEEP_PAGES:,} pages (offset {DEEP_PAGES * PAGE:,})")
    busy = max(la["before"][0], la["after"][0]) > (result["cpus"] or 1)
    print(f"load average (1 min) before/after measuring: {la['before'][0]:.1f}/{la['after'][0]:.1f} on {result['cpus']} CPUs"
          + (" - other processes competed for the CPUs: wall-clock tails are inflated, see the cpu column" if busy else ""))
    print()
    head = (f"{'filter':<28}{'rows':>9}  {'first p50/p95 ms':>16}  {'deep p50/p95 ms':>16}  {'deep/first':>10}"
            f"  {'sql p50/p95 ms':>15}  {'api/sql':>7}  {'first cpu p50/p95':>17}  targets")
    print(head)
    print("-" * len(head))
    for r in result["filters"].values():
        ratio = f"{r['deep_first_p95']:10.2f}" if "deep_first_p95" in r else f"{'n/a':>10}"
        verdict = "info" if r["informational"] else ("met" if r["met"] else
                                                      "NOT met (" + ", ".join(
                                                          x for x, ok in (("p95", r["p95_met"]), ("ratio", r["ratio_met"])) if not ok) + ")")
        print(f"{r['label']:<28}{r['matching']:>9,}  {_ms(r['api_first']):>16}  {_ms(r.get('api_deep')):>16}  {ratio}"
              f"  {_ms(r['sql_first']):>15}  {r['api_sql_p50']:7.1f}  {_ms(r['api_first']['cpu']):>17}  {verdict}")
    print()
    print("Wall-clock ms unless marked. deep/first: ratio of p95s (target <= 1.5); api/sql: ratio of p50s, the API")
    print("page against the bare SELECT it issues; first cpu: this process's CPU time per first-page request")
    print("(the database server's own CPU is outside it on PostgreSQL), which other processes cannot inflate.")
    print("sql deep p50/p95 ms: " + ", ".join(
        f"{k} {_ms(r.get('sql_deep')).strip()}" for k, r in result["filters"].items() if r.get("sql_deep")))
    checks = result["cursor_checks"]
    print(f"cursor check: walking {WALK_PAGES} pages by next_cursor == direct cursor for: "
          + (", ".join(c["filter"] for c in checks) or "none"))
    b = result["breakdown"]
    print(f"\nwhere an API request goes ({b['filter']} filter, first page, {b['requests']} requests, p50):")
    print(f"  whole request {b['api_p50_ms']:.2f} ms; service.queue alone (own session, ORM) {b['service_queue_p50_ms']:.2f} ms")
    print(f"  {b['statements_per_request']:.0f} statements per request, {b['driver_ms_per_request_p50']:.2f} ms in the driver; "
          f"the rest ({b['api_p50_ms'] - b['driver_ms_per_request_p50']:.2f} ms) is Python: launch-data check, "
          "FastAPI, ORM, serialization, commit")
    for lab, s in b["statements"].items():
        print(f"    {s['per_request']:4.1f} x {lab:<44} {s['p50_ms']:6.2f} ms each")
    print("  endpoint ladder, p50: " + "; ".join(f"{k} {v:.2f} ms" for k, v in b["ladder"].items()))
    c = result["counts_endpoint"]
    print(f"\nGET .../appeals/counts (no filter; the miniapp waits for it next to every first page): "
          f"p50 {c['p50_ms']:.1f} ms, p95 {c['p95_ms']:.1f} ms, max {c['max_ms']:.1f} ms over {c['requests']} requests "
          f"in a town of {result['distribution'][0]:,}: target p95 < {TARGET_COUNTS_P95_MS:.0f} ms "
          f"{'met' if c['met'] else 'NOT met'}")
    if "profile_top_tottime" in b:
        print(b["profile_top_tottime"])
    plans = {k: r["plans"] for k, r in result["filters"].items() if "plans" in r}
    for key, pl in plans.items():
        for which, plan in pl.items():
            print(f"\nplan: {key}, {which} page\n{plan}")
    measured = [r for r in result["filters"].values() if not r["informational"]]
    ok_p95 = all(r["p95_met"] for r in measured)
    ok_ratio = all(r["ratio_met"] for r in measured)
    print(f"\np95 < {TARGET_P95_MS:.0f} ms on every page: {'met' if ok_p95 else 'NOT met'}; "
          f"deep/first p95 <= {TARGET_DEEP_RATIO}: {'met' if ok_ratio else 'NOT met'} (search excluded)")
    print(result_line(result))


def result_line(result: dict[str, Any]) -> str:
    """The one summary line: the worst first-page p95 and the worst p95 of each order's pages
    over the filters without a search, the worst deep/first ratio, the counts endpoint's p95,
    the worst p95 of the no-match and of the 1 % searches, and the API against its bare SELECT
    (the first filter measured)."""
    measured = [r for r in result["filters"].values() if not r["informational"]]
    plain = [r for k, r in result["filters"].items() if not k.startswith("search") and not r["informational"]]

    def worst(rows: list[dict[str, Any]], order: str | None = None, deep: bool = True) -> str:
        pages = [x["p95_ms"] for r in rows if order is None or dict(r["params"]).get("sort", "due") == order
                 for x in (r["api_first"], r.get("api_deep") if deep else None) if x]
        return f"{max(pages):.1f}" if pages else "n/a"

    def searches(prefix: str) -> list[dict[str, Any]]:
        return [r for k, r in result["filters"].items() if k.startswith(prefix)]

    ratios = [r["deep_first_p95"] for r in measured if "deep_first_p95" in r]
    first = next(iter(result["filters"].values()))
    return (f"RESULT database={result['database']} rows={result['rows']} town_rows={result['distribution'][0]} "
            f"first_p95_ms={worst(plain, deep=False)} deep_ratio={max(ratios) if ratios else 0:.2f} "
            f"counts_p95_ms={result['counts_endpoint']['p95_ms']:.1f} "
            f"search_nomatch_p95_ms={worst(searches('search_nomatch'))} search_1pct_p95_ms={worst(searches('search_1pct'))} "
            f"due_p95_ms={worst(plain, 'due')} newest_p95_ms={worst(plain, '-registered')} oldest_p95_ms={worst(plain, 'registered')} "
            f"api_sql_p50_ratio={first['api_sql_p50']:.1f} "
            f"p95_met={'yes' if result['met']['p95'] else 'no'} ratio_met={'yes' if result['met']['deep_ratio'] else 'no'} "
            f"counts_met={'yes' if result['counts_endpoint']['met'] else 'no'}")


# -- entry point -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/queue.py",
                                description="Clerk queue p50/p95, first and deep page, against the bare SQL, in one run.")
    p.add_argument("--database-url", help="default: a cached SQLite file under var/bench/")
    p.add_argument("--reset-postgres", action="store_true",
                   help="allow dropping and recreating the public schema of a PostgreSQL --database-url")
    p.add_argument("--rows", type=int, help="appeals to seed (200,000 on SQLite, 1,000,000 on PostgreSQL)")
    p.add_argument("--first-town-share", type=float, default=FIRST_TOWN_SHARE,
                   help=f"the measured town's share of the rows ({FIRST_TOWN_SHARE}); e.g. 0.92 of 600,000 is a town of 552,000")
    p.add_argument("--reuse-postgres", action="store_true",
                   help="measure what an earlier --reset-postgres run of this bench seeded (migrated and re-analyzed; "
                        "nothing is dropped)")
    p.add_argument("--reseed", action="store_true", help="rebuild the cached SQLite database")
    p.add_argument("--pg-seed", choices=("copy", "insert"), default="copy",
                   help="how appeals reach PostgreSQL: COPY (default) or INSERT executemany")
    p.add_argument("--requests", type=int, default=200, help="measured requests per case (200)")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured requests per case first (20)")
    p.add_argument("--rounds", type=int, default=4,
                   help="the measured requests are spread over this many rounds through all filters (4)")
    p.add_argument("--filter", dest="filters", action="append",
                   choices=("default", "open", "category", "overdue", "mine", "reports_open", "due5", "search",
                            "complaints_open", "newest", "open_newest", "category_newest", "mine_newest",
                            "reports_open_newest", "oldest", "open_oldest", "search_nomatch", "search_nomatch_open",
                            "search_1pct", "search_1pct_open", "search_1pct_newest", "search_nomatch_due",
                            "search_1pct_due"),
                   help="measure only this filter (repeatable)")
    p.add_argument("--explain", action="store_true", help="print the query plan of every page (always for missed targets)")
    p.add_argument("--profile", action="store_true", help="add a cProfile of API requests to the breakdown")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    return p


async def _analyze(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
    finally:
        await engine.dispose()


async def _stored_seed(url: str) -> Seeded | None:
    """The marker an earlier seeding left in the first town's settings, if any."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            raw = await conn.scalar(select(Municipality.settings).where(Municipality.slug == "bench-town-01"))
    except DBAPIError:  # no schema yet
        return None
    finally:
        await engine.dispose()
    try:
        return Seeded(**raw[MARKER]) if raw and MARKER in raw else None
    except TypeError:
        return None


def _usable(seeded: Seeded | None, rows: int) -> bool:
    return (seeded is not None and seeded.version == SEED_VERSION and seeded.rows == rows
            and seeded.distribution == town_sizes(rows)
            and utcnow() - datetime.fromisoformat(seeded.seeded_at) <= CACHE_MAX_AGE)


def _settings(url: str, data_dir: str) -> Settings:
    return load_settings(_env_file=None, DATABASE_URL=url, BOT_TOKEN=BOT_TOKEN, DATA_DIR=data_dir, SCHEDULER=False,
                         LOG_JSON=False, LOG_LEVEL="WARNING", REDIS_URL=None)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    global FIRST_TOWN_SHARE
    if not 0.1 <= args.first_town_share <= 0.95:
        print("--first-town-share must be from 0.1 to 0.95", file=sys.stderr)
        return 2
    FIRST_TOWN_SHARE = args.first_town_share
    if args.requests < 20 or args.warmup < 0 or not 1 <= args.rounds <= args.requests // 5 or (args.rows is not None and args.rows < 1000):
        print("--requests must be at least 20, --warmup not negative, --rounds 1 to --requests/5, "
              "--rows at least 1000", file=sys.stderr)
        return 2
    if args.reset_postgres and args.reuse_postgres:
        print("--reset-postgres and --reuse-postgres exclude each other", file=sys.stderr)
        return 2
    setup_logging("WARNING", json_logs=False)
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else (lambda m: print(m, flush=True))
    postgres = bool(args.database_url) and not args.database_url.startswith("sqlite")
    rows = args.rows or (1_000_000 if postgres else 200_000)
    with tempfile.TemporaryDirectory(prefix="glocal-bench-") as tmp:
        cached = False
        try:
            if postgres:
                settings = _settings(args.database_url, tmp)
                if settings.is_sqlite:
                    raise SettingsError("DATABASE_URL: not a PostgreSQL URL")
            else:
                CACHE_DIR.mkdir(parents=True, exist_ok=True)
                db = Path(args.database_url.split("///", 1)[1]) if args.database_url else CACHE_DIR / f"queue-sqlite-{rows}.db"
                settings = _settings(f"sqlite+aiosqlite:///{db}", tmp)
        except SettingsError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            return 2
        if postgres and args.reuse_postgres:
            seeded = asyncio.run(_stored_seed(settings.DATABASE_URL))
            if not _usable(seeded, rows):
                print(f"PostgreSQL: no usable seeding of {rows:,} appeals by this bench (version {SEED_VERSION}, "
                      f"at most {CACHE_MAX_AGE.days} days old) in that database; pass --reset-postgres", file=sys.stderr)
                return 2
            assert seeded is not None
            cached = True
            log(f"reusing the appeals seeded {seeded.seeded_at[:16]} (migrating, analyzing)")
            upgrade(settings.DATABASE_URL)  # new migrations (an index, say) reach the seeded data
            asyncio.run(_analyze(settings.DATABASE_URL))
        elif postgres:
            if not args.reset_postgres:
                print("PostgreSQL: the bench drops and recreates the database's public schema; pass "
                      "--reset-postgres, with a database of its own (or --reuse-postgres for its own earlier seeding)",
                      file=sys.stderr)
                return 2
            asyncio.run(reset_postgres(settings.DATABASE_URL))
            upgrade(settings.DATABASE_URL)
            log(f"seeding {rows:,} appeals into PostgreSQL ({args.pg_seed})")
            seeded = asyncio.run(seed(settings, rows, copy=args.pg_seed == "copy", log=log))
        else:
            stored = None if args.reseed or not db.exists() else asyncio.run(_stored_seed(settings.DATABASE_URL))
            if not _usable(stored, rows):
                for f in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
                    f.unlink(missing_ok=True)
                upgrade(settings.DATABASE_URL)
                log(f"seeding {rows:,} appeals into {db}")
                seeded = asyncio.run(seed(settings, rows, copy=False, log=log))
            else:
                assert stored is not None
                seeded, cached = stored, True
                log(f"using the seeded copy {db} (--reseed to rebuild)")
                upgrade(settings.DATABASE_URL)  # new migrations (an index, say) reach the cached copy
                asyncio.run(_analyze(settings.DATABASE_URL))
        try:
            measured = asyncio.run(measure(settings, seeded, args, log))
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    result = {
        "database": "postgresql" if postgres else "sqlite",
        "rows": rows,
        "distribution": seeded.distribution,
        "seed_seconds": seeded.seed_seconds,
        "seed_method": seeded.method,
        "seeded_at": seeded.seeded_at,
        "cached": cached,
        "requests": args.requests,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "targets": {"p95_ms": TARGET_P95_MS, "deep_first_p95_ratio": TARGET_DEEP_RATIO},
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        **measured,
    }
    measured_rows = [r for r in result["filters"].values() if not r["informational"]]
    result["met"] = {"p95": all(r["p95_met"] for r in measured_rows), "deep_ratio": all(r["ratio_met"] for r in measured_rows)}
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
