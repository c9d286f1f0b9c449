"""A recording as a trace: Perfetto's protobuf (counter tracks, built with the
``perfetto`` package's trace builder and protos) or Chrome's trace event JSON
(counter events, ``"ph": "C"``), at the recording's wall-clock times.

Perfetto: the timestamps are on the REALTIME clock (declared the trace's clock), so
the trace lines up with a system trace whose clock snapshots map BOOTTIME to
REALTIME; each process's Rss/Pss tracks hang under a process track with its pid and
comm, where the Perfetto UI puts that process's tracks of a system trace too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dmabuf_top.analysis.lifecycle import buffer_stories
from dmabuf_top.model import DmabufEvent, Snapshot
from dmabuf_top.report.counters import Track, counter_tracks, value_at
from dmabuf_top.report.life_trace import add_lives
from dmabuf_top.timefmt import parse_time

#: the trusted_packet_sequence_id of every packet dmabuf-top writes
SEQUENCE_ID = 0x646D6266
#: the uuid of the first track (the others follow)
FIRST_UUID = 0x646D6200000000
#: Chrome JSON: the pid of the device's own counters (no process has pid 0)
DEVICE_PID = 0


def _ns(t: float) -> int:
    return int(round(t * 1e9))


def perfetto_trace(
    samples: Sequence[Snapshot], dmabuf_events: Sequence[DmabufEvent] = ()
) -> bytes:
    """The Perfetto protobuf trace of a recording (``.pftrace``); with the recording's
    ``dmabuf_events``, each buffer's life too (report/life_trace.py)."""
    from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
    from perfetto.trace_builder.proto_builder import TraceProtoBuilder

    tracks = counter_tracks(samples)
    realtime = pb.BuiltinClock.Value("BUILTIN_CLOCK_REALTIME")
    builder = TraceProtoBuilder()
    first = min((p[0] for tr in tracks for p in tr.points), default=0.0)
    clocks = builder.add_packet()
    clocks.timestamp = _ns(first)
    clocks.timestamp_clock_id = realtime
    clocks.clock_snapshot.primary_trace_clock = realtime
    snap = clocks.clock_snapshot.clocks.add()
    snap.clock_id, snap.timestamp = realtime, _ns(first)
    clocks.trusted_packet_sequence_id = SEQUENCE_ID
    clocks.sequence_flags = pb.TracePacket.SEQ_INCREMENTAL_STATE_CLEARED

    uuids: dict[tuple, int] = {}
    process_uuid: dict[int, int] = {}
    extra: list[int] = []  # the uuids of the buffer-life tracks

    def next_uuid() -> int:
        return FIRST_UUID + len(uuids) + len(process_uuid) + len(extra)

    def life_uuid() -> int:
        extra.append(next_uuid())
        return extra[-1]

    def process_track(pid: int, comm: str) -> int:
        parent = process_uuid.get(pid)
        if parent is None:
            parent = process_uuid[pid] = next_uuid()
            pkt = builder.add_packet()
            pkt.trusted_packet_sequence_id = SEQUENCE_ID
            pkt.track_descriptor.uuid = parent
            if -(2**31) <= pid < 2**31:
                pkt.track_descriptor.process.pid = pid
                pkt.track_descriptor.process.process_name = comm
            else:  # Perfetto's pid is an int32; a loaded file's pids take 64 bits
                pkt.track_descriptor.process.process_name = f"{comm} (pid {pid})"
        return parent

    for tr in tracks:
        parent = process_track(tr.pid, tr.comm) if tr.pid is not None else None
        uuid = uuids[tr.key] = next_uuid()
        pkt = builder.add_packet()
        pkt.trusted_packet_sequence_id = SEQUENCE_ID
        desc = pkt.track_descriptor
        desc.uuid = uuid
        desc.name = tr.name
        if parent is not None:
            desc.parent_uuid = parent
        desc.counter.unit = (pb.CounterDescriptor.UNIT_SIZE_BYTES if tr.unit == "bytes"
                             else pb.CounterDescriptor.UNIT_COUNT)
    events = sorted(
        ((t, uuids[tr.key], v) for tr in tracks for t, v in tr.points), key=lambda e: e[0]
    )
    for t, uuid, v in events:
        pkt = builder.add_packet()
        pkt.timestamp = _ns(t)
        pkt.timestamp_clock_id = realtime
        pkt.trusted_packet_sequence_id = SEQUENCE_ID
        pkt.track_event.type = pb.TrackEvent.TYPE_COUNTER
        pkt.track_event.track_uuid = uuid
        if -(2**63) <= v < 2**63:
            pkt.track_event.counter_value = v
        else:  # past int64 (a loaded file's 64-bit sizes can sum there): as a double
            pkt.track_event.double_counter_value = float(v)
    if dmabuf_events:
        end = max((parse_time(samples[-1].taken_at) or first), first)
        lives = buffer_stories(dmabuf_events, until=end)
        add_lives(builder, pb, lives, end, process_track, life_uuid, SEQUENCE_ID, realtime)
    return builder.serialize()


def _chrome_counter(tr: Track) -> tuple[int, str, str]:
    """(pid, event name, args key): a process's Rss and Pss are two keys of one
    ``dmabuf`` counter event of its pid."""
    if tr.pid is not None:
        return tr.pid, "dmabuf", tr.key[2]
    return DEVICE_PID, tr.name, tr.unit


def chrome_trace(samples: Sequence[Snapshot]) -> dict[str, Any]:
    """The Chrome trace event document of a recording (``chrome://tracing``, Perfetto
    UI): counter events (``ph: C``, ``ts`` in microseconds since the epoch) and
    process names (``ph: M``)."""
    tracks = counter_tracks(samples)
    events: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": DEVICE_PID, "tid": 0,
         "args": {"name": "dmabuf-top"}}
    ]
    named: set[int] = set()
    groups: dict[tuple[int, str], list[tuple[str, Track]]] = {}
    for tr in tracks:
        pid, name, arg = _chrome_counter(tr)
        groups.setdefault((pid, name), []).append((arg, tr))
        if tr.pid is not None and tr.pid not in named:
            named.add(tr.pid)
            events.append({"ph": "M", "name": "process_name", "pid": tr.pid, "tid": 0,
                           "args": {"name": tr.comm}})
    counters = []
    for (pid, name), members in groups.items():
        times = sorted({t for _, tr in members for t, _ in tr.points})
        for t in times:
            args = {arg: value_at(tr, t) for arg, tr in members}
            counters.append({"ph": "C", "name": name, "pid": pid, "tid": 0,
                             "ts": int(round(t * 1e6)), "args": args})
    counters.sort(key=lambda e: e["ts"])
    return {"traceEvents": events + counters, "displayTimeUnit": "ms"}
