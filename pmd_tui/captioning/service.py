"""Captioning the images that have no caption, as a pipeline the CLI and the TUI's worker both run, for
every captioner family (Florence-2, JoyCaption, Qwen2.5-VL) alike.

A loader thread decodes images (a pool, JPEG draft mode) and runs the processor for the next batch while
the model generates the current one, so the GPU does not wait on Pillow. Captions are written to the
queue when each batch finishes, in one transaction, so a crash, a cancel or a kill loses at most one
batch and a re-run continues with the images that still have none. An output that is empty, only the
prompt again or one repeated token is a failure for that image, never a caption.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pmd_tui.captioning.florence import MAX_NEW_TOKENS, FlorenceCaptioner
from pmd_tui.captioning.model import FAMILIES, MODEL_FLAG, Captioner, ModelError, load_captioner
from pmd_tui.captioning.presets import Plan, resolve
from pmd_tui.captioning.quality import rejection
from pmd_tui.config import Settings
from pmd_tui.errors import PmdError
from pmd_tui.imaging.decode import try_load_rgb
from pmd_tui.jobs import Job, JobReport, Progress
from pmd_tui.model_runtime import BatchBackoff, is_oom, locate
from pmd_tui.store import QueueStore


@dataclass
class CaptionReport(JobReport):
    captioned: int = 0
    failed: list[str] = field(default_factory=list)  # "#id name: why"
    reasons: Counter = field(default_factory=Counter)  # why -> how many images
    submissions: list[int] = field(default_factory=list)
    seconds: float = 0.0
    batch_size: int = 0
    cancelled: bool = False
    method: str = ""
    reopened: list[str] = field(default_factory=list)  # approved/published sets judged again (messages)

    @property
    def rate(self) -> float:
        return self.captioned / self.seconds if self.seconds else 0.0

    def fail(self, item: "Item", why: str) -> None:
        self.failed.append(f"#{item.submission_id} {item.name}: {why}")
        self.reasons[why.split(" (")[0]] += 1

    def failure_summary(self) -> str:
        """"2 failed: 1 the model returned an empty caption, 1 cannot be decoded"."""
        if not self.failed:
            return ""
        why = ", ".join(f"{n} {reason}" for reason, n in self.reasons.most_common())
        return f"{len(self.failed)} failed: {why}"


@dataclass
class Item:
    submission_id: int
    file_id: int
    name: str
    path: Path
    trigger: str | None
    concept_type: str | None = None


def default_batch_size(device: str) -> int:
    return {"cuda": 16, "mps": 4}.get(device, 2)


def pending(store: QueueStore, ids: list[int], *, overwrite: bool = False, trigger: str | None = None,
            use_readme_trigger: bool = True) -> list[Item]:
    """Images without a caption (or all images with ``overwrite``), in queue order; excluded ones are skipped."""
    items = []
    for sid in ids:
        sub = store.get(sid)
        word = trigger if trigger is not None else (first_trigger(sub["trigger_words"]) if use_readme_trigger else None)
        staged = store.staged_dir(sub)
        for f in store.files(sid, "image"):
            if f["excluded"]:
                continue
            if overwrite or not (f["caption"] or "").strip():
                items.append(Item(sid, f["id"], f["name"], staged / f["name"], word or None, sub.get("concept_type")))
    return items


def first_trigger(words: str | None) -> str | None:
    """The first of a submission's trigger words (they are stored comma-separated)."""
    if not words:
        return None
    first = words.split(",")[0].strip()
    return first or None


def with_trigger(caption: str, trigger: str | None) -> str:
    """The caption with the trigger word in front, unless it already names it (instruction captioners do)."""
    if not trigger or caption.lower().startswith(trigger.lower()):
        return caption
    if re.search(rf"(?<!\w){re.escape(trigger)}(?!\w)", caption, re.I):
        return caption
    return f"{trigger}, {caption}" if caption else trigger


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Generator:
    """Generation through the shared out-of-memory back-off: the batch is halved and the size that fits kept."""

    def __init__(self, captioner: Captioner, plan: Plan, limit: int):
        self.captioner, self.plan = captioner, plan
        self.backoff = BatchBackoff(limit, captioner.device)
        self.max_new_tokens = MAX_NEW_TOKENS.get(plan.task) if isinstance(captioner, FlorenceCaptioner) else None

    def __call__(self, inputs, n: int) -> list[str]:
        def part(start: int, stop: int) -> list[str]:
            chunk = inputs if (start, stop) == (0, n) else self.captioner.split(inputs, start, stop)
            try:
                return self.captioner.generate(chunk, self.plan.options, max_new_tokens=self.max_new_tokens)
            except Exception as exc:
                if is_oom(exc):
                    raise
                raise ModelError(f"captioning failed on {self.captioner.device}: {_first_line(exc)}") from None

        return self.backoff.run(n, part)


def caption(store: QueueStore, settings: Settings, ids: list[int], *, preset: str | None = None,
            model: str | None = None, task: str | None = None, trigger: str | None = None,
            use_readme_trigger: bool = True, overwrite: bool = False, batch_size: int | None = None,
            device: str = "auto", num_beams: int | None = None, max_new_tokens: int | None = None,
            min_new_tokens: int | None = None, prompt: str | None = None, progress: Progress | None = None,
            cancel: threading.Event | None = None, captioner: Captioner | None = None) -> CaptionReport:
    """Caption the images of ``ids`` that have none. Only options that are set reach ``generate()``."""
    if batch_size is not None and batch_size < 1:
        raise PmdError("--batch-size must be at least 1")
    plan = resolve(settings, preset=preset, model=model, task=task, num_beams=num_beams,
                   max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens, prompt=prompt)
    items = pending(store, ids, overwrite=overwrite, trigger=trigger, use_readme_trigger=use_readme_trigger)
    report = CaptionReport()
    if not items:
        return report
    if captioner is None:
        locate(plan.model, "captioning model", flag=MODEL_FLAG)  # a clear error before anything else
    if progress:
        progress(0, len(items), f"loading {plan.model}")
    captioner = captioner or load_captioner(plan.model, device)
    chat = not isinstance(captioner, FlorenceCaptioner)
    if task is not None and chat:
        raise PmdError(f"--task is a Florence-2 option; {captioner.family} follows the instruction prompt "
                       "(--prompt, or [caption_prompts] in the config)")
    batch_size = batch_size or default_batch_size(captioner.device)
    report.batch_size = batch_size
    report.method = plan.method(captioner.family, chat)
    generate = _Generator(captioner, plan, batch_size)
    cancel = cancel or threading.Event()
    batches = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
    prefetch = _Prefetcher(captioner, batches, lambda it: captioner.prompt(
        plan.task, plan.instruction(it.trigger, it.concept_type)))
    started = time.perf_counter()
    touched: set[int] = set()
    done = 0
    try:
        prefetch.start()
        while True:
            if cancel.is_set():
                report.cancelled = True
                break
            payload = prefetch.next()
            if payload is None:
                break
            good, bad, inputs, error = payload
            if error is not None:
                raise ModelError(f"preparing images failed: {_first_line(error)}")
            texts = generate(inputs, len(good)) if good else []
            with store.transaction():
                for (it, _, asked), text in zip(good, texts):
                    if _store_caption(store, settings, report, captioner, plan, chat, it, asked, text):
                        touched.add(it.submission_id)
            for it, why in bad:
                report.fail(it, why)
            done += len(good) + len(bad)
            if progress:
                progress(done, len(items), rate_text(done, len(items), time.perf_counter() - started))
    finally:
        prefetch.stop()
        report.seconds = time.perf_counter() - started
        _finish(store, settings, report, touched)
    return report


def _store_caption(store: QueueStore, settings: Settings, report: CaptionReport, captioner: Captioner, plan: Plan,
                   chat: bool, it: Item, asked: str, text: str) -> bool:
    """Store one generated caption with how it was made; an empty or echoed output is a failure instead."""
    why = rejection(text, captioner.echoes(asked))
    if why:
        report.fail(it, why)
        return False
    store.set_caption(it.file_id, with_trigger(text, it.trigger), actor=settings.actor, source="generated",
                      detail=report.method, action="caption-generated", model=captioner.model_id,
                      task=plan.task if not chat else None, prompt=asked, preset=plan.label,
                      num_beams=plan.options.num_beams, max_new_tokens=plan.options.max_new_tokens)
    report.captioned += 1
    return True


def _finish(store: QueueStore, settings: Settings, report: CaptionReport, touched: set[int]) -> None:
    """Record the captioning method per set and judge captions added to an approved or published set again."""
    from pmd_tui.decisions import rejudge_after_edit

    for sid in sorted(touched):
        _record_method(store, sid, settings.actor)
    report.submissions = sorted(touched)
    for sid in report.submissions:
        said = rejudge_after_edit(store, settings, sid, actor=settings.actor, what="captioning")
        if said:
            report.reopened.append(said)


class _Prefetcher:
    """Decodes and prepares the next batches on a thread while the model generates (at most two wait).

    Each payload is ``(good, bad, inputs, error)``: ``good`` the (item, image, prompt) that decoded, ``bad``
    the (item, why) that did not, ``inputs`` the processor's tensors, ``error`` a processor failure, which
    the consumer reports. ``None`` ends the stream.
    """

    def __init__(self, captioner: Captioner, batches: list[list[Item]], prompt_for: Callable[[Item], str]):
        self.captioner, self.batches, self.prompt_for = captioner, batches, prompt_for
        self.ready: queue.Queue = queue.Queue(maxsize=2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._load_all, name="pmd-caption-loader", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def next(self):
        return self.ready.get()

    def stop(self) -> None:
        """Stop the loader (it may be blocked on a full queue) and wait for it."""
        self.stopping.set()
        while self.thread.is_alive():
            try:
                self.ready.get(timeout=0.1)
            except queue.Empty:
                pass
        if self.thread.ident is not None:
            self.thread.join()

    def _load_all(self) -> None:
        # on a CPU the model already uses every core: one decoder thread, so it does not compete
        workers = 4 if self.captioner.device != "cpu" else 1
        size = self.captioner.image_size
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pmd-decode") as pool:
            for batch in self.batches:
                if self.stopping.is_set():
                    break
                # at most twice the model's input size: the processor's resize stays cheap
                decoded = list(pool.map(lambda it: try_load_rgb(it.path, size * 2), batch))
                self._put(self._prepare(batch, decoded))
        self.ready.put(None)

    def _prepare(self, batch: list[Item], decoded: list):
        good = [(it, im, self.prompt_for(it)) for it, im in zip(batch, decoded) if not isinstance(im, str)]
        bad = [(it, why) for it, why in zip(batch, decoded) if isinstance(why, str)]
        try:
            inputs = self.captioner.prepare([im for _, im, _ in good], [p for _, _, p in good]) if good else None
            return good, bad, inputs, None
        except Exception as exc:  # a processor failure is reported by the consumer
            return good, bad, None, exc

    def _put(self, payload) -> None:
        while not self.stopping.is_set():
            try:
                self.ready.put(payload, timeout=0.2)
                return
            except queue.Full:
                continue


def rate_text(done: int, total: int, elapsed: float) -> str:
    if not done or elapsed <= 0:
        return ""
    rate = done / elapsed
    eta = int((total - done) / rate) if rate else 0
    return f"{rate:.2f} img/s, ETA {eta // 60}:{eta % 60:02d}"


def _record_method(store: QueueStore, submission_id: int, actor: str) -> None:
    """The submission's captioning method lists the methods of its generated captions (each caption records
    its own), after the contributor's method when hand-written captions remain; it goes into the readme."""
    files = store.files(submission_id, "image")
    generated = [f["caption_detail"] for f in files if f["caption_source"] == "generated" and f["caption_detail"]]
    methods = list(dict.fromkeys(generated))
    others = any(f["caption_source"] not in (None, "generated") and (f["caption"] or "").strip() for f in files)
    current = store.get(submission_id)["caption_method"] or ""
    hand = [p.strip() for p in current.split(" + ") if p.strip() and not _is_generated_method(p.strip())]
    method = " + ".join((hand if others else []) + methods)
    if method and method != current:
        store.update_fields(submission_id, {"caption_method": method}, actor=actor)


def _is_generated_method(text: str) -> bool:
    return any(text == family or text.startswith(f"{family} (") for family in FAMILIES)


def caption_job(store: QueueStore, settings: Settings, ids: list[int], **options) -> Job:
    """Captioning as a job; the model stays loaded for the next one."""

    def job(progress, cancel) -> CaptionReport:
        report = caption(store, settings, ids, progress=progress, cancel=cancel, **options)
        if not report.captioned and not report.failed and not report.cancelled:
            report.text = "every image already has a caption"
            return report
        text = f"captioned {report.captioned} image(s) at {report.rate:.2f} img/s"
        if report.cancelled:
            text = "cancelled: " + text + "; run it again to continue"
        if report.failed:
            text += f"; {report.failure_summary()} (first: {report.failed[0]})"
        if report.reopened:
            text += "\n" + "\n".join(report.reopened)
        report.text = text
        return report

    return job
