"""The samples growth suspects are computed over in a session, and when.

Live, a session keeps the session's recent samples in :class:`LiveSamples`:
bounded (at most ``MAX_SAMPLES`` samples, and at most ``BUDGET`` buffer
entries over all of them, never fewer than the window), and lean: each sample
keeps only what :func:`dmabuf_top.analysis.suspects.find_suspects` reads (every
buffer's size, exporter, name and holder pids; every process's comm and start
time, as a reused pid is another process; the time; which holders hold by GEM
handle only), and a buffer that did not
change since the previous sample is the same object, so a steady scene costs
one dict per sample. ``suspects.py`` caches its per-sample sums by snapshot, so
a refresh computes only the new sample.

In a recording the samples up to the one shown are used as they are.
Either way nothing is reported before the window is full: "grew across the
last N samples" needs N samples.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from dmabuf_top.analysis.accounting import changed_buffers, name_pattern
from dmabuf_top.analysis.suspects import Suspect, find_suspects
from dmabuf_top.model import Buffer, GemHandle, Holder, Process, Snapshot

#: what a lean sample keeps of a holder's GEM handles: that it has one
_LEAN_HANDLE = GemHandle(-1, -1)


def suspects_over(snapshots: Sequence[Snapshot], window: int) -> list[Suspect]:
    """Suspects over ``snapshots`` (oldest first, the one shown last); none
    until there are ``window`` samples."""
    if window < 2 or len(snapshots) < window:
        return []
    return find_suspects(snapshots, window=window)


class PatternCache:
    """``name_pattern`` per buffer name, remembered (names repeat between
    refreshes); forgets everything past ``limit`` names."""

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._known: dict[str | None, str | None] = {}

    def __call__(self, name: str | None) -> str | None:
        known = self._known
        try:
            return known[name]
        except KeyError:
            pass
        if len(known) >= self.limit:
            known.clear()
        p = known[name] = name_pattern(name)
        return p


class LiveSamples:
    """The session's recent samples (lean copies), oldest first."""

    MAX_SAMPLES = 300
    #: buffer entries over every kept sample (a 10,000-buffer scene keeps 100)
    BUDGET = 1_000_000

    def __init__(self, max_samples: int = MAX_SAMPLES, budget: int = BUDGET) -> None:
        self.max_samples = max_samples
        self.budget = budget
        self._samples: deque[Snapshot] = deque()
        self._entries = 0
        #: inode -> (what the sums read, the lean buffer, the buffer), of the last sample
        self._last: dict[int, tuple[Any, Buffer, Buffer]] = {}
        #: the last sample's buffers, and their lean copies
        self._buffers: dict[int, Buffer] = {}
        self._lean: dict[int, Buffer] = {}
        self._procs: dict[int, Process] = {}

    def __len__(self) -> int:
        return len(self._samples)

    def snapshots(self) -> list[Snapshot]:
        return list(self._samples)

    def add(self, snap: Snapshot, keep_at_least: int = 0) -> Snapshot:
        """Keep a lean copy of ``snap``; drop the oldest samples past the
        bounds (but keep ``keep_at_least``). Returns the copy."""
        last = self._last
        seen: dict[int, tuple[Any, Buffer, Buffer]] = {}
        buffers: dict[int, Buffer] = {}
        gone, came, in_order = changed_buffers(snap.buffers, self._buffers)
        unchanged = not gone and not came and in_order  # every buffer the very one
        if unchanged:
            seen, buffers = last, dict(self._lean)
        for inode, b in () if unchanged else snap.buffers.items():
            old = last.get(inode)
            if old is not None and old[2] is b:  # the very buffer (assemble reused it)
                seen[inode] = old
                buffers[inode] = old[1]
                continue
            pids = tuple(h.pid for h in b.holders)
            # holders by GEM handle only stay apart (no Pss, their handle bytes)
            by_handle: tuple[int, ...] = ()
            for h in b.holders:
                if h.handles and h.by_handle_only:
                    by_handle += (h.pid,)
            sig = (b.size, b.exporter, b.name, pids, by_handle)
            if old is not None and old[0] == sig:
                lean = old[1]
            else:
                lean = Buffer(inode, b.size, b.exporter, b.name, holders=[
                    Holder(pid, handles=[_LEAN_HANDLE] if pid in by_handle else [])
                    for pid in pids
                ])
            seen[inode] = (sig, lean, b)
            buffers[inode] = lean
        self._last, self._buffers, self._lean = seen, snap.buffers, buffers
        procs: dict[int, Process] = {}
        known = self._procs
        for pid, p in snap.processes.items():
            q = known.get(pid)
            if q is None or q.comm != p.comm or q.start_time != p.start_time:
                q = Process(pid, p.comm, start_time=p.start_time)
            procs[pid] = q
        self._procs = procs
        lean_snap = Snapshot(taken_at=snap.taken_at, boot_id=snap.boot_id, buffers=buffers,
                             processes=procs)
        self._samples.append(lean_snap)
        self._entries += len(buffers)
        keep = max(keep_at_least, 1)
        while len(self._samples) > keep and (
            len(self._samples) > self.max_samples or self._entries > self.budget
        ):
            self._entries -= len(self._samples.popleft().buffers)
        return lean_snap
