"""Callback data of broadcasts' buttons: muting under a post, and the /mute menu."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData


class MuteCB(CallbackData, prefix="bmute"):
    """`post`: mute a category from under a post; `mute`/`unmute` a category (`*`: every
    announcement) of a town from the menu; `menu` opens the menu.
    Longest packed: "bmute:unmute:2147483647:safety" (31 bytes)."""

    action: Literal["post", "mute", "unmute", "menu"]
    town: int
    cat: str
