"""Real Update JSON, as Telegram sends it to a webhook."""

from __future__ import annotations

import itertools
import time
from typing import Any

_update_ids = itertools.count(10_000)
_message_ids = itertools.count(1)


def tg_user(user_id: int, first_name: str = "Иван", language_code: str | None = "ru", **extra: Any) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": first_name, **extra}
    if language_code:
        user["language_code"] = language_code
    return user


def private_chat(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


def message(user: dict[str, Any], text: str | None = None, *, chat: dict[str, Any] | None = None, update_id: int | None = None, **content: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat or private_chat(user),
        "from": user,
        **content,
    }
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0])
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id if update_id is not None else next(_update_ids), "message": msg}


def edited(user: dict[str, Any], text: str) -> dict[str, Any]:
    upd = message(user, text)
    upd["edited_message"] = upd.pop("message")
    upd["edited_message"]["edit_date"] = int(time.time())
    return upd


def callback(user: dict[str, Any], data: str, *, message_text: str = "menu") -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": user,
            "chat_instance": "42",
            "data": data,
            "message": {
                "message_id": next(_message_ids),
                "date": int(time.time()),
                "chat": private_chat(user),
                "from": {"id": 42, "is_bot": True, "first_name": "Glocal"},
                "text": message_text,
            },
        },
    }


def contact(user: dict[str, Any], phone: str, *, owner_id: int | None = None) -> dict[str, Any]:
    return message(
        user,
        contact={"phone_number": phone, "first_name": user["first_name"], "user_id": owner_id if owner_id is not None else user["id"]},
    )


def my_chat_member(user: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    bot = {"id": 42, "is_bot": True, "first_name": "Glocal"}
    return {
        "update_id": next(_update_ids),
        "my_chat_member": {
            "chat": private_chat(user),
            "from": user,
            "date": int(time.time()),
            "old_chat_member": {"status": old, "user": bot} | ({"until_date": 0} if old == "kicked" else {}),
            "new_chat_member": {"status": new, "user": bot} | ({"until_date": 0} if new == "kicked" else {}),
        },
    }
