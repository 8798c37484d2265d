"""Modal dialogs: confirmations, reasons, overrides, metadata and attestation forms."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Select, Static

from pmd_tui.store.vocabulary import CONCEPT_TYPES, LIKENESS
from pmd_tui.tui.literal import literal

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical, {name} > VerticalScroll {{ width: 76; height: auto; max-height: 90%; border: round $accent; background: $surface;
                    padding: 1 2; }}
{name} .title {{ text-style: bold; margin-bottom: 1; }}
{name} .buttons {{ height: auto; margin-top: 1; align-horizontal: right; }}
{name} .buttons Button {{ margin-left: 1; }}
{name} .error {{ color: $error; height: auto; }}
{name} Input, {name} Select {{ margin-bottom: 1; }}
"""


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [Binding("escape,n", "cancel", "Cancel"), Binding("y", "confirm", "Yes")]
    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmDialog")

    def __init__(self, question: str, detail: str = "", confirm_label: str = "Yes"):
        super().__init__()
        self.question, self.detail, self.confirm_label = question, detail, confirm_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(literal(self.question), classes="title")
            if self.detail:
                yield Static(literal(self.detail))
            with Horizontal(classes="buttons"):
                yield Button("Cancel (n)", id="cancel")
                yield Button(f"{self.confirm_label} (y)", id="ok", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "ok")

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        self.dismiss(True)


class ReasonDialog(ModalScreen[str | None]):
    """Asks for a required reason; suggestions (from the findings) fill it in with one key."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="ReasonDialog")

    def __init__(self, title: str, suggestions: list[str], *, detail: str = "", ok_label: str = "OK"):
        super().__init__()
        self.title_text, self.suggestions, self.detail, self.ok_label = title, suggestions, detail, ok_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(literal(self.title_text), classes="title")
            if self.detail:
                yield Static(literal(self.detail))
            if self.suggestions:
                yield Select([(literal(s), s) for s in self.suggestions], prompt="pick a reason from the findings…",
                             id="suggestion")
            yield Input(placeholder="reason (required)", id="reason")
            yield Label("", classes="error", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.ok_label, id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.query_one("#reason", Input).value = str(event.value)
            self.query_one("#reason", Input).focus()

    def _submit(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#error", Label).update("a reason is required")
            return
        self.dismiss(reason)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class FormDialog(ModalScreen[dict | None]):
    """A form: ctrl+s, enter in a field or the ok button saves (``action_save``); escape or cancel returns None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def action_save(self) -> None:  # pragma: no cover - every form defines it
        raise NotImplementedError

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_save()
        elif event.button.id == "cancel":
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class MetadataDialog(FormDialog):
    """Edit a submission's metadata; returns only the fields that changed."""

    DEFAULT_CSS = DIALOG_CSS.format(name="MetadataDialog")
    FIELDS = (("name", "name"), ("concept", "concept"), ("trigger_words", "trigger words (comma separated)"),
              ("class_word", "class word (benchmark: \"dog\", \"person\", \"painting style\")"),
              ("caption_method", "captioning method"), ("submitter", "submitter"))

    def __init__(self, submission: dict):
        super().__init__()
        self.submission = submission

    def compose(self) -> ComposeResult:
        with VerticalScroll():  # taller than a 24-row terminal: focus scrolls the field into view
            yield Label(f"Metadata of #{self.submission['id']}", classes="title")
            for key, label in self.FIELDS:
                yield Label(label)
                yield Input(value=self.submission.get(key) or "", id=f"f-{key}")
            yield Label("concept type")
            yield Select([(c, c) for c in CONCEPT_TYPES], value=self.submission.get("concept_type") or Select.NULL,
                         id="f-concept_type", prompt="unknown")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save (ctrl+s)", id="ok", variant="primary")

    def action_save(self) -> None:
        changes = {}
        for key, _ in self.FIELDS:
            value = self.query_one(f"#f-{key}", Input).value.strip() or None
            if value != (self.submission.get(key) or None):
                changes[key] = value
        ct = self.query_one("#f-concept_type", Select).value
        ct = None if ct is Select.NULL else ct
        if ct != self.submission.get("concept_type"):
            changes["concept_type"] = ct
        if "name" in changes and not changes["name"]:
            changes.pop("name")
        self.dismiss(changes)


class AttestDialog(FormDialog):
    """The maintainer's word on rules 2 and 3, which no program can settle."""

    DEFAULT_CSS = DIALOG_CSS.format(name="AttestDialog")

    def __init__(self, submission: dict):
        super().__init__()
        self.submission = submission

    def compose(self) -> ComposeResult:
        current = self.submission.get("likeness_attestation")
        with Vertical():
            yield Label(f"Attest #{self.submission['id']}", classes="title")
            yield Label("Rule 2: who does the likeness show?")
            with RadioSet(id="likeness"):
                for choice, label in LIKENESS.items():
                    yield RadioButton(label, value=current == choice, name=choice)
            yield Checkbox("Rule 3: the artist has not objected to training on their work",
                           value=bool(self.submission.get("artist_attestation")), id="artist")
            yield Checkbox("Rule 2: the person also in another submitter's dataset may be in this one",
                           value=bool(self.submission.get("published_person_attestation")), id="same-person")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save (ctrl+s)", id="ok", variant="primary")

    def action_save(self) -> None:
        pressed = self.query_one("#likeness", RadioSet).pressed_button
        self.dismiss({"likeness": pressed.name if pressed else None,
                      "artist_ok": self.query_one("#artist", Checkbox).value,
                      "same_person_ok": self.query_one("#same-person", Checkbox).value})


class CaptionDialog(FormDialog):
    """Options for a captioning run: the preset (which captioner), the Florence-2 task, the trigger prefix and
    whether to replace existing captions."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Start")]
    DEFAULT_CSS = DIALOG_CSS.format(name="CaptionDialog")
    TASKS = {"caption": "short caption", "detailed": "detailed caption (default)",
             "more-detailed": "a paragraph"}

    def __init__(self, submission: dict, missing: int, total: int, model: str):
        super().__init__()
        self.submission, self.missing, self.total, self.model = submission, missing, total, model

    def compose(self) -> ComposeResult:
        from pmd_tui.captioning.presets import PRESETS
        from pmd_tui.captioning.service import first_trigger

        trigger = first_trigger(self.submission.get("trigger_words")) or ""
        with Vertical():
            yield Label(literal(f"Caption #{self.submission['id']} {self.submission['name']}"), classes="title")
            yield Static(literal(f"{self.missing} of {self.total} images have no caption"))
            yield Label("Captioner (preset)")
            with RadioSet(id="preset"):
                for name, preset in PRESETS.items():
                    model = preset.model or self.model
                    yield RadioButton(literal(f"{name}: {model.rsplit('/', 1)[-1]}"), value=name == "default",
                                      name=name)
            yield Label("Florence-2 task")
            with RadioSet(id="task"):
                for key, label in self.TASKS.items():
                    yield RadioButton(label, value=key == "detailed", name=key)
            yield Label("Prefix each caption with (empty: none)")
            yield Input(trigger, id="trigger", placeholder="trigger word")
            yield Checkbox(f"Replace the existing captions too (all {self.total} images)", id="overwrite")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Caption (ctrl+s)", id="ok", variant="primary")

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        """Choosing a preset shows its task (the maintainer's method is a short <CAPTION>)."""
        if event.radio_set.id != "preset":
            return
        from pmd_tui.captioning.presets import PRESETS

        # after this message: changes made while RadioSet handles its own messages would be swallowed
        self.call_after_refresh(self._show_task, PRESETS[event.pressed.name].task)

    def _show_task(self, task: str) -> None:
        for button in self.query_one("#task", RadioSet).query(RadioButton):
            if button.name == task:
                button.value = True  # the set releases the one pressed before

    def action_save(self) -> None:
        from pmd_tui.captioning.presets import PRESETS

        preset = self.query_one("#preset", RadioSet).pressed_button
        preset = preset.name if preset else "default"
        task = self.query_one("#task", RadioSet).pressed_button
        task = task.name if task else PRESETS[preset].task
        self.dismiss({"preset": preset, "task": None if task == PRESETS[preset].task else task,
                      "trigger": self.query_one("#trigger", Input).value.strip(),
                      "overwrite": self.query_one("#overwrite", Checkbox).value})
