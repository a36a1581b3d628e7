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
import signal
import sys
from datetime import timedelta
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
from backend.scheduler import Job, make_scheduler
from backend.settings import Settings, SettingsError, load_settings

log = logging.getLogger("glocal")


def build(runtime: Runtime, *, bot_session=None, components=None):  # noqa: ANN001, ANN201
    """The whole app for a runtime: (fastapi_app, bot or None, dispatcher or None). The
    dispatcher's workflow data holds the bot's inbox and replies (dp["inbox"], dp["replies"])."""
    settings = runtime.settings
    routers = []
    bot = dp = None
    if settings.bot_enabled:
        from bot.bots import BotPool
        from bot.channel import TelegramChannel
        from bot.dispatcher import create_bot, create_dispatcher
        from bot.inbox import Inbox
        from bot.replies import Replies
        from bot.services import INSTALLED
        from bot.webhook import webhook_router

        components = INSTALLED if components is None else components
        bot = create_bot(settings, session=bot_session)
        replies = Replies(
            runtime.sessionmaker, runtime.metrics, lease=timedelta(seconds=settings.REPLY_LEASE), pacer=runtime.pacer,
            bot_rate=settings.BROADCAST_BOT_RATE,
        )
        replies.add_bot(bot)
        dp = create_dispatcher(runtime, replies, components=components)
        inbox = Inbox(runtime, dp, bot)
        # The platform's bot and every town's own (bot/bots.py), all through this Dispatcher.
        pool = BotPool(runtime, dp, bot, inbox, replies)
        dp["inbox"], dp["replies"], dp["bots"] = inbox, replies, pool
        runtime.channel = TelegramChannel(bot, settings, components, pool=pool)
        routers.append(webhook_router(runtime, dp, bot, inbox, pool=pool))
    return create_app(runtime, routers=routers), bot, dp


BOT_JOB_PERIODS = {"bot.replies.resend": 5, "bot.inbox.sweep": 2}


def bot_jobs(dp) -> list[Job]:  # noqa: ANN001
    """The bot's own scheduled work: replies whose sender died, and (at scale) chat queues
    whose requests are gone."""
    inbox, replies, pool = dp["inbox"], dp["replies"], dp["bots"]

    async def resend(_runtime: Runtime) -> None:
        await pool.fresh()  # a town bot another replica connected: its replies are ours to resend too
        await replies.resend_due()

    async def sweep(_runtime: Runtime) -> None:
        await pool.fresh()
        for each in pool.inboxes():
            await each.sweep()

    jobs = [Job(id="bot.replies.resend", func=resend, every_seconds=BOT_JOB_PERIODS["bot.replies.resend"])]
    if inbox.shared:
        jobs.append(Job(id="bot.inbox.sweep", func=sweep, every_seconds=BOT_JOB_PERIODS["bot.inbox.sweep"]))
    return jobs


def make_runtime(settings: Settings) -> Runtime:
    """The runtime with every installed component."""
    return Runtime.build(settings, installed.registry())


async def _print_links(runtime: Runtime) -> None:
    print("Demo miniapp links (signed like Telegram's launch data; valid for "
          f"{runtime.settings.AUTH_MAX_AGE // 60} min, `glocal demo` prints fresh ones):", flush=True)
    for who, url in demo.launch_links(runtime.settings):
        print(f"  {who:<10} {url}", flush=True)


async def seed_first_run(runtime: Runtime) -> bool:
    """With DEMO on and no town yet (a first run), seed the demo town."""
    async with unit_of_work(runtime.sessionmaker) as session:
        if not runtime.settings.DEMO or await towns.list_active(session):
            return False
        await demo.seed(session, runtime.registry)
    log.info("first run: demo town %s seeded", demo.DEMO_SLUG)
    return True


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` catches SIGTERM and SIGINT itself and
    shuts everything down in order (uvicorn would re-raise the signal after its own shutdown,
    killing the process before the scheduler, the bot and the runtime are closed)."""

    @contextlib.contextmanager
    def capture_signals(self):  # noqa: ANN201
        yield


STOP_GRACE = 25  # seconds in-flight requests get after SIGTERM (docker stop waits 10 by default: raise it to 30)


async def serve(settings: Settings) -> None:
    runtime = make_runtime(settings)
    await seed_first_run(runtime)
    app, bot, dp = build(runtime)
    jobs = all_jobs(runtime.registry) + (bot_jobs(dp) if dp is not None else [])
    scheduler = make_scheduler(runtime, jobs) if settings.SCHEDULER else None
    server = _Server(uvicorn.Config(
        app, host=settings.HOST, port=settings.PORT, log_config=None, proxy_headers=True, timeout_graceful_shutdown=STOP_GRACE,
    ))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda sig=sig: _stop(server, sig))
    runner = None
    if scheduler:
        scheduler.start()
    if bot is not None and dp is not None:
        from bot.lifecycle import BotRunner

        runner = BotRunner(runtime, bot, dp, dp["inbox"], pool=dp["bots"])
        runner.start()
    else:
        log.info("bot is off: BOT_TOKEN is not set")
        await _print_links(runtime)
    print(f"Glocal is serving on {settings.local_url} (miniapps at {settings.local_url}/app/hub/)", flush=True)
    try:
        await server.serve()
    finally:
        # In order: no new requests (uvicorn has finished the ones in flight), no new updates
        # (the batch in hand finishes), no new jobs (the running one finishes), then the pools.
        if runner is not None:
            await runner.stop()
        if scheduler:
            scheduler.shutdown(wait=True)
        await runtime.close()
        log.info("stopped")


def _stop(server: uvicorn.Server, sig: int) -> None:
    log.info("signal %s: shutting down", signal.Signals(sig).name)
    if server.should_exit:
        server.force_exit = True  # a second signal: stop waiting for requests in flight
    server.should_exit = True


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
            user = await users.by_telegram_id(session, telegram_id=telegram_id)
            await users.grant_role(session, user_id=user.id, municipality_id=town.id, role=Role(role))
        print(f"granted {role} in {town_slug} to telegram id {telegram_id}")
    finally:
        await runtime.close()


async def _platform_admin(settings: Settings, telegram_id: int, *, revoke: bool) -> None:
    runtime = make_runtime(settings)
    try:
        async with unit_of_work(runtime.sessionmaker) as session:
            user = await users.by_telegram_id(session, telegram_id=telegram_id)
            changed = await users.set_platform_admin(session, user=user, on=not revoke)
        state = "no longer a platform administrator" if revoke else "a platform administrator"
        print(f"telegram id {telegram_id} is {'now ' if changed else 'already '}{state}")
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
    pa = usub.add_parser("platform-admin", help="let a Telegram user create towns and appoint their first admins")
    pa.add_argument("telegram_id", type=int)
    pa.add_argument("--revoke", action="store_true", help="take the right away instead")
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
    elif args.cmd == "user" and args.user_cmd == "grant-role":
        asyncio.run(_grant(settings, args.telegram_id, args.town, args.role))
    elif args.cmd == "user" and args.user_cmd == "platform-admin":
        asyncio.run(_platform_admin(settings, args.telegram_id, revoke=args.revoke))
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
