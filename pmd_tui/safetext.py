"""The one rule for untrusted text (names, captions, readmes, issue titles) on its way to a terminal.

Contributors control these strings, and a terminal obeys control characters: ESC and the 8-bit CSI
(U+009B) start escape sequences that set the window title, write the clipboard (OSC 52) or clear the
screen, and BEL rings. So every C0 control, DEL and every C1 control is written as a visible ``\\xNN``
escape in CLI text, as ``\\u00NN`` in JSON, and literally (never interpreted) in the TUI. Bidi overrides
and isolates reorder what follows them (a name can read as another, "Trojan Source"), and zero-width
characters hide inside a trigger word: both are written as ``\\u200b``-style escapes in CLI text and JSON.
"""

from __future__ import annotations

import json
import re

# C0 controls, DEL and the C1 range (U+0080-U+009F, which terminals may read as 8-bit escape sequences)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# invisible characters that change how text reads: bidi marks, embeddings, overrides and isolates, the
# Arabic letter mark, zero-width space/joiners, the word joiner and the BOM / zero-width no-break space
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# What json.dumps(ensure_ascii=False) leaves raw: DEL and C1 (C0 is already escaped), and the two
# Unicode line separators that break JavaScript-style line readers.
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def escape(value: object, *, keep: str = "") -> str:
    """``value`` as text with every control character (except those in ``keep``) made visible."""
    s = "" if value is None else str(value)
    s = _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", s)
    if keep:
        return _CONTROL.sub(lambda m: m.group() if m.group() in keep else f"\\x{ord(m.group()):02x}", s)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def has_control(value: object) -> bool:
    return bool(_CONTROL.search("" if value is None else str(value)))


def dumps(obj, **kw) -> str:
    """JSON like ``json.dumps(ensure_ascii=False)`` (readable non-ASCII text) but with every control
    character escaped, C1 included (``\\u009b``), so the output is safe to print on a terminal."""
    text = json.dumps(obj, ensure_ascii=False, **kw)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
