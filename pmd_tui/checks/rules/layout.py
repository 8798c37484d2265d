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
    out = []
    refused = [n for n in ctx.notes if n["kind"] == "refused"]
    if refused:
        detail = "; ".join(f"{n['path']}: {n['detail']}" for n in refused[:3])
        more = f" (and {len(refused) - 3} more)" if len(refused) > 3 else ""
        out.append(finding("archive.unsafe", "fail",
                           f"{plural(len(refused), 'entry')} refused at intake: {detail}{more}",
                           entries=[{"path": n["path"], "reason": n["detail"]} for n in refused]))
    else:
        out.append(finding("archive.unsafe", "pass", "no unsafe archive entries"))

    folders = [n for n in ctx.notes if n["kind"] == "flattened"]
    if folders:
        desc = ", ".join(f"{n['path']}/ ({n['detail']} images)" for n in folders)
        extra = ""
        if ctx.submission.get("repeats"):
            extra = f"; kohya repeats {ctx.submission['repeats']}, concept {ctx.submission.get('concept')!r}"
        renamed = [n for n in ctx.notes if n["kind"] == "renamed"]
        if renamed:
            extra += f"; {plural(len(renamed), 'image')} renamed to stay unique"
        out.append(finding("format.nested-folders", "info", f"images came in sub-folders, flattened: {desc}{extra}",
                           [f["name"] for f in ctx.images if "/" in f["original_path"]]))
    else:
        out.append(finding("format.nested-folders", "pass", "all images in one folder"))

    # rule 6: every image is published with a caption; until then approval waits (or is overridden, and
    # the uncaptioned images are left out of the published folder)
    missing = [f for f in ctx.images if not (f["caption"] or "").strip()]
    todo = "caption them with Florence-2 (g, pmd-tui caption) or override; images without a caption are not published"
    if missing and len(missing) == len(ctx.images):
        out.append(finding("format.missing-caption", "pending",
                           f"no captions (rule 6): {plural(len(missing), 'image')} to caption; {todo}",
                           [f["name"] for f in missing]))
    elif missing:
        out.append(finding("format.missing-caption", "pending",
                           f"{plural(len(missing), 'image')} without a caption (rule 6): {names(missing)}; {todo}",
                           [f["name"] for f in missing]))
    else:
        out.append(finding("format.missing-caption", "pass", "every image has a caption"))

    orphans = ctx.of_kind("orphan-caption")
    out.append(
        finding("format.orphan-caption", "warn",
                f"{plural(len(orphans), 'caption file')} with no image: {names(orphans)}", [f["name"] for f in orphans])
        if orphans else finding("format.orphan-caption", "pass", "no caption without an image")
    )

    stems = defaultdict(list)
    for f in ctx.images:
        stems[PurePosixPath(f["name"]).stem.lower()].append(f["name"])
    clashes = [group for group in stems.values() if len(group) > 1]
    if clashes:
        desc = "; ".join(" + ".join(g) for g in clashes[:3])
        out.append(finding("format.name-collision", "fail",
                           f"{plural(len(clashes), 'group')} of images would share one caption name: {desc}",
                           [n for g in clashes for n in g]))
    else:
        out.append(finding("format.name-collision", "pass", "every image has its own caption name"))

    others = ctx.of_kind("other", "extra-caption")
    if others:
        kinds = sorted({PurePosixPath(f["name"]).suffix.lower() or f["name"] for f in others})
        out.append(finding("format.unsupported-file", "warn",
                           f"{plural(len(others), 'file')} that will not be published ({', '.join(kinds)}): "
                           f"{names(others)}", [f["name"] for f in others]))
    else:
        out.append(finding("format.unsupported-file", "pass", "only images, captions and readme"))

    kept = ctx.of_kind("attribution")
    if kept:
        out.append(finding("format.attribution-files", "info",
                           f"licence and attribution files kept and published beside readme.txt: {names(kept, 6)}",
                           [f["name"] for f in kept]))
    else:
        out.append(finding("format.attribution-files", "pass", "no licence or attribution files"))

    published = 2 * len(ctx.images) + 2 + len(kept)  # image + caption each, readme.txt, metadata.jsonl
    if published > MAX_FOLDER_FILES:
        out.append(finding("format.folder-size", "fail",
                           f"the published folder would hold {published:,} files; the Hub allows "
                           f"{MAX_FOLDER_FILES:,} per folder: split the dataset into several submissions",
                           count=published))
    else:
        out.append(finding("format.folder-size", "pass", f"{published:,} files in the published folder"))
    return out
