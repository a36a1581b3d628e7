"""The ticket's QR code (segno): a PNG holding the registration's short code, which the
organizers' check-in miniapp scans."""

from __future__ import annotations

import io

import segno

SCALE = 10
BORDER = 4


def qr(code: str) -> segno.QRCode:
    """The QR code of a ticket code (error correction M survives a scratched phone screen)."""
    return segno.make_qr(code, error="m")


def qr_png(code: str) -> bytes:
    """The ticket's QR code as a PNG, SCALE pixels a module, a quiet zone of BORDER modules."""
    buf = io.BytesIO()
    qr(code).save(buf, kind="png", scale=SCALE, border=BORDER)
    return buf.getvalue()
