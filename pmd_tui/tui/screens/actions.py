"""Decisions and edits offered on both the queue and the review screen, through the core services."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding

from pmd_tui.decisions import approve, blocking_findings, reject
from pmd_tui.errors import PmdError
from pmd_tui.store import Status
from pmd_tui.store.vocabulary import Severity, severity_rank
from pmd_tui.tui.screens.dialogs import AttestDialog, ConfirmDialog, MetadataDialog, ReasonDialog

# The footer shows the everyday ones; the rest are in help (?) and the command palette.
ACTION_BINDINGS = [
    Binding("c", "check", "Check"),
    Binding("a", "approve", "Approve"),
    Binding("r", "reject", "Reject"),
    Binding("t", "attest", "Attest consent"),
    Binding("m", "metadata", "Edit metadata", show=False),
    Binding("g", "caption", "Caption"),
    Binding("M", "screen", "Screen with models (SFW, faces, identities)", show=False),
    Binding("p", "publish", "Publish"),
    Binding("d", "publish_dry_run", "Publish dry run", show=False),
]


def footer_only(bindings: list[Binding], *keys: str) -> list[Binding]:
    """``bindings`` with only ``keys`` shown in the footer (every one stays in help and the palette)."""
    return [replace(b, show=b.key in keys) for b in bindings]


class SubmissionActions:
    """Mixin for screens with a current submission: ``current_id()`` and ``refresh_data()``."""

    def current_id(self) -> int | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def refresh_data(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def rejudge(self, sid: int, what: str) -> str | None:
        """An edit after approval is judged again; a change of status is said (and returned)."""
        from pmd_tui.decisions import rejudge_after_edit

        try:
            said = rejudge_after_edit(self.app.store, self.app.settings, sid, actor=self.app.settings.actor, what=what)
        except PmdError as exc:
            self.app.notify(str(exc), severity="error", timeout=8)
            return None
        if said:
            self.app.notify(said, severity="warning", timeout=10)
        return said

    def shown(self, sid: int) -> dict | None:
        """The submission as this screen shows it (the review screen's ``sub``, the queue's row), or None."""
        sub = getattr(self, "sub", None)
        if isinstance(sub, dict) and sub.get("id") == sid:
            return sub
        return next((r for r in getattr(self, "rows", None) or [] if r.get("id") == sid), None)

    def moved_on(self, sid: int) -> bool:
        """True when another process changed the submission since this screen showed it: the screen is
        refreshed and says what changed in one line, so the maintainer is asked again on what is now shown."""
        shown = self.shown(sid)
        if shown is None or "revision" not in shown:
            return False
        store = self.app.store
        now = store.get(sid)
        if (shown["revision"], shown["status"]) == (now["revision"], now["status"]):
            return False
        what = []
        if shown["status"] != now["status"]:
            what.append(f"it is now {now['status']} (was {shown['status']})")
        if shown["revision"] != now["revision"]:
            edits = [e for e in store.events(sid) if e["action"] in store.EDIT_ACTIONS]
            last = f", latest: {edits[-1]['action']} by {edits[-1]['actor']}" if edits else ""
            what.append(f"its content changed ({now['revision'] - shown['revision']} change(s){last})")
        self.refresh_data()
        self.app.notify(f"#{sid} changed meanwhile: {'; '.join(what)}. Look again.", severity="warning",
                        timeout=10)
        return True

    def _guard(self, fn, *args, **kwargs) -> bool:
        try:
            fn(*args, **kwargs)
            return True
        except PmdError as exc:
            self.app.notify(str(exc), severity="error", timeout=8)
            return False

    def action_check(self) -> None:
        sid = self.current_id()
        if sid is not None:
            self.app.check_submissions([sid])

    def action_approve(self) -> None:
        sid = self.current_id()
        if sid is None:
            return
        store, settings = self.app.store, self.app.settings
        if self.moved_on(sid):
            return
        sub = store.get(sid)
        said = {
            Status.NEW: f"#{sid} has not been checked yet: run the checks first (c)",
            Status.APPROVED: f"#{sid} {sub['name']} is already approved",
            Status.PUBLISHED: f"#{sid} {sub['name']} is already approved and published",
            Status.REJECTED: f"#{sid} {sub['name']} is rejected ({sub['status_reason'] or 'no reason given'}); "
                             "check it again (c) to re-open it before approving",
        }.get(sub["status"])
        if said:
            self.app.notify(said, severity="information" if sub["status"] in (Status.APPROVED, Status.PUBLISHED)
                            else "warning")
            return
        # the dialog judges this revision and these findings: the approval covers them and nothing newer
        revision = sub["revision"]
        blockers = blocking_findings(store, sid)
        seen = [c["rule"] for c in blockers]

        def done(ok: bool) -> None:
            self.app.notify(f"approved #{sid} {sub['name']}")
            self.app.tell_issue(sid, "approved")
            self.refresh_data()

        def decide(**kw) -> None:
            try:
                approve(store, settings, sid, revision=revision, seen=seen, **kw)
            except PmdError as exc:
                if not self.moved_on(sid):
                    self.app.notify(str(exc), severity="error", timeout=8)
                    self.refresh_data()
                return
            done(True)

        if blockers:
            detail = "Blocking findings:\n" + "\n".join(f"  {c['status']:<8} {c['rule']}: {c['message']}"
                                                       for c in blockers)

            def with_override(reason: str | None) -> None:
                if reason:
                    decide(override=reason)

            self.app.push_screen(ReasonDialog(f"Approve #{sid} {sub['name']} despite these findings?", [],
                                              detail=detail + "\n\nWrite why (recorded as an override of "
                                              "exactly these findings):",
                                              ok_label="Approve with override"), with_override)
        else:
            def confirmed(yes: bool) -> None:
                if yes:
                    decide()

            self.app.push_screen(ConfirmDialog(f"Approve #{sid} {sub['name']}?", confirm_label="Approve"), confirmed)

    def action_reject(self) -> None:
        sid = self.current_id()
        if sid is None:
            return
        store, settings = self.app.store, self.app.settings
        if self.moved_on(sid):
            return
        sub = store.get(sid)
        suggestions = [f"{c['rule']}: {c['message']}" for c in store.checks(sid)
                       if severity_rank(c["status"]) >= Severity.WARN.rank]
        suggestions += ["not SFW (rule 1)", "likeness without consent (rule 2)",
                        "artist has objected to training (rule 3)", "AI-upscaled images (rule 4)"]

        def rejected(reason: str | None) -> None:
            if reason and self._guard(reject, store, settings, sid, reason=reason):
                self.app.notify(f"rejected #{sid}: {reason}")
                self.app.tell_issue(sid, "rejected", reason=reason)
                self.refresh_data()

        self.app.push_screen(ReasonDialog(f"Reject #{sid} {sub['name']}", suggestions, ok_label="Reject"), rejected)

    def action_attest(self) -> None:
        sid = self.current_id()
        if sid is None:
            return
        store = self.app.store
        if self.moved_on(sid):
            return

        def saved(result: dict | None) -> None:
            if result is None:
                return
            if self._guard(store.attest, sid, actor=self.app.settings.actor, likeness=result["likeness"],
                           artist_ok=result["artist_ok"], same_person_ok=result.get("same_person_ok")):
                self.app.notify(f"attestation recorded for #{sid}")
                if store.get(sid)["status"] in (Status.NEW, Status.CHECKED):
                    self.app.check_submissions([sid])
                else:
                    self.rejudge(sid, "the attestation")
                self.refresh_data()

        self.app.push_screen(AttestDialog(store.get(sid)), saved)

    def action_metadata(self) -> None:
        sid = self.current_id()
        if sid is None:
            return
        store = self.app.store
        if self.moved_on(sid):
            return

        def saved(changes: dict | None) -> None:
            if changes and self._guard(store.update_fields, sid, changes, actor=self.app.settings.actor):
                self.app.notify(f"updated #{sid}: {', '.join(changes)}")
                self.rejudge(sid, f"the edit of {', '.join(changes)}")
                self.refresh_data()

        self.app.push_screen(MetadataDialog(store.get(sid)), saved)

    def action_screen(self) -> None:
        sid = self.current_id()
        if sid is not None:
            self.app.screen_submissions([sid])

    def action_caption(self) -> None:
        sid = self.current_id()
        if sid is None:
            return
        from pmd_tui.tui.screens.dialogs import CaptionDialog

        store = self.app.store
        images = store.files(sid, "image")
        missing = sum(1 for f in images if not (f["caption"] or "").strip())

        def chosen(options: dict | None) -> None:
            if options is None:
                return
            if not options["overwrite"] and not missing:
                self.app.notify("every image already has a caption (tick 'replace' to caption them again)")
                return
            self.app.caption_submissions([sid], preset=options["preset"], task=options["task"],
                                         trigger=options["trigger"], overwrite=options["overwrite"])

        self.app.push_screen(CaptionDialog(store.get(sid), missing, len(images), self.app.settings.caption_model),
                             chosen)

    def action_publish_dry_run(self) -> None:
        sid = self.current_id()
        if sid is None:
            return
        if self.app.store.get(sid)["status"] not in (Status.APPROVED, Status.PUBLISHED):
            self.app.notify(f"#{sid} is not approved: nothing would be published", severity="warning")
            return
        self.app.publish_submissions([sid], dry_run=True)

    def action_publish(self) -> None:
        sid = self.current_id()
        if sid is None:
            return
        sub = self.app.store.get(sid)
        if sub["status"] not in (Status.APPROVED, Status.PUBLISHED):
            self.app.notify(f"#{sid} is {sub['status']}: only approved submissions are published", severity="warning")
            return
        verb = "Publish" if sub["status"] == Status.APPROVED else "Update the published"

        def confirmed(yes: bool) -> None:
            if yes:
                self.app.publish_submissions([sid])

        self.app.push_screen(ConfirmDialog(f"{verb} #{sid} {sub['name']}?",
                                           f"to {self.app.publish_target_label()} (one commit; "
                                           "nothing is committed if it is unchanged)", confirm_label="Publish"),
                             confirmed)
