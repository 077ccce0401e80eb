"""The archive pipeline's registry of report writes still running in the thread pool."""

from __future__ import annotations

from twisted.internet.defer import Deferred, fail

from crawler.pipelines import PendingReports

KEY = ("putian-tjj", "https://www.putian.gov.cn/nb/a.htm")


def test_waiting_for_a_report_with_no_write_running_fires_at_once():
    fired = []
    PendingReports().after(KEY).addCallback(fired.append)
    assert fired == [None]


def test_waiters_fire_after_every_write_of_their_report_and_results_pass_through():
    pending = PendingReports()
    first, second, other = Deferred(), Deferred(), Deferred()
    pending.track(KEY, first)
    pending.track(KEY, second)
    pending.track(("pingtan-gov", KEY[1]), other)
    fired, results = [], []
    pending.after(KEY).addCallback(lambda _: fired.append("attachment"))
    first.addCallback(results.append)
    first.callback("outcome 1")
    assert results == ["outcome 1"] and fired == []  # the second write still runs
    second.callback("outcome 2")
    assert fired == ["attachment"]
    assert not other.called  # another site's report with the same URL is unaffected
    fired.clear()
    pending.after(KEY).addCallback(lambda _: fired.append("later"))
    assert fired == ["later"]


def test_a_failed_write_releases_its_waiters_and_keeps_its_failure():
    pending = PendingReports()
    write = fail(RuntimeError("database gone"))
    pending.track(KEY, write)
    fired, errors = [], []
    pending.after(KEY).addCallback(fired.append)
    write.addErrback(lambda failure: errors.append(failure.value))
    assert fired == [None]
    assert isinstance(errors[0], RuntimeError)
