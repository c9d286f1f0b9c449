"""The incremental Assembler against a fresh assemble(): random churn on real RawScans
(the 6.1 VM capture, the 6.18 BPF and /proc scans, the adb collector's stream, the
synthetic scene) refresh after refresh: processes come and go, fds open and close,
mappings change, buffers appear and vanish in bufinfo, texts change in place, a pid is
reused with another start time, kernel-wide sources come and go; each refresh the
incremental snapshot equals a fresh one (as dataclasses and as the YAML it writes), and
the snapshots it gave before are unchanged by what it reused since."""

from __future__ import annotations

import copy
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from dmabuf_top.collect.adb_stream import parse_stream
from dmabuf_top.collect.assemble import Assembler, assemble
from dmabuf_top.collect.rawscan import ProcText, RawScan
from dmabuf_top.io.codec import dump_snapshot
from tests.support.fuzz import examples, mutate
from tests.support.paths import DATA
from tests.support.rawscan_json import rawscan_from_json
from tests.support.rawscans import (
    fdinfo,
    maps_line,
    raw_from_capture,
    scale_scene,
    scan_5_10,
    scene,
)

BPF = DATA / "vm-6.18-bpf"


def _small_synthetic() -> RawScan:
    return scale_scene(6, 20)


BASES: list[Callable[[], RawScan]] = [
    lambda: raw_from_capture(DATA / "vm-6.1"),
    lambda: rawscan_from_json((BPF / "rawscan-bpf.json").read_text()),
    lambda: rawscan_from_json((BPF / "rawscan-proc.json").read_text()),
    lambda: parse_stream((DATA / "adb" / "vm-6.1-root.out").read_bytes(), "t"),
    scene,
    scan_5_10,
    _small_synthetic,
]


def _proc(raw: RawScan, n: int) -> ProcText | None:
    return raw.procs[n % len(raw.procs)] if raw.procs else None


def _bump(text: str, n: int) -> str:
    """Another start time, parent or count: the last number of the text changed."""
    head, _, tail = text.rstrip("\n").rpartition(" ")
    return f"{head} {n}\n" if head else text + str(n)


def process_goes(raw: RawScan, n: int) -> None:
    if raw.procs:
        del raw.procs[n % len(raw.procs)]


def process_comes(raw: RawScan, n: int) -> None:
    src = _proc(raw, n)
    if src is None:
        return
    new = copy.deepcopy(src)
    new.pid = 40000 + n % 500
    if new.stat is not None:
        new.stat = new.stat.replace(f"{src.pid} (", f"{new.pid} (", 1)
    raw.procs.append(new)


def pid_reused(raw: RawScan, n: int) -> None:
    """Same pid, another process: another start time (stat's field 22), comm, cmdline."""
    p = _proc(raw, n)
    if p is None:
        return
    if p.stat is not None:
        head, sep, tail = p.stat.partition(") ")
        fields = tail.split(" ")
        if len(fields) > 19:
            fields[19] = str(int(fields[19]) + 1 + n if fields[19].isdigit() else n)
        p.stat = f"{head[: head.find(' (')]} (reborn{n % 7}{sep}{' '.join(fields)}"
    p.comm = f"reborn{n % 7}" if p.comm is not None else None
    p.cmdline = f"/usr/bin/reborn --n {n}"


def fd_opens(raw: RawScan, n: int) -> None:
    p = _proc(raw, n)
    if p is None:
        return
    fd = 500 + n % 50
    if n % 3 and p.fdinfo:  # a dup of a buffer it holds, or a new buffer
        old = sorted(p.fdinfo)[n % len(p.fdinfo)]
        p.fdinfo[fd], p.links[fd] = p.fdinfo[old], p.links.get(old, "/dmabuf:")
    else:
        p.fdinfo[fd] = fdinfo(900000 + n % 64, 4096 * (1 + n % 9), 1, f"new {n % 5}")
        p.links[fd] = f"/dmabuf:new {n % 5}"


def fd_closes(raw: RawScan, n: int) -> None:
    p = _proc(raw, n)
    if p is not None and p.fdinfo:
        fd = sorted(p.fdinfo)[n % len(p.fdinfo)]
        del p.fdinfo[fd]
        p.links.pop(fd, None)


def text_changes(raw: RawScan, n: int) -> None:
    """An fdinfo's count or name, a cmdline or a uid, changed in place."""
    p = _proc(raw, n)
    if p is None:
        return
    if p.fdinfo and n % 2:
        fd = sorted(p.fdinfo)[n % len(p.fdinfo)]
        text = p.fdinfo[fd]
        p.fdinfo[fd] = text.replace("count:\t", f"count:\t{n % 3}") if n % 4 == 1 else (
            text + f"name:\trenamed {n % 3}\n" if "name:" not in text else text[:-2] + "Z\n"
        )
    else:
        p.cmdline = (p.cmdline or "") + f" --again{n % 3}"
        p.uid = n % 3 + 1000


def maps_change(raw: RawScan, n: int) -> None:
    p = _proc(raw, n)
    if p is None:
        return
    if n % 2 and p.maps:
        del p.maps[n % len(p.maps)]
    else:
        inode = next(iter(p.fdinfo.values()), "ino:\t77").partition("ino:\t")[2].split("\n")[0]
        ino = int(inode) if inode.isdigit() else 77
        p.maps.append(maps_line(0x7F0000000000 + n * 0x10000, 0x10000, ino, f"m{n % 3}"))


def bufinfo_changes(raw: RawScan, n: int) -> None:
    """A record of bufinfo vanishes, repeats or changes its count; or bufinfo is
    read before the walk too (a buffer made meanwhile), or not at all."""
    if raw.bufinfo is None:
        raw.bufinfo = scene().bufinfo if n % 5 == 0 else None
        return
    recs = raw.bufinfo.split("\n\n")
    k = n % 4
    if k == 0 and len(recs) > 3:
        del recs[1 + n % (len(recs) - 2)]
    elif k == 1 and len(recs) > 2:
        recs.insert(1, recs[1 + n % (len(recs) - 2)])
    elif k == 2:
        raw.bufinfo_before = None if raw.bufinfo_before else "\n\n".join(recs[: len(recs) // 2])
    else:
        recs = [r.replace("\t00000001\t", "\t00000002\t", 1) for r in recs]
    raw.bufinfo = "\n\n".join(recs)


def kernel_wide_changes(raw: RawScan, n: int) -> None:
    k = n % 5
    if k == 0:
        raw.sysfs = None if raw.sysfs else [(str(17 + n % 3), "system", str(4096 * (n % 4)))]
    elif k == 1:
        raw.heaps = None if raw.heaps else "system\ndrm\n"
    elif k == 2:
        raw.dmabuf_dev = None if raw.dmabuf_dev else (0, 10 + n % 2)
    elif k == 3:
        raw.bpf = None if raw.bpf else "17\n4096\n\nsystem\n18\n8192\ncamera\ndrm\n"
    else:
        raw.unreadable = [] if raw.unreadable else [n % 50]


def bpf_changes(raw: RawScan, n: int) -> None:
    """A record of the BPF fd, vma, task or buffer iterator gone or repeated."""
    for name in ("bpf_files", "bpf_vmas", "bpf_tasks", "bpf_buffers"):
        data = getattr(raw, name)
        if not data or n % 4 != ("bpf_files", "bpf_vmas", "bpf_tasks", "bpf_buffers").index(
            name
        ):
            continue
        records, at = [], 0
        while at < len(data):  # each record's head says its size (bytes 4-7)
            size = int.from_bytes(data[at + 4 : at + 8], "little")
            records.append(data[at : at + size])
            at += size
        i = n % len(records)
        records.insert(i, records[i]) if n % 8 < 4 else records.pop(i)
        setattr(raw, name, b"".join(records))


def bytes_mutated(raw: RawScan, n: int) -> None:
    """Any text of a process broken (bytes flipped, cut, noise put in)."""
    p = _proc(raw, n)
    if p is None or not p.fdinfo:
        return
    fd = sorted(p.fdinfo)[n % len(p.fdinfo)]
    data = mutate(p.fdinfo[fd].encode(), n.to_bytes(4, "little"))
    p.fdinfo[fd] = data.decode("utf-8", "backslashreplace")


OPS = [process_goes, process_comes, pid_reused, fd_opens, fd_closes, text_changes,
       maps_change, bufinfo_changes, kernel_wide_changes, bpf_changes, bytes_mutated]
steps = st.lists(
    st.tuples(st.booleans(), st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 1 << 16)),
                                      max_size=6)),
    min_size=1, max_size=6,
)


@settings(max_examples=examples(150), deadline=None)
@given(st.sampled_from(BASES), steps)
def test_incremental_assembly_equals_a_fresh_one_after_churn(base, refreshes) -> None:
    raw = base()
    asm = Assembler()
    shown: list[tuple[object, str]] = []
    for i, (copied, ops) in enumerate([(False, []), *refreshes]):
        if copied:  # a backend that fetches new containers; else it refills the same
            raw = copy.deepcopy(raw)
        for op, n in ops:
            op(raw, n)
        raw.taken_at = f"2026-12-07T10:00:{i:02d}Z"
        inc, fresh = asm(raw), assemble(raw)
        assert inc == fresh
        text = dump_snapshot(inc)
        assert text == dump_snapshot(fresh)
        shown.append((inc, text))
    for snap, text in shown:  # what was reused was not changed for a later refresh
        assert dump_snapshot(snap) == text


def test_unchanged_refresh_reuses_every_buffer_and_holder() -> None:
    raw = scale_scene(20, 20)
    asm = Assembler()
    a = asm(raw)
    held = asm._holdings  # what the walk's records made: not made again (no BPF records)
    b = asm(copy.deepcopy(raw))
    assert asm._holdings is held
    assert a == b and all(b.buffers[i] is a.buffers[i] for i in a.buffers)
    assert all(b.processes[p] is a.processes[p] for p in a.processes)
    raw.procs[0].fdinfo.pop(10)  # one fd closed: only its buffer is built again
    c = asm(raw)
    again = [i for i in c.buffers if c.buffers[i] is not b.buffers[i]]
    assert again == [1000] and c == assemble(raw)


def _fetched_again(raw: RawScan) -> RawScan:
    """``raw`` as a backend's next fetch gives it unchanged: every text a new str
    (decoded anew), in new containers."""
    def new(text: str) -> str:
        return text.encode().decode()

    again = copy.deepcopy(raw)
    for p in again.procs:
        p.fdinfo = {fd: new(t) for fd, t in p.fdinfo.items()}
        p.maps = [new(ln) for ln in p.maps]
    assert again.bufinfo is not None
    again.bufinfo = new(again.bufinfo)
    return again


def test_an_unchanged_fetch_of_new_texts_is_not_held_again() -> None:
    """Nothing changed, every text a new object (a real fetch): the holders and
    buffers are not worked out again (an input without BPF records included)."""
    raw = scale_scene(20, 20)
    asm = Assembler()
    first = asm(raw)
    held = asm._holdings
    again = _fetched_again(raw)
    snap = asm(again)
    assert asm._holdings is held
    assert snap == assemble(again) == first
    assert all(snap.buffers[i] is first.buffers[i] for i in first.buffers)


def test_what_a_refresh_did_not_use_is_forgotten() -> None:
    asm = Assembler()
    asm(scale_scene(30, 20))
    small = _small_synthetic()
    asm(small)
    snap = asm(small)
    assert len(asm._built) == len(snap.buffers) == 6 * 20
    assert len(asm._proc_records) == len(asm._people) == 6
    assert len(asm._bufinfo) == 1  # this refresh's text (the one before was the same)
