"""Reviewing one submission: files with finding markers, a large preview, the caption (editable),
the rule results (selecting one shows its files) and the submission's metadata.

The layout follows the terminal (classes set by the app's breakpoints, rules in app.tcss): three columns
when wide; files over findings beside the preview when medium or narrow (the submission's details then
behind ``b``); ``z`` gives the whole screen to the preview at any size.
"""

from __future__ import annotations

from collections import OrderedDict

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.css.scalar import Scalar
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from pmd_tui.imaging.thumbs import thumbnail
from pmd_tui.store.vocabulary import severity_rank
from pmd_tui.tui.literal import literal, one_line, visible
from pmd_tui.tui.screens.actions import ACTION_BINDINGS, SubmissionActions, footer_only
from pmd_tui.tui.widgets import (FINDING_MARK, FINDING_STYLE, STATUS_STYLE, Column, FittedTable, StatusLine, TaskBar,
                                  TextLine)

CACHE_SIZE = 96


class PreviewPane(Vertical):
    """Holds the preview; when the layout gives it another size the image is fitted again."""

    def on_resize(self) -> None:
        self.screen.preview_resized()


class ReviewScreen(SubmissionActions, Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("e", "edit_caption", "Edit caption"),
        Binding("z", "zoom", "Zoom preview"),
        *footer_only(ACTION_BINDINGS, "a", "r", "c", "g", "t", "p"),
        Binding("ctrl+s", "save_caption", "Save caption", priority=True, show=False),
        Binding("u", "undo_caption", "Undo caption", show=False),
        Binding("ctrl+f", "focus_findings", "Findings", key_display="^f", show=False),
        Binding("b", "side", "Findings or details", show=False),
        Binding("i", "identity_filter", "Show one person's images (A, B, ...)", show=False),
        # shown in the pane titles rather than the footer, which keeps the decisions in view
        Binding("X", "exclude", "Exclude/restore the image (on a finding: all its images)", show=False),
        Binding("F", "fix", "Fix the selected finding's images, or undo the latest fix", show=False),
        Binding("B", "bulk_captions", "Bulk caption edit with preview (trigger word, replace, tags)", show=False),
        Binding("v", "toggle_validation", "Validation image", show=False),
        # with the file list hidden (zoom) the arrows still walk through the files
        Binding("down", "step(1)", "Next file", show=False),
        Binding("up", "step(-1)", "Previous file", show=False),
    ]
    # Files table: the least kept columns go first when the pane is narrow (other features add theirs here).
    FILE_COLUMNS = [
        Column("mark", "", 1, keep=100),
        Column("name", "file", 13, keep=90, flex=True, max_width=40),
        Column("size", "size", 9, keep=30),
        Column("src", "caption", 9, keep=50),
        Column("faces", "faces", 5, keep=20, justify="right"),
    ]
    SIDE_MODES = ("both", "findings", "details")

    def __init__(self, submission_id: int):
        super().__init__()
        self.submission_id = submission_id
        self.files: list[dict] = []
        self.visible_files: list[dict] = []
        self.findings: list[dict] = []
        self.only: tuple[str, set[str]] | None = None  # (rule, files) when a finding is selected
        self._thumbs: OrderedDict[str, object] = OrderedDict()
        self._shown_file: int | None = None
        self.screening: dict[str, dict] = {}
        self.side_mode = "both"
        self.identities = None  # who is where (screening.identity.Identities), from the cached results

    def compose(self) -> ComposeResult:
        yield Header()
        with Container(id="review-body"):
            with Vertical(id="files-pane"):
                yield Label("files", id="files-title", classes="pane-title")
                yield FittedTable(self.FILE_COLUMNS, id="files", cursor_type="row")
            with Vertical(id="center-pane"):
                with PreviewPane(id="preview"):
                    with Container(id="preview-box"):  # centres the image above its description
                        if self.app.image_cls is not None:
                            yield self.app.image_cls(None, id="preview-image")
                    yield TextLine("", id="preview-note")
                yield TextLine("", id="caption-label", classes="pane-title")
                yield TextArea("", id="caption", soft_wrap=True, show_line_numbers=False)
            with Vertical(id="side-pane"):
                with Vertical(id="findings-box"):
                    yield Label("findings (enter: files, F: fix)", id="findings-title", classes="pane-title")
                    yield OptionList(id="findings")
                with Vertical(id="meta-box"):
                    yield Label("submission · m: edit · t: attest", id="meta-title", classes="pane-title")
                    with VerticalScroll(id="meta-scroll"):
                        yield Static("", id="meta")
        yield TaskBar()
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#files", DataTable)
        self.refresh_data()
        table.focus()

    # -- layout -----------------------------------------------------------------------------------
    def action_zoom(self) -> None:
        """The preview takes the whole screen (and back); the arrows keep walking through the files."""
        zoomed = not self.has_class("-zoom")
        self.set_class(zoomed, "-zoom")
        if zoomed:
            self.set_focus(None)
        else:
            self.query_one("#files", DataTable).focus()

    def action_side(self) -> None:
        """Cycle the side pane: findings and details together, findings only, details only.

        On a narrow screen "both" means findings only (the details would squeeze the file list)."""
        modes = ("both", "details") if self.has_class("-narrow") else self.SIDE_MODES
        i = modes.index(self.side_mode) if self.side_mode in modes else 0
        self.side_mode = modes[(i + 1) % len(modes)]
        self.set_class(self.side_mode == "findings", "-only-findings")
        self.set_class(self.side_mode == "details", "-only-details")
        if self.has_class("-zoom"):
            self.action_zoom()

    def action_step(self, delta: int) -> None:
        table = self.query_one("#files", DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, (table.cursor_row or 0) + delta)))

    # -- data -------------------------------------------------------------------------------------
    def current_id(self) -> int | None:
        return self.submission_id

    def refresh_data(self) -> None:
        store = self.app.store
        sub = store.get(self.submission_id)
        self.sub = sub
        self.title = one_line(f"#{sub['id']} {sub['name']}")  # literal, one line, never markup
        self.files = store.files(self.submission_id, "image")
        self.findings = store.checks(self.submission_id)
        from pmd_tui.screening.service import results_for

        self.screening = results_for(store, self.app.settings, self.files)
        self._update_identities()
        self._render_findings()
        self._render_files()
        self._render_meta()

    def _update_identities(self) -> None:
        from pmd_tui.checks.rules.likeness import set_identities

        kept = [f for f in self.files if not f.get("excluded")]  # what the rules see
        ids = set_identities(self.app.settings, kept, self.screening)
        if self.identities is None or ids.faces != self.identities.faces:
            self._thumbs.clear()  # the cached previews carry the old face boxes
        self.identities = ids

    def _face_cell(self, name: str) -> Text:
        """The person of the image's main face and how many more faces (A, B+1), else the face count."""
        from pmd_tui.imaging.annotate import person_colour

        letter = self.identities.main.get(name) if self.identities else None
        if letter:
            return Text(self.identities.label(name), style="rgb({},{},{})".format(*person_colour(letter)),
                        justify="right")
        faces = self.screening.get(name, {}).get("faces")
        return Text(str(faces["faces"]) if faces else "·", style="" if faces else "dim", justify="right")

    def _annotated(self, f: dict, im):
        """The thumbnail with face boxes and person letters drawn on a copy (never on the image itself)."""
        from pmd_tui.imaging.annotate import draw_faces

        faces = self.identities.faces.get(f["name"]) if self.identities and im is not None else None
        return draw_faces(im, faces) if faces else im

    def action_identity_filter(self) -> None:
        """Cycle the file list through the images of each person (A, B, ...), then all images again."""
        people = self.identities.people if self.identities else []
        if not people:
            self.notify("no face identities yet: press M to screen the images", timeout=3)
            return
        letters = [p.letter for p in people]
        current = self.only[0].removeprefix("person ") if self.only and self.only[0].startswith("person ") else None
        nxt = letters[letters.index(current) + 1] if current in letters and current != letters[-1] else None
        if current is None:
            nxt = letters[0]
        if nxt is None:
            self.only = None
        else:
            self.only = (f"person {nxt}", set(self.identities.images_of(nxt)))
        self._render_files()
        if self.visible_files:
            self.query_one("#files", DataTable).move_cursor(row=0)

    def _file_marks(self) -> dict[str, str]:
        marks: dict[str, str] = {}
        for f in self.findings:
            if f["status"] == "pass":
                continue
            for name in f["files"]:
                if severity_rank(f["status"]) > severity_rank(marks.get(name, "pass")):
                    marks[name] = f["status"]
        return marks

    def _render_files(self) -> None:
        table = self.query_one("#files", FittedTable)
        keep = self.current_file()
        marks = self._file_marks()
        self.visible_files = [f for f in self.files if self.only is None or f["name"] in self.only[1]]
        rows = []
        for f in self.visible_files:
            status = marks.get(f["name"])
            src = f["caption_source"] or ("empty" if f["caption"] == "" else "none")
            mark = Text(FINDING_MARK[status], style=FINDING_STYLE[status]) if status else Text(" ")
            name = literal(f["name"])
            if f.get("excluded"):
                mark, name = Text("×", style="dim"), literal(f["name"], style="dim strike")
            if f.get("split") == "validation":
                name = Text.assemble(("val ", "bold magenta"), name)
            rows.append((str(f["id"]), {
                "mark": mark,
                "name": name,
                "size": f"{f['width']}x{f['height']}" if f["width"] else "?",
                "src": Text(src, style="dim" if src == "none" else ""),
                "faces": self._face_cell(f["name"]),  # count, or who: A (main person), A+1 (one more face)
            }))
        table.set_rows(rows)
        title = f"files ({len(self.visible_files)}/{len(self.files)})"
        excluded = sum(1 for f in self.files if f.get("excluded"))
        if excluded:
            title += f" · {excluded} excluded"
        if self.only:
            title += f" · {self.only[0]} · esc: all"
        else:
            title += " · X: exclude"
        self.query_one("#files-title", Label).update(literal(title))
        if keep is not None and any(f["id"] == keep["id"] for f in self.visible_files):
            table.move_cursor(row=table.get_row_index(str(keep["id"])))
        self._show_file(self.current_file(), force=True)

    def _render_findings(self) -> None:
        ol = self.query_one("#findings", OptionList)
        highlighted = ol.highlighted
        ol.clear_options()
        if not self.findings:
            ol.add_option(Option(Text("not checked yet: press c", style="dim"), id="none"))
            return
        for i, f in enumerate(self.findings):
            line = Text(f"{FINDING_MARK[f['status']]} ", style=FINDING_STYLE[f["status"]])
            line.append(f["rule"], style="bold" if f["status"] != "pass" else "dim")
            if f["status"] != "pass":
                line.append("\n  ")
                line.append(literal(f["message"]))
                if f["files"]:
                    line.append(f"  [{len(f['files'])} file(s)]", style="dim")
            ol.add_option(Option(line, id=str(i)))
        if highlighted is not None and highlighted < len(self.findings):
            ol.highlighted = highlighted

    def _render_meta(self) -> None:
        s = self.sub
        t = Text()
        t.append(s["status"], style=STATUS_STYLE.get(s["status"], ""))
        if s["status_reason"]:
            t.append(" · ")
            t.append(literal(s["status_reason"]))
        rows = (("name", s["name"]), ("concept type", s["concept_type"] or "unknown"), ("concept", s["concept"]),
                ("trigger", s["trigger_words"]), ("captioning", s["caption_method"]), ("repeats", s["repeats"]),
                ("submitter", s["submitter"]), ("issue", " ".join(x for x in (f"#{s['issue_number']}" if s["issue_number"] else "",
                                               s.get("issue_title") or "") if x) or None),
                ("link", s.get("issue_url")),
                ("likeness", s["likeness_attestation"] or "not attested"),
                ("artist", "has not objected" if s["artist_attestation"] else "not attested"))
        for label, value in rows:
            if value in (None, ""):
                continue
            t.append(f"\n{label}: ", style="dim")
            t.append(literal(value))
        held = sum(1 for f in self.files if f.get("split") == "validation")
        t.append("\nbenchmark: ", style="dim")
        t.append(f"{held} validation image(s) (v) · class word {s.get('class_word') or 'not set'}")
        t.append(" · own prompts" if s.get("eval_prompts") else " · default prompts")
        kept = self.app.store.files(self.submission_id, "attribution")
        if kept:  # published beside readme.txt: the maintainer sees what goes out
            t.append("\nlicence/attribution files: ", style="dim")
            t.append(literal(", ".join(f["name"] for f in kept)))
            staged = self.app.store.staged_dir(s)
            for f in kept[:3]:
                try:
                    head = (staged / f["name"]).read_text(encoding="utf-8", errors="replace")[:300]
                except OSError:
                    continue
                t.append(f"\n{f['name']}: ", style="dim")
                t.append(literal(head))
        if s["readme_text"]:
            t.append("\nreadme: ", style="dim")
            t.append(literal(s["readme_text"][:400]))
        if s.get("issue_text"):
            t.append("\nissue text: ", style="dim")
            t.append(literal(s["issue_text"][:1500]))
        self.query_one("#meta", Static).update(t)

    # -- files, preview and caption ---------------------------------------------------------------
    def current_file(self) -> dict | None:
        table = self.query_one("#files", DataTable)
        if not self.visible_files or table.row_count == 0:
            return None
        row = table.cursor_row
        if row is None or row >= len(self.visible_files):
            return None
        return self.visible_files[row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "files":
            self._save_if_modified()
            self._show_file(self.current_file())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "files":
            self.action_edit_caption()

    def _show_file(self, f: dict | None, force: bool = False) -> None:
        if f is None:
            self._shown_file = None
            self.query_one("#caption", TextArea).load_text("")
            self.query_one("#caption-label", TextLine).set("no file")
            self._set_preview(None, "no file selected")
            return
        if f["id"] == self._shown_file and not force:
            return
        self._shown_file = f["id"]
        caption = self.query_one("#caption", TextArea)
        # control characters (escape sequences) are shown as \xNN, never sent to the terminal
        caption.load_text(visible(f["caption"] or ""))
        label = Text("caption ", style="bold")
        label.append(f"· {f['caption_source'] or 'none'}", style="dim")
        if f["caption_detail"]:
            label.append(" ")
            detail = literal(f["caption_detail"])
            detail.stylize("dim")
            label.append(detail)
        label.append(" · e: edit · ctrl+s: save · u: undo · B: bulk edit", style="dim")
        self.query_one("#caption-label", TextLine).set(label)
        cached = self._thumbs.get(f["sha256"])
        if cached is not None:
            self._thumbs.move_to_end(f["sha256"])
            self._set_preview(cached, self._describe(f))
        else:
            self._set_preview(None, "loading…")
        self._load_preview(f, self._neighbours(f))

    def _neighbours(self, f: dict) -> list[dict]:
        idx = next((i for i, x in enumerate(self.visible_files) if x["id"] == f["id"]), 0)
        return [self.visible_files[j] for j in (idx + 1, idx + 2, idx - 1) if 0 <= j < len(self.visible_files)]

    def _describe(self, f: dict) -> Text:
        t = literal(f["name"], style="bold")
        if f.get("excluded"):
            t.append(" · excluded (X restores it)", style="bold yellow")
        if f["width"]:
            t.append(f"  {f['width']}x{f['height']} {f['format'] or ''} · {f['size_bytes'] / 1024:.0f} KiB", style="dim")
        seen = getattr(self, "screening", {}).get(f["name"], {})
        if "faces" in seen:
            n = seen["faces"]["faces"]
            t.append(f" · {n} face{'' if n == 1 else 's'}", style="dim")
        letter = self.identities.main.get(f["name"]) if self.identities else None
        if letter:
            t.append(f" · person {letter} ({self.identities.similarity.get(f['name'], 0):.2f} to A)", style="dim")
        if "nsfw" in seen:
            score = seen["nsfw"]["score"]
            t.append(f" · NSFW {score:.2f}", style="bold red" if score >= self.app.settings.nsfw_threshold else "dim")
        return t

    @work(thread=True, exclusive=True, group="preview")
    def _load_preview(self, f: dict, prefetch: list[dict]) -> None:
        """Thumbnail off the UI thread; also warms the next images so holding a key never stutters."""
        worker = get_current_worker()
        staged = self.app.store.staged_dir(self.sub)
        cache_dir = self.app.store.cache_dir
        if f["sha256"] not in self._thumbs:
            im = self._annotated(f, thumbnail(staged / f["name"], f["sha256"] or f["name"], cache_dir))
            if worker.is_cancelled:
                return
            self.app.call_from_thread(self._preview_ready, f, im)
        for other in prefetch:
            if worker.is_cancelled:
                return
            if other["sha256"] and other["sha256"] not in self._thumbs:
                im = self._annotated(other, thumbnail(staged / other["name"], other["sha256"], cache_dir))
                if im is not None:
                    self.app.call_from_thread(self._remember, other["sha256"], im)

    def _remember(self, key: str, im) -> None:
        self._thumbs[key] = im
        while len(self._thumbs) > CACHE_SIZE:
            self._thumbs.popitem(last=False)

    def _preview_ready(self, f: dict, im) -> None:
        if im is not None:
            self._remember(f["sha256"], im)
        if self._shown_file != f["id"]:
            return
        if im is None:
            self._set_preview(None, Text(f"{f['name']}: cannot be decoded", style="bold red"))
        else:
            self._set_preview(im, self._describe(f))

    def _fit(self, im) -> tuple[int, int]:
        """Cells that show ``im`` as large as the pane allows, keeping its aspect ratio."""
        try:
            from textual_image._terminal import get_cell_size

            cw, ch = get_cell_size()
        except Exception:
            cw, ch = 10, 20
        area = self.query_one("#preview").content_size
        cols, rows = max(area.width, 4), max(area.height - 1, 2)
        k = min(cols * cw / im.width, rows * ch / im.height)
        return max(1, int(im.width * k / cw)), max(1, int(im.height * k / ch))

    def _size_preview(self, widget, im) -> bool:
        """Resize the image widget only when the cell size changes: a new layout costs a frame."""
        w, h = self._fit(im)
        if (widget.styles.width, widget.styles.height) != (Scalar.from_number(w), Scalar.from_number(h)):
            widget.styles.width, widget.styles.height = w, h
            return True
        return False

    @staticmethod
    def _assign_image(widget, im, layout: bool) -> None:
        """textual-image re-lays out the screen on every new image; same-sized ones only need a repaint."""
        if layout:
            widget.image = im
            return
        refresh = widget.refresh
        widget.refresh = lambda *regions, **kw: refresh(*regions, **{**kw, "layout": False})
        try:
            widget.image = im
        finally:
            del widget.refresh

    def preview_resized(self) -> None:
        if self.app.image_cls is not None:
            widget = self.query_one("#preview-image")
            if widget.image is not None:
                self._size_preview(widget, widget.image)

    def _set_preview(self, im, note) -> None:
        if self.app.image_cls is not None:
            widget = self.query_one("#preview-image")
            resized = im is not None and self._size_preview(widget, im)
            shown = im is not None
            if widget.image is not im:
                self._assign_image(widget, im, layout=resized or widget.display != shown)
            if widget.display != shown:
                widget.display = shown
        elif im is not None:
            note = Text.assemble(note, ("\n(preview off)", "dim"))
        self.query_one("#preview-note", TextLine).set(note if isinstance(note, Text) else literal(note))

    def action_edit_caption(self) -> None:
        if self.current_file() is not None:
            self.query_one("#caption", TextArea).focus()

    def _save_if_modified(self) -> bool:
        if self._shown_file is None:
            return False
        f = next((x for x in self.files if x["id"] == self._shown_file), None)
        text = self.query_one("#caption", TextArea).text.strip()
        if f is None or text == visible(f["caption"] or "").strip():
            return False
        if self._guard(self.app.store.set_caption, f["id"], text, actor=self.app.settings.actor):
            f.update(caption=text, caption_source="edited", caption_detail=None)
            self.notify(f"caption saved: {f['name']}", timeout=2)
            self._refresh_file_row(f)
            self._rejudge_caption(f"the caption edit of {f['name']}")
            return True
        return False

    def _rejudge_caption(self, what: str) -> None:
        """A caption changed on an approved or published set: judged again; the header and findings follow."""
        # the status as it is now, not as shown: another process may have approved it meanwhile
        said = self.app.store.get(self.submission_id)["status"] in ("approved", "published") \
            and self.rejudge(self.submission_id, what)
        self.sub = self.app.store.get(self.submission_id)  # this screen's own edit: its revision is shown
        if said:
            self.findings = self.app.store.checks(self.submission_id)
            self._render_findings()
            self._render_meta()

    def _refresh_file_row(self, f: dict) -> None:
        self.query_one("#files", FittedTable).set_cell(str(f["id"]), "src", Text(f["caption_source"] or "none"))

    def action_save_caption(self) -> None:
        if not self._save_if_modified():
            self.notify("caption unchanged", timeout=2)
        self.query_one("#files", DataTable).focus()

    def action_undo_caption(self) -> None:
        f = self.current_file()
        if f is None:
            return
        if self._guard(self.app.store.undo_caption, f["id"], actor=self.app.settings.actor):
            fresh = self.app.store.file(f["id"])
            f.update(caption=fresh["caption"], caption_source=fresh["caption_source"],
                     caption_detail=fresh["caption_detail"])
            self._show_file(f, force=True)
            self._refresh_file_row(f)
            self.notify("caption restored", timeout=2)
            self._rejudge_caption(f"the caption undo of {f['name']}")

    def action_toggle_validation(self) -> None:
        """Hold the highlighted image out for validation, or put it back into training."""
        f = self.current_file()
        if f is None:
            return
        split = "train" if f.get("split") == "validation" else "validation"
        if not self._guard(self.app.store.set_split, self.submission_id, [f["name"]], split,
                           actor=self.app.settings.actor):
            return
        from pmd_tui.decisions import rejudge_after_edit

        message = rejudge_after_edit(self.app.store, self.app.settings, self.submission_id,
                                     actor=self.app.settings.actor, what="validation split")
        self.notify(message or f"{f['name']}: {split}", timeout=3)
        self.refresh_data()

    # -- findings ---------------------------------------------------------------------------------
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id in (None, "none"):
            return
        finding = self.findings[int(event.option.id)]
        if not finding["files"]:
            self.notify(f"{finding['rule']} concerns no particular file", timeout=3)
            return
        self.only = (finding["rule"], set(finding["files"]))
        self._render_files()
        files = self.query_one("#files", DataTable)
        files.move_cursor(row=0)
        files.focus()
        if not self.visible_files:
            self.notify("its files are not images (see the message)", timeout=3)

    def action_focus_findings(self) -> None:
        if self.has_class("-zoom"):
            self.action_zoom()
        if self.side_mode == "details":
            self.action_side()
        self.query_one("#findings", OptionList).focus()

    def action_back(self) -> None:
        if self.has_class("-zoom"):
            self.action_zoom()
            return
        caption = self.query_one("#caption", TextArea)
        if caption.has_focus:
            self._save_if_modified()
            self.query_one("#files", DataTable).focus()
            return
        if self.only is not None:
            self.only = None
            self._render_files()
            return
        self._save_if_modified()
        self.app.pop_screen()

    # -- changing the submission in place (core services in pmd_tui.fixes / bulk_captions) ----------
    def _selected_finding(self) -> dict | None:
        """The highlighted finding when the findings list has focus, else the one whose files are shown."""
        ol = self.query_one("#findings", OptionList)
        if ol.has_focus and ol.highlighted is not None and self.findings:
            return self.findings[ol.highlighted]
        if self.only is not None:
            return next((f for f in self.findings if f["rule"] == self.only[0]), None)
        return None

    def _changed(self, text: str) -> None:
        self.notify(literal(text).plain, timeout=6)
        self.refresh_data()

    def action_exclude(self) -> None:
        from pmd_tui.fixes import set_excluded

        store, settings, sid = self.app.store, self.app.settings, self.submission_id
        finding = self._selected_finding()
        if finding is not None and self.query_one("#findings", OptionList).has_focus:
            names = [f["name"] for f in self.files if f["name"] in set(finding["files"]) and not f.get("excluded")]
            if not names:
                self.notify(f"{finding['rule']} names no image to exclude", timeout=3)
                return

            def confirmed(yes: bool) -> None:
                if yes:
                    out = self._run(set_excluded, store, settings, sid, names, True, reason=f"finding {finding['rule']}")
                    if out is not None:
                        self._changed(out.summary("excluded"))

            from pmd_tui.tui.screens.dialogs import ConfirmDialog
            from pmd_tui.tui.screens.edits import _names

            self.app.push_screen(ConfirmDialog(f"Exclude the {len(names)} image(s) of {finding['rule']}?",
                                               _names(names, 40) + "\n\nThey stay staged and in the log, are never "
                                               "published, and X restores each one.", confirm_label="Exclude"),
                                 confirmed)
            return
        f = self.current_file()
        if f is None:
            return
        excluded = not f.get("excluded")
        out = self._run(set_excluded, store, settings, sid, [f["name"]], excluded)
        if out is not None:
            self._changed(out.summary("excluded" if excluded else "restored"))

    def _run(self, fn, *args, **kwargs):
        from pmd_tui.errors import PmdError

        try:
            return fn(*args, **kwargs)
        except PmdError as exc:
            self.app.notify(str(exc), severity="error", timeout=8)
            return None

    def action_fix(self) -> None:
        from pmd_tui import fixes
        from pmd_tui.tui.screens.edits import FixDialog

        store, settings, sid = self.app.store, self.app.settings, self.submission_id
        finding = self._selected_finding()
        if finding is not None and finding["rule"] == "readme.trigger-word" and finding["status"] != "pass":
            self.action_bulk_captions(preset="add-trigger")
            return
        last = fixes.last_fix(store, sid)
        undo_label = f"{fixes.LABELS.get(last['detail']['op'], last['detail']['op'])} on " \
                     f"{len(last['detail']['changes'])} image(s)" if last else None
        ops = list(fixes.FIXES.get(finding["rule"], ())) if finding and finding["status"] != "pass" else []
        names = [f["name"] for f in self.files if finding and f["name"] in set(finding["files"]) and not f.get("excluded")]
        if not (ops and names):
            if undo_label is None:
                which = finding["rule"] if finding else "none selected (ctrl+f, then a finding)"
                self.notify(f"no fix for {which}; X excludes a finding's images", timeout=4)
                return
            ops, names = [], []

        def chosen(result: dict | None) -> None:
            if not result:
                return
            if result.get("undo"):
                out = self._run(fixes.undo_fix, store, settings, sid)
                if out is not None:
                    self._changed(out.summary("restored"))
            elif result["op"] == "keep":
                out = self._run(fixes.keep_as_is, store, settings, sid, finding["rule"], names)
                if out is not None:
                    self._changed(f"recorded: {len(names)} image(s) of {finding['rule']} stay as they are")
            else:
                out = self._run(fixes.apply_fix, store, settings, sid, result["op"], names,
                                background=result.get("background"))
                if out is not None:
                    self._changed(out.summary("fixed"))

        self.app.push_screen(FixDialog(finding["rule"] if ops else None, names,
                                       [(op, fixes.LABELS[op]) for op in ops], undo_label), chosen)

    def action_bulk_captions(self, preset: str = "add-trigger") -> None:
        from pmd_tui import bulk_captions as bulk
        from pmd_tui.captioning.service import first_trigger
        from pmd_tui.tui.screens.edits import BulkCaptionDialog, CaptionPreviewDialog

        self._save_if_modified()
        store, settings, sid = self.app.store, self.app.settings, self.submission_id
        last = bulk.last_bulk(store, sid)
        undo_label = f"{last['detail']['op']} on {last['detail']['captions']} caption(s)" if last else None

        def chosen(result: dict | None) -> None:
            if not result:
                return
            if result.get("undo"):
                text = self._run(bulk.undo, store, settings, sid)
                if text is not None:
                    self._changed(text)
                return
            op = result.pop("op")
            # a user's pattern runs off the event loop (bounded by bulk_captions' time limits), so the app
            # stays responsive and quits on ctrl+q, SIGTERM and SIGHUP while a preview is computed
            self.run_worker(lambda: preview_in_thread(op, result), thread=True, exclusive=True,
                            group="bulk-preview", name="bulk caption preview")

        def preview_in_thread(op: str, result: dict) -> None:
            from pmd_tui.errors import PmdError

            try:
                p = bulk.plan(store, sid, op, **result)
            except PmdError as exc:
                self.app.call_from_thread(self.app.notify, str(exc), severity="error", timeout=8)
                return
            finally:
                store.close()  # this thread's connection
            self.app.call_from_thread(show_preview, op, p)

        def show_preview(op: str, p) -> None:
            if not self.is_attached:
                return
            if p.empty:
                self.notify(f"{bulk.OPERATIONS[op]}: no caption would change", timeout=4)
                return
            rows = [(c.name, c.old, c.new) for c in p.changes]
            rows += [(f"[{k.replace('_', ' ')}]", old, new) for k, (old, new) in p.fields.items()]

            def confirmed(yes: bool) -> None:
                if yes:
                    text = self._run(bulk.apply, store, settings, p)
                    if text is not None:
                        self._changed(text)

            self.app.push_screen(CaptionPreviewDialog(f"Preview: {p.describe()}", rows, p.unchanged), confirmed)

        self.app.push_screen(BulkCaptionDialog(self.sub, first_trigger(self.sub["trigger_words"]), preset,
                                               undo_label), chosen)
