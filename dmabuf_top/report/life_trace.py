"""Buffer lives in a Perfetto trace (report/trace_export.py): each buffer whose birth
the recorded events saw is a slice from its export to its release (or the trace's end),
on the tracks of its maker's process (lanes, so slices never overlap), with the maker,
importers, devices, inode, exporter and size as args, and an instant at each attach
and detach."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dmabuf_top.analysis.lifecycle import BufferStory

#: the slice and instant names
SLICE = "dma-buf"


def _who(comm: str, pid: int) -> str:
    return f"{comm} ({pid})"


def _lanes(lives: list[BufferStory], end: float) -> list[tuple[BufferStory, int]]:
    """(life, lane) with lives of one process on lanes where they never overlap."""
    free_at: list[float] = []
    out = []
    for life in sorted(lives, key=lambda lf: lf.maker.time):  # type: ignore[union-attr]
        start = life.maker.time  # type: ignore[union-attr]
        stop = life.released.time if life.released is not None else end
        lane = next((i for i, t in enumerate(free_at) if t <= start), len(free_at))
        if lane == len(free_at):
            free_at.append(stop)
        else:
            free_at[lane] = stop
        out.append((life, lane))
    return out


def add_lives(builder: Any, pb: Any, lives: dict[int, BufferStory], end: float,
              process_track: Callable[[int, str], int], new_uuid: Callable[[], int],
              sequence_id: int, clock_id: int) -> int:
    """Append the lives' tracks and events to ``builder``; ``process_track(pid, comm)``
    gives (making it when needed) a process's track uuid. Returns the slices added."""
    by_maker: dict[int, list[BufferStory]] = {}
    for life in lives.values():
        if life.maker is not None:
            by_maker.setdefault(life.maker.pid, []).append(life)
    events: list[tuple[float, int, Any]] = []  # (time, order, fill(track_event))
    count = 0
    for pid in sorted(by_maker):
        made = by_maker[pid]
        parent = process_track(pid, made[0].maker.comm)  # type: ignore[union-attr]
        lanes: dict[int, int] = {}
        for life, lane in _lanes(made, end):
            if lane not in lanes:
                lanes[lane] = uuid = new_uuid()
                pkt = builder.add_packet()
                pkt.trusted_packet_sequence_id = sequence_id
                pkt.track_descriptor.uuid = uuid
                pkt.track_descriptor.parent_uuid = parent
                pkt.track_descriptor.name = f"dma-bufs made ({lane + 1})"
            uuid = lanes[lane]
            stop = life.released.time if life.released is not None else end
            events.append((life.maker.time, 1, (uuid, "begin", life)))  # type: ignore[union-attr]
            events.append((stop, 0, (uuid, "end", life)))
            for a in life.attachments:
                events.append((a.attached, 2, (uuid, f"attach {a.device}", life)))
                if a.detached is not None:
                    events.append((a.detached, 2, (uuid, f"detach {a.device}", life)))
            count += 1
    events.sort(key=lambda e: (e[0], e[1]))
    for t, _, (uuid, what, life) in events:
        pkt = builder.add_packet()
        pkt.timestamp = int(round(t * 1e9))
        pkt.timestamp_clock_id = clock_id
        pkt.trusted_packet_sequence_id = sequence_id
        ev = pkt.track_event
        ev.track_uuid = uuid
        if what == "end":
            ev.type = pb.TrackEvent.TYPE_SLICE_END
            continue
        if what == "begin":
            ev.type = pb.TrackEvent.TYPE_SLICE_BEGIN
            ev.name = f"{SLICE} {life.inode}"
            _args(ev, life)
        else:
            ev.type = pb.TrackEvent.TYPE_INSTANT
            ev.name = what
    return count


def _args(ev: Any, life: BufferStory) -> None:
    m = life.maker
    for name, value in (
        ("inode", life.inode), ("exporter", life.exporter), ("size", life.size),
        ("maker", _who(m.comm, m.pid) if m is not None else ""),
        ("importers", ", ".join(_who(w.comm, w.pid) for w in life.importers)),
        ("devices", ", ".join(life.devices)),
        ("released_by", _who(life.released.comm, life.released.pid)
         if life.released is not None else ""),
    ):
        arg = ev.debug_annotations.add()
        arg.name = name
        if isinstance(value, int):
            arg.uint_value = value
        else:
            arg.string_value = value
