"""A recording as counter tracks (the trace exports): the total, buffer count and
kernel-only bytes, bytes per exporter, Rss and Pss per process, each a series of
(time, value) changes at the recording's own timestamps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dmabuf_top.analysis import accounting
from dmabuf_top.model import Snapshot
from dmabuf_top.textsafe import printable
from dmabuf_top.timefmt import parse_time


class CounterError(ValueError):
    """A recording that cannot be a trace; str() is one line."""


@dataclass
class Track:
    """One counter: what it counts and where it belongs."""

    #: ("total", "bytes"), ("exporter", NAME), ("process", PID, "rss")...
    key: tuple
    #: the track's name in a trace
    name: str
    #: "bytes" or "count"
    unit: str
    #: the process it belongs to (None: the device's own tracks)
    pid: int | None = None
    #: the process's name where it first held dma-bufs (escaped)
    comm: str = ""
    #: (seconds since the epoch, value): the first value and every change
    points: list[tuple[float, int]] = field(default_factory=list)


def _values(snap: Snapshot) -> dict[tuple, tuple[str, str, int | None, str, int]]:
    """key -> (name, unit, pid, comm, value) of every counter of one sample."""
    stats = accounting.process_stats(snap)
    tot = accounting.totals(snap, stats)
    out: dict[tuple, tuple[str, str, int | None, str, int]] = {
        ("total", "bytes"): ("dmabuf total", "bytes", None, "", tot.bytes),
        ("total", "buffers"): ("dmabuf buffers", "count", None, "", tot.buffers),
        ("total", "kernel_only"): ("dmabuf kernel-only", "bytes", None, "",
                                   tot.kernel_only_bytes),
    }
    for e in accounting.exporter_stats(snap):
        name = printable(e.name)
        out[("exporter", e.name)] = (f"dmabuf exporter {name}", "bytes", None, "", e.bytes)
    for p in stats:
        comm = printable(p.comm)
        out[("process", p.pid, "rss")] = ("dmabuf rss", "bytes", p.pid, comm, p.rss)
        out[("process", p.pid, "pss")] = ("dmabuf pss", "bytes", p.pid, comm, p.pss)
    return out


def counter_tracks(samples: Sequence[Snapshot]) -> list[Track]:
    """Every counter of the recording, in the order they first appear. A counter
    that is gone from a sample (an exporter with no buffers left, a process that
    let go of all of them) drops to 0 there."""
    tracks: dict[tuple, Track] = {}
    for i, snap in enumerate(samples):
        t = parse_time(snap.taken_at)
        if t is None:
            raise CounterError(f"sample {i + 1} has no time (taken_at {snap.taken_at!r})")
        now = _values(snap)
        for key, (name, unit, pid, comm, value) in now.items():
            tr = tracks.get(key)
            if tr is None:
                tr = tracks[key] = Track(key, name, unit, pid, comm)
            if not tr.points or tr.points[-1][1] != value:
                tr.points.append((t, value))
        for key, tr in tracks.items():
            if key not in now and tr.points[-1][1] != 0:
                tr.points.append((t, 0))
    return list(tracks.values())


def value_at(track: Track, t: float) -> int:
    """The counter's value at time ``t`` (0 before its first point)."""
    v = 0
    for when, value in track.points:
        if when > t:
            break
        v = value
    return v
