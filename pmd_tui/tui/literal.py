"""Showing contributor-supplied strings exactly as written.

File names, captions, readmes and user names come from strangers: they are never parsed as markup, and
control characters (terminal escape sequences included) are made visible instead of being sent to the
terminal.
"""

from __future__ import annotations

import re

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(value: object) -> str:
    s = "" if value is None else str(value)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def literal(value: object, style: str = "") -> Text:
    """A Rich Text that renders ``value`` verbatim (no markup, no escapes)."""
    return Text(visible(value), style=style)
