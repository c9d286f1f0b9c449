"""The BPF iterators' binary records (parsers/bpf_records.py) and assemble() on them: on
one real 6.18 scene (tests/data/vm-6.18-bpf, see capture_bpf.py) they give the scenario's
own record, and the snapshot the /proc walk gives of the same scene; every malformed
stream is one BpfRecordsError line, whatever the bytes."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings

from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.parsers import bpf_records
from dmabuf_top.collect.parsers.bpf_records import BpfRecordsError, gem_more, holder_pids
from dmabuf_top.collect.parsers.bpf_records import parse_buffers as parse_bpf_buffers
from dmabuf_top.collect.parsers.bpf_records import parse_files as parse_bpf_files
from dmabuf_top.collect.parsers.bpf_records import parse_handles as parse_bpf_handles
from dmabuf_top.collect.parsers.bpf_records import parse_tasks as parse_bpf_tasks
from dmabuf_top.collect.parsers.bpf_records import parse_vmas as parse_bpf_vmas
from dmabuf_top.collect.parsers.bpf_types import TASK_KERNEL_THREAD, perms_of
from dmabuf_top.collect.parsers.procstat import parse_stat
from dmabuf_top.io.codec import snapshot_to_dict
from tests.support.fuzz import examples, fuzzed_bytes
from tests.support.paths import DATA
from tests.support.rawscan_json import rawscan_from_json
from tests.support.scan_compare import fd_and_map_holders, scan_fields

ROOT = DATA / "vm-6.18-bpf"
BINARY = rawscan_from_json((ROOT / "rawscan-bpf.json").read_text())
RAW_PROC = rawscan_from_json((ROOT / "rawscan-proc.json").read_text())
RECORD = json.loads((ROOT / "scenario.json").read_text())

# the layouts, written out here as the C declares them (struct rec_* in dmabuf_top.bpf.c)
HEAD = "<BBBxI"
BUFFER = struct.Struct(HEAD + "QQQBB6x64s32s")
FILE = struct.Struct(HEAD + "IIIHBxQ24s")
VMA = struct.Struct(HEAD + "III4xQQQQQ")
TASK = struct.Struct(HEAD + "IIIIQIB3x16s")


def buffer_rec(ino=5, size=4096, count=1, exporter=b"system", name=b"", **head) -> bytes:
    return BUFFER.pack(
        head.get("magic", 0xDB), head.get("version", 1), head.get("kind", ord("b")),
        head.get("rec_size", BUFFER.size), ino, size, count, len(exporter), len(name), exporter,
        name,
    )


def file_rec(kind="f", pid=7, fd=3, num=0, minor_type=0, ino=5, driver=b"") -> bytes:
    return FILE.pack(0xDB, 1, ord(kind), FILE.size, pid, fd, num, minor_type, len(driver), ino,
                     driver)


def vma_rec(pid=7, start=0x1000, end=0x3000, flags=0xFB, pgoff=3, ino=5, dev=(0, 11)) -> bytes:
    return VMA.pack(0xDB, 1, ord("m"), VMA.size, pid, *dev, start, end, flags, pgoff, ino)


def task_rec(pid=7, ppid=1, uid=1000, flags=0, start_ns=123_456_789, comm=b"x",
             cmdline=b"/bin/x\0", size=None) -> bytes:
    size = TASK.size + len(cmdline) if size is None else size
    return TASK.pack(0xDB, 1, ord("p"), size, pid, ppid, uid, flags, start_ns, len(cmdline),
                     len(comm), comm) + cmdline


def test_the_records_are_binary_and_the_layouts_are_the_cs():
    assert all(isinstance(getattr(BINARY, f), bytes)
               for f in ("bpf_buffers", "bpf_files", "bpf_vmas", "bpf_tasks"))
    assert (BUFFER.size, FILE.size, VMA.size, TASK.size) == (136, 56, 64, 56)
    assert len(BINARY.bpf_buffers) == 136 * len(RECORD["buffers"])


def test_buffers_are_every_buffer_the_scenario_made_with_its_name_and_count():
    got = {kb.inode: kb for kb in parse_bpf_buffers(BINARY.bpf_buffers)}
    assert set(got) == {int(i) for i in RECORD["buffers"]}
    for ino, b in RECORD["buffers"].items():
        kb = got[int(ino)]
        assert (kb.size, kb.name, kb.exporter) == (b["size"], b["name"], b["exporter"])
        assert kb.count == b["count"]  # the iterator's own reference is not counted


def test_hostile_names_arrive_whole_markup_escape_and_tab_included():
    names = {kb.name for kb in parse_bpf_buffers(BINARY.bpf_buffers)}
    assert "[bold]evil\x1b[31m[/bold]" in names and "tab\tname" in names


def test_files_and_mappings_are_the_scenarios_holders():
    fds = {(f.pid, f.fd): f.inode for f in parse_bpf_files(BINARY.bpf_files)}
    maps = {(v.pid, v.entry.inode): v.entry for v in parse_bpf_vmas(BINARY.bpf_vmas)}
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
    tasks = parse_bpf_tasks(BINARY.bpf_tasks, BINARY.clock_ticks)
    assert BINARY.procs == []  # the scenario's holders needed no /proc read at all
    stats = {pid: parse_stat(text) for pid, text in RAW_PROC.ancestor_stats.items()}
    for proc in RAW_PROC.procs:
        t, st = tasks[proc.pid], parse_stat(proc.stat)
        assert t.complete, proc.pid
        assert (t.cmdline, t.uid) == (proc.cmdline, proc.uid)
        assert (t.comm, t.ppid, t.start_time) == (st.comm, st.ppid, st.start_time)
    for pid, st in stats.items():  # init, the harness shell...: their parents and starts
        assert (tasks[pid].ppid, tasks[pid].start_time) == (st.ppid, st.start_time)
    assert {p["comm"] for p in RECORD["processes"].values()} <= {t.comm for t in tasks.values()}
    assert tasks[2].flags & TASK_KERNEL_THREAD and tasks[2].comm == "kthreadd"


def test_bpf_scan_assembles_to_the_same_snapshot_as_the_proc_walk_with_debugfs():
    bpf, proc = snapshot_to_dict(assemble(BINARY)), snapshot_to_dict(assemble(RAW_PROC))
    # the same, but for GEM handles, which only BPF sees (test_vm_gem.py checks them)
    assert scan_fields(fd_and_map_holders(bpf)) == scan_fields(proc)
    assert bpf["ancestors"] == proc["ancestors"] != []
    assert bpf["kernel"]["sources"] == ["bpf", "task_file", "task_vma", "task"]
    assert proc["kernel"]["sources"] == ["bufinfo"]
    # the kernel picked the dma-buf files: the look-alike the walk had to reject
    # is never seen, so there is nothing to warn about
    assert any("named like dma-bufs" in w for w in proc["warnings"])
    assert bpf["warnings"] == []


def test_holder_pids_are_the_pids_of_the_parsed_records():
    files, vmas = parse_bpf_files(BINARY.bpf_files), parse_bpf_vmas(BINARY.bpf_vmas)
    handles = parse_bpf_handles(BINARY.bpf_files)
    want = {f.pid for f in files} | {v.pid for v in vmas} | {h.pid for h in handles}
    assert holder_pids(BINARY.bpf_files, BINARY.bpf_vmas) == want != set()
    assert perms_of(0x1) == "r--p" and perms_of(0x85) == "r-xs"


def test_hand_made_records_decode_untrusted_bytes_and_flag_what_proc_must_say():
    kb = parse_bpf_buffers(buffer_rec(name=b"[b]\x1b\tx\xff") + buffer_rec(ino=6, exporter=b""))
    assert [(b.inode, b.exporter, b.name, b.count) for b in kb] == [
        (5, "system", "[b]\x1b\tx\\xff", 1), (6, None, None, 1)
    ]
    files = (file_rec() + file_rec() + file_rec("d", fd=9, num=128, minor_type=2, ino=0,
             driver=b"vgem") + file_rec("g", fd=9, num=4, ino=6) + file_rec("G", fd=9)
             + file_rec("f", pid=0))
    assert [tuple(f) for f in parse_bpf_files(files)] == [(7, 3, 5)]
    assert [tuple(h) for h in parse_bpf_handles(files)] == [(7, 9, 4, 6, "renderD128", "vgem")]
    assert gem_more(files) and not gem_more(file_rec() * 3)
    vmas = parse_bpf_vmas(vma_rec() * 2 + vma_rec(pid=0) + vma_rec(start=9, end=8), 4096)
    assert [(v.pid, v.entry.offset, v.entry.perms, v.entry.dev) for v in vmas] == [
        (7, 3 * 4096, "rw-s", (0, 11))
    ]
    assert holder_pids(files, vma_rec(pid=8)) == {7, 8}
    tasks = parse_bpf_tasks(task_rec(comm=b"a)b", cmdline=b"/bin/x\0--y=\xff\0")
                            + task_rec(pid=8, flags=2, cmdline=b"") + task_rec(pid=0), 100)
    assert sorted(tasks) == [7, 8]
    assert (tasks[7].comm, tasks[7].cmdline, tasks[7].start_time) == ("a)b", "/bin/x --y=\\xff", 12)
    assert tasks[7].complete and not tasks[8].complete


MALFORMED = [
    ("buffers", buffer_rec()[:-1], "record 0 (byte 0): 135 bytes, not a whole 136-byte record"),
    ("buffers", buffer_rec() + buffer_rec(magic=0x7B), "record 1 (byte 136): not a record head"),
    ("buffers", buffer_rec(version=2), "another record format version"),
    ("buffers", buffer_rec(rec_size=137), "a size other than 136"),
    ("buffers", buffer_rec(kind=ord("f")), "unknown kind 0x66"),
    ("buffers", buffer_rec()[:32] + b"\x40" + buffer_rec()[33:], "a string length 64 over 63"),
    ("files", file_rec("x"), "unknown kind 0x78"),
    ("files", file_rec()[:22] + b"\x18" + file_rec()[23:], "a string length 24 over 23"),
    ("vmas", vma_rec() + b"\xdb\x01m\x00", "4 bytes, not a whole 64-byte record"),
    ("tasks", task_rec()[:50], "record 0 (byte 0): 50 bytes, not a whole record"),
    ("tasks", task_rec(size=56 + 99), "size 155 for 7 cmdline bytes"),
    ("tasks", task_rec() + task_rec()[:-1], "record 1 (byte 63): size 63 for 7 cmdline bytes, "
     "62 present"),
    ("tasks", task_rec(cmdline=b"x" * 5000), "a string length out of bounds"),
    ("tasks", task_rec(comm=b"c" * 16), "a string length out of bounds"),
    ("tasks", buffer_rec(), "not a task record head of this version"),
]
PARSE = {
    "buffers": parse_bpf_buffers, "files": parse_bpf_files, "vmas": parse_bpf_vmas,
    "tasks": parse_bpf_tasks,
}


@pytest.mark.parametrize(("stream", "data", "why"), MALFORMED, ids=[m[2] for m in MALFORMED])
def test_a_malformed_stream_is_one_line_saying_where_and_what(stream, data, why):
    with pytest.raises(BpfRecordsError) as e:
        PARSE[stream](data)
    assert why in str(e.value) and "\n" not in str(e.value)
    assert str(e.value).startswith(f"dmabuf_{stream} records: record ")


SEEDS = [BINARY.bpf_buffers[:1360], BINARY.bpf_files[:1120], BINARY.bpf_vmas[:640],
         BINARY.bpf_tasks[:2000]]


@settings(max_examples=examples(2000))
@given(fuzzed_bytes(SEEDS))
def test_any_bytes_are_records_or_one_error_line(data):
    for parse in (bpf_records.parse_buffers, bpf_records.parse_files,
                  bpf_records.parse_handles, bpf_records.parse_vmas, bpf_records.parse_tasks,
                  bpf_records.check_buffers, lambda d: bpf_records.holder_pids(d, d)):
        try:
            got = parse(data)
        except BpfRecordsError as e:
            assert str(e) and "\n" not in str(e)
            continue
        if isinstance(got, dict):  # tasks: bounded strings, pids as the kernel's
            assert all(0 < t.pid < 1 << 32 and len(t.comm) <= 4 * 15 for t in got.values())
        elif isinstance(got, list):
            assert len(got) <= len(data) // 56
