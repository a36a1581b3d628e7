"""A town's own Telegram bot: its token kept encrypted, validated with getMe, served by the
same process as the platform's bot (bot/bots.py)."""
