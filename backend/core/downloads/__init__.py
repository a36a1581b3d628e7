"""Signed download links: a short-lived URL that downloads one API file as one person, for
clients that cannot send our Authorization header (Telegram's WebApp.downloadFile)."""
