"""Dialogs for changing a submission in place: fixes for a finding, bulk caption operations and the
preview of every caption they would change. They only collect choices; the core services do the work."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Select, Static

from pmd_tui.tui.literal import literal
from pmd_tui.tui.screens.dialogs import DIALOG_CSS, FormDialog

BACKGROUNDS = (("white", "white"), ("black", "black"), ("grey", "grey"))


def _names(files: list[str], limit: int = 12) -> str:
    shown = "\n".join(f"  {n}" for n in files[:limit])
    return shown + (f"\n  … and {len(files) - limit} more" if len(files) > limit else "")


class FixDialog(FormDialog):
    """The fixes a finding offers for its images; returns {"op", "background"} or {"undo": True}."""

    DEFAULT_CSS = DIALOG_CSS.format(name="FixDialog") + """
    FixDialog #bg-row { height: auto; }
    FixDialog #bg-choice { width: 22; margin-right: 1; }
    FixDialog #bg { width: 1fr; }
    """

    def __init__(self, rule: str | None, files: list[str], ops: list[tuple[str, str]], undo_label: str | None):
        super().__init__()
        self.rule, self.files, self.ops, self.undo_label = rule, files, ops, undo_label

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.rule:
                yield Label(literal(f"Fix {self.rule} on {len(self.files)} image(s)"), classes="title")
                yield Static(literal(_names(self.files)))
                yield Label("The staged copy changes; the upload never does. Each fix can be undone.")
                with RadioSet(id="op"):
                    for i, (op, label) in enumerate(self.ops):
                        yield RadioButton(label, value=i == 0, name=op)
                if any(op == "flatten" for op, _ in self.ops):
                    yield Label("background for flattening (a name or #rrggbb)")
                    with Horizontal(id="bg-row"):
                        yield Select(BACKGROUNDS, value="white", id="bg-choice", allow_blank=False)
                        yield Input("", id="bg", placeholder="#rrggbb (overrides the choice)")
            else:
                yield Label("No fix for the selected finding", classes="title")
            if self.undo_label:
                yield Static(literal(f"latest fix: {self.undo_label}"))
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                if self.undo_label:
                    yield Button("Undo latest fix", id="undo")
                if self.rule:
                    yield Button("Apply (ctrl+s)", id="ok", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "undo":
            self.dismiss({"undo": True})
        else:
            super().on_button_pressed(event)

    def action_save(self) -> None:
        if not self.rule:
            return
        pressed = self.query_one("#op", RadioSet).pressed_button
        op = pressed.name if pressed else self.ops[0][0]
        background = None
        if op == "flatten":
            typed = self.query_one("#bg", Input).value.strip()
            background = typed or str(self.query_one("#bg-choice", Select).value)
        self.dismiss({"op": op, "background": background})


class BulkCaptionDialog(FormDialog):
    """Pick a caption operation and its arguments; returns {"op", ...args} or {"undo": True}."""

    DEFAULT_CSS = DIALOG_CSS.format(name="BulkCaptionDialog")
    OPS = (("add-trigger", "add the trigger word where it is missing"),
           ("rename-trigger", "rename a trigger word (captions, readme, trigger words)"),
           ("replace", "find and replace"),
           ("normalise", "normalise whitespace and tag separators"),
           ("remove-tag", "remove a tag everywhere"))

    def __init__(self, submission: dict, trigger: str | None, preset: str = "add-trigger",
                 undo_label: str | None = None):
        super().__init__()
        self.submission, self.trigger, self.preset, self.undo_label = submission, trigger, preset, undo_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(literal(f"Captions of #{self.submission['id']} {self.submission['name']}"), classes="title")
            with RadioSet(id="op"):
                for op, label in self.OPS:
                    yield RadioButton(label, value=op == self.preset, name=op)
            yield Label("", id="a-label")
            yield Input(id="a")
            yield Label("", id="b-label")
            yield Input(id="b")
            yield Checkbox("regular expression (\\1 in the replacement)", id="regex")
            yield Checkbox("add as a suffix instead of a prefix", id="suffix")
            yield Static("Every changed caption is shown before anything is written.", classes="note")
            if self.undo_label:
                yield Static(literal(f"latest bulk change: {self.undo_label}"))
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                if self.undo_label:
                    yield Button("Undo latest", id="undo")
                yield Button("Preview (ctrl+s)", id="ok", variant="primary")

    def on_mount(self) -> None:
        self._layout(self.preset)

    def _op(self) -> str:
        pressed = self.query_one("#op", RadioSet).pressed_button
        return pressed.name if pressed else self.preset

    def _layout(self, op: str) -> None:
        a, b = self.query_one("#a", Input), self.query_one("#b", Input)
        labels = {"add-trigger": ("trigger word", None), "rename-trigger": ("old trigger word", "new trigger word"),
                  "replace": ("find", "replace with"), "normalise": (None, None), "remove-tag": ("tag", None)}[op]
        for widget, label_id, text in ((a, "#a-label", labels[0]), (b, "#b-label", labels[1])):
            label = self.query_one(label_id, Label)
            widget.display = label.display = text is not None
            label.update(text or "")
        if op == "add-trigger" and not a.value:
            a.value = self.trigger or ""
        if op == "rename-trigger" and not a.value:
            a.value = self.trigger or ""
        self.query_one("#regex", Checkbox).display = op == "replace"
        self.query_one("#suffix", Checkbox).display = op == "add-trigger"

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self._layout(event.pressed.name)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "undo":
            self.dismiss({"undo": True})
        else:
            super().on_button_pressed(event)

    def action_save(self) -> None:
        op = self._op()
        a, b = self.query_one("#a", Input).value, self.query_one("#b", Input).value
        args = {"add-trigger": {"word": a.strip() or None, "suffix": self.query_one("#suffix", Checkbox).value},
                "rename-trigger": {"old": a, "new": b},
                "replace": {"find": a, "replace": b, "regex": self.query_one("#regex", Checkbox).value},
                "normalise": {},
                "remove-tag": {"tag": a}}[op]
        self.dismiss({"op": op, **args})


class CaptionPreviewDialog(ModalScreen[bool]):
    """Every caption (and field) a bulk operation would change, old and new, before it is applied."""

    BINDINGS = [Binding("escape,n", "cancel", "Cancel"), Binding("y", "confirm", "Apply")]
    DEFAULT_CSS = DIALOG_CSS.format(name="CaptionPreviewDialog") + """
    CaptionPreviewDialog > Vertical { width: 110; }
    CaptionPreviewDialog VerticalScroll { height: auto; max-height: 30; }
    """

    def __init__(self, title: str, changes: list[tuple[str, str | None, str | None]], unchanged: int):
        super().__init__()
        self.title_text, self.changes, self.unchanged = title, changes, unchanged

    def compose(self) -> ComposeResult:
        body = Text()
        for name, old, new in self.changes:
            body.append_text(literal(name, style="bold"))
            body.append("\n  - ", style="red")
            body.append_text(literal(old or "", style="red"))
            body.append("\n  + ", style="green")
            body.append_text(literal(new or "", style="green"))
            body.append("\n")
        with Vertical():
            yield Label(literal(self.title_text), classes="title")
            yield Static(f"{len(self.changes)} change(s); {self.unchanged} caption(s) stay as they are")
            with VerticalScroll(id="preview-changes"):
                yield Static(body, id="changes")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (n)", id="cancel")
                yield Button("Apply (y)", id="ok", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "ok")

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        self.dismiss(True)
