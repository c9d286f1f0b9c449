"""A pid that died and came back as another process (its /proc/PID/stat start time
changed) is another process for diff and suspects, through assemble() and through
a recording; unknown start times (older files) keep matching by pid."""

from __future__ import annotations

from dmabuf_top.analysis.diff import diff_snapshots
from dmabuf_top.analysis.suspects import find_suspects, series
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.io.loader import loads_snapshots
from dmabuf_top.io.record_writer import RecordEncoder
from dmabuf_top.model import Snapshot
from dmabuf_top.report.diff_report import diff_to_dict, render_text
from tests.support.rawscans import MIB, scene
from tests.support.synth import leak_series

#: /proc/PID/stat as the kernel writes it (fields after the start time cut)
STAT = "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 91 0 0 0 1 0 0 0 20 0 1 0 {start} 9 9\n"


def scan(camera_start: int | None, t: str = "2026-11-21T10:00:00Z") -> Snapshot:
    """The recorded-format scene; pid 200 (camera) started at ``camera_start``."""
    raw = scene()
    raw.taken_at = t
    raw.boot_id = "b00t"
    comp, camera = raw.procs
    comp.stat = STAT.format(pid=100, comm="compositor", ppid=1, start=500)
    if camera_start is not None:
        camera.stat = STAT.format(pid=200, comm="camera", ppid=100, start=camera_start)
    return assemble(raw)


def recorded(*snaps: Snapshot) -> list[Snapshot]:
    enc = RecordEncoder(interval=2.0)
    return loads_snapshots("".join(enc.encode(s) for s in snaps))


def test_diff_lists_a_reused_pid_as_one_ended_and_one_new_process() -> None:
    a, b = scan(700), scan(900, "2026-11-21T10:00:02Z")
    assert a.processes[200].start_time == 700 and b.processes[200].start_time == 900
    for x, y in ((a, b), tuple(recorded(a, b))):
        d = diff_snapshots(x, y)
        rows = sorted((p.pid, p.pid_reused, p.rss_a, p.rss_b) for p in d.processes)
        rss = 8 * MIB + 4 * MIB + 2 * MIB  # buffers 10, 11 and the mapped 12
        assert rows == [(200, "ended", rss, 0), (200, "new", 0, rss)]
        assert "camera (new: pid reused)" in render_text(d)
        assert "camera (ended: pid reused)" in render_text(d)
        assert {p["pid_reused"] for p in diff_to_dict(d)["processes"]} == {"ended", "new"}
    # the same start time, or one unknown: the same process, unchanged
    for other in (scan(700, "2026-11-21T10:00:02Z"), scan(None, "2026-11-21T10:00:02Z")):
        assert diff_snapshots(a, other).processes == []


def test_suspects_follow_the_process_not_the_pid() -> None:
    """leaker (200) grows one buffer a sample; at sample 4 it dies and its pid is
    another process, which goes on growing: that one grew from nothing at 3."""
    snaps = leak_series(8)
    for i, s in enumerate(snaps):
        s.processes[200].start_time = 1 if i < 4 else 2

    def leaker(snaps: list[Snapshot]):  # noqa: ANN202 - a Suspect or None
        return next(x for x in find_suspects(snaps, window=8) if x.key == 200)

    got = leaker(snaps)
    assert (got.since_index, got.bytes_start, got.bytes_now) == (3, 0, 8 * MIB)
    assert [b for _t, b, _n, _p in series(snaps, "process", 200)][:5] == [0, 0, 0, 0, 5 * MIB]
    assert leaker(recorded(*snaps)).since_index == 3
    before = leaker(leak_series(8))  # start times unknown: one pid, one process, as before
    assert (before.since_index, before.bytes_start) == (0, MIB)
