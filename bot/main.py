"""The composition root and the `glocal` command.

It is the one place that knows both the backend and the bot: it builds the runtime, the
HTTP app, the Dispatcher, wires the Telegram notifier into the backend's port, and runs
everything in one process (API, miniapps, webhook, scheduler, bot).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

import uvicorn

from backend import backup as backups
from backend import demo, installed
from backend.app import create_app
from backend.core.municipalities import service as towns
from backend.core.users import service as users
from backend.core.users.models import Role
from backend.db import unit_of_work
from backend.jobs import all_jobs
from backend.logs import setup_logging
from backend.migrate import upgrade
from backend.runtime import Runtime
from backend.scheduler import make_scheduler
from backend.settings import Settings, SettingsError, load_settings

log = logging.getLogger("glocal")


def build(runtime: Runtime, *, bot_session=None, components=None):  # noqa: ANN001, ANN201
    """The whole app for a runtime: (fastapi_app, bot or None, dispatcher or None)."""
    settings = runtime.settings
    routers = []
    bot = dp = None
    if settings.bot_enabled:
        from bot.channel import TelegramChannel
        from bot.dispatcher import create_bot, create_dispatcher
        from bot.services import INSTALLED
        from bot.webhook import webhook_router

        components = INSTALLED if components is None else components
        bot = create_bot(settings, session=bot_session)
        dp = create_dispatcher(runtime, components=components)
        runtime.channel = TelegramChannel(bot, settings, components)
        routers.append(webhook_router(runtime, dp, bot))
    return create_app(runtime, routers=routers), bot, dp


def make_runtime(settings: Settings) -> Runtime:
    """The runtime with every installed component."""
    return Runtime.build(settings, installed.registry())


async def _print_links(runtime: Runtime) -> None:
    print("Demo miniapp links (signed like Telegram's launch data; valid for "
          f"{runtime.settings.AUTH_MAX_AGE // 60} min, `glocal demo` prints fresh ones):", flush=True)
    for who, url in demo.launch_links(runtime.settings):
        print(f"  {who:<10} {url}", flush=True)


async def start_bot(runtime: Runtime, bot, dp) -> asyncio.Task | None:  # noqa: ANN001
    """Register commands and the menu button, then the webhook (PUBLIC_URL) or long polling;
    returns the polling task, if any."""
    from bot import commands

    settings = runtime.settings
    await commands.register(bot, settings, dp["components"])
    if settings.PUBLIC_URL:
        await bot.set_webhook(
            f"{settings.PUBLIC_URL}/telegram/webhook",
            secret_token=settings.webhook_secret,
            allowed_updates=dp.resolve_used_update_types(),
        )
        log.info("bot: webhook set to %s/telegram/webhook", settings.PUBLIC_URL)
        return None
    await bot.delete_webhook()
    log.info("bot: long polling (no PUBLIC_URL)")
    if not settings.miniapp_base:
        log.warning("bot: Mini App buttons are hidden until MINIAPP_URL or PUBLIC_URL gives an https:// address")
    return asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, allowed_updates=dp.resolve_used_update_types())
    )


async def stop_bot(bot, dp, polling: asyncio.Task | None) -> None:  # noqa: ANN001
    if polling is not None:
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
    await bot.session.close()
    await dp.storage.close()


async def seed_first_run(runtime: Runtime) -> bool:
    """With DEMO on and no town yet (a first run), seed the demo town."""
    async with unit_of_work(runtime.sessionmaker) as session:
        if not runtime.settings.DEMO or await towns.list_active(session):
            return False
        await demo.seed(session, runtime.registry)
    log.info("first run: demo town %s seeded", demo.DEMO_SLUG)
    return True


async def serve(settings: Settings) -> None:
    runtime = make_runtime(settings)
    await seed_first_run(runtime)
    app, bot, dp = build(runtime)
    scheduler = make_scheduler(runtime, all_jobs(runtime.registry)) if settings.SCHEDULER else None
    polling: asyncio.Task | None = None
    if scheduler:
        scheduler.start()
    if bot is not None and dp is not None:
        polling = await start_bot(runtime, bot, dp)
    else:
        log.info("bot is off: BOT_TOKEN is not set")
        await _print_links(runtime)
    print(f"Glocal is serving on {settings.local_url} (miniapps at {settings.local_url}/app/hub/)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.HOST, port=settings.PORT, log_config=None, proxy_headers=True))
    try:
        await server.serve()
    finally:
        if scheduler:
            scheduler.shutdown(wait=False)
        if bot is not None and dp is not None:
            await stop_bot(bot, dp, polling)
        await runtime.close()


async def _demo(settings: Settings, links: bool) -> None:
    runtime = make_runtime(settings)
    try:
        async with unit_of_work(runtime.sessionmaker) as session:
            created = await demo.seed(session, runtime.registry)
        print("demo town seeded" if created else "demo town already present", flush=True)
        if links:
            await _print_links(runtime)
    finally:
        await runtime.close()


async def _grant(settings: Settings, telegram_id: int, town_slug: str, role: str) -> None:
    runtime = make_runtime(settings)
    try:
        async with unit_of_work(runtime.sessionmaker) as session:
            town = await towns.get_by_slug(session, slug=town_slug)
            if town is None:
                raise SystemExit(f"no town with slug {town_slug!r}")
            user, _ = await users.upsert_telegram_user(session, telegram_id=telegram_id, first_name=None)
            await users.grant_role(session, user_id=user.id, municipality_id=town.id, role=Role(role))
        print(f"granted {role} in {town_slug} to telegram id {telegram_id}")
    finally:
        await runtime.close()


async def _check(settings: Settings) -> int:
    runtime = make_runtime(settings)
    failed = False
    try:
        for name, status in (await runtime.check()).items():
            print(f"{name}: {status}")
            failed |= status != "ok"
        if settings.bot_enabled:
            from bot.dispatcher import create_bot

            bot = create_bot(settings)
            try:
                me = await bot.get_me()
                print(f"telegram: ok (@{me.username} via {settings.TELEGRAM_API_URL})")
            except Exception as exc:  # noqa: BLE001 - reported
                print(f"telegram: {type(exc).__name__}: {exc}")
                failed = True
            finally:
                await bot.session.close()
        else:
            print("telegram: off (BOT_TOKEN is not set)")
    finally:
        await runtime.close()
    print("configuration: ok")
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="glocal", description="Glocal: the digital municipality in a chat")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("serve", help="run API, miniapps, webhook, scheduler and bot in one process")
    sub.add_parser("migrate", help="apply database migrations")
    d = sub.add_parser("demo", help="seed the demo town (once) and print signed miniapp links")
    d.add_argument("--no-links", action="store_true")
    u = sub.add_parser("user", help="manage people")
    usub = u.add_subparsers(dest="user_cmd", required=True)
    g = usub.add_parser("grant-role", help="give a Telegram user a role in a town")
    g.add_argument("--telegram-id", type=int, required=True)
    g.add_argument("--town", required=True, help="town slug")
    g.add_argument("--role", required=True, choices=[r.value for r in Role])
    b = sub.add_parser("backup", help="online backup of the SQLite database")
    b.add_argument("path", type=Path)
    r = sub.add_parser("restore", help="restore the SQLite database from a backup (stop the app first)")
    r.add_argument("path", type=Path)
    sub.add_parser("check", help="validate configuration and reachability of database, Redis and Bot API")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.LOG_LEVEL, json_logs=settings.LOG_JSON)
    if args.cmd == "serve":
        asyncio.run(serve(settings))
    elif args.cmd == "migrate":
        _migrate(settings)
    elif args.cmd == "demo":
        asyncio.run(_demo(settings, links=not args.no_links))
    elif args.cmd == "user":
        asyncio.run(_grant(settings, args.telegram_id, args.town, args.role))
    elif args.cmd in ("backup", "restore"):
        try:
            fn = backups.backup if args.cmd == "backup" else backups.restore
            path = fn(settings.DATABASE_URL, args.path)
        except (ValueError, FileNotFoundError) as exc:
            print(f"{args.cmd}: {exc}", file=sys.stderr)
            return 1
        print(f"{args.cmd}: done ({path})")
    elif args.cmd == "check":
        return asyncio.run(_check(settings))
    return 0


def _migrate(settings: Settings) -> None:
    if settings.is_sqlite:
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    upgrade(settings.DATABASE_URL)
    print("migrations applied", flush=True)


if __name__ == "__main__":
    sys.exit(main())
