"""``dmabuf-top export`` of a recording with events (tests/data/vm-6.18-events/, real
6.18): each buffer born while recorded is a slice from export to release (or the
trace's end) on a track under its maker's process, with maker, importers and devices
as args and an instant at each attach and detach; slices of one track never overlap."""

from __future__ import annotations

from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

from dmabuf_top.analysis.lifecycle import buffer_stories
from dmabuf_top.cli import main
from dmabuf_top.io.loader import load_snapshots
from tests.support.paths import DATA

REC = DATA / "vm-6.18-events" / "recording.yaml"


def read_trace(path):
    trace = pb.Trace.FromString(path.read_bytes())
    procs, parents, slices, instants, stack = {}, {}, {}, [], {}
    for pkt in trace.packet:
        if pkt.HasField("track_descriptor"):
            d = pkt.track_descriptor
            if d.HasField("process"):
                procs[d.uuid] = (d.process.pid, d.process.process_name)
            parents[d.uuid] = d.parent_uuid
        elif pkt.HasField("track_event"):
            ev, t = pkt.track_event, pkt.timestamp
            if ev.type == pb.TrackEvent.TYPE_SLICE_BEGIN:
                assert ev.track_uuid not in stack, "overlapping slices on one track"
                args = {a.name: a.string_value or a.uint_value for a in ev.debug_annotations}
                stack[ev.track_uuid] = (ev.name, t, args)
            elif ev.type == pb.TrackEvent.TYPE_SLICE_END:
                name, start, args = stack.pop(ev.track_uuid)
                maker = procs[parents[ev.track_uuid]]
                slices[name] = (start, t, args, maker)
            elif ev.type == pb.TrackEvent.TYPE_INSTANT:
                instants.append((ev.name, t, stack[ev.track_uuid][0]))
    assert not stack
    return slices, instants


def test_each_life_is_a_slice_under_its_maker(tmp_path, capsys):
    out = tmp_path / "rec.pftrace"
    assert main(["export", str(REC), "-o", str(out)]) == 0
    slices, instants = read_trace(out)
    rec = load_snapshots(REC)
    lives = buffer_stories(rec.events)
    assert set(slices) == {f"dma-buf {ino}" for ino in lives} and len(lives) == 6
    for ino, life in lives.items():
        start, end, args, maker = slices[f"dma-buf {ino}"]
        assert maker == (life.maker.pid, life.maker.comm)
        assert start == round(life.maker.time * 1e9)
        assert args["maker"] == f"{life.maker.comm} ({life.maker.pid})"
        assert (args["inode"], args["exporter"], args["size"]) == (ino, life.exporter, life.size)
        if life.released is not None:
            assert end == round(life.released.time * 1e9)
    kept = [s for s in slices.values() if s[2]["maker"].startswith("maker (")]
    assert len(kept) == 3 and len({s[1] for s in kept}) == 1  # alive at the trace's end
    heap = next(s for s in slices.values() if s[2]["exporter"] == "system")
    assert heap[2]["devices"] == "vgem" and heap[2]["importers"].startswith("python (")
    assert sorted((n, s) for n, _, s in instants) == sorted(
        (f"{what} vgem", f"dma-buf {ino}") for ino, life in lives.items()
        for what in ("attach", "detach") if life.attachments
    ) and len(instants) == 4
