"""The app's data state, without Textual: the backend (and its recording ability), the
session's history and recent samples, its events, the data shown; ``prepare()`` builds
the next rows off the UI thread (tui/refresher.py runs it)."""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmabuf_top.analysis.accounting import GroupSums, ProcessSums
from dmabuf_top.analysis.history import BufferLife, History, Series
from dmabuf_top.analysis.lifecycle import BufferStory, buffer_stories
from dmabuf_top.analysis.samples import LiveSamples, suspects_over
from dmabuf_top.analysis.suspects import DEFAULT_WINDOW, remember_sums
from dmabuf_top.collect.contract import Backend, SamplesUpTo, recording_of
from dmabuf_top.collect.selfstats import CostMeter, ToolCost
from dmabuf_top.model import DmabufEvent
from dmabuf_top.report.live_columns import column
from dmabuf_top.report.live_rows import (
    Prepared,
    account,
    plan_sync,
    prepare,
    record,
    same_rows,
)
from dmabuf_top.report.row_order import ViewOrder, visible_rows
from dmabuf_top.timefmt import parse_time

if TYPE_CHECKING:
    from dmabuf_top.collect.bpf_events import EventSource

#: samples drawn in the header graph
GRAPH_SAMPLES = 120
#: exporters with a meter in the header
TOP_EXPORTERS = 3
#: live dma-buf events kept for the buffer pane (the oldest go first)
MAX_LIVE_EVENTS = 200_000


def top_exporters(prep: Prepared) -> tuple[tuple[str, int], ...]:
    """The largest exporters of the rows prepared: name, bytes."""
    stats = [r.obj.stats for r in prep.rows["exporters"] if r.mark != "freed"]
    stats.sort(key=lambda e: (-e.bytes, e.name))
    return tuple((e.name, e.bytes) for e in stats[:TOP_EXPORTERS])


class Session:
    """What the app shows and how it got it; screens read it, the app drives it."""

    def __init__(
        self,
        backend: Backend,
        suspect_window: int = DEFAULT_WINDOW,
        meter: CostMeter | None = None,
    ) -> None:
        self.backend = backend
        #: the tool's own cost between refreshes (live sources)
        self.meter = meter if meter is not None else CostMeter()
        #: its reading at the last refresh
        self.cost: ToolCost | None = None
        #: the backend's recording ability, when it holds several samples
        self.recording = recording_of(backend)
        #: growth suspects: grew across this many samples without falling back
        self.suspect_window = self.bound_window(suspect_window)
        #: live: the session's recent samples, for the suspects (collector thread)
        self.samples = LiveSamples()
        self.history = History(prune=self.recording is None)
        #: live: the buffers by exporter and name pattern, kept refresh after refresh
        self.groups = GroupSums()
        #: live: the per-process sums and byte totals, kept refresh after refresh
        self.sums = ProcessSums()
        #: the data on screen (set by the refresher, tui/refresher.py)
        self.prepared: Prepared | None = None
        #: the one sort and filter state of the views: the screen changes it,
        #: prepare() orders the next rows by it, off the UI thread
        self.order = ViewOrder()
        #: sizes as byte counts (the setup screen's units: bytes)
        self.raw_bytes = False
        #: live: this machine's dma-buf event source (watch_events), and what it gave
        self.event_source: EventSource | None = None
        self.live_events: list[DmabufEvent] = []
        #: live events let go of (the oldest, past MAX_LIVE_EVENTS): the number of
        #: live_events[0] among all the session took is this
        self.events_trimmed = 0
        #: one taker at a time (the scan thread, the UI thread), so events stay in order
        self._events_lock = threading.Lock()
        #: one line each: why something is not shown (the event source cannot run)
        self.notes: list[str] = []

    def watch_events(self, source: EventSource | None, why: str = "") -> None:
        """Keep the events ``source`` reads (each refresh takes them); None: a note
        saying ``why`` there are none."""
        self.event_source = source
        if source is None and why:
            self.notes.append(f"dma-buf events not watched: {why}")

    @property
    def events(self) -> Sequence[DmabufEvent]:
        """The dma-buf events of the session: a recording's, or those watched live."""
        if self.event_source is not None:
            return self.live_events
        return getattr(self.backend, "events", ())

    def take_events(self) -> None:
        """Live: append the events the source read since the last take (any thread)."""
        source = self.event_source
        if source is None:
            return
        with self._events_lock:
            self.live_events += source.take()
            over = len(self.live_events) - MAX_LIVE_EVENTS
            if over > 0:
                del self.live_events[:over]
                self.events_trimmed += over

    @property
    def events_lost(self) -> int:
        """Events the kernel could not queue: live so far, or as the files recorded."""
        if self.event_source is not None:
            return self.event_source.lost
        return int(getattr(self.backend, "events_lost", 0))

    def recent_events(self, limit: int) -> tuple[int, list[DmabufEvent]]:
        """(the number of the first, the last ``limit`` events) in time order: live, all
        taken so far; in a recording, those up to the sample shown. Numbers count from
        the session's (or the files') first event: a key that stays with its event."""
        if self.event_source is not None:
            with self._events_lock:
                events = self.live_events[-limit:] if limit > 0 else []
                return self.events_trimmed + len(self.live_events) - len(events), events
        every = self.events
        prep = self.prepared
        until = parse_time(prep.snap.taken_at) if prep is not None and self.recording else None
        end = len(every) if until is None else bisect_right(every, until, key=lambda e: e.time)
        start = max(0, end - max(0, limit))
        return start, list(every[start:end])

    def buffer_story(self, inode: int) -> BufferStory | None:
        """What the events say of one buffer, up to the sample shown."""
        prep = self.prepared
        until = parse_time(prep.snap.taken_at) if prep is not None and self.recording else None
        with self._events_lock:  # the UI thread asks: keep it short
            mine = [e for e in self.events if e.inode == inode]
        return buffer_stories(mine, until=until).get(inode)

    def bound_window(self, window: int) -> int:
        """``window`` as a suspects window: at least 2 samples, at most a recording's."""
        if self.recording is not None:
            window = min(window, self.recording.sample_count)
        return max(2, window)

    @property
    def is_recording(self) -> bool:
        return self.recording is not None

    @property
    def sample_count(self) -> int:
        return self.recording.sample_count if self.recording is not None else 1

    @property
    def sample_index(self) -> int:
        return self.recording.index if self.recording is not None else 0

    def prepare(self, sample: int | None = None, redo: bool = False) -> Prepared:
        """Collector thread: one snapshot, accounted, recorded, rows built (and
        ordered as the screen shows them: :attr:`order`), growth suspects found
        (live: over the session's recent samples; in a recording: over the samples
        up to the one shown). ``redo``: the sample shown again (the suspect window
        changed), no new scan."""
        shown = self.prepared
        prep = self._prepare(sample, redo)
        sorts, flt = dict(self.order.sort), self.order.row_filter  # (one read of each)
        text = flt.text if flt is not None else ""
        for view, (key, rev) in sorts.items():
            order = (key, rev, text)
            before = shown.ordered.get(view) if shown is not None else None
            if (before is not None and before[0] == order
                    and shown is not None and same_rows(prep.rows[view], shown.rows[view])):
                rows = before[1]  # nothing in the view changed: nor does its order
            else:
                rows = visible_rows(prep.rows[view], column(view, key), rev, flt)
            prep.ordered[view] = (order, rows)
            # what changed from the rows shown (if a table holds them), or from none
            prep.plans[view] = plan_sync(rows, before[1] if before is not None else None)
        prep.graph = self.history.totals_series(upto=prep.sample, last=GRAPH_SAMPLES)
        prep.exporters = top_exporters(prep)
        return prep

    def _prepare(self, sample: int | None, redo: bool) -> Prepared:
        previous = self.prepared
        window = self.suspect_window
        rec = self.recording
        if rec is None:
            if redo and previous is not None:
                seq = self.samples.snapshots()
                return prepare(
                    previous.snap, self.history, previous, sample=previous.sample,
                    suspects=suspects_over(seq, window), window=window, have=len(seq),
                    raw_bytes=self.raw_bytes,
                )
            snap = self.backend.collect()
            self.take_events()
            self.cost = self.meter.read()  # since the refresh before: scans, UI, all
            fig = account(snap, self.groups, self.sums)  # (once: the rows' and suspects' sums)
            lean = self.samples.add(snap, keep_at_least=window)
            remember_sums(lean, fig.procs, [e.stats for e in fig.exporters], fig.names)
            seq = self.samples.snapshots()
            return prepare(
                snap, self.history, previous,
                suspects=suspects_over(seq, window), window=window, have=len(seq),
                raw_bytes=self.raw_bytes, figures=fig,
            )
        index = rec.seek(rec.index if sample is None else sample)
        for j in range(self.history.samples, index):  # history in recording order
            record(rec.sample(j), self.history)
        snap = self.backend.collect()
        seq = SamplesUpTo(index + 1, rec.sample)  # rebuilt as the suspects ask
        at = index if self.history.samples > index else None
        return prepare(
            snap, self.history, previous, sample=at, suspects=suspects_over(seq, window),
            window=window, have=len(seq), raw_bytes=self.raw_bytes,
        )

    def rss_series(self, pid: int) -> Series:
        """A process's Rss over the samples up to the one shown."""
        prep = self.prepared
        return self.history.rss_series(pid, prep.sample if prep else None)

    def buffer_life(self, inode: int) -> BufferLife | None:
        prep = self.prepared
        return self.history.buffer_life(inode, prep.sample if prep else None)

    def first_rss(self, pid: int) -> int | None:
        with self.history.lock:
            return self.history.first_rss(pid)
