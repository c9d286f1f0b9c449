"""Inputs the fuzz tests (test_fuzz_parsers.py) found crashing a parser, kept as
regular tests: kernel text never makes a parser raise."""

from __future__ import annotations

import pytest

from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.parsers.bufinfo import parse_bufinfo
from dmabuf_top.collect.parsers.fdinfo import parse_fdinfo
from dmabuf_top.collect.parsers.kernelwide import (
    parse_bpf_iter,
    parse_meminfo_dmabuf,
    parse_sysfs_stats,
    parse_total_pools_kb,
)
from dmabuf_top.collect.parsers.maps import parse_maps_line
from dmabuf_top.collect.parsers.numbers import parse_int
from dmabuf_top.collect.rawscan import ProcText, RawScan
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.report.once import render_table
from tests.support.rawscans import fdinfo, maps_line

#: more digits than int() converts (sys.get_int_max_str_digits(), 4300 by default)
HUGE = "9" * 4301


def test_bufinfo_total_line_with_more_digits_than_int_takes():
    assert parse_bufinfo(f"Total 0 objects, {HUGE} bytes\n").total_bytes is None
    info = parse_bufinfo(f"Total {HUGE} objects, 0 bytes\n")
    assert (info.total_objects, info.total_bytes) == (None, 0)


def test_bufinfo_row_with_huge_size_is_skipped():
    text = f"size\tflags\tmode\tcount\texp_name\tino\tname\n{HUGE}\t2\t7\t1\tdrm\t5\tx\n"
    assert parse_bufinfo(text).entries == []


def test_meminfo_line_with_huge_numbers_is_skipped():
    assert parse_meminfo_dmabuf(f"DMA-BUF: {HUGE}K\nDMA-BUF Heaps: 12K\n") == {"heaps": 12}
    line = f"DMA-BUF: 10K ({HUGE}K mapped + 2K unmapped)"
    assert parse_meminfo_dmabuf(line) == {"dmabuf": 10}


def test_total_pools_kb_huge_is_unknown():
    assert parse_total_pools_kb(HUGE + "\n") is None


#: int() takes it, but it is no number the kernel prints (more than 64 bits)
BIG = "9" * 400


@pytest.mark.parametrize(
    "text", [BIG, str(1 << 64), "-1", "+1", "1_000", "0x10", "\u0663", "\u00b2", "1e3", ""]
)
def test_numbers_the_kernel_never_prints_are_unknown(text):
    assert parse_int(text) is None


def test_numbers_the_kernel_prints():
    assert parse_int(" 0042\n") == 42 and parse_int(str((1 << 64) - 1)) == (1 << 64) - 1
    assert parse_int("7f00", 16) == 0x7F00 and parse_int("02000002", 8) == 0o2000002


def test_more_than_64_bits_in_kernel_text_is_skipped():
    """Found by test_fuzz_assemble.py: a size, length or total of hundreds of digits
    went into the Snapshot, and the tables (human sizes: float) and the snapshot writer
    (Pss: size / holders) raised OverflowError."""
    assert parse_fdinfo(f"size:\t{BIG}\nino:\t5\n").size is None
    assert parse_maps_line(f"0-{BIG} rw-s 00000000 00:0a 5  /dmabuf:x") is None
    assert parse_maps_line("2000-1000 rw-s 00000000 00:0a 5  /dmabuf:x") is None
    assert parse_sysfs_stats([("5", "drm", BIG)]) == []
    assert parse_bpf_iter(f"5\n{BIG}\n\ndrm\n") == []
    raw = RawScan(
        taken_at="2026-11-21T10:00:00Z",
        procs=[
            ProcText(
                pid=1,
                fdinfo={3: fdinfo(5, 4096, 1)},
                maps=[maps_line(0x1000, 0x1000, 5), f"0-{BIG} rw-s 0 00:0a 6 /dmabuf:"],
                comm="x",
            )
        ],
        meminfo=f"DMA-BUF: {BIG}K\n",
        total_pools_kb=BIG,
        bufinfo=f"Total 1 objects, {BIG} bytes\n",
    )
    snap = assemble(raw)
    for view in ("buffers", "processes", "exporters"):
        render_table(snap, view, None)
    dump_snapshot(snap)
