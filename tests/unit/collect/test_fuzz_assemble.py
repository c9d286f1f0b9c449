"""Property-based fuzzing of assemble() on random RawScans: the real scans of the 6.1 VM
(tests/data/vm-6.1) and the synthetic scene, every text field mutated and numbers
swapped by one binary program; assemble never raises, and what it builds survives the
accounting, the --once tables and a snapshot file round trip unchanged."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from dmabuf_top.analysis import accounting
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.rawscan import RawScan
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.loader import loads_snapshots
from dmabuf_top.report.once import render_table
from tests.support.fuzz import examples, mutate
from tests.support.paths import DATA
from tests.support.rawscans import raw_from_capture, scene

VM61 = DATA / "vm-6.1"
BASES = [raw_from_capture(VM61), scene(), scene(False)]
#: kernel-wide texts a base may get, besides its own
KERNEL_SEEDS = {
    "bufinfo": [(DATA / "formats" / n).read_text() for n in ("bufinfo-4.19.txt",)],
    "bpf": ["17\n4096\n\nsystem\n18\n8192\ncamera\ndrm\n"],
    "heaps": ["system\nsystem-uncached\n"],
    "total_pools_kb": ["1024\n"],
    "meminfo": ["  DMA-BUF:  1,036K (  188K mapped +  848K unmapped)\n"],
}
#: pids, fds, inodes and uids as backends parse them: under 2**64
NUMBERS = (0, 1, 2, 10, 11, 3, 146, 162, 2**63, 10**19 - 1, 2**64 - 1)


class Program:
    """A binary draw read from the front: bytes for mutations, choices, numbers."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        b = self.take(1)
        return b[0] if b else 0

    def text(self, text: str | None) -> str | None:
        """``text`` mutated (decoded as the backends decode kernel files)."""
        if text is None or self.byte() < 128:
            return text
        data = mutate(text.encode("utf-8", "backslashreplace"), self.take(4 * (self.byte() % 6)))
        return data.decode("utf-8", "backslashreplace")

    def number(self, n: int) -> int:
        b = self.byte()
        return NUMBERS[b % len(NUMBERS)] if b >= 200 else n


def fuzz_scan(base: RawScan, program: bytes) -> RawScan:
    raw = copy.deepcopy(base)
    p = Program(program)
    if p.byte() >= 160:  # a proc repeated (pids and fds seen twice)
        raw.procs.append(copy.deepcopy(raw.procs[p.byte() % len(raw.procs)]))
    for pt in raw.procs:
        pt.pid = p.number(pt.pid)
        pt.links = {p.number(fd): p.text(t) or "" for fd, t in pt.links.items()}
        pt.fdinfo = {p.number(fd): p.text(t) or "" for fd, t in pt.fdinfo.items()}
        pt.maps = [p.text(t) or "" for t in pt.maps]
        pt.fd_inodes = {p.number(fd): p.number(ino) for fd, ino in pt.fd_inodes.items()}
        pt.comm, pt.cmdline = p.text(pt.comm), p.text(pt.cmdline)
        pt.uid = p.number(pt.uid) if pt.uid is not None else None
    raw.unreadable = [p.number(0) for _ in range(p.byte() % 3)]
    for name, seeds in KERNEL_SEEDS.items():
        b = p.byte()
        if b >= 192:
            setattr(raw, name, seeds[b % len(seeds)])
        elif b < 16:
            setattr(raw, name, None)
        setattr(raw, name, p.text(getattr(raw, name)))
    if p.byte() >= 128:
        raw.bufinfo_before = p.text(raw.bufinfo)
    if p.byte() >= 192:
        raw.sysfs = [(str(p.number(17)), p.text("system") or "", p.text("4096") or "")]
    raw.scan_uid = p.number(0) if p.byte() >= 128 else None
    return raw


scans = st.builds(fuzz_scan, st.sampled_from(BASES), st.binary(max_size=1024))


@settings(max_examples=examples(1500))
@given(scans)
def test_assemble_any_raw_scan_and_render_it(raw: RawScan) -> None:
    snap = assemble(raw)
    procs = accounting.process_stats(snap)
    tot = accounting.totals(snap, procs)
    assert tot.buffers == len(snap.buffers)
    accounting.exporter_stats(snap)
    for view in ("buffers", "processes", "exporters"):
        render_table(snap, view, None)


@settings(max_examples=examples(300))
@given(scans)
def test_assembled_snapshot_survives_a_file_round_trip(raw: RawScan) -> None:
    snap = assemble(raw)
    text = dump_snapshot(snap)
    assert loads_snapshots(text, tolerate_tail=False) == [snap]
