"""Decoding caption and readme files written by many editors on many systems."""

from __future__ import annotations

import codecs


def decode_text(data: bytes) -> tuple[str, str]:
    """Return (text, encoding): BOMs removed, UTF-16 honoured, legacy 8-bit as a fallback.

    ``encoding`` is ``utf-8``, ``utf-8-bom``, ``utf-16`` or the legacy codec that was used, so the
    checks can say what happened to the file.
    """
    if data.startswith(codecs.BOM_UTF8):
        text, enc = data[3:].decode("utf-8", errors="replace"), "utf-8-bom"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, enc = data.decode("utf-16", errors="replace"), "utf-16"
    else:
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, enc = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                text, enc = data.decode("latin-1"), "latin-1"
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text, enc
