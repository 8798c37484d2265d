"""Biometric data on request: ``forget`` deletes a submission's face-identity embeddings."""

from __future__ import annotations

import click

from pmd_tui.cli.common import Context, handle_errors, info


@click.command()
@click.argument("submission_id", type=int)
@click.pass_obj
@handle_errors
def forget(obj: Context, submission_id):
    """Delete the face-identity embeddings of a submission's images from the queue database.

    They are not computed again for it (its likeness.* identity findings say so); face boxes, counts and
    every other result stay. Other submissions with the same image files compute theirs again on their next
    screening."""
    store = obj.store
    sub = store.get(submission_id)
    deleted = store.forget_identity(submission_id, actor=obj.settings.actor)
    info(f"forgot the face-identity embeddings of #{submission_id} ({deleted} image record(s) deleted)")
    if sub["status"] in ("new", "checked"):
        from pmd_tui.checks.engine import run_checks

        run_checks(store, obj.settings, [submission_id])
