"""dmabuf-top's BPF iterator text (parsers/bpf_scan.py) and assemble() on it, with
the text a real 6.18 kernel gave (tests/data/vm-6.18-bpf, see capture_bpf.py)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dmabuf_top.analysis import accounting
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.parsers.bpf_scan import (
    TASK_CMDLINE_ELSEWHERE,
    TASK_KERNEL_THREAD,
    holder_pids,
    parse_bpf_buffers,
    parse_bpf_files,
    parse_bpf_handles,
    parse_bpf_tasks,
    parse_bpf_vmas,
    perms_of,
)
from dmabuf_top.collect.parsers.procstat import parse_stat
from dmabuf_top.io.codec import snapshot_to_dict
from dmabuf_top.model import GemHandle
from dmabuf_top.report.dmabuf_dump import render_dump
from tests.support.fuzz import examples, fuzzed_text
from tests.support.paths import DATA
from tests.support.rawscan_json import rawscan_from_json
from tests.support.scan_compare import scan_fields

ROOT = DATA / "vm-6.18-bpf"
RAW_BPF = rawscan_from_json((ROOT / "rawscan-bpf.json").read_text())
RAW_PROC = rawscan_from_json((ROOT / "rawscan-proc.json").read_text())
RECORD = json.loads((ROOT / "scenario.json").read_text())


def test_buffers_are_every_buffer_the_scenario_made_with_its_name_and_count():
    got = {kb.inode: kb for kb in parse_bpf_buffers(RAW_BPF.bpf_buffers)}
    assert set(got) == {int(i) for i in RECORD["buffers"]}
    for ino, b in RECORD["buffers"].items():
        kb = got[int(ino)]
        assert (kb.size, kb.name, kb.exporter) == (b["size"], b["name"], b["exporter"])
        assert kb.count == b["count"]  # the iterator's own reference is not counted


def test_hostile_names_arrive_whole_markup_escape_and_tab_included():
    names = {kb.name for kb in parse_bpf_buffers(RAW_BPF.bpf_buffers)}
    assert "[bold]evil\x1b[31m[/bold]" in names and "tab\tname" in names


def test_files_and_mappings_are_the_scenarios_holders():
    fds = {(f.pid, f.fd): f.inode for f in parse_bpf_files(RAW_BPF.bpf_files)}
    maps = {(v.pid, v.entry.inode): v.entry for v in parse_bpf_vmas(RAW_BPF.bpf_vmas)}
    want_fds, want_maps = {}, {}
    for ino, b in RECORD["buffers"].items():
        for pid, h in b["holders"].items():
            for fd in h["fds"]:
                want_fds[(int(pid), fd)] = int(ino)
            for start, end, perms in h["maps"]:
                want_maps[(int(pid), int(ino))] = (start, end, perms)
    assert fds == want_fds
    assert {k: (e.start, e.end, e.perms) for k, e in maps.items()} == want_maps


def test_tasks_say_what_proc_says_of_every_holder_and_its_ancestors():
    tasks = parse_bpf_tasks(RAW_BPF.bpf_tasks, RAW_BPF.clock_ticks)
    assert RAW_BPF.procs == []  # the scenario's holders needed no /proc read at all
    stats = {pid: parse_stat(text) for pid, text in RAW_PROC.ancestor_stats.items()}
    for proc in RAW_PROC.procs:
        t, st = tasks[proc.pid], parse_stat(proc.stat)
        assert t.complete, proc.comm
        assert (t.comm, t.cmdline, t.uid) == (proc.comm, proc.cmdline, proc.uid)
        assert (t.ppid, t.start_time) == (st.ppid, st.start_time)
    for pid, st in stats.items():  # init, the harness shell...: their parents and starts
        assert (tasks[pid].ppid, tasks[pid].start_time) == (st.ppid, st.start_time)
    assert {p["comm"] for p in RECORD["processes"].values()} <= {t.comm for t in tasks.values()}
    assert tasks[2].flags & TASK_KERNEL_THREAD and tasks[2].comm == "kthreadd"


def test_task_records_decode_untrusted_bytes_and_flag_what_proc_must_say():
    cmdline = b"/bin/x\0--y=\xff\0".hex()
    text = (
        f"p 7 1 1000 123456789 0 x{b'a)b'.hex()} x{cmdline}\n"
        f"p 8 1 0 0 {TASK_CMDLINE_ELSEWHERE} x{b'long'.hex()} x\n"
        "p 9 1 0 0 0 xzz x\n"       # junk hex: skipped
        "p 0 1 0 0 0 x x\n"         # pid 0
    )
    tasks = parse_bpf_tasks(text, ticks_per_second=100)
    assert sorted(tasks) == [7, 8]
    assert (tasks[7].comm, tasks[7].cmdline, tasks[7].start_time) == ("a)b", "/bin/x --y=\\xff", 12)
    assert tasks[7].complete and not tasks[8].complete


def test_bpf_scan_assembles_to_the_same_snapshot_as_the_proc_walk_with_debugfs():
    bpf, proc = snapshot_to_dict(assemble(RAW_BPF)), snapshot_to_dict(assemble(RAW_PROC))
    assert scan_fields(bpf) == scan_fields(proc)
    assert bpf["ancestors"] == proc["ancestors"] != []
    assert bpf["kernel"]["sources"] == ["bpf", "task_file", "task_vma", "task"]
    assert proc["kernel"]["sources"] == ["bufinfo"]
    # the kernel picked the dma-buf files: the look-alike the walk had to reject
    # is never seen, so there is nothing to warn about
    assert any("named like dma-bufs" in w for w in proc["warnings"])
    assert bpf["warnings"] == []


def test_holder_pids_are_the_pids_of_the_parsed_records():
    files, vmas = parse_bpf_files(RAW_BPF.bpf_files), parse_bpf_vmas(RAW_BPF.bpf_vmas)
    want = {f.pid for f in files} | {v.pid for v in vmas}
    assert holder_pids(RAW_BPF.bpf_files, RAW_BPF.bpf_vmas) == want != set()


def test_offsets_and_permissions_follow_maps():
    vmas = parse_bpf_vmas("m 7 1000 3000 fb 3 9 0 11\n", page_size=4096)
    assert [(v.pid, v.entry.offset, v.entry.perms, v.entry.dev) for v in vmas] == [
        (7, 3 * 4096, "rw-s", (0, 11))
    ]
    assert perms_of(0x1) == "r--p" and perms_of(0x85) == "r-xs"


def test_threads_seen_twice_count_once():
    assert len(parse_bpf_files("f 7 3 9\nf 7 3 9\n")) == 1
    assert len(parse_bpf_vmas("m 7 1000 2000 fb 0 9 0 11\n" * 2)) == 1


def test_malformed_records_are_skipped():
    text = (
        "b 1 2 1 x64 xzz\n"          # junk hex: the name is dropped, not the buffer
        "b 1 2\n"                    # short
        "b -1 2 1 x x\n"             # signed
        f"b 1 {1 << 64} 1 x x\n"     # over 64 bits
        "f 0 3 9\nf 7 x 9\n"          # pid 0, junk fd
        "m 7 2000 1000 fb 0 9 0 11\n"  # end before start
    )
    assert [(kb.inode, kb.name) for kb in parse_bpf_buffers(text)] == [(1, None)]
    assert parse_bpf_files(text) == [] and parse_bpf_vmas(text) == []


@settings(max_examples=examples(2000))
@given(st.text())
def test_any_text_parses_without_raising(text):
    parse_bpf_buffers(text)
    parse_bpf_files(text)
    parse_bpf_vmas(text)
    parse_bpf_tasks(text)
    parse_bpf_handles(text)


@settings(max_examples=examples(1000))
@given(st.lists(st.sampled_from(
    (RAW_BPF.bpf_buffers + RAW_BPF.bpf_tasks[:2000]).split(" ") + ["\n", "b", "x", "f", "m", "p"]
)))
def test_mutated_real_text_parses_without_raising(words):
    text = " ".join(words)
    parse_bpf_buffers(text)
    parse_bpf_files(text)
    parse_bpf_vmas(text)
    parse_bpf_tasks(text)
    parse_bpf_handles(text)


#: GEM handle records as the 6.18 kernel printed them (tests/integration/test_vm_gem.py)
HANDLES = (
    "d 178 3 0 0 x7667656d\ng 178 3 1 23\n"
    "d 199 3 0 0 x7667656d\ng 199 3 1 12\ng 199 3 2 13\n"
    "d 205 6 128 2 x616d64677075\ng 205 6 7 12\nd 205 8 1 0 x7667656d\n"
)


def test_gem_handles_name_the_drm_file_its_node_and_driver():
    again = "G 199 3\nd 178 3 0 0 x7667656d\ng 178 3 1 23\n"  # a second read, a thread
    got = [tuple(h) for h in parse_bpf_handles(HANDLES + again)]
    assert got == [
        (178, 3, 1, 23, "card0", "vgem"), (199, 3, 1, 12, "card0", "vgem"),
        (199, 3, 2, 13, "card0", "vgem"), (205, 6, 7, 12, "renderD128", "amdgpu"),
    ]  # the repeat counts once; a DRM file without handles adds none
    assert parse_bpf_files(HANDLES) == [] and holder_pids(HANDLES, "") == {178, 199, 205}
    bad = (
        "g 0 3 1 23\n"                  # pid 0
        f"g 7 3 {1 << 40} 23\n"         # a handle past 32 bits
        f"g 7 3 1 {1 << 64}\n"          # an inode past 64 bits
        "d 7 3 0 0 xzz\ng 7 3 1 23\n"   # junk hex: the driver is dropped, not the handle
        "g 7 3 2\n"                     # short
        "g 8 4 1 23\n"                  # no record of its DRM file
    )
    assert [tuple(h) for h in parse_bpf_handles(bad)] == [
        (7, 3, 1, 23, "card0", None), (8, 4, 1, 23, "?", None)
    ]


@settings(max_examples=examples(1000))
@given(fuzzed_text([HANDLES]))
def test_mutated_handle_records_parse_without_raising(text):
    for h in parse_bpf_handles(text):
        assert 0 < h.pid < 1 << 32 and 0 <= h.inode < 1 << 64 and h.device
        assert h.driver is None or isinstance(h.driver, str)


def test_a_buffer_held_by_handle_only_has_a_holder_and_is_not_kernel_only():
    """The scene's kernel-only buffer, held by a GEM handle of one process and by
    handle and fd in another: both are holders; Rss/Pss (and --dmabuf-dump) stay
    dmabuf_dump's, the handle-only bytes are the process's handle bytes."""
    ino = next(int(i) for i, b in RECORD["buffers"].items() if b["kernel_only"])
    size = RECORD["buffers"][str(ino)]["size"]
    plain = assemble(RAW_BPF)
    a, b = sorted(plain.processes)[:2]
    ino_b = next(f.inode for f in parse_bpf_files(RAW_BPF.bpf_files) if f.pid == b)
    raw = rawscan_from_json((ROOT / "rawscan-bpf.json").read_text())
    raw.bpf_files += (
        f"d {a} 9 0 0 x7667656d\ng {a} 9 4 {ino}\n"
        f"d {b} 11 128 2 x7667656d\ng {b} 11 2 {ino_b}\n"
    )
    snap = assemble(raw)
    held = snap.buffers[ino]
    assert [(h.pid, h.fds, h.maps, h.handles) for h in held.holders] == [
        (a, [], [], [GemHandle(9, 4, "card0", "vgem")])
    ]
    assert held.holders[0].handles[0].label() == "GEM handle 4 on card0 (vgem)"
    both = snap.buffers[ino_b].holder(b)
    assert both is not None and both.fds
    assert both.handles == [GemHandle(11, 2, "renderD128", "vgem")]
    before, after = accounting.totals(plain), accounting.totals(snap)
    assert after.kernel_only_bytes == before.kernel_only_bytes - size
    assert after.userspace_bytes == before.userspace_bytes + size
    assert after.userspace_bytes + after.kernel_only_bytes == after.bytes == before.bytes
    assert after.userspace_rss == before.userspace_rss
    assert after.userspace_pss == before.userspace_pss
    stats = {p.pid: p for p in accounting.process_stats(snap)}
    old = {p.pid: p for p in accounting.process_stats(plain)}
    assert (stats[a].rss, stats[a].pss) == (old[a].rss, old[a].pss)
    assert (stats[a].handles, stats[a].handle_bytes) == (1, size)
    assert (stats[b].handles, stats[b].handle_bytes) == (1, 0)  # also by fd: in its Rss
    for view in ("p", "a", "b"):
        assert render_dump(snap, view) == render_dump(plain, view)
