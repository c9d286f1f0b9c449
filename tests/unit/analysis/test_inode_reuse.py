"""Inode reuse on kernels < 5.18 (5.3-5.17 number dma-bufs with ``get_next_ino``): on
a 5.10 scan in that kernel's formats (fdinfo without ``ino:``, bufinfo's unlabelled
name column), an inode that comes back with another size and exporter is another
buffer for diff and through a recording (the TUI's rows and history: tests/tui/test_logic.py)."""

from __future__ import annotations

from dmabuf_top.analysis.diff import diff_snapshots
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.io.loader import loads_snapshots
from dmabuf_top.io.record_writer import RecordEncoder
from dmabuf_top.report.diff_report import render_text
from tests.support.rawscans import scan_5_10

T1 = "2026-11-21T10:00:02Z"


def test_a_reused_inode_on_5_10_is_another_buffer() -> None:
    a, b = assemble(scan_5_10()), assemble(scan_5_10(True, T1))
    assert (a.buffers[42].size, a.buffers[42].exporter) == (65536, "system")
    assert (b.buffers[42].size, b.buffers[42].exporter, b.buffers[42].name) == (
        131072, "drm", "frame 1",
    )  # fmt: skip
    assert a.buffers[42].pids == b.buffers[42].pids == [300]  # by the fd's stat inode
    enc = RecordEncoder(interval=2.0)
    for x, y in ((a, b), tuple(loads_snapshots(enc.encode(a) + enc.encode(b)))):
        d = diff_snapshots(x, y)
        assert d.identity.strict and "5.10.0-32-amd64" in d.identity.note
        assert [(e.inode, e.size) for e in d.appeared] == [(42, 131072)]
        assert [(e.inode, e.size) for e in d.disappeared] == [(42, 65536)]
        assert d.changed == [] and "reuses inode numbers" in render_text(d)
    # 43 did not change: the same buffer in both
    assert all(e.inode != 43 for e in d.appeared + d.disappeared)
