"""How runs and site crawls are closed when a crawl does not run to its end: stopped by a
signal, stopped because the archive failed, or left behind by a process that died -- and what
the monitor makes of such crawls (nothing)."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from alerts.health import assess_pending, site_health
from storage import leases
from storage.archive import abandon_stale_runs, finish_run, finish_site_crawl, get_run
from storage.models import CrawlHealth, CrawlLease, SiteCrawl

NOW = datetime(2026, 3, 1, 2, tzinfo=UTC)
HOST = socket.gethostname()
DEAD_PID = 2**22 + 4321  # above the usual pid_max: no such process


def _crawls(archive, run_id):
    with archive() as session:
        return {c.site.key: (c.status, c.finish_reason) for c in session.scalars(
            select(SiteCrawl).where(SiteCrawl.run_id == run_id))}


def test_a_failure_closes_the_run_as_failed_and_its_unfinished_crawls_as_interrupted(archive, new_run, sites):
    """The archive (or the WARC files) could not be written: the run is `failed` with the
    reason, a site crawl that had finished keeps its verdict, the others are `interrupted` --
    closed early by the stop or never closed at all -- with the failure as their reason."""
    a, b = sites
    run_id = new_run()
    with archive() as session, session.begin():
        finish_site_crawl(session, run_id, a.key, pages=3, finish_reason="shutdown", failed=False,
                          interrupted=True)
        run = finish_run(session, run_id, failure="the archive could not be written: disk full")
    assert run.status == "failed" and run.finished_at is not None
    reason = "stopped: the archive could not be written: disk full"
    assert _crawls(archive, run_id) == {a.key: ("interrupted", reason), b.key: ("interrupted", reason)}


def test_an_interrupted_site_crawl_stays_interrupted_whatever_it_fetched(archive, new_run, sites):
    """Closed with the reason `shutdown` (Ctrl-C): `interrupted`, even with no list page read --
    not `failed`, which would make the monitor call the site unreachable."""
    a, b = sites
    run_id = new_run()
    with archive() as session, session.begin():
        finish_site_crawl(session, run_id, a.key, pages=0, finish_reason="shutdown", failed=True, interrupted=True)
        finish_site_crawl(session, run_id, b.key, pages=5, finish_reason="finished", failed=False)
        assert finish_run(session, run_id, interrupted=True).status == "interrupted"
    assert _crawls(archive, run_id) == {a.key: ("interrupted", "shutdown"), b.key: ("ok", "finished")}


def test_distributed_workers_an_ok_or_failed_part_outweighs_an_interrupted_one(archive, new_run, sites):
    a, b = sites
    run_id = new_run()
    with archive() as session, session.begin():
        for key, failed in ((a.key, False), (b.key, True)):
            finish_site_crawl(session, run_id, key, pages=1, finish_reason="shutdown", failed=False,
                              accumulate=True, interrupted=True)
            finish_site_crawl(session, run_id, key, pages=1, finish_reason="finished", failed=failed,
                              accumulate=True)
            finish_site_crawl(session, run_id, key, pages=1, finish_reason="shutdown", failed=False,
                              accumulate=True, interrupted=True)
    assert {k: s for k, (s, _) in _crawls(archive, run_id).items()} == {a.key: "ok", b.key: "failed"}


def test_only_runs_whose_every_lease_is_dead_are_abandoned(archive, new_run, sites):
    """Three runs still `running`: one whose process is gone (its lease names a dead pid on
    this host), one whose lease expired (a machine we cannot check), one whose crawl is alive
    (a live lease, even next to an expired one). Only the first two are closed: `abandoned`,
    their running site crawls too with the reason, their totals summed; the live one stays."""
    a, b = sites
    dead_run, expired_run, live_run = new_run(), new_run(), new_run()
    with archive() as session, session.begin():
        finish_site_crawl(session, dead_run, a.key, pages=4, finish_reason="finished", failed=False)
        for key, holder, acquired in (
            (a.key, f"{HOST}:{DEAD_PID}:x", NOW),
            (b.key, "elsewhere:1:y", NOW - timedelta(hours=7)),
        ):
            run_id = dead_run if key == a.key else expired_run
            assert leases.acquire(session, key, holder, now=acquired) is not None
            leases.bind_run(session, [key], holder, run_id)
        # The live run: a lease of ours (this process is alive) on a third key, plus an expired one.
        leases.acquire(session, "third-site", f"{HOST}:{os.getpid()}:z", now=NOW)
        leases.bind_run(session, ["third-site"], f"{HOST}:{os.getpid()}:z", live_run)
        leases.acquire(session, "fourth-site", "elsewhere:2:w", now=NOW - timedelta(hours=7))
        leases.bind_run(session, ["fourth-site"], "elsewhere:2:w", live_run)

    with archive() as session:
        states = leases.run_lease_states(session, NOW)
    assert states == {
        dead_run: f"process died (pid {DEAD_PID} is gone)",
        expired_run: "process died (lease expired)",
        live_run: None,
    }
    closed = leases.close_abandoned_runs(archive, now=NOW)
    assert sorted(closed) == [dead_run, expired_run]
    assert leases.close_abandoned_runs(archive, now=NOW) == []  # nothing left to close

    with archive() as session:
        runs = {run_id: get_run(session, run_id) for run_id in (dead_run, expired_run, live_run)}
        assert (runs[dead_run].status, runs[dead_run].pages) == ("abandoned", 4)
        assert runs[expired_run].status == "abandoned" and runs[expired_run].finished_at is not None
        assert runs[live_run].status == "running"
        held = {lease.site_key for lease in session.scalars(select(CrawlLease))}
    assert held == {"third-site", "fourth-site"}  # the dead runs' leases are gone
    assert _crawls(archive, dead_run) == {
        a.key: ("ok", "finished"), b.key: ("abandoned", f"process died (pid {DEAD_PID} is gone)")}
    assert set(_crawls(archive, expired_run).values()) == {("abandoned", "process died (lease expired)")}


def test_abandon_stale_runs_leaves_closed_runs_alone(archive, new_run, sites):
    run_id = new_run()
    with archive() as session, session.begin():
        status = finish_run(session, run_id).status
        assert abandon_stale_runs(session, {run_id: "process died (lease expired)"}, now=NOW) == []
        assert get_run(session, run_id).status == status != "abandoned"


def test_release_gives_back_bound_and_unbound_leases_and_release_quietly_only_unbound(archive, new_run, sites):
    holder = f"{HOST}:{os.getpid()}:r"
    run_id = new_run()
    with archive() as session, session.begin():
        leases.acquire(session, "s1", holder)
        leases.acquire(session, "s2", holder)
        assert leases.bind_run(session, ["s1"], holder, run_id) == f"{holder}:run{run_id}"
    leases.release_quietly(archive, ["s1", "s2"], holder)
    with archive() as session:
        assert [lease.site_key for lease in session.scalars(select(CrawlLease))] == ["s1"]
    leases.release(archive, ["s1"], holder)
    with archive() as session:
        assert session.scalars(select(CrawlLease)).all() == []


def test_the_monitor_takes_no_verdict_from_interrupted_or_abandoned_crawls(archive, new_run, sites):
    """A site found fine by a complete crawl stays fine when later crawls were interrupted with
    nothing read (which, judged, would say unreachable) or abandoned."""
    a, _ = sites
    ok_run = new_run((a.key,))
    with archive() as session, session.begin():
        finish_site_crawl(session, ok_run, a.key, pages=3, finish_reason="finished", failed=False)
        finish_run(session, ok_run)
    stopped_run = new_run((a.key,))
    with archive() as session, session.begin():
        finish_site_crawl(session, stopped_run, a.key, pages=0, finish_reason="shutdown", failed=True,
                          interrupted=True)
        finish_run(session, stopped_run, interrupted=True)
    abandoned_run = new_run((a.key,))
    with archive() as session, session.begin():
        abandon_stale_runs(session, {abandoned_run: "process died (lease expired)"})
    with archive() as session, session.begin():
        judged = assess_pending(session)
        assert [row.run_id for row in judged] == [ok_run]
        health = site_health(session, [a.key])[a.key]
        assert (health.state, health.run_id) == ("ok", ok_run)
        assert len(session.scalars(select(CrawlHealth)).all()) == 1
