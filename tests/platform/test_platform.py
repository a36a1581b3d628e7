"""Platform invariants: catalogs, migrations, import contracts, settings, CLI, scheduler,
audit log, personal-data purge."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from backend.core.audit import service as audit
from backend.core.audit.models import AuditLog
from backend.core.privacy import service as privacy
from backend.core.privacy.models import Consent
from backend.core.users.models import User
from backend.db import utcnow
from backend.migrate import drift
from backend.runtime import Runtime
from bot.main import make_runtime
from backend.scheduler import Job, run_job
from backend.settings import ROOT, SettingsError, load_settings
from bot.callbacks import ForgetCB, LangCB, MenuCB, PrivacyCB, TownCB
from tests.factories import make_user, seed


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_msgid_is_translated(locale: str):
    with (ROOT / "locales" / "messages.pot").open("rb") as fh:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with (ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in read_po(fh, locale=locale) if m.id}
    missing = sorted(template - catalog.keys())
    empty = sorted(k for k, m in catalog.items() if k in template and (not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy))
    assert missing == [] and empty == [], f"{locale}: missing {missing}, empty or fuzzy {empty}"
    assert len(template) > 50


def test_catalog_template_is_current(tmp_path: Path):
    """The committed template contains every msgid in the code (run `make locales` when not)."""
    out = tmp_path / "fresh.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "locales/babel.cfg", "-k", "N_",
         "--no-location", "--sort-output", "-o", str(out), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with out.open("rb") as fh:
        fresh = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with (ROOT / "locales" / "messages.pot").open("rb") as fh:
        committed = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    assert sorted(fresh - committed) == []


async def test_models_and_migrations_do_not_drift(db_url: str):
    assert await drift(db_url) == []


def test_import_contracts_hold():
    exe = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def _lint_copy(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """lint-imports on a copy of the tree with `files` (path -> source) added."""
    import shutil

    for name in ("backend", "bot"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for path, source in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    exe = Path(sys.executable).with_name("lint-imports")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)}
    return subprocess.run([str(exe), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True)


BACKEND_TELEGRAM = "The backend knows nothing of Telegram, the bot or the miniapps"
LAYERS = "Backend layers: composition, applied services, core, foundation"
SERVICES_BACKEND = "Applied services are independent of one another (backend)"
SERVICES_BOT = "Applied services are independent of one another (bot)"
ROUTERS = "No router imports another: shared steps live in bot.steps"
CONTRACTS = (BACKEND_TELEGRAM, LAYERS, SERVICES_BACKEND, SERVICES_BOT, ROUTERS)


def _source(path: str, line: str) -> str:
    return (ROOT / path).read_text() + "\n" + line + "\n"


@pytest.mark.parametrize(
    ("files", "contract", "broken"),
    [
        ({"backend/core/sneaky.py": "from aiogram import Bot\n"}, BACKEND_TELEGRAM, "backend.core.sneaky -> aiogram"),
        ({"backend/core/sneaky.py": "from bot import keyboards\n"}, BACKEND_TELEGRAM, "backend.core.sneaky -> bot.keyboards"),
        ({"backend/core/sneaky.py": "from backend.services.appeals import rules\n"}, LAYERS, "backend.core.sneaky -> backend.services.appeals.rules"),
        ({"backend/fields.py": _source("backend/fields.py", "from backend.core.users import models")}, LAYERS,
         "backend.fields -> backend.core.users.models"),
        # A second service that reaches into the first one, on either side.
        ({"backend/services/toy/__init__.py": "", "backend/services/toy/service.py": "from backend.services.appeals import queries\n"},
         SERVICES_BACKEND, "backend.services.toy.service -> backend.services.appeals.queries"),
        ({"bot/services/toy/__init__.py": "from bot.services.appeals import keyboards\n"}, SERVICES_BOT,
         "bot.services.toy -> bot.services.appeals.keyboards"),
        ({"bot/services/appeals/router.py": _source("bot/services/appeals/router.py", "from bot.services import toy"),
          "bot/services/toy/__init__.py": ""}, SERVICES_BOT, "bot.services.appeals.router -> bot.services.toy"),
        ({"bot/routers/sneaky.py": "", "bot/routers/profile.py": _source("bot/routers/profile.py", "from bot.routers import start")},
         ROUTERS, "bot.routers.profile -> bot.routers.start"),
        ({"bot/routers/start.py": _source("bot/routers/start.py", "from bot.services.appeals import keyboards as appeal_keys")},
         ROUTERS, "bot.routers.start -> bot.services.appeals.keyboards"),
    ],
    ids=["backend-imports-aiogram", "backend-imports-bot", "core-imports-a-service", "foundation-imports-core",
         "service-imports-service", "bot-service-imports-bot-service", "appeals-bot-imports-another-bot-service",
         "router-imports-router", "router-imports-a-service"],
)
def test_import_contracts_are_not_vacuous(tmp_path: Path, files: dict[str, str], contract: str, broken: str):
    """Each contract breaks on a copy of the tree with one bad import, and only that one."""
    result = _lint_copy(tmp_path, files)
    assert result.returncode == 1, result.stdout
    assert f"{contract} BROKEN" in result.stdout
    assert [c for c in CONTRACTS if f"{c} KEPT" in result.stdout] == [c for c in CONTRACTS if c != contract], result.stdout
    assert broken in result.stdout


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"AUTH_MAX_AGE": "-1"}, "AUTH_MAX_AGE"),
        ({"PUBLIC_URL": "http://insecure.example"}, "PUBLIC_URL"),
        ({"WEBHOOK_SECRET": "changeme"}, "WEBHOOK_SECRET"),
        ({"DEFAULT_LOCALE": "de"}, "DEFAULT_LOCALE"),
        ({"REDIS_URL": "http://redis"}, "REDIS_URL"),
    ],
)
def test_bad_setting_names_the_variable(env: dict[str, str], name: str, monkeypatch: pytest.MonkeyPatch):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith(f"{name}: ")


def test_cli_exits_2_with_one_line_on_bad_setting(tmp_path: Path):
    env = {"PATH": "/usr/bin:/bin", "AUTH_MAX_AGE": "soon", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "bot.main", "check"], cwd=tmp_path, env=env | {"PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: AUTH_MAX_AGE: Input should be a valid integer, unable to parse string as an integer"
    ]


def test_cli_backup_and_restore_sqlite(tmp_path: Path):
    db = tmp_path / "g.db"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
           "DATABASE_URL": f"sqlite+aiosqlite:///{db}", "DATA_DIR": str(tmp_path), "LOG_JSON": "false"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.main", *args], cwd=tmp_path, env=env, capture_output=True, text=True)

    assert cli("migrate").returncode == 0
    assert "demo town seeded" in cli("demo", "--no-links").stdout
    assert cli("user", "grant-role", "--telegram-id", "555", "--town", "glocalsk", "--role", "clerk").returncode == 0
    assert cli("backup", str(tmp_path / "b.db")).returncode == 0
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM membership")
    assert cli("restore", str(tmp_path / "b.db")).returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM membership m JOIN user_account u ON u.id = m.user_id WHERE u.telegram_id = 555").fetchone() == (1,)
    bad = cli("restore", str(tmp_path / "missing.db"))
    assert bad.returncode == 1 and "no backup at" in bad.stderr
    check = cli("check")
    assert check.returncode == 0 and "database: ok" in check.stdout and "telegram: off" in check.stdout


def test_callback_data_fits_telegram_limit():
    biggest = [
        TownCB(id=2**63 - 1), LangCB(code="en"), PrivacyCB(action="withdraw"), ForgetCB(confirm=False), MenuCB(action="language"),
    ]
    for cb in biggest:
        assert len(cb.pack().encode()) <= 64


async def test_scheduled_job_fires_once_across_replicas(settings):
    """Two runtimes (replicas) share the KV engine: a time slot runs on one of them only."""
    a, b = make_runtime(settings), make_runtime(settings)
    b.kv = a.kv if settings.REDIS_URL is None else b.kv  # in-process engine: one process only
    runs: list[str] = []

    async def work(rt: Runtime) -> None:
        runs.append("ran")

    job = Job(id="test.once", func=work, every_seconds=60)
    now = 1_800_000_000.0
    assert await run_job(a, job, now=now) is True
    assert await run_job(b, job, now=now + 5) is False
    assert await run_job(b, job, now=now + 60) is True
    assert runs == ["ran", "ran"]
    await a.close()
    await b.close()


async def test_audit_log_is_append_only(runtime):
    entry = await seed(runtime, lambda s: audit.record(s, action="x", object_type="t", object_id=1))
    async with runtime.sessionmaker() as s:
        row = await s.get(AuditLog, entry.id)
        row.action = "changed"
        with pytest.raises(RuntimeError):
            await s.flush()
    # The database refuses too, even for raw SQL.
    async with runtime.engine.connect() as conn:
        with pytest.raises((DBAPIError, IntegrityError)):
            await conn.execute(text("UPDATE audit_log SET action = 'changed'"))
        await conn.rollback()
        with pytest.raises((DBAPIError, IntegrityError)):
            await conn.execute(text("DELETE FROM audit_log"))


async def test_personal_data_purged_30_days_after_withdrawal(runtime):
    async def data(s):
        u = await make_user(s, telegram_id=950)
        u.phone, u.full_name, u.identity_level = "+79990000000", "Иванов Иван", "phone"
        await privacy.give_consent(s, user_id=u.id, channel="bot")
        await privacy.withdraw_consent(s, user_id=u.id)
        return u

    user = await seed(runtime, data)
    withdrawn = utcnow()
    assert await seed(runtime, lambda s: privacy.purge_withdrawn(s, now=withdrawn + timedelta(days=29))) == 0
    assert await seed(runtime, lambda s: privacy.purge_withdrawn(s, now=withdrawn + timedelta(days=31))) == 1
    async with runtime.sessionmaker() as s:
        u = await s.get(User, user.id)
        assert (u.phone, u.full_name, u.identity_level, u.telegram_id) == (None, None, "telegram", 950)


async def test_new_consent_stops_the_purge(runtime):
    async def data(s):
        u = await make_user(s, telegram_id=951)
        u.phone = "+79990000001"
        await privacy.give_consent(s, user_id=u.id, channel="bot")
        await privacy.withdraw_consent(s, user_id=u.id)
        await s.execute(update(Consent).values(withdrawn_at=utcnow() - timedelta(days=40)))
        await privacy.give_consent(s, user_id=u.id, channel="miniapp")
        return u

    await seed(runtime, data)
    assert await seed(runtime, lambda s: privacy.purge_withdrawn(s, now=utcnow())) == 0
    async with runtime.sessionmaker() as s:
        assert (await s.scalar(select(User).where(User.telegram_id == 951))).phone == "+79990000001"


async def test_orphan_uploads_are_deleted_after_two_days(runtime):
    from backend.core.files import service as files
    from tests.factories import make_town

    town = await seed(runtime, lambda s: make_town(s))
    root = runtime.settings.files_dir

    async def upload(s):
        return await files.save(s, root=root, municipality_id=town.id, data=b"%PDF-1.4", filename="a.pdf", mime="application/pdf", owner_type="appeal")

    orphan = await seed(runtime, upload)
    kept = await seed(runtime, upload)
    await seed(runtime, lambda s: files.attach(s, file_ids=[kept.id], owner_type="appeal", owner_id=1))
    assert await seed(runtime, lambda s: files.delete_orphans(s, root=root, now=utcnow() + timedelta(days=1))) == 0
    assert await seed(runtime, lambda s: files.delete_orphans(s, root=root, now=utcnow() + timedelta(days=3))) == 1
    assert not files.path_of(root, orphan).exists() and files.path_of(root, kept).exists()


def test_json_logs_carry_update_and_user():
    import json
    import logging

    from backend.logs import JsonFormatter, update_id_var, user_id_var

    tokens = update_id_var.set(4242), user_id_var.set(17)
    try:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "update %s failed", (4242,), None)
        line = json.loads(JsonFormatter().format(record))
    finally:
        update_id_var.reset(tokens[0])
        user_id_var.reset(tokens[1])
    assert line["msg"] == "update 4242 failed" and line["update_id"] == 4242 and line["user_id"] == 17
    assert line["level"] == "ERROR" and line["logger"] == "bot"


async def test_first_run_seeds_the_demo_town_once(runtime):
    from bot.main import seed_first_run

    assert await seed_first_run(runtime) is True
    assert await seed_first_run(runtime) is False
    async with runtime.sessionmaker() as s:
        from backend.services.appeals.models import Appeal

        assert len(list(await s.scalars(select(Appeal)))) == 4


async def test_demo_off_seeds_nothing(runtime):
    from bot.main import seed_first_run

    runtime.settings.DEMO = False
    assert await seed_first_run(runtime) is False
