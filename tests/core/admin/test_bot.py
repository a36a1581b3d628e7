"""Staff invitations in the bot: /start inv_<code> through the real Dispatcher grants the role
once, says what it granted, and refuses every later, expired or revoked use."""

from __future__ import annotations

from datetime import timedelta

from aiogram.methods import SendMessage
from sqlalchemy import select

from backend.core.municipalities import service as towns
from backend.core.users import service as users
from backend.core.users.models import Membership, Role, StaffInvite, User
from backend.db import utcnow
from tests import updates as U
from tests.factories import make_town, make_user, seed


async def _invite(runtime, *, role=Role.CLERK, department=True, days=7, now=None):  # noqa: ANN001, ANN202
    async def _make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Коломна")
        admin = await make_user(s, first_name="Админ", town=town, roles=(Role.ADMIN,))
        dept = await towns.add_department(s, municipality_id=town.id, name="Отдел благоустройства") if department else None
        invite, code = await users.create_invite(
            s, municipality_id=town.id, role=role, actor_id=admin.id, department_id=dept.id if dept else None, days=days, now=now
        )
        return town, dept, invite, code

    return await seed(runtime, _make)


async def _roles(runtime, telegram_id):  # noqa: ANN001, ANN202
    async with runtime.sessionmaker() as s:
        rows = await s.execute(
            select(Membership.role, Membership.department_id).join(User, User.id == Membership.user_id).where(User.telegram_id == telegram_id)
        )
        return sorted(rows.all())


async def test_an_invitation_link_grants_its_role_once(harness, runtime):
    town, dept, invite, code = await _invite(runtime)
    olga = U.tg_user(900_001, "Ольга")

    calls = await harness.feed(U.message(olga, f"/start inv_{code}"))
    texts = [c.text for c in calls if isinstance(c, SendMessage)]
    assert texts[0] == "Коломна: теперь ваша роль — «Сотрудник», отдел: Отдел благоустройства."
    assert texts[1].startswith("Коломна: что вы хотите сделать?")
    # The menu now opens the clerk's queue.
    menu = next(c for c in calls if isinstance(c, SendMessage) and c.reply_markup is not None)
    urls = [b.web_app.url for row in menu.reply_markup.inline_keyboard for b in row if b.web_app]
    assert "https://glocal.test/app/appeals/" in urls
    assert await _roles(runtime, 900_001) == [("clerk", dept.id), ("resident", None)]
    async with runtime.sessionmaker() as s:
        used = await s.get(StaffInvite, invite.id)
        olga_row = await s.scalar(select(User).where(User.telegram_id == 900_001))
    assert used.used_by == olga_row.id and used.used_at is not None
    assert olga_row.current_municipality_id == town.id

    # Opening it again herself (a second tap) says the same and grants nothing more.
    calls = await harness.feed(U.message(olga, f"/start inv_{code}"))
    assert calls[0].text == "Коломна: теперь ваша роль — «Сотрудник», отдел: Отдел благоустройства."
    assert await _roles(runtime, 900_001) == [("clerk", dept.id), ("resident", None)]

    # Anyone else is refused: the link is spent.
    petr = U.tg_user(900_002, "Peter", language_code="en")
    calls = await harness.feed(U.message(petr, f"/start inv_{code}"))
    assert [type(c) for c in calls] == [SendMessage]
    assert calls[0].text == "This invitation link has already been used. Ask the administration for a new one."
    assert await _roles(runtime, 900_002) == []


async def test_expired_revoked_and_made_up_links_give_nothing(harness, runtime):
    _town, _dept, invite, code = await _invite(runtime, role=Role.HEAD, department=False, days=1, now=utcnow() - timedelta(days=2))
    ivan = U.tg_user(900_003, "Ivan", language_code="en")

    calls = await harness.feed(U.message(ivan, f"/start inv_{code}"))
    assert calls[0].text == "This invitation link has expired. Ask the administration for a new one."
    calls = await harness.feed(U.message(ivan, "/start inv_not-a-real-code-at-all"))
    assert calls[0].text == "This invitation link is not valid. Ask the administration for a new one."
    calls = await harness.feed(U.message(ivan, "/start inv_"))
    assert calls[0].text == "This invitation link is not valid. Ask the administration for a new one."
    assert await _roles(runtime, 900_003) == []

    async def _fresh(s):  # noqa: ANN001, ANN202
        fresh, fresh_code = await users.create_invite(s, municipality_id=invite.municipality_id, role=Role.HEAD, actor_id=invite.created_by)
        await users.revoke_invite(s, municipality_id=invite.municipality_id, invite_id=fresh.id, actor_id=invite.created_by)
        return fresh_code

    revoked = await seed(runtime, _fresh)
    calls = await harness.feed(U.message(ivan, f"/start inv_{revoked}"))
    assert calls[0].text == "This invitation link is not valid. Ask the administration for a new one."
    assert await _roles(runtime, 900_003) == []


async def test_an_invitation_without_department_names_only_the_role(harness, runtime):
    _town, _dept, _invite_row, code = await _invite(runtime, role=Role.ADMIN, department=False)
    calls = await harness.feed(U.message(U.tg_user(900_004, "Anna", language_code="en"), f"/start inv_{code}"))
    assert calls[0].text == "You are now «Administrator» in Коломна."
    menu = next(c for c in calls if isinstance(c, SendMessage) and c.reply_markup is not None)
    urls = [b.web_app.url for row in menu.reply_markup.inline_keyboard for b in row if b.web_app]
    assert "https://glocal.test/app/admin/" in urls
    assert await _roles(runtime, 900_004) == [("admin", None), ("resident", None)]
