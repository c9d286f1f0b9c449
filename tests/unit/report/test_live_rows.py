"""The live views' rows (report/live_rows.py): prepared refresh after refresh, reusing
what an unchanged record gave, they equal rows made from scratch."""

from __future__ import annotations

import copy
import random
from dataclasses import replace

from dmabuf_top.analysis.history import History
from dmabuf_top.analysis.samples import suspects_over
from dmabuf_top.model import Holder, Process, Snapshot
from dmabuf_top.report.live_rows import Prepared, account, prepare
from dmabuf_top.tui.session import Session
from tests.support.synth import buf, snap, stamp


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
