"""report/once_data.py's CSV against formula injection (issue 21 item 6): a text cell a
spreadsheet would run (``= + - @`` tab, CR first) gets a leading ``'``; numbers stay
numbers. Hostile names and command lines go through the real ``--once --format csv``."""

from __future__ import annotations

import csv
import io

from dmabuf_top.cli import main
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.report.once_data import csv_text
from tests.support.paths import DATA

FORMULAS = ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_a_text_cell_that_reads_as_a_formula_is_neutralised():
    assert [csv_text(t) for t in FORMULAS] == [
        "'=HYPERLINK(\"http://x\")", "'+1+2", "'-2+3", "'@SUM(A1)", "\\tx", "\\rx"]
    assert csv_text("-1") == "'-1"  # a name is text even when it looks like a number
    assert csv_text("camera=on") == "camera=on" and csv_text("a-b") == "a-b"


def test_csv_cells_from_hostile_names_and_cmdlines(tmp_path, capsys):
    snap = load_snapshots(DATA / "vm-6.1" / "snapshot.yaml")[0]
    bufs = sorted(snap.buffers.values(), key=lambda b: b.inode)
    for buf, name in zip(bufs, FORMULAS, strict=False):
        buf.name = name
    holder = next(b.holders[0].pid for b in bufs if b.holders)
    snap.processes[holder].comm = "=cmd|' /C calc'!A0"
    snap.processes[holder].cmdline = "@evil --flag"
    path = tmp_path / "hostile.yaml"
    path.write_text(dump_snapshot(snap))

    assert main(["--load", str(path), "--format", "csv", "--sort", "inode"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    head = rows[0]
    names = [r[head.index("name")] for r in rows[1:]][: len(FORMULAS)]
    assert names == ["'=HYPERLINK(\"http://x\")", "'+1+2", "'-2+3", "'@SUM(A1)", "\\tx", "\\rx"]
    sizes = [r[head.index("size")] for r in rows[1:]]
    assert all(s.isdigit() for s in sizes)  # numbers are not prefixed

    assert main(["--load", str(path), "--format", "csv", "--view", "processes"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    head = rows[0]
    mine = next(r for r in rows[1:] if r[head.index("pid")] == str(holder))
    assert mine[head.index("comm")] == "'=cmd|' /C calc'!A0"
    assert mine[head.index("cmdline")] == "'@evil --flag"
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
            if cell.startswith("-"):  # only a number may start so
                float(cell)
