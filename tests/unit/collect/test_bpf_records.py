"""The BPF iterators' binary records (parsers/bpf_records.py): on one real 6.18 scene
(tests/data/vm-6.18-bpf-binary, captured by capture_bpf.py right after the text build's
records) they give what the text gives, record for record and as a snapshot; every
malformed stream is one BpfRecordsError line, whatever the bytes."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings

from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.parsers import bpf_records
from dmabuf_top.collect.parsers.bpf_records import BpfRecordsError, gem_more
from dmabuf_top.collect.parsers.bpf_scan import (
    holder_pids,
    parse_bpf_buffers,
    parse_bpf_files,
    parse_bpf_handles,
    parse_bpf_tasks,
    parse_bpf_vmas,
)
from dmabuf_top.io.codec import snapshot_to_dict
from tests.support.fuzz import examples, fuzzed_bytes
from tests.support.paths import DATA
from tests.support.rawscan_json import rawscan_from_json
from tests.support.scan_compare import scan_fields

ROOT = DATA / "vm-6.18-bpf-binary"
TEXT = rawscan_from_json((ROOT / "rawscan-bpf.json").read_text())
BINARY = rawscan_from_json((ROOT / "rawscan-bpf-binary.json").read_text())

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
    assert len(BINARY.bpf_buffers) == 136 * len(parse_bpf_buffers(TEXT.bpf_buffers))


def test_every_stream_gives_what_the_text_build_gave_on_the_same_scene():
    key = lambda kb: kb.inode  # noqa: E731
    assert sorted(parse_bpf_buffers(BINARY.bpf_buffers), key=key) == sorted(
        parse_bpf_buffers(TEXT.bpf_buffers), key=key)
    assert sorted(parse_bpf_files(BINARY.bpf_files)) == sorted(parse_bpf_files(TEXT.bpf_files))
    assert sorted(parse_bpf_handles(BINARY.bpf_files)) == sorted(
        parse_bpf_handles(TEXT.bpf_files))
    assert sorted(parse_bpf_vmas(BINARY.bpf_vmas, 4096), key=repr) == sorted(
        parse_bpf_vmas(TEXT.bpf_vmas, 4096), key=repr)
    pids = holder_pids(BINARY.bpf_files, BINARY.bpf_vmas)
    assert pids == holder_pids(TEXT.bpf_files, TEXT.bpf_vmas) != set()
    binary, text = parse_bpf_tasks(BINARY.bpf_tasks, 100), parse_bpf_tasks(TEXT.bpf_tasks, 100)
    both = set(binary) & set(text)  # two reads: a short-lived process may be in one only
    assert pids <= both and len(both) >= 0.9 * len(text)
    assert {p: binary[p] for p in both} == {p: text[p] for p in both}
    assert any(t.cmdline for t in binary.values()) and binary[2].comm == "kthreadd"


def test_the_binary_scan_assembles_to_the_text_scans_snapshot():
    binary, text = snapshot_to_dict(assemble(BINARY)), snapshot_to_dict(assemble(TEXT))
    assert scan_fields(binary) == scan_fields(text)
    assert binary["buffers"] == text["buffers"] and binary["processes"] == text["processes"]
    assert binary["kernel"] == text["kernel"] and binary["warnings"] == text["warnings"] == []


def test_hand_made_records_decode_as_the_text_would():
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


def test_the_text_and_binary_holder_streams_are_not_mixed():
    with pytest.raises(BpfRecordsError, match="two formats"):
        holder_pids(file_rec(), "m 7 1000 2000 fb 0 9 0 11\n")


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
