"""Choosing the image renderer and showing previews.

textual-image picks its renderer when first imported and queries the terminal, which it cannot do once
Textual runs: so ``image_widget_class`` is called before ``App.run()``. A pty reporting 0 columns would
make that import divide by zero; we pre-fill its cell-size cache instead.
"""

from __future__ import annotations

import logging
import os
import sys

from pmd_tui.config import PREVIEW_RENDERERS as RENDERERS

# textual-image logs a warning with a traceback when the terminal does not answer its cell-size query
# (common over SSH); it then assumes a size, which is fine. Without a handler Python would print it.
logging.getLogger("textual_image").addHandler(logging.NullHandler())


def _guard_cell_size() -> None:
    try:
        from textual_image import _terminal
    except Exception:
        return
    if hasattr(_terminal.get_cell_size, "_result"):
        return
    try:
        if sys.__stdout__ is None or not sys.__stdout__.isatty():
            return
        rows, columns, _w, _h = _terminal.get_tiocgwinsz()
    except Exception:
        rows = columns = 0
    if not rows or not columns:
        _terminal.get_cell_size._result = _terminal.CellSize(10, 20)


def image_widget_class(kind: str | None = None):
    """The textual-image widget class for ``kind`` (default: $PMD_PREVIEW or auto); None for 'none'."""
    source = "preview renderer" if kind else "PMD_PREVIEW"
    kind = (kind or os.environ.get("PMD_PREVIEW") or "auto").strip().lower()
    if kind not in RENDERERS:
        from pmd_tui.errors import InputError
        from pmd_tui.safetext import escape
        raise InputError(f"{source}: unknown preview renderer {escape(kind)!r}; choose one of {', '.join(RENDERERS)}")
    if kind == "none":
        return None
    _guard_cell_size()
    try:
        import textual_image.widget as tiw
    except Exception:  # a terminal that answers nothing sensible: previews off, app still works
        return None
    return {
        "auto": tiw.Image,
        "tgp": tiw.TGPImage,
        "sixel": tiw.SixelImage,
        "halfcell": tiw.HalfcellImage,
        "unicode": tiw.UnicodeImage,
    }[kind]
