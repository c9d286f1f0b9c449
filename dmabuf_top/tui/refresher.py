"""The refresh, without Textual: one scan at a time in a daemon thread of its own, pause
as a frozen copy, the work asked for while a scan runs, and the refresh interval.

The scan thread only posts its result, :class:`ScanDone` or :class:`ScanFailed`, through
the ``post`` callback the app gives; the app hands it back to :meth:`Refresher.landed` on
its UI thread, which shows it (or keeps it, paused) and starts the work that waited.
Pause is a frozen copy (as bottom's): the data shown stays as it was while a live
source is still scanned; resuming shows the newest scan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from dmabuf_top.analysis.accounting import Totals
from dmabuf_top.model import Snapshot
from dmabuf_top.report.live_rows import Prepared
from dmabuf_top.report.summary import cost_text
from dmabuf_top.tui.session import Session

#: refresh intervals that + and - step through (seconds)
INTERVALS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)


def step_interval(delay: float, direction: int) -> float:
    """The next interval up (``direction`` > 0) or down the ladder."""
    if direction > 0:
        return next((d for d in INTERVALS if d > delay + 1e-9), INTERVALS[-1])
    return next((d for d in reversed(INTERVALS) if d < delay - 1e-9), INTERVALS[0])


@dataclass(frozen=True)
class ScanDone:
    """A scan's rows, prepared. ``timed``: started by the refresh timer."""

    prepared: Prepared
    timed: bool = False


@dataclass(frozen=True)
class ScanFailed:
    """A scan failed: the first line of why (the data shown stays)."""

    message: str


ScanResult = ScanDone | ScanFailed


@dataclass
class Pending:
    """What was asked for while a scan ran: done once it has landed."""

    #: a sample step (recordings): the sample to show next
    sample: int | None = None
    #: the sample shown prepared again (the suspect window or the units changed)
    redo: bool = False
    #: ctrl+r: one more scan, whose result postdates the key
    refresh: bool = False


@dataclass
class HeaderState:
    """Everything the header shows; built by :meth:`Refresher.header_state`."""

    snap: Snapshot | None = None
    totals: Totals | None = None
    #: the backend's ``describe()``: host and kernel, device, or the file shown
    source: str = ""
    live: bool = True
    paused: bool = False
    delay: float = 2.0
    #: "sample i/n" when the backend holds a recording
    sample: str = ""
    #: the last refresh failed: its message (the data shown is older)
    failed: str = ""
    #: what the last scan and dmabuf-top cost (live sources): report.summary.cost_text
    cost: str = ""
    #: what loading the source left out (a recording cut mid-sample), a line each
    notes: tuple[str, ...] = ()
    #: the largest exporters: (name, bytes), largest first
    exporters: tuple[tuple[str, int], ...] = ()


class Refresher:
    """Scans ``session``'s backend one at a time; ``post`` takes each result (from the
    scan thread); :meth:`landed` applies it (UI thread)."""

    def __init__(self, session: Session, interval: float = 2.0,
                 post: Callable[[ScanResult], None] | None = None) -> None:
        self.session = session
        #: seconds between timed scans (a live source's)
        self.interval = interval
        self.post: Callable[[ScanResult], None] = post or (lambda result: None)
        #: a scan is running
        self.scanning = False
        #: the screen is frozen on the data shown when pause was pressed
        self.paused = False
        #: paused: the newest timed scan, shown on resume
        self.latest: Prepared | None = None
        #: the last scan failed: its message
        self.failed = ""
        self.pending = Pending()

    # -- asking for scans (UI thread) ------------------------------------------
    def request(self, sample: int | None = None, redo: bool = False,
                timed: bool = False) -> bool:
        """Start one scan unless one runs (then a sample step or a ``redo`` waits for
        it). ``redo``: no new scan, the sample shown prepared again. ``timed``: by
        the timer, so kept (not shown) if pause is pressed before it lands."""
        if self.scanning:
            if sample is not None:
                self.pending.sample = sample
            self.pending.redo = self.pending.redo or redo
            return False
        self.scanning = True
        threading.Thread(target=self._scan, args=(sample, redo, timed),
                         name="dmabuf-top-scan", daemon=True).start()
        return True

    def refresh_now(self) -> None:
        """ctrl+r: a scan now, or one more after the one running."""
        if not self.request():
            self.pending.refresh = True

    def tick(self) -> None:
        """The timer fired. Paused, a live source is scanned still (its history and
        suspects go on) and the screen stays; a file has nothing new to scan."""
        if self.session.backend.live or not self.paused:
            self.request(timed=True)

    def shown_sample(self) -> int:
        """The recording's sample shown, or the one a step asked for."""
        if self.pending.sample is not None:
            return self.pending.sample
        return self.session.sample_index

    def toggle_pause(self) -> None:
        """Pause (freeze the data shown) or resume (show the newest scan kept)."""
        self.paused = not self.paused
        latest, self.latest = self.latest, None
        if not self.paused and latest is not None and not self.scanning:
            self._show(latest)  # (a scan under way, from ctrl+r, is newer: wait for it)

    # -- the scan thread ---------------------------------------------------------
    def _scan(self, sample: int | None, redo: bool, timed: bool) -> None:
        try:
            result: ScanResult = ScanDone(self.session.prepare(sample, redo), timed)
        except Exception as e:  # any backend failure: keep the last good data
            text = str(e)
            result = ScanFailed(text.splitlines()[0] if text else type(e).__name__)
        self.post(result)

    # -- a result lands (UI thread) ------------------------------------------------
    def landed(self, result: ScanResult) -> bool:
        """Apply a scan's result; True when what is shown changed (data, failure)."""
        self.scanning = False
        if isinstance(result, ScanFailed):
            self.failed = result.message
            self._run_refresh()
            return True
        prepared = result.prepared
        if result.timed and self.paused:
            self.latest = prepared  # frozen: shown on resume (unless a newer one comes)
            self._run_refresh()
            return False
        self._show(prepared)
        pending, s = self.pending, self.session
        if pending.sample is not None:
            sample, pending.sample = pending.sample, None
            if sample != prepared.sample:
                pending.redo = False  # the new sample uses the new window
                self.request(sample)
                return True
        if pending.redo:
            pending.redo = False
            if (prepared.window, prepared.raw_bytes) != (s.suspect_window, s.raw_bytes):
                self.request(redo=True)
                return True
        self._run_refresh()
        return True

    def _show(self, prepared: Prepared) -> None:
        self.latest = None
        self.session.prepared = prepared
        self.failed = ""

    def _run_refresh(self) -> None:
        if self.pending.refresh and not self.scanning:
            self.pending.refresh = False
            self.request()

    # -- what the header shows -----------------------------------------------------
    def header_state(self) -> HeaderState:
        s = self.session
        prep = s.prepared
        sample = ""
        if s.recording is not None and prep is not None:
            sample = f"sample {s.sample_index + 1}/{s.sample_count}"
        live = s.backend.live
        return HeaderState(
            snap=prep.snap if prep else None,
            totals=prep.totals if prep else None,
            source=s.backend.describe() if prep else "",
            live=live,
            paused=self.paused,
            delay=self.interval,
            sample=sample,
            failed=self.failed,
            cost=cost_text(prep.snap, s.cost) if prep and live else "",
            notes=(*getattr(s.backend, "notes", ()), *s.notes),
            exporters=prep.exporters if prep else (),
        )
