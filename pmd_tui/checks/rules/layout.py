"""Archive safety and the kohya layout (submission rule 5)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePosixPath

from pmd_tui.checks.model import CheckContext, finding, names, plural

RULES = (
    "archive.unsafe",
    "format.nested-folders",
    "format.missing-caption",
    "format.orphan-caption",
    "format.name-collision",
    "format.unsupported-file",
    "format.attribution-files",
    "format.folder-size",
)

# the Hub keeps at most 10,000 entries in one folder
MAX_FOLDER_FILES = 10_000


def check(ctx: CheckContext) -> list[dict]:
    """One finding per rule, in the order of RULES."""
    return [rule(ctx) for rule in (_unsafe_entries, _nested_folders, _missing_captions, _orphan_captions,
                                   _name_collisions, _unsupported_files, _attribution_files, _folder_size)]


def _unsafe_entries(ctx: CheckContext) -> dict:
    refused = [n for n in ctx.notes if n["kind"] == "refused"]
    if not refused:
        return finding("archive.unsafe", "pass", "no unsafe archive entries")
    detail = "; ".join(f"{n['path']}: {n['detail']}" for n in refused[:3])
    more = f" (and {len(refused) - 3} more)" if len(refused) > 3 else ""
    return finding("archive.unsafe", "fail", f"{plural(len(refused), 'entry')} refused at intake: {detail}{more}",
                   entries=[{"path": n["path"], "reason": n["detail"]} for n in refused])


def _nested_folders(ctx: CheckContext) -> dict:
    folders = [n for n in ctx.notes if n["kind"] == "flattened"]
    if not folders:
        return finding("format.nested-folders", "pass", "all images in one folder")
    desc = ", ".join(f"{n['path']}/ ({n['detail']} images)" for n in folders)
    extra = ""
    if ctx.submission.get("repeats"):
        extra = f"; kohya repeats {ctx.submission['repeats']}, concept {ctx.submission.get('concept')!r}"
    renamed = [n for n in ctx.notes if n["kind"] == "renamed"]
    if renamed:
        extra += f"; {plural(len(renamed), 'image')} renamed to stay unique"
    return finding("format.nested-folders", "info", f"images came in sub-folders, flattened: {desc}{extra}",
                   [f["name"] for f in ctx.images if "/" in f["original_path"]])


def _missing_captions(ctx: CheckContext) -> dict:
    """Rule 6: every image is published with a caption; until then approval waits (or is overridden, and
    the uncaptioned images are left out of the published folder)."""
    missing = [f for f in ctx.images if not (f["caption"] or "").strip()]
    if not missing:
        return finding("format.missing-caption", "pass", "every image has a caption")
    todo = "caption them with Florence-2 (g, pmd-tui caption) or override; images without a caption are not published"
    if len(missing) == len(ctx.images):
        message = f"no captions (rule 6): {plural(len(missing), 'image')} to caption; {todo}"
    else:
        message = f"{plural(len(missing), 'image')} without a caption (rule 6): {names(missing)}; {todo}"
    return finding("format.missing-caption", "pending", message, [f["name"] for f in missing])


def _orphan_captions(ctx: CheckContext) -> dict:
    orphans = ctx.of_kind("orphan-caption")
    if not orphans:
        return finding("format.orphan-caption", "pass", "no caption without an image")
    return finding("format.orphan-caption", "warn", f"{plural(len(orphans), 'caption file')} with no image: "
                   f"{names(orphans)}", [f["name"] for f in orphans])


def _name_collisions(ctx: CheckContext) -> dict:
    """Two images whose names differ only by extension or case would share one caption file."""
    stems = defaultdict(list)
    for f in ctx.images:
        stems[PurePosixPath(f["name"]).stem.lower()].append(f["name"])
    clashes = [group for group in stems.values() if len(group) > 1]
    if not clashes:
        return finding("format.name-collision", "pass", "every image has its own caption name")
    desc = "; ".join(" + ".join(g) for g in clashes[:3])
    return finding("format.name-collision", "fail",
                   f"{plural(len(clashes), 'group')} of images would share one caption name: {desc}",
                   [n for g in clashes for n in g])


def _unsupported_files(ctx: CheckContext) -> dict:
    others = ctx.of_kind("other", "extra-caption")
    if not others:
        return finding("format.unsupported-file", "pass", "only images, captions and readme")
    kinds = sorted({PurePosixPath(f["name"]).suffix.lower() or f["name"] for f in others})
    return finding("format.unsupported-file", "warn", f"{plural(len(others), 'file')} that will not be published "
                   f"({', '.join(kinds)}): {names(others)}", [f["name"] for f in others])


def _attribution_files(ctx: CheckContext) -> dict:
    kept = ctx.of_kind("attribution")
    if not kept:
        return finding("format.attribution-files", "pass", "no licence or attribution files")
    return finding("format.attribution-files", "info", "licence and attribution files kept and published beside "
                   f"readme.txt: {names(kept, 6)}", [f["name"] for f in kept])


def _folder_size(ctx: CheckContext) -> dict:
    published = 2 * len(ctx.images) + 2 + len(ctx.of_kind("attribution"))  # image + caption, readme, metadata
    if published <= MAX_FOLDER_FILES:
        return finding("format.folder-size", "pass", f"{published:,} files in the published folder")
    return finding("format.folder-size", "fail", f"the published folder would hold {published:,} files; the Hub "
                   f"allows {MAX_FOLDER_FILES:,} per folder: split the dataset into several submissions",
                   count=published)
