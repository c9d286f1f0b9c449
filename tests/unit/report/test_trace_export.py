"""``dmabuf-top export``: the recording of a real leak as a Perfetto trace (read back
with the perfetto package's protos) and as Chrome trace JSON; every counter at every
sample time against the recording's own accounting."""

from __future__ import annotations

import json
from pathlib import Path

from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

from dmabuf_top.analysis import accounting
from dmabuf_top.cli import main
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.timefmt import parse_time
from tests.support.paths import DATA

LEAK = DATA / "vm-6.1-leak.yaml"


def expected(snap) -> dict[tuple, int]:
    """Every counter of one sample: (pid or None, track name) -> value."""
    stats = accounting.process_stats(snap)
    tot = accounting.totals(snap, stats)
    out = {(None, "dmabuf total"): tot.bytes, (None, "dmabuf buffers"): tot.buffers,
           (None, "dmabuf kernel-only"): tot.kernel_only_bytes}
    for e in accounting.exporter_stats(snap):
        out[(None, f"dmabuf exporter {e.name}")] = e.bytes
    for p in stats:
        out[(p.pid, "dmabuf rss")] = p.rss
        out[(p.pid, "dmabuf pss")] = p.pss
    return out


def replay(points: dict[tuple, list[tuple[int, int]]], t: int) -> dict[tuple, int]:
    """Each counter's value at time ``t``: its last event at or before ``t``."""
    now = {}
    for key, pts in points.items():
        before = [v for when, v in pts if when <= t]
        if before and (before[-1] != 0 or key[1].startswith("dmabuf total")):
            now[key] = before[-1]
    return now


def check(points: dict[tuple, list[tuple[int, int]]], scale: float) -> None:
    samples = load_snapshots(LEAK)
    assert len(samples) > 5
    times = [round(parse_time(s.taken_at) * scale) for s in samples]
    events = sorted({when for pts in points.values() for when, _ in pts})
    assert set(events) <= set(times) and events[0] == times[0]  # the recording's times
    grew = False
    for snap, t in zip(samples, times, strict=True):
        want = {k: v for k, v in expected(snap).items() if v != 0 or k[1] == "dmabuf total"}
        assert replay(points, t) == want, snap.taken_at
        grew = grew or want[(None, "dmabuf total")] > expected(samples[0])[(None, "dmabuf total")]
    assert grew, "a leak recording whose total never grew"


def test_perfetto_trace(tmp_path, capsys):
    out = tmp_path / "rec.pftrace"
    assert main(["export", str(LEAK), "-o", str(out)]) == 0
    assert "perfetto" in capsys.readouterr().err
    trace = pb.Trace.FromString(out.read_bytes())
    realtime = pb.BuiltinClock.Value("BUILTIN_CLOCK_REALTIME")
    assert trace.packet[0].clock_snapshot.primary_trace_clock == realtime
    tracks, procs = {}, {}
    points: dict[tuple, list[tuple[int, int]]] = {}
    for pkt in trace.packet:
        if pkt.HasField("track_descriptor"):
            d = pkt.track_descriptor
            if d.HasField("process"):
                procs[d.uuid] = d.process.pid
            else:
                assert d.counter.unit in (pb.CounterDescriptor.UNIT_SIZE_BYTES,
                                          pb.CounterDescriptor.UNIT_COUNT)
                tracks[d.uuid] = (procs[d.parent_uuid] if d.parent_uuid else None, d.name)
        elif pkt.HasField("track_event"):
            ev = pkt.track_event
            assert ev.type == pb.TrackEvent.TYPE_COUNTER
            assert pkt.timestamp_clock_id == realtime
            points.setdefault(tracks[ev.track_uuid], []).append((pkt.timestamp, ev.counter_value))
    assert any(pid is not None for pid, _ in tracks.values())
    check(points, 1e9)


def test_chrome_json(tmp_path, capsys):
    out = tmp_path / "rec.json"
    assert main(["export", str(LEAK), "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    names = {e["pid"]: e["args"]["name"] for e in doc["traceEvents"] if e["ph"] == "M"}
    snap = load_snapshots(LEAK)[0]
    for pid, proc in snap.processes.items():
        if any(pid in b.pids for b in snap.buffers.values()):
            assert names[pid] == proc.comm
    points: dict[tuple, list[tuple[int, int]]] = {}
    for e in doc["traceEvents"]:
        if e["ph"] != "C":
            continue
        for arg, v in e["args"].items():
            key = (e["pid"], f"dmabuf {arg}") if e["pid"] else (None, e["name"])
            points.setdefault(key, []).append((e["ts"], v))
    check(points, 1e6)


def test_errors(tmp_path, capsys):
    for argv, msg in [
        (["export", str(LEAK), "-o", str(tmp_path / "x.bin")], "cannot tell the format"),
        (["export", str(LEAK), "-o", str(tmp_path / "x.json"), "--format", "svg"],
         "invalid choice"),
        (["export", str(LEAK), "-o", str(tmp_path / "no" / "x.json")], "no such directory"),
        (["export", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "x.json")],
         "no such file"),
    ]:
        assert main(argv) != 0, argv
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1, (argv, err)


def test_unwritable_output_keeps_the_old_file(capsys):
    """/proc/self allows no new file, even to root: the atomic write's temp file cannot
    be made, and the existing target (this process's comm) is left as it was."""
    target = Path("/proc/self/comm")
    before = target.read_bytes()
    assert main(["export", str(LEAK), "-o", str(target), "--format", "chrome-json"]) == 2
    err = capsys.readouterr().err
    assert target.read_bytes() == before and "cannot write" in err and err.count("\n") == 1


def test_a_counter_past_int64_is_written_as_a_double(tmp_path, capsys):
    """A loaded file's buffer of 2**64 - 1 bytes (the loader takes u64): its counters
    (total, exporter, rss...) exceed Perfetto's int64 counter_value, where the export
    ended in a ValueError traceback; they go as double_counter_value."""
    import yaml

    for size in (2**64 - 1, -(2**64) + 1):
        doc = yaml.safe_load((DATA / "vm-6.1" / "snapshot.yaml").read_text())
        doc["buffers"][0]["size"] = size
        src = tmp_path / "huge.yaml"
        src.write_text(yaml.safe_dump(doc))
        out = tmp_path / "huge.pftrace"
        assert main(["export", str(src), "-o", str(out)]) == 0, capsys.readouterr().err
        trace = pb.Trace.FromString(out.read_bytes())
        values = [p.track_event for p in trace.packet if p.HasField("track_event")]
        assert any(ev.HasField("double_counter_value") and abs(ev.double_counter_value)
                   >= 2**64 - 1 for ev in values)
        assert all(ev.HasField("counter_value") or abs(ev.double_counter_value) >= 2**63
                   for ev in values)


def test_a_pid_past_int32_is_named_in_the_process_track(tmp_path, capsys):
    """A loaded file's pids take 64 bits; Perfetto's process pid is an int32, where the
    export ended in a ValueError traceback."""
    import yaml

    doc = yaml.safe_load((DATA / "vm-6.1" / "snapshot.yaml").read_text())
    holder = next(h for b in doc["buffers"] for h in b["holders"])
    old = holder["pid"]
    for b in doc["buffers"]:
        for h in b["holders"]:
            if h["pid"] == old:
                h["pid"] = 2**40
    for p in doc["processes"]:
        if p["pid"] == old:
            p["pid"] = 2**40
    src = tmp_path / "bigpid.yaml"
    src.write_text(yaml.safe_dump(doc))
    out = tmp_path / "bigpid.pftrace"
    assert main(["export", str(src), "-o", str(out)]) == 0, capsys.readouterr().err
    trace = pb.Trace.FromString(out.read_bytes())
    names = [p.track_descriptor.process.process_name for p in trace.packet
             if p.HasField("track_descriptor") and p.track_descriptor.HasField("process")]
    assert any(n.endswith(f"(pid {2**40})") for n in names)
