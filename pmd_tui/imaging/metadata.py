"""Removing location metadata without touching pixels, by parsers that understand each container.

JPEG (markers, fill bytes included), PNG (chunks) and WebP (RIFF chunks) are rewritten at the container
level, so the compressed image data is copied byte for byte: no re-encoding, no quality loss. Where
location hides:

- EXIF: the GPS directory (JPEG APP1, PNG ``eXIf``, WebP ``EXIF``, and ImageMagick's PNG text chunks
  ``Raw profile type exif`` / ``APP1``, hex-encoded and often zTXt-compressed): the GPS directory is removed;
- XMP (JPEG APP1, extended XMP split over several APP1 segments, PNG ``iTXt``/``tEXt``/``zTXt``
  ``XML:com.adobe.xmp``, compressed or not, WebP ``XMP ``): a packet that names a location is dropped
  with every extended-XMP part.

TIFF is re-saved losslessly without its GPS directory. ``location_sources`` says where a file carries
location (the check uses it); ``independent_location_check`` reads a file back with Pillow and a raw
byte scan, not with these parsers, so publishing can verify what it is about to upload.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT_JPEG = b"http://ns.adobe.com/xmp/extension/\x00"
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT = (b"tEXt", b"zTXt", b"iTXt")
_RAW_PROFILES = (b"raw profile type exif", b"raw profile type app1", b"raw profile type xmp")
# Location in XMP: exif:GPSLatitude and friends, DJI's drone-dji:GpsLatitude, IPTC location structures,
# Photoshop's city/state/country, and any *latitude / *longitude property.
_XMP_LOCATION = re.compile(
    rb"(?i)(gps[a-z]*(latitude|longitude|altitude|position|coordinates)|latitude|longitude|"
    rb"LocationShown|LocationCreated|photoshop:(City|State|Country)|Iptc4xmpCore:Location)")
MAX_TEXT = 64 * 1024 * 1024  # a compressed text chunk never inflates beyond this (no bomb through metadata)


def xmp_has_location(data: bytes | str) -> bool:
    if isinstance(data, str):
        data = data.encode("utf-8", "ignore")
    return bool(_XMP_LOCATION.search(data))


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_TEXT)
    return out


def _exif_gps(payload: bytes) -> bool:
    exif = Image.Exif()
    try:
        exif.load(payload)
        return bool(exif.get_ifd(GPS_IFD)) or GPS_IFD in exif
    except Exception:
        return b"GPS" in payload  # cannot parse it: be careful


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


# -- JPEG -----------------------------------------------------------------------------------------
def _jpeg_segments(data: bytes):
    """(marker, start, end, payload) of each segment before the scan, then (0xDA, start, len, b"");
    fill bytes (0xFF repeated before a marker, legal by the standard) are skipped. Raises ValueError on
    anything that is not a marker where one must be."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    i = 2
    while i < len(data):
        if data[i] != 0xFF:
            raise ValueError(f"no marker at {i}")
        start = i
        while i < len(data) and data[i] == 0xFF:
            i += 1
        if i >= len(data):
            raise ValueError("truncated")
        marker = data[i]
        i += 1
        if marker == 0xDA:
            yield marker, start, len(data), b""
            return
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            yield marker, start, i, b""
            continue
        if marker == 0xD9:
            yield marker, start, i, b""
            return
        if i + 2 > len(data):
            raise ValueError("truncated")
        length = struct.unpack(">H", data[i : i + 2])[0]
        if length < 2 or i + length > len(data):
            raise ValueError("bad segment length")
        yield marker, start, i + length, data[i + 2 : i + length]
        i += length


def _jpeg_location(data: bytes) -> list[str]:
    found, ext = [], []
    for marker, _s, _e, payload in _jpeg_segments(data):
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00") and _exif_gps(payload):
            found.append("EXIF GPS")
        elif marker == 0xE1 and payload.startswith(_XMP_JPEG) and xmp_has_location(payload):
            found.append("XMP")
        elif marker == 0xE1 and payload.startswith(_XMP_EXT_JPEG):
            ext.append(payload[len(_XMP_EXT_JPEG) + 40 :])
        elif 0xE0 <= marker <= 0xEF and marker != 0xE1 and xmp_has_location(payload) and b"<x:xmpmeta" in payload:
            found.append(f"XMP in APP{marker - 0xE0}")
    if ext and xmp_has_location(b"".join(ext)):
        found.append("extended XMP")
    return found


def _strip_jpeg(data: bytes) -> bytes | None:
    segments = list(_jpeg_segments(data))
    drop_xmp = any(m == 0xE1 and p.startswith(_XMP_JPEG) and xmp_has_location(p) for m, _s, _e, p in segments)
    ext = b"".join(p[len(_XMP_EXT_JPEG) + 40 :] for m, _s, _e, p in segments if m == 0xE1 and p.startswith(_XMP_EXT_JPEG))
    drop_ext = bool(ext) and (drop_xmp or xmp_has_location(ext))
    out, changed = [b"\xff\xd8"], False
    for marker, start, end, payload in segments:
        segment = data[start:end]  # fill bytes included: they are legal and carry nothing
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            new = _exif_without_gps(payload)
            if new is not None:
                changed = True
                segment = b"\xff\xe1" + struct.pack(">H", len(new) + 2) + new
        elif marker == 0xE1 and payload.startswith(_XMP_JPEG) and drop_xmp:
            changed, segment = True, b""
        elif marker == 0xE1 and payload.startswith(_XMP_EXT_JPEG) and drop_ext:
            changed, segment = True, b""
        elif 0xE0 <= marker <= 0xEF and marker != 0xE1 and b"<x:xmpmeta" in payload and xmp_has_location(payload):
            changed, segment = True, b""
        out.append(segment)
    return b"".join(out) if changed else None


# -- PNG ------------------------------------------------------------------------------------------
def _png_chunks(data: bytes):
    if not data.startswith(_PNG_SIG):
        raise ValueError("not a PNG")
    i = 8
    while i + 8 <= len(data):
        length = struct.unpack(">I", data[i : i + 4])[0]
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > len(data):
            raise ValueError("truncated chunk")
        yield kind, data[i + 8 : i + 8 + length], data[i:end]
        i = end
        if kind == b"IEND":
            return


def _png_text(kind: bytes, body: bytes) -> tuple[bytes, bytes]:
    """(keyword, text) of a tEXt / zTXt / iTXt chunk, decompressed."""
    keyword, _, rest = body.partition(b"\x00")
    if kind == b"tEXt":
        return keyword, rest
    if kind == b"zTXt":
        return keyword, _inflate(rest[1:])
    flag, _method, rest = rest[0:1], rest[1:2], rest[2:]
    _lang, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    return keyword, _inflate(text) if flag == b"\x01" else text


def _raw_profile(text: bytes) -> bytes:
    """ImageMagick's hex 'Raw profile type ...': "\\nexif\\n    LENGTH\\nHEX..."."""
    lines = text.strip().split(b"\n")
    return bytes.fromhex(b"".join(lines[2:]).decode("ascii", "ignore"))


def _png_text_location(kind: bytes, body: bytes) -> str | None:
    keyword, text = _png_text(kind, body)
    key = keyword.lower()
    if key in _RAW_PROFILES:
        try:
            payload = _raw_profile(text)
        except ValueError:
            return f"PNG {keyword.decode('latin-1')} (unreadable)"
        if key == b"raw profile type xmp":
            return "XMP (raw profile)" if xmp_has_location(payload) else None
        if not payload.startswith(b"Exif\x00\x00"):
            payload = b"Exif\x00\x00" + payload if payload[:2] in (b"II", b"MM") else payload
        return f"EXIF GPS ({keyword.decode('latin-1')})" if _exif_gps(payload) else None
    if xmp_has_location(text) and (key == b"xml:com.adobe.xmp" or b"<x:xmpmeta" in text or b"rdf:RDF" in text):
        return "XMP"
    return None


def _png_location(data: bytes) -> list[str]:
    found = []
    for kind, body, _chunk in _png_chunks(data):
        if kind == b"eXIf" and _exif_gps(body):
            found.append("EXIF GPS")
        elif kind in _PNG_TEXT:
            where = _png_text_location(kind, body)
            if where:
                found.append(where)
    return found


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _strip_png(data: bytes) -> bytes | None:
    out, changed = [_PNG_SIG], False
    for kind, body, chunk in _png_chunks(data):
        if kind == b"eXIf":
            new = _exif_without_gps(body)
            if new is not None:
                changed, chunk = True, _png_chunk(b"eXIf", new)
        elif kind in _PNG_TEXT and _png_text_location(kind, body):
            changed, chunk = True, b""  # the whole text chunk: a raw EXIF profile or an XMP packet
        out.append(chunk)
    return b"".join(out) if changed else None


# -- WebP -----------------------------------------------------------------------------------------
def _webp_chunks(data: bytes):
    if not (data.startswith(b"RIFF") and data[8:12] == b"WEBP"):
        raise ValueError("not a WebP")
    i = 12
    while i + 8 <= len(data):
        kind = data[i : i + 4]
        size = struct.unpack("<I", data[i + 4 : i + 8])[0]
        if i + 8 + size > len(data):
            raise ValueError("truncated chunk")
        yield kind, data[i + 8 : i + 8 + size]
        i += 8 + size + (size & 1)


def _webp_location(data: bytes) -> list[str]:
    found = []
    for kind, body in _webp_chunks(data):
        if kind == b"EXIF" and _exif_gps(body if body.startswith(b"Exif") else b"Exif\x00\x00" + body):
            found.append("EXIF GPS")
        elif kind == b"XMP " and xmp_has_location(body):
            found.append("XMP")
    return found


def _strip_webp(data: bytes) -> bytes | None:
    chunks, changed, dropped_xmp = [], False, False
    for kind, body in _webp_chunks(data):
        if kind == b"EXIF":
            new = _exif_without_gps(body)
            if new is not None:
                changed, body = True, new
        elif kind == b"XMP " and xmp_has_location(body):
            changed = dropped_xmp = True
            continue
        chunks.append((kind, body))
    if not changed:
        return None
    if dropped_xmp:  # clear the VP8X "has XMP" flag
        chunks = [(k, bytes([b[0] & ~0x04]) + b[1:]) if k == b"VP8X" else (k, b) for k, b in chunks]
    body = b"WEBP" + b"".join(k + struct.pack("<I", len(b)) + b + (b"\x00" if len(b) & 1 else b"") for k, b in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# -- the API --------------------------------------------------------------------------------------
_PARSERS = ((b"\xff\xd8", _jpeg_location, _strip_jpeg), (_PNG_SIG, _png_location, _strip_png),
            (b"RIFF", _webp_location, _strip_webp))


def location_sources(data: bytes) -> list[str]:
    """Where ``data`` carries location metadata (empty when it carries none)."""
    for magic, find, _strip in _PARSERS:
        if data.startswith(magic):
            try:
                return find(data)
            except (ValueError, struct.error, zlib.error, IndexError):
                return independent_location_check(data)
    return independent_location_check(data)


def strip_location(data: bytes) -> bytes | None:
    """The image without location metadata, or None when it had none (the bytes can be used as they are)."""
    for magic, _find, strip in _PARSERS:
        if data.startswith(magic):
            try:
                return strip(data)
            except (ValueError, struct.error, zlib.error, IndexError, SyntaxError, OSError):
                return None
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


def independent_location_check(data: bytes) -> list[str]:
    """Location found by another reader than the parsers above: Pillow's EXIF (which also reads PNG raw
    profiles), every metadata value Pillow exposes (JPEG APP segments, PNG text, decompressed by Pillow)
    and a scan of the raw bytes for XMP location properties."""
    found = []
    if xmp_has_location(data) and (b"xmpmeta" in data or b"rdf:RDF" in data or b"GPS" in data):
        found.append("location words in the raw bytes")
    try:
        with Image.open(io.BytesIO(data)) as im:
            try:
                exif = im.getexif()
                if exif.get_ifd(GPS_IFD) or GPS_IFD in exif:
                    found.append("EXIF GPS (Pillow)")
            except Exception:
                pass
            values = list(im.info.values()) + [v for _m, v in getattr(im, "applist", [])]
            for key, value in list(im.info.items()) + list(getattr(im, "text", {}).items()):
                if isinstance(key, str) and key.lower().startswith("raw profile type") and isinstance(value, str):
                    try:
                        payload = _raw_profile(value.encode("latin-1", "ignore"))
                    except ValueError:
                        continue
                    if b"GPS" in payload or xmp_has_location(payload):
                        found.append(f"{key} (Pillow)")
                values.append(value)
            for value in values:
                if isinstance(value, (bytes, str)) and xmp_has_location(value) and (
                        b"xmpmeta" in (value if isinstance(value, bytes) else value.encode("utf-8", "ignore"))):
                    found.append("XMP (Pillow)")
                    break
    except Exception:
        pass
    return found
