"""The live views' rows (report/live_rows.py): new and freed marks, a reused inode or pid is
a new row, deltas since first seen; and prepared refresh after refresh, reusing what an
unchanged record gave, they equal rows made from scratch."""

from __future__ import annotations

import copy
import operator
import random
from dataclasses import replace

from dmabuf_top.analysis.history import History
from dmabuf_top.analysis.samples import suspects_over
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.model import Holder, Process, Snapshot
from dmabuf_top.report.live_columns import COLUMNS, column
from dmabuf_top.report.live_rows import Prepared, account, prepare
from dmabuf_top.report.row_order import visible_rows
from dmabuf_top.timefmt import parse_time
from dmabuf_top.tui.session import Session
from tests.support.pilot import evolve, small_snapshot
from tests.support.rawscans import scan_5_10
from tests.support.synth import buf, snap, stamp

T0, T1, T2 = "2026-11-21T10:00:00Z", "2026-11-21T10:00:02Z", "2026-11-21T10:01:30Z"


class Steps:
    """A live backend giving the snapshots it was given, in turn."""

    kind, live = "local", True

    def __init__(self, snaps: list[Snapshot]) -> None:
        self.snaps = iter(snaps)

    def collect(self) -> Snapshot:
        return next(self.snaps)

    def describe(self) -> str:
        return "steps"


def churned(seed: int, refreshes: int) -> list[Snapshot]:
    """Snapshots as the Assembler gives them: an unchanged buffer or process is the very
    object of the snapshot before. Each refresh frees and makes buffers, a leaker grows
    (a name suspect, an exporter's), holders come and go, a comm changes, a pid is
    reused, and a buffer comes back as an equal copy (a new object, the same content)."""
    rnd = random.Random(seed)
    comms = {100 + i: f"app{i}" for i in range(12)} | {200: "leaker"}
    first = [buf(1000 + i, (1 + i % 5) << 20, f"frame {i % 3}" if i % 4 else None,
                 "drm" if i % 3 else "system", {100 + i % 12: [10 + i]}) for i in range(60)]
    s = snap(first, comms)
    out, nxt = [s], 5000
    for n in range(1, refreshes):
        bufs = dict(s.buffers)
        procs = dict(s.processes)
        for inode in rnd.sample(sorted(bufs), 3):  # freed
            del bufs[inode]
        for _ in range(2):  # made
            pid = rnd.choice(sorted(procs))
            bufs[nxt] = buf(nxt, 1 << 20, f"tex {nxt}", "drm", {pid: [nxt]})
            nxt += 1
        bufs[nxt] = buf(nxt, 2 << 20, f"leak-{nxt}", "leakdrv", {200: [nxt]})  # grows
        nxt += 1
        b = bufs[rnd.choice(sorted(bufs))]  # a holder more (its count changes)
        pid = rnd.choice(sorted(procs))
        if pid not in b.pids:
            bufs[b.inode] = replace(b, holders=[*b.holders, Holder(pid, [99])])
        b = bufs[rnd.choice(sorted(bufs))]
        bufs[b.inode] = copy.deepcopy(b)  # the same again, another object
        if n % 3 == 0:  # a comm changes
            pid = rnd.choice(sorted(procs))
            procs[pid] = replace(procs[pid], comm=f"renamed{n}")
        if n % 5 == 0:  # a pid reused by another process
            pid = rnd.choice(sorted(procs))
            procs[pid] = Process(pid, f"new{n}", "/bin/new", start_time=1000 + n)
        held = {h.pid for b in bufs.values() for h in b.holders}
        for pid in held - procs.keys():
            procs[pid] = Process(pid, comms.get(pid, "?"), "")
        s = Snapshot(taken_at=stamp(2.0 * n), source=s.source, boot_id=s.boot_id,
                     buffers=dict(sorted(bufs.items())), processes=procs, kernel=s.kernel)
        out.append(s)
    return out


def shown(prep: Prepared) -> dict[str, object]:
    """What a refresh shows, by view: each row's key, cells and mark, in order; what is
    new and freed; the suspects."""
    views = {v: [(r.key, r.cells, r.mark) for r in rows] for v, (_, rows) in prep.ordered.items()}
    return {"views": views, "new": prep.new, "freed": prep.freed,
            "suspects": [(s.kind, s.key, s.bytes_now, s.bytes_per_min) for s in prep.suspects]}


def cells(prep: Prepared) -> dict[str, dict[str, tuple[str, ...]]]:
    return {v: {r.key: r.cells for r in rows if r.mark != "freed"} for v, rows in prep.rows.items()}


def test_rows_reused_refresh_after_refresh_equal_rows_made_anew():
    """Each refresh's rows equal rows made from scratch (no rows before to reuse, a
    history fed copies); the marks, orders and suspects equal those of a session fed
    copies (no object shared by two refreshes, so nothing is reused as it is)."""
    snaps = churned(seed=7, refreshes=24)
    for i in (3, 4, 9, 10, 11):  # refreshes where nothing changed (the very buffers)
        snaps.insert(i, replace(snaps[i - 1], buffers=dict(snaps[i - 1].buffers)))
    snaps = [replace(s, taken_at=stamp(2.0 * n)) for n, s in enumerate(snaps)]
    copies = [copy.deepcopy(s) for s in snaps]
    incremental = Session(Steps(snaps), suspect_window=4)
    fresh = Session(Steps([copy.deepcopy(s) for s in snaps]), suspect_window=4)
    history = History()
    reused = 0
    for n, c in enumerate(copies):
        before = incremental.prepared
        prep = incremental.prepared = incremental.prepare()
        fresh.prepared = fresh.prepare()
        assert shown(prep) == shown(fresh.prepared), f"refresh {n}"
        fig = account(c)
        at = history.add(c, fig.totals, fig.procs)
        scratch = prepare(c, history, None, sample=at, suspects=prep.suspects, figures=fig)
        assert cells(prep) == cells(scratch), f"refresh {n}"
        if before is not None:
            rows = prep.rows["buffers"]
            reused += sum(r is before.keyed["buffers"].get(r.key) for r in rows)
    assert reused > 23 * 25  # most rows were the very rows of the refresh before
    assert any(s.kind == "name" for s in incremental.prepared.suspects)


def test_an_unchanged_refresh_keeps_the_buffer_rows_as_they_were():
    """Refreshes whose buffers are the very ones of the refresh before: the Buffers rows
    are those rows (unless some were marked new or freed then, a holder's comm changed
    or a name suspect flags them); each refresh shows what a session fed copies shows."""
    first = [buf(1000 + i, (1 + i % 3) << 20, f"tex {i % 4}", "drm", {100 + i % 5: [10 + i]})
             for i in range(30)]
    s = snap(first, {100 + i: f"app{i}" for i in range(5)})
    steps = [s]
    for n in range(1, 9):
        bufs, procs = dict(s.buffers), dict(s.processes)
        if n == 2:  # one freed, one made: marks on the next refresh's rows
            del bufs[1003]
            bufs[2000] = buf(2000, 4 << 20, "new", "drm", {101: [99]})
        if n == 6:  # a holder's comm changed: its buffers' rows are made again
            procs[102] = replace(procs[102], comm="renamed")
        s = replace(s, taken_at=stamp(2.0 * n), buffers=bufs, processes=procs)
        steps.append(s)
    # (a window longer than the session: no suspect)
    incremental = Session(Steps(steps), suspect_window=10)
    fresh = Session(Steps([copy.deepcopy(x) for x in steps]), suspect_window=10)
    kept = []
    for n in range(len(steps)):
        before = incremental.prepared
        prep = incremental.prepared = incremental.prepare()
        fresh.prepared = fresh.prepare()
        assert shown(prep) == shown(fresh.prepared), f"refresh {n}"
        if before is not None:
            rows, last = prep.rows["buffers"], before.rows["buffers"]
            kept.append(len(rows) == len(last) and all(map(operator.is_, rows, last)))
    # as they were: not after the change (2) nor the one after it (its marks), nor after
    # the comm changed (6)
    assert kept == [True, False, False, True, True, False, True, True]


def test_suspects_over_lean_samples_equal_those_over_the_snapshots():
    """The sums the suspects read are taken from the rows' accounting (one pass per
    refresh), for the lean samples kept: the same suspects as over the snapshots."""
    snaps = churned(seed=3, refreshes=12)
    session = Session(Steps(snaps), suspect_window=6)
    for _ in snaps:
        session.prepared = session.prepare()
    assert session.prepared is not None and session.prepared.suspects
    assert session.prepared.suspects == suspects_over([copy.deepcopy(s) for s in snaps], 6)


def test_the_same_buffer_object_again_keeps_its_track():
    """History.add passes over a buffer that is the very object of the sample before;
    one made anew (a holder more) is tracked: its holder count and Δ move."""
    a = buf(7, 1 << 20, "x", holders={100: [3]})
    b = replace(a, holders=[*a.holders, Holder(101, [4])])
    history = History()
    for n, one in enumerate([a, a, b, b]):
        s = snap([one], {100: "p", 101: "q"}, t=2.0 * n)
        fig = account(s)
        history.add(s, fig.totals, fig.procs)
    life = history.buffer_life(7)
    assert life is not None and life.holders == [1, 1, 2, 2]
    assert history.buffer_marks(7, 1) == (life.times[0], "")
    assert history.buffer_marks(7, 3) == (life.times[0], "chg")


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
