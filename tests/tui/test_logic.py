"""The TUI's pure parts: rows, filters, history, export names, intervals."""

from __future__ import annotations

import re

import pytest

from dmabuf_top.analysis.history import History
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.export import export_name, export_snapshot
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.report.live_columns import COLUMNS, column, human_age
from dmabuf_top.report.live_rows import prepare
from dmabuf_top.report.row_order import FilterError, RowFilter, visible_rows
from dmabuf_top.timefmt import parse_time
from dmabuf_top.tui.refresher import INTERVALS, Refresher, step_interval
from dmabuf_top.tui.session import Session
from tests.support.pilot import ScriptedBackend, evolve, file_backend, small_snapshot, steady_meter
from tests.support.rawscans import scan_5_10

T0, T1, T2 = "2026-11-21T10:00:00Z", "2026-11-21T10:00:02Z", "2026-11-21T10:01:30Z"


@pytest.mark.parametrize(
    "secs,text",
    [(None, "-"), (-3, "0s"), (0, "0s"), (59.9, "59s"), (60, "1m00s"), (3599, "59m59s"),
     (3600, "1h00m"), (86399, "23h59m"), (90000, "1d01h")],
)
def test_human_age(secs, text):
    assert human_age(secs) == text


def test_parse_time():
    assert parse_time(T0) == parse_time("2026-11-21T10:00:00+00:00")
    assert parse_time("2026-11-21T05:49:24.512Z") % 1 == pytest.approx(0.512)
    assert parse_time("") is None and parse_time("yesterday") is None


def test_prepare_marks_new_and_freed_and_reuses_unchanged_rows():
    h = History()
    s0 = small_snapshot(T0)
    p0 = prepare(s0, h, None)
    assert all(r.mark == "" for rs in p0.rows.values() for r in rs)

    def change(s):
        del s.buffers[14]
        s.buffers[12].holders.pop()
        s.buffers[99] = evolve(s0, T0, lambda x: None).buffers[15]
        s.buffers[99].inode = 99

    s1 = evolve(s0, T1, change)
    p1 = prepare(s1, h, p0)
    marks = {r.key: r.mark for r in p1.rows["buffers"]}
    assert marks == {"12": "", "13": "", "15": "", "99": "new", "14": "freed"}
    assert p1.new["buffers"] == {"99"} and p1.freed["buffers"] == {"14"}
    assert p1.freed["processes"] == {"500"} and p1.freed["exporters"] == {"system"}
    by0 = {r.key: r for r in p0.rows["buffers"]}
    by1 = {r.key: r for r in p1.rows["buffers"]}
    assert by1["13"] is by0["13"]  # unchanged: the very same row
    assert by1["12"] is not by0["12"] and by1["12"].cells != by0["12"].cells
    p2 = prepare(evolve(s1, T2, lambda s: None), h, p1)
    assert {r.key for r in p2.rows["buffers"]} == {"12", "13", "15", "99"}  # 14 dropped
    first = {r.key: r.obj.first_seen for r in p2.rows["buffers"]}
    assert first["13"] == parse_time(T0) and first["99"] == parse_time(T1)
    by_age = visible_rows(p2.rows["buffers"], column("buffers", "age"), False, None)
    assert [r.key for r in by_age] == ["99", "12", "13", "15"]  # youngest first, stable
    from dmabuf_top.tui.table.layout import cell_shown

    now = parse_time(T2)
    at = [c.key for c in COLUMNS["buffers"]].index("age")
    ages = {r.key: cell_shown(r.cells[at], "age", now) for r in p2.rows["buffers"]}
    assert ages == {"12": "1m30s", "13": "1m30s", "15": "1m30s", "99": "1m28s"}


def test_a_reused_inode_or_pid_is_a_new_row():
    """Kernels < 5.18 reuse dma-buf inode numbers: another size or exporter on
    the same inode is another buffer (a dma-buf's size never changes); a pid
    with another comm is another process."""
    h = History()
    s0 = small_snapshot(T0)
    p0 = prepare(s0, h, None)

    def reuse(s):
        s.buffers[14].size = 4 << 20  # freed, and its inode given to a new buffer
        s.processes[500].comm = "gallery"  # pid 500 exited, a new process got it

    s1 = evolve(s0, T2, reuse)
    p1 = prepare(s1, h, p0)
    assert p1.new["buffers"] == {"14"} and p1.new["processes"] == {"500"}
    marks = {r.key: r.mark for r in p1.rows["buffers"]}
    assert marks == {"12": "", "13": "", "14": "new", "15": ""}
    first = {r.key: r.obj.first_seen for r in p1.rows["buffers"]}
    assert first["14"] == parse_time(T2) and first["12"] == parse_time(T0)
    life = h.buffer_life(14, None)
    assert life is not None and life.sizes == [4 << 20] and life.first_seen == T2
    s2 = evolve(s1, "2026-11-21T10:02:00Z", lambda s: s.buffers[12].holders.pop())
    p2 = prepare(s2, h, p1)
    assert p2.new["buffers"] == set() and p2.new["processes"] == set()


def test_a_reused_inode_on_5_10_is_a_new_row_and_history() -> None:
    """The same through assemble() of scans in 5.10's formats (fdinfo without ino:)."""
    h = History()
    p0 = prepare(assemble(scan_5_10()), h, None)
    p1 = prepare(assemble(scan_5_10(True, T1)), h, p0)
    assert p1.new["buffers"] == {"42"}
    assert {r.key: r.mark for r in p1.rows["buffers"]} == {"42": "new", "43": ""}
    life = h.buffer_life(42)
    assert life is not None and life.first_seen == T1 and life.sizes == [131072]
    old = h.buffer_life(43)
    assert old is not None and old.first_seen == T0


def test_a_pid_with_another_start_time_is_a_new_row_and_history():
    """A pid that died and came back as another process with the same comm (a
    restarted service): its start time (/proc/PID/stat) tells them apart; the new
    one's Rss change counts from its own first sample. Unknown start times
    (older files, an unreadable stat) change nothing."""
    h = History()
    s0 = small_snapshot(T0)
    for pid, proc in s0.processes.items():
        proc.start_time = pid * 100
    p0 = prepare(s0, h, None)

    def shrink(s):
        s.buffers[12].holders = [x for x in s.buffers[12].holders if x.pid != 412]

    s1 = evolve(s0, T1, shrink)  # 412 lets go of 8M: the same process
    p1 = prepare(s1, h, p0)
    assert p1.new["processes"] == set()
    assert {r.key: r.obj.delta for r in p1.rows["processes"]}["412"] == -(8 << 20)

    def restart(s):
        s.processes[412].start_time = 99_999  # 412 exited; the pid is another process's

    s2 = evolve(s1, T2, restart)
    p2 = prepare(s2, h, p1)
    assert p2.new["processes"] == {"412"}
    assert {r.key: r.mark for r in p2.rows["processes"]}["412"] == "new"
    assert {r.key: r.obj.delta for r in p2.rows["processes"]}["412"] == 0
    s3 = evolve(s2, "2026-11-21T10:02:00Z", lambda s: setattr(s.processes[412], "start_time", None))
    p3 = prepare(s3, h, p2)
    assert p3.new["processes"] == set()  # unknown: the same process as far as anyone can tell


def test_after_a_reboot_every_row_is_new():
    """Another boot id (a recording across a reboot, or two files): the same
    inodes and pids are other buffers and processes."""
    h = History(prune=False)
    s0 = small_snapshot(T0)
    p0 = prepare(s0, h, None)

    def reboot(s):
        s.boot_id = "after-reboot"
        s.buffers[12].holders.pop()

    p1 = prepare(evolve(s0, T2, reboot), h, p0)
    for view in ("buffers", "processes", "exporters"):
        assert p1.new[view] == {r.key for r in p0.rows[view]}, view
        assert all(r.mark == "new" for r in p1.rows[view]), view
    assert all(r.mark == "" for r in p0.rows["exporters"])  # rows shared with p0: copied
    first = {r.key: r.obj.first_seen for r in p1.rows["buffers"]}
    assert set(first.values()) == {parse_time(T2)}
    assert {r.key: r.obj.delta for r in p1.rows["processes"]} == {"301": 0, "412": 0, "500": 0}


def test_process_delta_is_rss_change_since_first_seen():
    h = History()
    s0 = small_snapshot(T0)
    p0 = prepare(s0, h, None)
    s1 = evolve(s0, T1, lambda s: s.buffers[12].holders.pop())  # 412 lets go of 8M
    p1 = prepare(s1, h, p0)
    delta = {r.key: r.obj.delta for r in p1.rows["processes"]}
    assert delta == {"301": 0, "412": -(8 << 20), "500": 0}
    cells = {r.key: r.cells for r in p1.rows["processes"]}
    assert "-8.0M" in cells["412"]


def test_filters():
    p = prepare(small_snapshot(T0), History(), None)
    rows = p.rows["buffers"]
    size = column("buffers", "size")

    def keys(flt):
        return [r.key for r in visible_rows(rows, size, False, flt)]

    assert keys(None) == ["13", "12", "14", "15"]
    assert keys(RowFilter("SCANOUT")) == ["12"]  # case-insensitive substring
    assert keys(RowFilter("compositor(301)")) == ["12"]  # holders are searched
    assert keys(RowFilter("1")) == ["13", "12", "14", "15"]  # inode digits
    assert keys(RowFilter("re:^1[45]$")) == ["14", "15"]
    assert keys(RowFilter("re:")) == ["13", "12", "14", "15"]  # empty regex: no filter
    assert keys(RowFilter("[/x]")) == ["13"]  # markup is just text
    row12 = next(r for r in rows if r.key == "12")
    fields = row12.search
    assert len(fields) > 1 and all(keys(RowFilter(f)) for f in fields if f)
    across = fields[0][-1:] + fields[1][:1]  # the end of one field and the start of the next
    assert not any(across in f for r in rows for f in r.search)
    assert keys(RowFilter(across)) == []  # a match never spans two fields
    assert keys(RowFilter("re:" + re.escape(across))) == []
    with pytest.raises(FilterError, match="bad regular expression"):
        RowFilter("re:(")
    assert [r.key for r in visible_rows(rows, size, True, None)] == ["15", "14", "12", "13"]


def test_history_buffer_life_and_recording_positions():
    h = History(prune=False)
    s0 = small_snapshot(T0)
    s1 = evolve(s0, T1, lambda s: s.buffers[12].holders.pop())
    s2 = evolve(s1, T2, lambda s: s.buffers.pop(12))
    for s in (s0, s1, s2):
        prepare(s, h, None)
    life = h.buffer_life(12)
    assert (life.first_seen, life.last_changed, life.gone_at) == (T0, T2, T2)
    assert life.holders == [2, 1, 0] and life.sizes == [8 << 20, 8 << 20, 0]
    at1 = h.buffer_life(12, at=1)  # as of sample 1 (a recording stepped back)
    assert (at1.last_changed, at1.gone_at, at1.holders) == (T1, None, [2, 1])
    assert h.totals() == [75 << 20] * 3 and h.totals(upto=1, last=1) == [75 << 20]
    assert h.buffer_life(404) is None


def test_history_rss_and_totals_series_with_times():
    """What the drill-down and header graphs draw: per sample, with its time."""
    h = History(prune=False)
    s0 = small_snapshot(T0)
    s1 = evolve(s0, T1, lambda s: s.buffers[13].holders.clear())  # 412 lets 64M go
    s2 = evolve(s1, T2, lambda s: [b.holders.clear() for b in s.buffers.values()])
    for s in (s0, s1, s2):
        prepare(s, h, None)
    times = [parse_time(t) for t in (T0, T1, T2)]
    rss = h.rss_series(412)
    assert rss.values == [72 << 20, 8 << 20, 0] and rss.times == times
    assert h.rss_series(412, at=1).values == [72 << 20, 8 << 20]
    assert h.rss_series(301).values == [8 << 20, 8 << 20, 0]
    assert h.rss_series(999).values == []
    assert h.totals_series().times == times
    assert h.totals_series(upto=1, last=1).values == [75 << 20]
    assert h.buffer_life(12).times == times


def test_live_history_forgets_freed_buffers():
    h = History(prune=True)
    s0 = small_snapshot(T0)
    s1 = evolve(s0, T1, lambda s: s.buffers.pop(14))
    for s in (s0, s1, s1, s1):
        prepare(s, h, None)
    assert h.buffer_life(14) is None and h.buffer_life(13) is not None


def test_step_interval():
    assert step_interval(2.0, 1) == 3.0 and step_interval(2.0, -1) == 1.0
    assert step_interval(2.5, 1) == 3.0 and step_interval(2.5, -1) == 2.0
    assert step_interval(INTERVALS[-1], 1) == INTERVALS[-1]
    assert step_interval(INTERVALS[0], -1) == INTERVALS[0]


def test_export_names_and_round_trip(tmp_path):
    snap = small_snapshot("2026-11-21T05:49:24.512Z")
    assert export_name(snap.taken_at) == "dmabuf-top-20261121T054924Z.yaml"
    assert export_name("2026-11-21T05:49:24Z", ".svg") == "dmabuf-top-20261121T054924Z.svg"
    p1 = export_snapshot(snap, tmp_path)
    p2 = export_snapshot(snap, tmp_path)
    assert p1.name == "dmabuf-top-20261121T054924Z.yaml"
    assert p2.name == "dmabuf-top-20261121T054924Z-2.yaml"
    back = load_snapshots(p1)[0]
    assert back.buffers[13].name == snap.buffers[13].name
    assert [b.inode for b in back.sorted_buffers()] == [12, 13, 14, 15]
    with pytest.raises(SnapshotError, match="not a directory"):
        export_snapshot(snap, tmp_path / "nope")


def test_header_shows_the_cost_of_live_sources_only() -> None:
    snap = small_snapshot()
    snap.scan_seconds, snap.collector_cpu_seconds = 0.12, 0.3
    live = Session(ScriptedBackend([snap]), meter=steady_meter())
    live.prepared = live.prepare()
    cost = Refresher(live).header_state().cost
    assert cost == "scan 0.12s  device cpu 0.30s  cpu 0.0s 0.0%  rss 48.0M"
    static = Session(file_backend(), meter=steady_meter())
    static.prepared = static.prepare()
    assert Refresher(static).header_state().cost == ""


@pytest.mark.parametrize("snap", [small_snapshot, lambda: file_backend().collect()])
def test_every_column_of_every_view_sorts_as_the_tuple_key_sort(snap):
    """visible_rows (bare values kept on the rows) orders every column as a plain sort on
    (is-there-a-value, value) keys does, both ways, ties in key order."""
    prep = prepare(snap(), History(), None)
    for view, cols in COLUMNS.items():
        rows = prep.rows[view]
        for col in cols:
            for rev in (False, True):
                desc = col.descending != rev
                want = sorted(
                    rows, reverse=desc,
                    key=lambda r, c=col: (0, 0) if c.value(r.obj) is None else (
                        1, str(c.value(r.obj)).lower() if c.kind == "text" else c.value(r.obj)
                    ),
                )
                got = visible_rows(rows, col, rev, None)
                assert [r.key for r in got] == [r.key for r in want], (view, col.key, rev)
                again = visible_rows(rows, col, rev, None)  # from the values kept on rows
                assert [r.key for r in again] == [r.key for r in want]


def churn(steps: int, n: int = 300) -> list:
    """``n`` buffers over ``steps`` samples: each step some change holders, some are
    freed, some appear (as the bench's refreshes do, smaller)."""
    import random

    from tests.support.synth import buf, snap

    rnd = random.Random(5)
    comms = {1000 + p: f"proc{p}" for p in range(40)}
    live = {10 + i: {1000 + i % 40: [3]} for i in range(n)}
    out, top = [], 10 + n
    for step in range(steps):
        if step:
            for inode in rnd.sample(sorted(live), n // 20):
                live[inode] = {1000 + rnd.randrange(40): [4], **live[inode]}
            for inode in rnd.sample(sorted(live), n // 50):
                del live[inode]
            for _ in range(n // 50):
                live[top], top = {1000 + rnd.randrange(40): [5]}, top + 1
        bufs = [buf(i, (i % 7 + 1) << 12, f"b{i}" if i % 3 else None, holders=h)
                for i, h in live.items()]
        out.append(snap(bufs, comms, t=2.0 * step))
    return out


def test_a_sync_plan_made_off_the_ui_thread_updates_a_table_as_a_full_diff_does():
    """TableRows fed the scan thread's SyncPlan ends each refresh exactly as one that
    diffs every row: the same keys, cells, marks, changes and stale lines."""
    from dmabuf_top.tui.table.state import TableRows

    session = Session(ScriptedBackend(churn(8)), meter=steady_meter())
    session.order.sort["buffers"] = ("size", False)  # (the one sort state)
    names = [c.key for c in COLUMNS["buffers"]]
    planned, full = TableRows(names), TableRows(names)
    used = 0
    for _ in range(8):
        prep = session.prepare()
        rows = prep.ordered["buffers"][1]
        plan = prep.plans["buffers"]
        if plan.base is not None:
            assert plan.base is planned.held  # from the very rows the table holds
            used += 1
        else:  # the first: every row's cells made off the UI thread
            assert plan.cells is not None and len(plan.cells) == len(rows)
        got = planned.update(rows, plan=plan)
        want = full.update(rows)
        assert sorted(got) == sorted(want)
        assert planned.keys == full.keys and planned.cells == full.cells
        assert planned.marks == full.marks and planned.last_sync == full.last_sync
        assert sorted(planned.changed_cells) == sorted(full.changed_cells)
        session.prepared = prep
    assert used == 7  # every refresh after the first
    assert full.last_sync[1:] != (0, 0)  # (rows did come and go)
