"""Removing location metadata without touching pixels.

JPEG, PNG and WebP are edited at the container level (the EXIF block is rewritten without its GPS
directory, XMP packets that carry coordinates are dropped), so the compressed image data is copied
byte for byte: no re-encoding, no quality loss. Other formats rarely carry GPS; TIFF is re-saved
losslessly.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"


def _exif_without_gps(payload: bytes) -> bytes | None:
    """Rewritten EXIF (same header style as given) or None when there was no GPS in it."""
    exif = Image.Exif()
    exif.load(payload)
    if GPS_IFD not in exif:
        return None
    del exif[GPS_IFD]
    out = exif.tobytes()
    if not payload.startswith(b"Exif\x00\x00") and out.startswith(b"Exif\x00\x00"):
        out = out[6:]
    return out


def _xmp_has_location(data: bytes) -> bool:
    return b"GPSLatitude" in data or b"GPSLongitude" in data


def _strip_jpeg(data: bytes) -> bytes | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    out, i, changed = [b"\xff\xd8"], 2, False
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None  # not a marker where one must be: leave the file alone
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the rest is image data, copied verbatim
            out.append(data[i:])
            return b"".join(out) if changed else None
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(data[i : i + 2])
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        payload = data[i + 4 : i + 2 + length]
        segment = data[i : i + 2 + length]
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            new = _exif_without_gps(payload)
            if new is not None:
                changed = True
                segment = b"\xff\xe1" + struct.pack(">H", len(new) + 2) + new
        elif marker == 0xE1 and payload.startswith(_XMP_JPEG) and _xmp_has_location(payload):
            changed = True
            segment = b""
        out.append(segment)
        i += 2 + length
    return None


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _strip_png(data: bytes) -> bytes | None:
    sig = b"\x89PNG\r\n\x1a\n"
    if not data.startswith(sig):
        return None
    out, i, changed = [sig], 8, False
    while i + 8 <= len(data):
        length = struct.unpack(">I", data[i : i + 4])[0]
        kind = data[i + 4 : i + 8]
        body = data[i + 8 : i + 8 + length]
        chunk = data[i : i + 12 + length]
        if kind == b"eXIf":
            new = _exif_without_gps(body)
            if new is not None:
                changed, chunk = True, _png_chunk(b"eXIf", new)
        elif kind in (b"iTXt", b"tEXt", b"zTXt") and body.startswith(b"XML:com.adobe.xmp") and _xmp_has_location(body):
            changed, chunk = True, b""
        out.append(chunk)
        i += 12 + length
        if kind == b"IEND":
            break
    return b"".join(out) if changed else None


def _strip_webp(data: bytes) -> bytes | None:
    if not (data.startswith(b"RIFF") and data[8:12] == b"WEBP"):
        return None
    chunks, i, changed, dropped_xmp = [], 12, False, False
    while i + 8 <= len(data):
        kind = data[i : i + 4]
        size = struct.unpack("<I", data[i + 4 : i + 8])[0]
        body = data[i + 8 : i + 8 + size]
        i += 8 + size + (size & 1)
        if kind == b"EXIF":
            new = _exif_without_gps(body)
            if new is not None:
                changed, body = True, new
        elif kind == b"XMP " and _xmp_has_location(body):
            changed = dropped_xmp = True
            continue
        chunks.append((kind, body))
    if not changed:
        return None
    if dropped_xmp:  # clear the VP8X "has XMP" flag
        chunks = [(k, bytes([b[0] & ~0x04]) + b[1:]) if k == b"VP8X" else (k, b) for k, b in chunks]
    body = b"WEBP" + b"".join(k + struct.pack("<I", len(b)) + b + (b"\x00" if len(b) & 1 else b"") for k, b in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def strip_location(data: bytes) -> bytes | None:
    """The image without location metadata, or None when it had none (the bytes can be used as they are)."""
    for fn in (_strip_jpeg, _strip_png, _strip_webp):
        try:
            out = fn(data)
        except (struct.error, SyntaxError, ValueError, OSError):
            out = None
        if out is not None:
            return out
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "TIFF":
                return None
            exif = im.getexif()
            if GPS_IFD not in exif:
                return None
            del exif[GPS_IFD]
            buf = io.BytesIO()
            im.save(buf, "TIFF", exif=exif, compression=im.info.get("compression", "raw"))
            return buf.getvalue()
    except Exception:
        return None

