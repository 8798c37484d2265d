"""Rule 1 (SFW only) from the SFW classifier's cached scores; a person decides on what it flags."""

from __future__ import annotations

from pmd_tui.checks.model import CheckContext, finding, names, plural
from pmd_tui.screening.service import enabled

RULES = ("safety.nsfw",)


def check(ctx: CheckContext) -> list[dict]:
    s = ctx.settings
    if not enabled(s.nsfw_model):
        return [finding("safety.nsfw", "info", "SFW screening is off (nsfw_model = \"off\" in the config)")]
    images = ctx.images
    scored = {f["name"]: ctx.screening.get(f["name"], {}).get("nsfw", {}).get("score") for f in images}
    missing = [n for n, v in scored.items() if v is None]
    flagged = sorted(((n, v) for n, v in scored.items() if v is not None and v >= s.nsfw_threshold),
                     key=lambda x: -x[1])
    if flagged:
        shown = ", ".join(f"{n} ({v:.2f})" for n, v in flagged[:4]) + (f" and {len(flagged) - 4} more" if len(flagged) > 4 else "")
        return [finding("safety.nsfw", "warn", f"{plural(len(flagged), 'image')} may not be SFW (rule 1; score >= "
                        f"{s.nsfw_threshold:g}): {shown}; look at them before approving",
                        [n for n, _ in flagged], scores={n: v for n, v in flagged})]
    if missing and len(missing) == len(images):
        return [finding("safety.nsfw", "info", "not screened yet: run `pmd-tui check --models` (M in the TUI)")]
    if missing:
        return [finding("safety.nsfw", "info", f"{plural(len(missing), 'image')} not screened yet "
                        f"({names(missing)}): run `pmd-tui check --models`", missing)]
    top = max(scored.values()) if scored else 0.0
    return [finding("safety.nsfw", "pass", f"{plural(len(images), 'image')} screened, highest score {top:.2f}")]
