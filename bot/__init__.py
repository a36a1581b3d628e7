"""The Telegram front end (aiogram 3). It depends on the backend, never the reverse."""
