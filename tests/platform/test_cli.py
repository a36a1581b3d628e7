"""The `glocal user` commands: roles in a town, and platform administrators."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from backend.core.audit.models import AuditLog
from backend.core.users.models import Membership, User
from backend.settings import ROOT
from bot.main import _grant, _parser, _platform_admin
from tests.factories import make_town, make_user, seed


async def _person(runtime, telegram_id: int) -> User | None:  # noqa: ANN001
    async with runtime.sessionmaker() as s:
        return await s.scalar(select(User).where(User.telegram_id == telegram_id))


async def test_platform_admin_is_granted_and_revoked_keeping_the_person_as_they_are(runtime, settings, capsys):
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna"))
    anna = await seed(runtime, lambda s: make_user(s, telegram_id=777, first_name="Анна"))

    await _platform_admin(settings, 777, revoke=False)
    assert capsys.readouterr().out == "telegram id 777 is now a platform administrator\n"
    person = await _person(runtime, 777)
    assert (person.id, person.is_platform_admin, person.first_name) == (anna.id, True, "Анна")
    await _platform_admin(settings, 777, revoke=False)
    assert capsys.readouterr().out == "telegram id 777 is already a platform administrator\n"

    # Granting a role does not wipe the name Telegram gave either.
    await _grant(settings, 777, "kolomna", "clerk")
    assert capsys.readouterr().out == "granted clerk in kolomna to telegram id 777\n"
    person = await _person(runtime, 777)
    assert person.first_name == "Анна"
    async with runtime.sessionmaker() as s:
        roles = set(await s.scalars(select(Membership.role).where(Membership.user_id == anna.id, Membership.municipality_id == town.id)))
    assert roles == {"clerk"}

    await _platform_admin(settings, 777, revoke=True)
    assert capsys.readouterr().out == "telegram id 777 is now no longer a platform administrator\n"
    assert (await _person(runtime, 777)).is_platform_admin is False
    async with runtime.sessionmaker() as s:
        entries = list(await s.scalars(select(AuditLog).where(AuditLog.action == "platform.admin").order_by(AuditLog.id)))
    assert [(e.object_id, e.after) for e in entries] == [(str(anna.id), {"is_platform_admin": True}), (str(anna.id), {"is_platform_admin": False})]

    # Someone who has not written to the bot yet is created, nameless until they do.
    await _platform_admin(settings, 778, revoke=False)
    newcomer = await _person(runtime, 778)
    assert newcomer.is_platform_admin is True and newcomer.first_name is None


def test_the_command_line_parses_platform_admin():
    args = _parser().parse_args(["user", "platform-admin", "42"])
    assert (args.cmd, args.user_cmd, args.telegram_id, args.revoke) == ("user", "platform-admin", 42, False)
    assert _parser().parse_args(["user", "platform-admin", "42", "--revoke"]).revoke is True


def test_glocal_user_platform_admin_end_to_end(tmp_path: Path):
    db = tmp_path / "g.db"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
           "DATABASE_URL": f"sqlite+aiosqlite:///{db}", "DATA_DIR": str(tmp_path), "LOG_JSON": "false"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.main", *args], cwd=tmp_path, env=env, capture_output=True, text=True)

    assert cli("migrate").returncode == 0
    done = cli("user", "platform-admin", "555")
    assert done.returncode == 0 and done.stdout == "telegram id 555 is now a platform administrator\n"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT is_platform_admin FROM user_account WHERE telegram_id = 555").fetchone() == (1,)
    assert cli("user", "platform-admin", "555", "--revoke").returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT is_platform_admin FROM user_account WHERE telegram_id = 555").fetchone() == (0,)
    bad = cli("user", "platform-admin", "not-a-number")
    assert bad.returncode == 2 and "invalid int value" in bad.stderr
