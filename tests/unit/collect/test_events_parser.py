"""The event records' decoder (collect/parsers/events.py) against the layout the BPF
program writes (struct dmabuf_event in collect/bpf/dmabuf_events.bpf.c), and the lines
``dmabuf-top events`` prints of them: hostile text shown literally, never raw."""

from __future__ import annotations

import json
import re

from dmabuf_top.collect.bpf_events import EVENTS_OBJECT_PATH, choose_programs
from dmabuf_top.collect.parsers.events import EVENT_KINDS, RECORD, decode_events
from dmabuf_top.report.events_report import event_json_line, event_line

SOURCE = EVENTS_OBJECT_PATH.with_suffix(".c").read_text()


def record(kind: int, ts: int = 5_000_000_000, ino: int = 17, size: int = 65536,
           tgid: int = 300, fd: int = -1, comm: bytes = b"python",
           exp: bytes = b"system", dev: bytes = b"") -> bytes:
    return RECORD.pack(ts, ino, size, tgid, tgid + 1, fd, kind, comm, exp, dev)


def test_the_record_is_the_bpf_programs_struct():
    assert RECORD.size == 128
    assert re.search(r"_Static_assert\(sizeof\(struct dmabuf_event\) == 128", SOURCE)
    kinds = dict(re.findall(r"EV_(\w+) = (\d+)", SOURCE))
    assert {k.lower(): int(v) for k, v in kinds.items()} == {
        k: i for i, k in enumerate(EVENT_KINDS) if k
    }


def test_records_decode_with_their_fd_or_device_and_wall_clock_time():
    data = record(1) + record(2, fd=5) + record(4, dev=b"vgem") + record(7, fd=9)
    got = decode_events(data + b"\1\2\3", boot_to_wall=1000.0)  # a partial tail is left
    assert [(e.kind, e.fd, e.device) for e in got] == [
        ("export", None, None), ("fd", 5, None), ("attach", None, "vgem"),
        ("release", None, None),  # a release has no fd, whatever the field says
    ]
    assert got[0].time == 1005.0 and got[0].pid == 300 and got[0].tid == 301
    assert (got[0].inode, got[0].size, got[0].exporter, got[0].comm) == (
        17, 65536, "system", "python"
    )


def test_an_unknown_kind_is_skipped():
    assert decode_events(record(0) + record(99) + record(3, fd=4), 0.0)[0].kind == "get"


def test_hostile_text_is_shown_literally_and_kept_whole_in_json():
    e = decode_events(record(4, comm=b"[red]\x1b[2J\n", exp=b"\xff\xfe", dev=b"d\tv"), 0.0)[0]
    line = event_line(e)
    assert "\x1b" not in line and "\n" not in line and "\t" not in line
    assert "[red]\\e[2J\\n/300" in line and "dev=d\\tv" in line
    doc = json.loads(event_json_line(e))
    assert doc["comm"] == "[red]\x1b[2J\n" and doc["device"] == "d\tv"
    assert event_json_line(e).isascii() and event_json_line(e).count("\n") == 1


def test_tracepoints_when_the_kernel_has_them_else_the_functions_it_has():
    have = {"btf_trace_dma_buf_export", "btf_trace_dma_buf_get", "dma_buf_export",
            "dma_buf_file_release"}
    assert choose_programs(have) == ("tracepoints", ["tp_export", "tp_get", "fn_release"])
    have = {"dma_buf_export", "dma_buf_fd", "dma_buf_detach"}
    assert choose_programs(have) == ("fentry", ["fn_export", "fn_fd", "fn_detach"])
