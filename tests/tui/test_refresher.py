"""The refresher as a plain object, no Textual: a real scan thread per scan, its results
taken from the ``post`` callback (a queue here, the app's message queue in the app) and
handed to ``landed`` as the UI thread does: pause freezes what is shown, work asked for
while a scan runs waits for it, a failure is posted as ScanFailed."""

from __future__ import annotations

import queue
import threading

from dmabuf_top.collect.file import FileBackend
from dmabuf_top.io.loader import load_files
from dmabuf_top.model import Snapshot
from dmabuf_top.tui.refresher import Refresher, ScanDone, ScanFailed, ScanResult
from dmabuf_top.tui.session import Session
from tests.support.paths import DATA
from tests.support.synth import leak_series

#: seconds a scan thread may take to post (generous: the machine is shared)
POST_TIMEOUT = 60.0


class GatedBackend:
    """A live backend: scan n returns snapshot n, or raises it (an exception), once its
    gate (if any) is set; ``started`` counts the scans begun."""

    kind = "local"
    live = True

    def __init__(self, items: list[Snapshot | Exception],
                 gates: dict[int, threading.Event] | None = None) -> None:
        self.items = items
        self.gates = gates or {}
        self.started = 0

    def collect(self) -> Snapshot:
        self.started += 1
        n = self.started
        if n in self.gates:
            assert self.gates[n].wait(POST_TIMEOUT), f"scan {n}'s gate never opened"
        item = self.items[min(n, len(self.items)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    def describe(self) -> str:
        return "gated test backend"


def snaps(n: int) -> list[Snapshot]:
    return leak_series(n)


def refresher_of(backend) -> tuple[Refresher, queue.Queue[ScanResult]]:
    posted: queue.Queue[ScanResult] = queue.Queue()
    return Refresher(Session(backend), interval=2.0, post=posted.put), posted


def land_next(refresher: Refresher, posted: queue.Queue[ScanResult]) -> ScanResult:
    """The next result the scan thread posts, landed as the UI thread does."""
    result = posted.get(timeout=POST_TIMEOUT)
    refresher.landed(result)
    return result


def test_a_scan_posts_scan_done_and_landing_shows_it():
    items = snaps(1)
    refresher, posted = refresher_of(GatedBackend(items))
    assert refresher.request() and refresher.scanning
    result = posted.get(timeout=POST_TIMEOUT)
    assert isinstance(result, ScanDone) and result.prepared.snap is items[0]
    assert refresher.session.prepared is None  # nothing shown until it lands
    assert refresher.landed(result)
    assert refresher.session.prepared is result.prepared and not refresher.scanning


def test_pause_freezes_what_is_shown_and_resume_shows_the_newest():
    items = snaps(3)
    refresher, posted = refresher_of(GatedBackend(items))
    refresher.request()
    first = land_next(refresher, posted)
    refresher.toggle_pause()
    for _ in range(2):  # the timer goes on: a live source is still scanned
        refresher.tick()
        result = posted.get(timeout=POST_TIMEOUT)
        assert not refresher.landed(result)  # nothing new shown
        assert refresher.session.prepared is first.prepared
        assert refresher.latest is result.prepared
    assert refresher.header_state().paused
    refresher.toggle_pause()
    assert refresher.session.prepared.snap is items[2] and refresher.latest is None


def test_a_file_paused_is_not_scanned_by_the_timer():
    recording = FileBackend(load_files([DATA / "vm-6.1-leak.yaml"]))
    refresher, posted = refresher_of(recording)
    refresher.request()
    land_next(refresher, posted)
    refresher.toggle_pause()
    refresher.tick()
    assert not refresher.scanning and posted.empty()


def test_a_refresh_asked_during_a_scan_runs_once_it_has_landed():
    gates = {1: threading.Event()}
    backend = GatedBackend(snaps(2), gates)
    refresher, posted = refresher_of(backend)
    refresher.request()
    refresher.refresh_now()  # ctrl+r while scan 1 runs: not a second scan beside it
    refresher.tick()
    assert backend.started <= 1 and refresher.pending.refresh
    gates[1].set()
    land_next(refresher, posted)  # scan 1 lands: the pending one starts
    assert refresher.scanning and not refresher.pending.refresh
    second = land_next(refresher, posted)
    assert backend.started == 2 and refresher.session.prepared is second.prepared
    assert refresher.session.prepared.snap is backend.items[1]


def test_a_sample_step_during_a_scan_waits_and_then_is_shown():
    recording = FileBackend(load_files([DATA / "vm-6.1-leak.yaml"]))
    refresher, posted = refresher_of(recording)
    refresher.request()
    refresher.request(sample=3)  # while the first scan runs
    assert refresher.shown_sample() == 3
    land_next(refresher, posted)
    land_next(refresher, posted)
    assert refresher.session.prepared.sample == 3 and refresher.shown_sample() == 3


def test_a_failing_scan_posts_scan_failed_and_keeps_the_data_shown():
    items: list[Snapshot | Exception] = [*snaps(1), OSError("device gone\nsecond line")]
    refresher, posted = refresher_of(GatedBackend(items))
    refresher.request()
    shown = land_next(refresher, posted).prepared
    refresher.refresh_now()
    result = posted.get(timeout=POST_TIMEOUT)
    assert result == ScanFailed("device gone")
    assert refresher.landed(result)
    assert refresher.session.prepared is shown and refresher.failed == "device gone"
    assert refresher.header_state().failed == "device gone"
