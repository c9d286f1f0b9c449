"""Assertions on a recording of scenario.py --leak (+ leak-ring, see
tests/support/vm/leak_recording.py), shared by the VM test and the committed-data test."""

from __future__ import annotations

from dmabuf_top.analysis.diff import diff_snapshots
from dmabuf_top.analysis.suspects import find_suspects, suspect_index
from dmabuf_top.model import Snapshot
from dmabuf_top.report.diff_report import render_text

KIB, MIB = 1024, 1024 * 1024
STEADY = ("leak-churn", "leak-ring")
LANDSCAPE = ("compositor", "renderer", "camera", "decoder")


def pids_by_comm(snaps: list[Snapshot]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in snaps:
        for pid, p in s.processes.items():
            out.setdefault(p.comm, pid)
    return out


def _held(s: Snapshot, pid: int, prefix: str) -> list[int]:
    return [
        b.inode for b in s.buffers.values() if pid in b.pids and (b.name or "").startswith(prefix)
    ]


def quiet(s: Snapshot, pids: dict[str, int]) -> bool:
    """No transient in this sample: leak-ring holds its four buffers (not 3 or 5
    mid-replacement), leak-churn holds nothing, no leaker holds a buffer it has
    exported but not named yet (DMA_BUF_SET_NAME comes right after), and no
    leaker's buffer was created between the /proc walk and the bufinfo read."""
    ring = len(_held(s, pids["leak-ring"], "ring-"))
    churn = _held(s, pids["leak-churn"], "churn-")
    leakers = {pids[c] for c in ("leak-grow", "leak-share", "leak-peer", "leak-churn")}
    unnamed = [
        b for b in s.buffers.values() if b.name is None and b.pids and set(b.pids) <= leakers
    ]
    # one scan reads /proc before bufinfo: a buffer made in between has no holder yet
    orphans = [
        b
        for b in s.buffers.values()
        if not b.pids and (b.name or "").startswith(("leak-", "shared-", "ring-", "churn-"))
    ]
    return ring == 4 and not churn and not unnamed and not orphans


def check_diff(snaps: list[Snapshot]) -> None:
    pids = pids_by_comm(snaps)
    grow, share, peer = pids["leak-grow"], pids["leak-share"], pids["leak-peer"]
    calm = [s for s in snaps if quiet(s, pids)]
    assert len(calm) >= 2, "every sample caught a steady process mid-replacement"
    a, b = calm[0], calm[-1]
    d = diff_snapshots(a, b, "A", "B")
    assert d.has_changes and d.identity.same_boot and not d.identity.strict
    procs = {p.pid: p for p in d.processes}
    # the leaker: named, every new buffer is 1 MiB and its own (Pss = Rss)
    new_leaks = [e for e in d.appeared if (e.name or "").startswith("leak-")]
    assert len(new_leaks) >= 3
    assert all(e.size == MIB and [h[0] for h in e.holders] == [grow] for e in new_leaks)
    g = procs[grow]
    assert g.comm == "leak-grow"
    assert g.rss_delta == g.pss_delta == len(new_leaks) * MIB, (g, [e.name for e in new_leaks])
    assert d.processes[0].pid == grow  # largest growth first
    # the shared set: both sharers named, Pss split in two
    new_shared = [e for e in d.appeared if (e.name or "").startswith("shared-")]
    assert len(new_shared) >= 3 and all(e.size == 256 * KIB for e in new_shared)
    both = [e for e in new_shared if sorted(h[0] for h in e.holders) == sorted([share, peer])]
    assert len(both) >= len(new_shared) - 1  # the newest may still be in flight (SCM_RIGHTS)
    for pid in (share, peer):
        p = procs[pid]
        held_new = sum(e.size for e in new_shared if pid in [h[0] for h in e.holders])
        changed = [c for c in d.changed if pid in [h[0] for h in c.b.holders]]
        assert p.rss_delta == held_new + sum(
            c.b.size for c in changed if pid not in [h[0] for h in c.a.holders]
        )
        assert abs(p.pss_delta - p.rss_delta / 2) <= 128 * KIB
    new_shared_bytes = sum(e.size for e in new_shared)
    assert procs[share].pss_delta + procs[peer].pss_delta <= new_shared_bytes
    assert procs[share].pss_delta + procs[peer].pss_delta >= new_shared_bytes - 256 * KIB
    # the steady ones and the rest of the landscape: not named as changed
    named = {p.comm for p in d.processes}
    assert named == {"leak-grow", "leak-share", "leak-peer"}, named
    names = {g.key: g for g in d.names}
    assert set(names) == {"leak-#", "shared-#"}, set(names)
    assert names["leak-#"].bytes_delta == len(new_leaks) * MIB
    text = render_text(d)
    section = text.split("processes (")[1]
    assert "leak-grow" in section and not any(c in section for c in STEADY + LANDSCAPE)


def check_suspects(snaps: list[Snapshot], window: int = 8, period: float = 0.5) -> None:
    pids = pids_by_comm(snaps)
    found = find_suspects(snaps, window=window)
    idx = suspect_index(found)
    for comm in ("leak-grow", "leak-share", "leak-peer"):
        assert ("process", pids[comm]) in idx, comm
    for comm in STEADY + LANDSCAPE:
        assert ("process", pids[comm]) not in idx, comm
    assert ("name", "leak-#") in idx and ("name", "shared-#") in idx
    assert ("name", "ring-#") not in idx and ("name", "churn-#") not in idx
    assert {s.kind for s in found} <= {"process", "name", "exporter"}
    assert {s.key for s in found if s.kind == "exporter"} <= {"drm"}
    g = idx[("process", pids["leak-grow"])]
    assert g.label == f"leak-grow ({pids['leak-grow']})"
    assert g.pss_per_min == g.bytes_per_min > 0  # sole holder
    # leak-grow makes one 1 MiB buffer, then sleeps `period`: at most 60/period MiB/min
    nominal = 60 / period * MIB
    assert 0.25 * nominal <= g.bytes_per_min <= 1.25 * nominal, g.bytes_per_min / MIB
    assert g.buffers_per_min == g.bytes_per_min / MIB
    for comm in ("leak-share", "leak-peer"):
        s = idx[("process", pids[comm])]
        assert abs(s.pss_per_min - s.bytes_per_min / 2) <= 0.1 * s.bytes_per_min, comm
    # leaking since before the recording began: the run starts at the last sample still
    # at the first one's level (under TCG the first two samples may fall between two
    # of leak-grow's buffers), and grows from there on
    held = [len(_held(s, pids["leak-grow"], "leak-")) for s in snaps]
    assert set(held[: g.since_index + 1]) == {held[0]}, (held, g.since_index)
    assert held[g.since_index + 1] > held[0] and g.since_index < len(snaps) // 2, held
