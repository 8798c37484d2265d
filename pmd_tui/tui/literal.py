"""Showing contributor-supplied strings exactly as written.

File names, captions, readmes and user names come from strangers: they are never parsed as markup, and
control characters (terminal escape sequences included) are made visible instead of being sent to the
terminal.
"""

from __future__ import annotations

from rich.text import Text

from pmd_tui.safetext import escape


def visible(value: object) -> str:
    """The core's one rule for untrusted text; tabs and line breaks stay (captions and readmes span lines)."""
    return escape(value, keep="\t\n")


def one_line(value: object) -> str:
    """For titles and other single-line places: every control character escaped, line breaks too."""
    return escape(value)


def literal(value: object, style: str = "") -> Text:
    """A Rich Text that renders ``value`` verbatim (no markup, no escapes)."""
    return Text(visible(value), style=style)
