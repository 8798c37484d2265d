"""Outputs that are not captions: empty, only the prompt again, or one token repeated.

Such an output is a failure for that image (reported and counted, the image stays uncaptioned); it is
never stored as a caption.
"""

from __future__ import annotations

import re
from typing import Iterable

_NON_WORD = re.compile(r"[\W_]+")
_REPEATED_UNIT = re.compile(r"(.{1,6}?)\1{3,}", re.S)


def _norm(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def rejection(text: str, echoes: Iterable[str] = ()) -> str | None:
    """Why ``text`` is not a caption, or None when it is one."""
    flat = " ".join((text or "").split())
    if not flat:
        return "the model returned an empty caption"
    words = _norm(flat).split()
    if not words:
        return f"the model returned no words ({flat[:20]!r})"
    if " ".join(words) in {_norm(e) for e in echoes if e}:
        return "the model only repeated the prompt"
    if len(words) >= 3 and len(set(words)) == 1:
        return f"the model repeated one token ({words[0][:20]!r} x{len(words)})"
    if len(words) == 1 and _REPEATED_UNIT.fullmatch(words[0]):
        unit = _REPEATED_UNIT.fullmatch(words[0]).group(1)
        return f"the model repeated one token ({unit!r} x{len(words[0]) // len(unit)})"
    return None
