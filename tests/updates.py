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


def photo(user: dict[str, Any], file_id: str = "photo-1", *, caption: str | None = None, file_size: int = 2048) -> dict[str, Any]:
    """A photo as Telegram sends it: several sizes, the largest last."""
    sizes = [
        {"file_id": f"{file_id}-thumb", "file_unique_id": f"{file_id}-t", "width": 90, "height": 68, "file_size": 512},
        {"file_id": file_id, "file_unique_id": f"{file_id}-u", "width": 1280, "height": 960, "file_size": file_size},
    ]
    return message(user, photo=sizes, **({"caption": caption} if caption else {}))


def document(
    user: dict[str, Any], file_id: str = "doc-pdf-1", *, file_name: str = "scan.pdf", mime_type: str | None = "application/pdf", file_size: int = 4096
) -> dict[str, Any]:
    doc: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"{file_id}-u", "file_name": file_name, "file_size": file_size}
    if mime_type:
        doc["mime_type"] = mime_type
    return message(user, document=doc)


def voice(user: dict[str, Any], file_id: str = "voice-1", *, duration: int = 3) -> dict[str, Any]:
    return message(user, voice={"file_id": file_id, "file_unique_id": f"{file_id}-u", "duration": duration, "mime_type": "audio/ogg", "file_size": 1024})


def location(user: dict[str, Any], latitude: float, longitude: float) -> dict[str, Any]:
    return message(user, location={"latitude": latitude, "longitude": longitude})


def sticker(user: dict[str, Any]) -> dict[str, Any]:
    return message(user, sticker={"file_id": "st", "file_unique_id": "st-u", "type": "regular", "width": 1, "height": 1, "is_animated": False, "is_video": False})


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
