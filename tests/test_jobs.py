"""The one job contract: progress, a cancel token and a report, the same for every long task."""

import pytest

from pmd_tui.errors import InputError
from pmd_tui.jobs import Cancelled, CancelToken, JobReport, run_job
from tests.helpers import kohya_set, make_zip


def add(store, settings, tmp_path, name, n=2):
    from pmd_tui.intake.service import add_source

    return add_source(store, settings, make_zip(tmp_path / f"{name}.zip", kohya_set(n, prefix=name)))


def test_run_job_turns_cancel_and_errors_into_reports():
    def cancelled(progress, cancel):
        raise Cancelled("publishing cancelled after 1 of 3")

    def broken(progress, cancel):
        raise InputError("no submission with id 9\nsecond line")

    r = run_job(cancelled)
    assert r.cancelled and r.ok and r.summary() == "publishing cancelled after 1 of 3"
    r = run_job(broken)
    assert not r.ok and r.summary() == "no submission with id 9"
    r = run_job(lambda progress, cancel: "a summary line from an older job")
    assert r.ok and r.summary() == "a summary line from an older job"
    r = run_job(lambda progress, cancel: JobReport(text="done 3", cancelled=True))
    assert r.summary() == "cancelled: done 3"


def test_check_job_stops_between_submissions_and_keeps_what_is_done(tmp_path, store, settings):
    from pmd_tui.checks.engine import check_job, run_checks

    ids = [add(store, settings, tmp_path, n) for n in ("a", "b", "c")]
    token = CancelToken()
    seen = []

    def progress(done, total, what):
        seen.append((done, total, what))
        if what == f"checked #{ids[0]}":
            token.set()

    report = run_job(check_job(store, settings, ids), progress, token)
    assert report.cancelled and list(report.results) == [ids[0]]
    assert report.summary().startswith("cancelled: checked 1 submission(s) of 3")
    assert [store.get(i)["status"] for i in ids] == ["checked", "new", "new"]
    assert seen[-1] == (1, 3, f"checked #{ids[0]}")
    # the plain function keeps its contract: a cancel is an exception (exit status 130 in the CLI)
    with pytest.raises(Cancelled) as exc:
        run_checks(store, settings, ids, cancel=token)
    assert exc.value.exit_code == 130
    report = run_job(check_job(store, settings, ids))
    assert not report.cancelled and sorted(report.results) == ids


def test_publish_job_cancel_is_a_cancelled_report(tmp_path, store, settings):
    from pmd_tui.decisions import approve
    from pmd_tui.publish.service import publish_job

    sid = add(store, settings, tmp_path, "p")
    from pmd_tui.checks.engine import run_checks

    run_checks(store, settings, [sid])
    store.attest(sid, actor="t", likeness="not-a-likeness", artist_ok=True)
    approve(store, settings, sid, override="test")
    token = CancelToken()
    token.set()
    report = run_job(publish_job(store, settings, [sid], to_dir=str(tmp_path / "out")), cancel=token)
    assert report.cancelled and report.summary() == "publishing cancelled after 0 of 1"
    assert store.get(sid)["status"] == "approved"
    report = run_job(publish_job(store, settings, [sid], to_dir=str(tmp_path / "out")))
    assert not report.cancelled and report.summary().startswith("published 1, unchanged 0")


def test_batch_backoff_halves_on_out_of_memory_and_remembers():
    from pmd_tui.model_runtime import BatchBackoff, ModelError

    calls = []

    def run(start, stop):
        calls.append(stop - start)
        if stop - start > 3:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return list(range(start, stop))

    backoff = BatchBackoff(16, "cuda")
    assert backoff.run(10, run) == list(range(10))
    assert calls == [10, 5, 2, 2, 2, 2, 2] and backoff.limit == 2
    assert backoff.run(3, run) == [0, 1, 2] and calls[-2:] == [2, 1]
    with pytest.raises(ModelError, match="even with a batch of 1"):
        BatchBackoff(4, "cuda").run(2, lambda a, b: (_ for _ in ()).throw(RuntimeError("out of memory")))
    with pytest.raises(ValueError):
        BatchBackoff(4, "cuda").run(2, lambda a, b: (_ for _ in ()).throw(ValueError("a real bug")))
