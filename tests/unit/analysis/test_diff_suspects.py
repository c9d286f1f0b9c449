"""diff_snapshots and find_suspects on synthetic scenes (see synth.leak_series)."""

from __future__ import annotations

import pytest

from dmabuf_top.analysis.accounting import name_pattern
from dmabuf_top.analysis.diff import diff_snapshots, inodes_reused
from dmabuf_top.analysis.suspects import find_suspects, series, suspect_index
from dmabuf_top.report.diff_report import diff_to_dict, render_text
from dmabuf_top.report.suspects_report import suspects_to_dict
from tests.support.synth import COMMS, MIB, buf, leak_series, snap


def test_diff_names_leak_and_splits_shared_growth():
    s = leak_series(8)
    d = diff_snapshots(s[0], s[-1])
    assert d.has_changes
    procs = {p.comm: p for p in d.processes}
    assert set(procs) == {"leaker", "sharer-a", "sharer-b"}  # not steady, not compositor
    assert (procs["leaker"].rss_delta, procs["leaker"].pss_delta) == (7 * MIB, 7 * MIB)
    for comm in ("sharer-a", "sharer-b"):  # 7 new 4 MiB buffers, each held by both
        assert procs[comm].rss_delta == 28 * MIB
        assert procs[comm].pss_delta == 14 * MIB
        assert procs[comm].buffers_a == 1 and procs[comm].buffers_b == 8
    assert [p.comm for p in d.processes][:2] == ["sharer-a", "sharer-b"]  # largest growth first
    names = {g.key: g for g in d.names}
    assert set(names) == {"shared ring", "leaky frame"}
    assert names["leaky frame"].buffers_delta == 7 and names["leaky frame"].bytes_delta == 7 * MIB
    leaked = [e for e in d.appeared if e.name == "leaky frame"]
    assert len(leaked) == 7 and all(e.holders == [(200, "leaker", 1, 0, 0)] for e in leaked)
    # the steady process freed one buffer and got another: listed as such, nothing more
    assert [e.inode for e in d.disappeared] == [2000]
    assert [e.inode for e in d.appeared if e.name == "churn"] == [2007]
    assert d.totals["bytes"] == (15 * MIB, 50 * MIB)
    assert d.totals["userspace_pss"] == (15 * MIB, 50 * MIB)
    text = render_text(d)
    assert "leaker" in text and "leaky frame" in text and "+14.0M" in text
    assert "steady" not in text.split("processes (")[1]


def test_diff_no_change_and_yaml():
    s = leak_series(3)
    same = snap(list(s[1].buffers.values()), COMMS, t=60)
    d = diff_snapshots(s[1], same)
    assert not d.has_changes
    assert "no change" in render_text(d)
    doc = diff_to_dict(diff_snapshots(s[0], s[2], "r@1", "r@3"))
    assert doc["schema"] == "dmabuf-top-diff/1" and doc["changed"] is True
    assert doc["a"]["label"] == "r@1" and doc["identity"]["keys"] == ["boot_id", "inode"]
    p = next(p for p in doc["processes"] if p["comm"] == "sharer-b")
    assert p["pss"] == {"a": 2 * MIB, "b": 6 * MIB, "delta": 4 * MIB}
    assert {e["inode"] for e in doc["appeared"]} == {1001, 1002, 2002, 3001, 3002}


def test_identity_on_old_kernels_requires_exporter_and_size():
    a = snap([buf(7, MIB, "x", holders={200: [3]})], COMMS, kernel="5.10.0-28-amd64")
    # 5.10 reused inode 7 for a different buffer
    b = snap([buf(7, 2 * MIB, "x", holders={200: [3]})], COMMS, t=2, kernel="5.10.0-28-amd64")
    d = diff_snapshots(a, b)
    assert [e.size for e in d.appeared] == [2 * MIB] and [e.size for e in d.disappeared] == [MIB]
    assert "reuses inode numbers" in d.identity.note and d.identity.strict
    assert diff_to_dict(d)["identity"]["keys"] == ["boot_id", "inode", "exporter", "size"]
    # the same on 6.1 would be the same buffer (it cannot change size: only the name/holders)
    new = diff_snapshots(*(snap(list(x.buffers.values()), COMMS) for x in (a, b)))
    assert not new.appeared and not new.identity.strict
    assert inodes_reused("5.17.3") and not inodes_reused("5.18.0") and inodes_reused("")


def test_identity_across_reboots():
    a = snap([buf(7, holders={200: [3]})], COMMS)
    b = snap([buf(7, holders={200: [3]})], COMMS, boot_id="other")
    d = diff_snapshots(a, b)
    assert [e.inode for e in d.appeared] == [7] and [e.inode for e in d.disappeared] == [7]
    assert "different boot" in render_text(d)


def test_changed_buffers_name_and_holders():
    a = snap([buf(7, holders={200: [3]}, name="old")], COMMS)
    b = snap([buf(7, holders={200: [3], 300: [9]}, name="new")], COMMS, t=1)
    d = diff_snapshots(a, b)
    assert len(d.changed) == 1 and not d.appeared
    assert "old -> new" in render_text(d)
    assert "leaker(200) -> leaker(200), steady(300)" in render_text(d)


def test_name_pattern():
    assert name_pattern("leak-17") == "leak-#" and name_pattern("cam 3 buf 12") == "cam # buf #"
    assert name_pattern(None) is None and name_pattern("scanout") == "scanout"


def test_suspects_leak_series():
    s = leak_series(10, interval=2.0)
    found = find_suspects(s, window=6)
    idx = suspect_index(found)
    assert set(idx) == {
        ("process", 200),
        ("process", 400),
        ("process", 401),
        ("name", "leaky frame"),
        ("name", "shared ring"),
        ("exporter", "drm"),
    }
    leak = idx[("process", 200)]
    assert leak.label == "leaker (200)"
    assert leak.bytes_per_min == pytest.approx(30 * MIB)  # 1 MiB every 2 s
    assert leak.buffers_per_min == pytest.approx(30)
    assert leak.pss_per_min == pytest.approx(30 * MIB)
    assert leak.since == s[0].taken_at and leak.since_index == 0  # followed back past the window
    for pid in (400, 401):
        sh = idx[("process", pid)]
        assert sh.bytes_per_min == pytest.approx(120 * MIB)
        assert sh.pss_per_min == pytest.approx(60 * MIB)  # shared by two: half each
    assert found[0].kind == "exporter"  # fastest bytes growth first
    doc = suspects_to_dict(found)
    assert {d["label"] for d in doc} >= {"leaker (200)", "leaky frame"}


def _scene(counts: list[int]) -> list:
    """One process (200) holding counts[i] 1 MiB buffers at sample i."""
    return [
        snap([buf(100 + k, MIB, "b", holders={200: [k + 3]}) for k in range(c)], COMMS, t=2 * i)
        for i, c in enumerate(counts)
    ]


@pytest.mark.parametrize(
    "counts, flagged",
    [
        ([1, 2, 3, 4, 5, 6], True),
        ([1, 2, 3, 2, 3, 4], False),  # fell back inside the window
        ([1, 1, 1, 1, 1, 1], False),
        ([1, 1, 1, 1, 1, 5], False),  # one step up: not a trend (needs 2 of 5)
        ([1, 1, 1, 3, 3, 5], True),
        ([5, 4, 3, 2, 1, 0], False),
        ([3, 4, 5, 5, 5, 5], False),  # window [4..5]: grew once, then a plateau
    ],
)
def test_suspect_rule(counts, flagged):
    found = find_suspects(_scene(counts), window=5)
    assert (("process", 200) in suspect_index(found)) is flagged


def test_a_growth_in_one_measure_alone_is_a_suspect():
    """Bytes grow while the buffer count stays (each sample's buffer is a larger one), or
    the count grows while the bytes stay (12 MiB in ever more pieces): either is one."""
    larger = [snap([buf(100 + i, (i + 1) * MIB, "b", holders={200: [3]})], COMMS, t=2 * i)
              for i in range(5)]
    sus = suspect_index(find_suspects(larger, window=5))[("process", 200)]
    assert (sus.grew_bytes, sus.grew_buffers) == (True, False)
    pieces = [snap([buf(100 + 10 * i + k, 12 * MIB // n, "b", holders={200: [3 + k]})
                    for k in range(n)], COMMS, t=2 * i)
              for i, n in enumerate([1, 2, 3, 4, 6])]
    sus = suspect_index(find_suspects(pieces, window=5))[("process", 200)]
    assert (sus.grew_bytes, sus.grew_buffers) == (False, True)


def test_suspect_since_is_the_last_sample_before_growth():
    s = _scene([4, 2, 2, 2, 3, 4, 5, 6])
    leak = suspect_index(find_suspects(s, window=3))[("process", 200)]
    assert leak.since_index == 3 and leak.since == s[3].taken_at
    assert (leak.buffers_start, leak.buffers_now) == (2, 6)
    assert leak.buffers_per_min == pytest.approx(4 / 8 * 60)


def test_suspects_edge_cases():
    assert find_suspects([], window=5) == []
    assert find_suspects(_scene([1]), window=5) == []
    assert series(_scene([1, 2]), "process", 200)[1][1:3] == (2 * MIB, 2)
    # the cache is per snapshot object: a new object with other contents is recomputed
    a = _scene([1, 2, 3])
    b = _scene([3, 2, 1])
    assert find_suspects(a, window=3) and not find_suspects(b, window=3)


def test_diff_says_when_a_process_now_holds_a_buffer_by_handle():
    """B imports the compositor's buffer into its GEM device and closes the fd: the
    buffer is "changed" (B now holds it by handle), in the text and the JSON."""
    import copy

    from dmabuf_top.model import GemHandle, Holder

    a = leak_series(2)[0]
    b = copy.deepcopy(a)
    b.taken_at = "2026-11-21T10:00:02Z"
    ino = min(b.buffers)
    held = b.buffers[ino]
    holder_pid = held.holders[0].pid
    importer = next(pid for pid in b.processes if pid != holder_pid)
    held.holders.append(Holder(importer, handles=[GemHandle(5, 3, "card0", "vgem")]))
    d = diff_snapshots(a, b)
    (change,) = d.changed
    assert change.b.inode == ino
    comm = b.processes[importer].comm
    assert f"{comm}({importer} by handle)" in render_text(d)
    (entry,) = diff_to_dict(d)["changed_buffers"]
    assert {"pid": importer, "comm": comm, "fds": 0, "maps": 0, "handles": 1} in (
        entry["b"]["holders"]
    )
    assert all("handles" not in h for h in entry["a"]["holders"])


def test_a_leak_held_by_gem_handles_is_a_suspect_by_its_bytes():
    """The leaker holds its frames by GEM handle only (Rss 0): its bytes are its
    handle bytes, and they grow."""
    from dmabuf_top.model import GemHandle

    s = leak_series(8)
    leaker = next(pid for pid, p in s[0].processes.items() if p.comm == "leaker")
    for snap_ in s:
        for b in snap_.buffers.values():
            for h in b.holders:
                if h.pid == leaker:
                    h.fds, h.maps = [], []
                    h.handles = [GemHandle(4, b.inode, "card0", "vgem")]
    (sus,) = [x for x in find_suspects(s) if x.kind == "process" and x.key == leaker]
    assert sus.bytes_now - sus.bytes_start == 7 * MIB
    assert sus.pss_now == sus.pss_start == 0
