"""Caption operations over a whole submission, previewed before they are applied, and undoable.

``plan`` computes every caption (and readme or trigger-word field) an operation would change, without
changing anything; ``apply`` writes a plan in one transaction (refusing it when a caption changed since the
preview); ``undo`` puts back the latest one. Each caption change is an ordinary ``caption-edited`` event (so
``u`` on one image undoes it there too) tied to one ``captions-bulk`` event that describes the operation.
Excluded images are left alone. Captions keep their source (a prefixed Florence-2 caption is still one).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import regex

from pmd_tui.config import Settings
from pmd_tui.decisions import recheck_after_change
from pmd_tui.errors import InputError, StateError
from pmd_tui.store import QueueStore

# A user's pattern (from the CLI, the TUI or a preset) may backtrack catastrophically, e.g. ``(a+)+$``: the
# `regex` module stops a match after this long, so no pattern can hang the CLI or freeze the TUI.
PATTERN_TIMEOUT_S = 1.0
# ... and a whole preview gives up after this long, so slow-but-finite matches over many captions cannot
# freeze the TUI either (the preview runs where the maintainer waits for it).
PLAN_BUDGET_S = 5.0

OPERATIONS = {
    "add-trigger": "add the trigger word where it is missing",
    "rename-trigger": "rename the trigger word in captions, readme and trigger words",
    "replace": "find and replace (plain text or a regular expression)",
    "normalise": "normalise whitespace and tag separators",
    "remove-tag": "remove a tag everywhere",
}


def user_pattern(find: str) -> regex.Pattern:
    """Compile a pattern someone typed; every way it can be malformed is one line."""
    try:
        return regex.compile(find)
    except (regex.error, OverflowError, ValueError, RecursionError, MemoryError) as exc:
        raise InputError(f"bad regular expression {find!r}: {str(exc) or type(exc).__name__}") from None


def bounded_sub(pattern: regex.Pattern, repl: str, text: str) -> str:
    """``pattern.sub`` that gives up after PATTERN_TIMEOUT_S instead of backtracking forever; it releases
    the GIL while it matches (``concurrent``), so the TUI's event loop keeps running beside it."""
    try:
        return pattern.sub(repl, text, timeout=PATTERN_TIMEOUT_S, concurrent=True)
    except TimeoutError:
        raise InputError(f"the pattern {pattern.pattern!r} took longer than {PATTERN_TIMEOUT_S:g} s on one "
                         "caption (catastrophic backtracking); simplify it") from None
    except (regex.error, IndexError, ValueError, OverflowError, MemoryError) as exc:
        raise InputError(f"bad replacement {repl!r}: {str(exc) or type(exc).__name__}") from None


def _one_trigger(word: str) -> None:
    """A trigger word is one word-like token: a comma or a line break would make it two tags."""
    if any(ch in word for ch in ",\n\r\t;") or any(ord(ch) < 32 for ch in word):
        raise InputError(f"{word!r} is not one trigger word (no comma, semicolon or line break; "
                         "give one trigger per argument)")


@dataclass
class Change:
    file_id: int
    name: str
    old: str
    new: str


@dataclass
class Plan:
    submission_id: int
    op: str
    args: dict
    changes: list[Change] = field(default_factory=list)
    fields: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # submission field -> (old, new)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not self.changes and not self.fields

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items() if v not in (None, False, ""))
        return f"{self.op}" + (f" ({args})" if args else "")

    def lines(self) -> list[str]:
        """Every change as ``old -> new`` lines, for a preview or ``--dry-run``."""
        out = []
        for c in self.changes:
            out += [f"{c.name}:", f"  - {c.old}", f"  + {c.new}"]
        for key, (old, new) in self.fields.items():
            out += [f"[{key.replace('_', ' ')}]:", f"  - {old or ''}", f"  + {new or ''}"]
        return out


def _word(word: str) -> re.Pattern:
    """A whole word or phrase, case-insensitive (so ``sks`` does not match inside ``tasks``)."""
    return re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)


def _tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",")]


def normalise(text: str) -> str:
    """One space between words, ``", "`` between tags, no empty tags, no stray separators at the ends."""
    text = re.sub(r"\s+", " ", text).strip()
    if "," in text:
        text = ", ".join(t for t in _tags(text) if t)
    return text


def _edit_fn(op: str, args: dict, trigger: str | None):
    if op == "add-trigger":
        word = (args.get("word") or trigger or "").strip()
        if not word:
            raise InputError("no trigger word: give one, or set the submission's trigger words (m / pmd-tui edit)")
        _one_trigger(word)
        args["word"] = word
        pattern = _word(word)
        suffix = bool(args.get("suffix"))

        def add(text: str) -> str:
            if pattern.search(text):
                return text
            if not text.strip():
                return word
            return f"{text.rstrip().rstrip(',')}, {word}" if suffix else f"{word}, {text.lstrip()}"

        return add
    if op == "rename-trigger":
        old, new = (args.get("old") or "").strip(), (args.get("new") or "").strip()
        if not old or not new:
            raise InputError("rename needs the old and the new trigger word")
        _one_trigger(old)
        _one_trigger(new)
        pattern = _word(old)
        return lambda text: pattern.sub(lambda _m: new, text)
    if op == "replace":
        find, repl = args.get("find") or "", args.get("replace") or ""
        if not find:
            raise InputError("replace needs the text to find")
        if args.get("regex"):
            pattern = user_pattern(find)
            try:
                pattern.sub(repl, "", timeout=PATTERN_TIMEOUT_S)
            except (regex.error, IndexError, ValueError, OverflowError) as exc:
                raise InputError(f"bad replacement {repl!r}: {exc}") from None
            return lambda text: bounded_sub(pattern, repl, text)
        return lambda text: text.replace(find, repl)
    if op == "normalise":
        return normalise
    if op == "remove-tag":
        tag = (args.get("tag") or "").strip()
        if not tag:
            raise InputError("name the tag to remove")
        low = tag.lower()

        def remove(text: str) -> str:
            if "," not in text:
                return "" if text.strip().lower() == low else text
            return ", ".join(t for t in _tags(text) if t and t.lower() != low)

        return remove
    raise InputError(f"unknown caption operation {op!r}; one of {', '.join(OPERATIONS)}")


def plan(store: QueueStore, submission_id: int, op: str, **args) -> Plan:
    """What ``op`` would change; nothing is written."""
    sub = store.get(submission_id)
    from pmd_tui.captioning.service import first_trigger

    args = {k: v for k, v in args.items() if v is not None}
    fn = _edit_fn(op, args, first_trigger(sub["trigger_words"]))
    p = Plan(submission_id, op, args)
    deadline = time.monotonic() + PLAN_BUDGET_S
    for f in store.files(submission_id, "image"):
        if f["excluded"] or f["caption"] is None:
            continue
        if time.monotonic() > deadline:
            raise InputError(f"{op} took longer than {PLAN_BUDGET_S:g} s over the captions; nothing was "
                             "changed (simplify the pattern)")
        new = fn(f["caption"])
        if new != f["caption"]:
            p.changes.append(Change(f["id"], f["name"], f["caption"], new))
        else:
            p.unchanged += 1
    if op == "rename-trigger":
        for key in ("trigger_words", "readme_text"):
            value = sub.get(key)
            if value:
                new = fn(value)
                if new != value:
                    p.fields[key] = (value, new)
        if not sub.get("trigger_words") or "trigger_words" not in p.fields:
            words = [w.strip() for w in (sub.get("trigger_words") or "").split(",") if w.strip()]
            if args["new"].lower() not in (w.lower() for w in words):
                p.fields["trigger_words"] = (sub.get("trigger_words"), ", ".join([args["new"], *words]))
    return p


def apply(store: QueueStore, settings: Settings, p: Plan, *, actor: str | None = None) -> str:
    """Write a previewed plan as one undoable operation; returns a one-line summary."""
    actor = actor or settings.actor
    if p.empty:
        return "nothing to change"
    sid = p.submission_id
    with store.transaction():
        for c in p.changes:
            if store.file(c.file_id)["caption"] != c.old:
                raise StateError(f"the caption of {c.name} changed since the preview; preview again")
        sub = store.get(sid)
        for key, (old, _new) in p.fields.items():
            if sub.get(key) != old:
                raise StateError(f"the {key.replace('_', ' ')} changed since the preview; preview again")
        first = store.last_event_id()
        for c in p.changes:
            f = store.file(c.file_id)
            store.set_caption(c.file_id, c.new, actor=actor, source=f["caption_source"] or "edited",
                              detail=f["caption_detail"], bulk=p.op)
        if p.fields:
            store.update_fields(sid, {k: new for k, (_old, new) in p.fields.items()}, actor=actor)
        events = store.event_ids_after(sid, first)
        store.log(sid, "captions-bulk", actor, op=p.op, args=p.args, events=events, captions=len(p.changes),
                  fields={k: list(v) for k, v in p.fields.items()})
    text = f"{OPERATIONS[p.op]}: {len(p.changes)} caption(s) changed"
    if p.fields:
        text += " and " + ", ".join(k.replace("_", " ") for k in p.fields)
    message = recheck_after_change(store, settings, sid, actor=actor, what=f"bulk caption edit ({p.op})")
    return text + (f"; {message}" if message else "")


def last_bulk(store: QueueStore, submission_id: int) -> dict | None:
    events = [e for e in store.events(submission_id) if e["action"] in ("captions-bulk", "captions-bulk-undone")]
    undone = {e["detail"].get("undoes") for e in events if e["action"] == "captions-bulk-undone"}
    return next((e for e in reversed(events) if e["action"] == "captions-bulk" and e["id"] not in undone), None)


def undo(store: QueueStore, settings: Settings, submission_id: int, *, actor: str | None = None) -> str:
    """Put back every caption and field the latest bulk operation changed (refused if one changed since)."""
    actor = actor or settings.actor
    bulk = last_bulk(store, submission_id)
    if bulk is None:
        raise StateError(f"#{submission_id}: no bulk caption change to undo")
    ids = set(bulk["detail"]["events"])
    edits = [e for e in store.events(submission_id) if e["id"] in ids and e["action"] == "caption-edited"]
    fields = bulk["detail"].get("fields") or {}
    with store.transaction():
        for e in edits:
            f = store.file(e["detail"]["file_id"])
            if f["caption"] != e["detail"]["new"]:
                raise StateError(f"the caption of {f['name']} changed after that operation; undo that first")
        sub = store.get(submission_id)
        for key, (_old, new) in fields.items():
            if sub.get(key) != new:
                raise StateError(f"the {key.replace('_', ' ')} changed after that operation")
        for e in edits:
            d = e["detail"]
            store.set_caption(d["file_id"], d.get("old"), actor=actor, source=d.get("old_source") or "submitted",
                              detail=d.get("old_detail"), action="caption-undone", undoes=e["id"])
        if fields:
            store.update_fields(submission_id, {k: old for k, (old, _new) in fields.items()}, actor=actor)
        store.log(submission_id, "captions-bulk-undone", actor, undoes=bulk["id"], op=bulk["detail"]["op"])
    text = f"undid {bulk['detail']['op']}: {len(edits)} caption(s) restored"
    message = recheck_after_change(store, settings, submission_id, actor=actor,
                                   what=f"undoing a bulk caption edit ({bulk['detail']['op']})")
    return text + (f"; {message}" if message else "")
