"""Captioning the images that have no caption, as a pipeline the CLI and the TUI's worker both run.

A loader thread decodes images (a pool, JPEG draft mode) and runs the processor for the next batch while
the model generates the current one, so the GPU does not wait on Pillow. Captions are written to the
queue when each batch finishes, in one transaction, so a crash, a cancel or a kill loses at most one
batch and a re-run continues with the images that still have none.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pmd_tui.captioning.model import TASKS, Captioner, ModelError, load_captioner
from pmd_tui.config import Settings
from pmd_tui.errors import PmdError
from pmd_tui.imaging.decode import try_load_rgb
from pmd_tui.jobs import Job, JobReport, Progress
from pmd_tui.model_runtime import is_oom
from pmd_tui.store import QueueStore

METHOD = "Florence-2"


@dataclass
class CaptionReport(JobReport):
    captioned: int = 0
    failed: list[str] = field(default_factory=list)  # "#id name: why"
    submissions: list[int] = field(default_factory=list)
    seconds: float = 0.0
    batch_size: int = 0
    cancelled: bool = False
    reopened: list[str] = field(default_factory=list)  # approved/published sets judged again (messages)

    @property
    def rate(self) -> float:
        return self.captioned / self.seconds if self.seconds else 0.0


@dataclass
class Item:
    submission_id: int
    file_id: int
    name: str
    path: Path
    trigger: str | None


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
                items.append(Item(sid, f["id"], f["name"], staged / f["name"], word or None))
    return items


def first_trigger(words: str | None) -> str | None:
    """The first of a submission's trigger words (they are stored comma-separated)."""
    if not words:
        return None
    first = words.split(",")[0].strip()
    return first or None


def with_trigger(caption: str, trigger: str | None) -> str:
    if not trigger or caption.lower().startswith(trigger.lower()):
        return caption
    return f"{trigger}, {caption}" if caption else trigger


def _slice(inputs, start: int, stop: int):
    from transformers import BatchFeature

    return BatchFeature({k: v[start:stop] for k, v in inputs.items()})


def _is_oom(exc: BaseException) -> bool:
    return is_oom(exc)


class _Generator:
    """Generation that halves the batch on out-of-memory and remembers the size that fits."""

    def __init__(self, captioner: Captioner, task: str, num_beams: int, max_new_tokens: int | None, limit: int,
                 min_new_tokens: int | None = None):
        self.captioner, self.task, self.num_beams, self.max_new_tokens = captioner, task, num_beams, max_new_tokens
        self.min_new_tokens = min_new_tokens
        self.limit = limit

    def __call__(self, inputs, n: int) -> list[str]:
        out: list[str] = []
        start = 0
        while start < n:
            stop = min(n, start + self.limit)
            part = inputs if (start, stop) == (0, n) else _slice(inputs, start, stop)
            try:
                out += self.captioner.generate(part, self.task, num_beams=self.num_beams,
                                               max_new_tokens=self.max_new_tokens, min_new_tokens=self.min_new_tokens)
                start = stop
            except Exception as exc:
                if not _is_oom(exc):
                    raise ModelError(f"captioning failed on {self.captioner.device}: "
                                     f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
                import torch

                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                if stop - start <= 1:
                    raise ModelError(f"out of memory on {self.captioner.device} even with a batch of 1; "
                                     "free the GPU or use --device cpu") from None
                self.limit = max(1, (stop - start) // 2)
        return out


def caption(store: QueueStore, settings: Settings, ids: list[int], *, model: str | None = None,
            task: str = "detailed", trigger: str | None = None, use_readme_trigger: bool = True,
            overwrite: bool = False, batch_size: int | None = None, device: str = "auto", num_beams: int = 1,
            max_new_tokens: int | None = None, min_new_tokens: int | None = None, progress: Progress | None = None,
            cancel: threading.Event | None = None, captioner: Captioner | None = None) -> CaptionReport:
    if task not in TASKS:
        raise PmdError(f"unknown task {task!r}: use {', '.join(TASKS)}")
    items = pending(store, ids, overwrite=overwrite, trigger=trigger, use_readme_trigger=use_readme_trigger)
    report = CaptionReport()
    if not items:
        return report
    model = model or settings.caption_model
    if progress:
        progress(0, len(items), f"loading {model}")
    captioner = captioner or load_captioner(model, device)
    batch_size = batch_size or default_batch_size(captioner.device)
    if batch_size < 1:
        raise PmdError("--batch-size must be at least 1")
    report.batch_size = batch_size
    generate = _Generator(captioner, task, num_beams, max_new_tokens, batch_size, min_new_tokens)
    cancel = cancel or threading.Event()
    stop_loader = threading.Event()
    batches = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
    ready: queue.Queue = queue.Queue(maxsize=2)
    size = captioner.image_size

    def load_all() -> None:
        # on a CPU the model already uses every core: one decoder thread, so it does not compete
        workers = 4 if captioner.device != "cpu" else 1
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pmd-decode") as pool:
            for batch in batches:
                if stop_loader.is_set():
                    break
                # at most twice the model's input size: the processor's resize stays cheap
                decoded = list(pool.map(lambda it: try_load_rgb(it.path, size * 2), batch))
                good = [(it, im) for it, im in zip(batch, decoded) if not isinstance(im, str)]
                bad = [(it, why) for it, why in zip(batch, decoded) if isinstance(why, str)]
                try:
                    inputs = captioner.prepare([im for _, im in good], task) if good else None
                    payload = (good, bad, inputs, None)
                except Exception as exc:  # a processor failure is reported by the consumer
                    payload = (good, bad, None, exc)
                while not stop_loader.is_set():
                    try:
                        ready.put(payload, timeout=0.2)
                        break
                    except queue.Full:
                        continue
        ready.put(None)

    loader = threading.Thread(target=load_all, name="pmd-caption-loader", daemon=True)
    started = time.perf_counter()
    loader.start()
    touched: set[int] = set()
    done = 0
    try:
        while True:
            if cancel.is_set():
                report.cancelled = True
                break
            payload = ready.get()
            if payload is None:
                break
            good, bad, inputs, error = payload
            if error is not None:
                raise ModelError(f"preparing images failed: {error}")
            texts = generate(inputs, len(good)) if good else []
            actor = settings.actor
            with store.transaction():
                for (it, _), text in zip(good, texts):
                    store.set_caption(it.file_id, with_trigger(text, it.trigger), actor=actor, source="generated",
                                      detail=f"{captioner.model_id} {TASKS[task]}", action="caption-generated",
                                      model=captioner.model_id, task=task)
                    touched.add(it.submission_id)
            report.captioned += len(good)
            report.failed += [f"#{it.submission_id} {it.name}: {why}" for it, why in bad]
            done += len(good) + len(bad)
            if progress:
                progress(done, len(items), rate_text(done, len(items), time.perf_counter() - started))
    finally:
        stop_loader.set()
        while loader.is_alive():
            try:
                ready.get(timeout=0.1)
            except queue.Empty:
                pass
        loader.join()
        report.seconds = time.perf_counter() - started
        for sid in sorted(touched):
            _record_method(store, sid, settings.actor)
        report.submissions = sorted(touched)
        from pmd_tui.decisions import rejudge_after_edit

        for sid in report.submissions:  # captions added to an approved or published set are judged again
            said = rejudge_after_edit(store, settings, sid, actor=settings.actor, what="captioning")
            if said:
                report.reopened.append(said)
    return report


def rate_text(done: int, total: int, elapsed: float) -> str:
    if not done or elapsed <= 0:
        return ""
    rate = done / elapsed
    eta = int((total - done) / rate) if rate else 0
    return f"{rate:.2f} img/s, ETA {eta // 60}:{eta % 60:02d}"


def _record_method(store: QueueStore, submission_id: int, actor: str) -> None:
    """The submission's captioning method names Florence-2 (it goes into the published readme)."""
    current = store.get(submission_id)["caption_method"] or ""
    if METHOD.lower() in current.lower():
        return
    files = store.files(submission_id, "image")
    others = any(f["caption_source"] not in (None, "generated") and (f["caption"] or "").strip() for f in files)
    method = f"{current} + {METHOD}" if current and others else METHOD
    store.update_fields(submission_id, {"caption_method": method}, actor=actor)


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
            text += f"; {len(report.failed)} could not be read"
        if report.reopened:
            text += "\n" + "\n".join(report.reopened)
        report.text = text
        return report

    return job
