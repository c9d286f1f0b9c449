"""The local machine: fetch text from /proc, debugfs and sysfs, or from BPF iterators.

Only fetching lives here; parsing and merging is :mod:`dmabuf_top.collect.assemble`.
The /proc walk: by the shipped native collector (:mod:`dmabuf_top.collect.native_walk`),
else each process as :mod:`dmabuf_top.collect.proc_walk` reads it (the same records), then
stat of the holders' ancestors (for the process tree); the fdinfo the Python walk gave
again from the last walk is confirmed by bufinfo (:mod:`dmabuf_top.collect.fdinfo_reuse`).
The BPF scan (:mod:`dmabuf_top.collect.bpf_loader`): one
read each of the fd, mapping, process and buffer iterators (binary records, the
programs loaded once per backend), and /proc only for what BPF does not give: the holders'
``cgroup`` (the path as the reader's cgroup namespace sees it), and the comm and
cmdline of the few processes the process iterator cannot say all of (kernel threads,
whose /proc comm may be longer; cmdlines longer than a page or rewritten in place);
the walk when it cannot load or its records are malformed.
"""

from __future__ import annotations

import os
import socket
import time

from dmabuf_top.collect.app_axis import DMEM_FILES
from dmabuf_top.collect.assemble import Assembler
from dmabuf_top.collect.bpf_loader import (
    BUFFERS,
    FILES,
    TASKS,
    VMAS,
    BpfIterators,
    BpfUnavailable,
)
from dmabuf_top.collect.contract import SeenProcess
from dmabuf_top.collect.fdinfo_reuse import BUFFER, Known, counted_buffers, known_fds
from dmabuf_top.collect.memo import Memo
from dmabuf_top.collect.native_walk import NativeWalker, NativeWalkUnusable, WalkRecords
from dmabuf_top.collect.parsers.bpf_records import (
    BpfRecordsError,
    check_buffers,
    holder_pids,
    parse_tasks,
)
from dmabuf_top.collect.parsers.cgroup import parse_proc_cgroup
from dmabuf_top.collect.parsers.procstat import parse_stat
from dmabuf_top.collect.pidsignal import signal_seen
from dmabuf_top.collect.proc_facts import (
    O_DIR,
    HeldText,
    open_held,
    read_ancestor_stats,
    read_bpf_task_leftovers,
    read_cgroup_files,
    read_cgroups,
    read_holders,
    read_optional,
    read_text,
)
from dmabuf_top.collect.proc_walk import (
    dmabuf_dev,
    list_pids,
    read_late,
    scan_pid,
)
from dmabuf_top.collect.rawscan import ProcText, RawScan
from dmabuf_top.model import Snapshot, Source
from dmabuf_top.timefmt import utc_now

BUFINFO = "/sys/kernel/debug/dma_buf/bufinfo"
SYSFS_BUFFERS = "/sys/kernel/dmabuf/buffers"
BPF_ITER = "/sys/fs/bpf/dmabuf/prog_dmabufIter_iter_dmabuf"
DMA_HEAP_DIR = "/dev/dma_heap"
TOTAL_POOLS_KB = "/sys/kernel/dma_heap/total_pools_kb"
#: 7.0+: whether the system heap charges its pages to the allocator's memcg
HEAP_ACCOUNTING = "/sys/module/dma_heap/parameters/mem_accounting"
#: what a scan by the /proc walk cannot see (one warning line)
GEM_HANDLES_UNSEEN = (
    "GEM handles not seen: the /proc walk finds holders by fd and mapping only "
    "(a buffer held only by a GPU handle shows as kernel-only); --source bpf sees them"
)
#: --source: auto (BPF when it loads, else the walk), proc (the walk), bpf
SCAN_SOURCES = ("auto", "proc", "bpf")
#: who walks /proc: the shipped native collector (the Python walk when it cannot), or Python
WALKERS = ("native", "python")

_GONE = (FileNotFoundError, ProcessLookupError)

def read_sysfs_stats(root: str = SYSFS_BUFFERS) -> list[tuple[str, str, str]] | None:
    try:
        names = os.listdir(root)
    except OSError:
        return None
    out = []
    for ino in names:
        try:
            exp = read_text(f"{root}/{ino}/exporter_name")
            size = read_text(f"{root}/{ino}/size")
        except OSError:
            continue
        out.append((ino, exp, size))
    return out


def read_heaps(root: str = DMA_HEAP_DIR) -> str | None:
    try:
        return "\n".join(sorted(os.listdir(root)))
    except OSError:
        return None


class LocalBackend:
    """Scans this machine (and signals its processes: :class:`Signaller`).
    ``collect()`` is safe to call from a worker thread."""

    kind = "local"
    live = True

    def __init__(self, proc: str = "/proc", source: str = "auto",
                 walker: str | NativeWalker = "native") -> None:
        if source not in SCAN_SOURCES:
            raise ValueError(f"unknown scan source {source!r}")
        if isinstance(walker, str) and walker not in WALKERS:
            raise ValueError(f"unknown walker {walker!r}")
        self.proc = proc
        self.source = source
        self.host = socket.gethostname()
        self.kernel = os.uname().release
        self._bpf: BpfIterators | None = None
        #: what the last refresh assembled, reused where nothing changed
        self.assembler = Assembler()
        #: the BPF records checked, their holders and processes: once while their bytes stay
        self._holder_pids = Memo(lambda key: holder_pids(*key))
        self._tasks = Memo(lambda key: parse_tasks(*key))
        self._checked = Memo(check_buffers)
        #: the dma-buf fds the last walk read (fdinfo_reuse), and its holders' stat parsed
        self._known: Known = {}
        self._stat = Memo(parse_stat)
        #: the buffers a bufinfo text gives a count (the reused fdinfo's check), by text
        self._counted = Memo(lambda text: counted_buffers(self.assembler.bufinfo_index(text)))
        #: why the BPF scan is not used (None: it is, or it was not asked for)
        self.bpf_note: str | None = None
        #: the walk by the shipped native collector (native_walk), opened at the first
        #: walk (walker "native": on /proc only); why it is not used (then the walk is
        #: Python's); who made the last walk ("native", "python"; None: not walked)
        self._native = walker if isinstance(walker, NativeWalker) else None
        self._native_tried = self._native is not None or walker == "python" or proc != "/proc"
        self.walk_note: str | None = None
        self.walked_by: str | None = None
        if source == "bpf" or (source == "auto" and proc == "/proc"):
            try:
                self._bpf = BpfIterators()
            except BpfUnavailable as e:
                self.bpf_note = f"BPF scan not used: {e}; walked /proc instead"

    def close(self) -> None:
        """Unload the BPF programs (the kernel also does when the process exits)."""
        if self._bpf is not None:
            self._bpf.close()
            self._bpf = None
        if self._native is not None:
            self._native.close()
            self._native = None

    def _read_bpf(self) -> dict[str, bytes] | None:
        """One pass of every loaded iterator, or None (with ``bpf_note`` set) when a
        read fails: then this refresh walks /proc instead, never a half scan."""
        if self._bpf is None:
            return None
        try:
            return {p: self._bpf.read(p) for p in self._bpf.programs}
        except BpfUnavailable as e:
            self.bpf_note = f"BPF scan failed: {e}; walked /proc instead"
            self.close()
            return None

    def _native_walk(self) -> WalkRecords | None:
        """One walk by the native collector, or None (``walk_note`` says why, when it
        was to be used): then the walk is Python's, from now on."""
        if not self._native_tried:
            self._native_tried = True
            try:
                self._native = NativeWalker()
            except NativeWalkUnusable as e:
                self.walk_note = f"native walk not used: {e}; walked /proc in Python"
        if self._native is None:
            return None
        try:
            return self._native.walk(self.proc)
        except NativeWalkUnusable as e:
            self.walk_note = f"native walk not used: {e}; walked /proc in Python"
            self._native.close()
            self._native = None
            return None

    def _walk(self, raw: RawScan, reuse: bool) -> dict[int, list[int]] | None:
        """Walk /proc into ``raw``: by the native collector (None: nothing reused), or
        in Python, where with ``reuse`` fdinfo the last walk read is given again where
        stat proves the fd unchanged: those fds, by pid (to be confirmed:
        :meth:`_confirm`)."""
        records = self._native_walk()
        self.walked_by = "python" if records is None else "native"
        if records is not None:
            raw.procs, raw.unreadable = records.procs, records.unreadable
            raw.cgroups.update(records.cgroups)
            raw.dmabuf_dev = dmabuf_dev(raw.procs, self.proc)
            self._known = {}
            return None
        known = self._known if reuse else {}
        reused: dict[int, list[int]] = {}
        proc_fd = os.open(self.proc, O_DIR)
        try:
            for pid in list_pids(self.proc):
                last = known.get(pid)
                try:
                    pt = scan_pid(pid, self.proc, raw.cgroups, last and last[1], reused, proc_fd)
                except _GONE:
                    continue
                except PermissionError:
                    raw.unreadable.append(pid)
                    continue
                except OSError:
                    continue
                if pt is not None:
                    raw.procs.append(pt)
        finally:
            os.close(proc_fd)
        raw.dmabuf_dev = dmabuf_dev(raw.procs, self.proc)
        return reused

    def _start(self, pt: ProcText) -> int | None:
        """The start time in ``pt``'s stat (read through the directory its fds were)."""
        st = self._stat(pt.stat) if pt.stat is not None else None
        return st.start_time if st is not None and st.pid == pt.pid else None

    def _confirm(self, raw: RawScan, reused: dict[int, list[int]]) -> set[int]:
        """Read again the fdinfo of the reused fds of a process that is not the one
        the last walk read (its start time), or whose count bufinfo does not give
        (fdinfo's would then be the figure: a buffer freed since the walk). Returns the
        pids whose every dma-buf fd, and no other, is the last walk's, given again."""
        counted = self._counted(raw.bufinfo) if raw.bufinfo is not None else frozenset()
        same: set[int] = set()
        for pt in raw.procs:
            fds = reused.get(pt.pid)
            if not fds:
                continue
            start, (was, known, buffers) = self._start(pt), self._known[pt.pid]
            if start != was:
                late = fds
            elif buffers <= counted:  # every buffer its fds hold has bufinfo's count
                late = []
            else:
                late = [fd for fd in fds if known[fd][BUFFER] not in counted]
            if late:
                read_late(pt, late, start, self.proc)
            elif len(fds) == len(pt.fdinfo) == len(known):
                same.add(pt.pid)
        raw.procs = [pt for pt in raw.procs if pt.fdinfo or pt.maps]
        return same

    def describe(self) -> str:
        return Source(kind="local", host=self.host, kernel=self.kernel).label()

    def fetch(self) -> RawScan:
        """Read all the text one refresh needs: by BPF when it loaded, and by the
        walk when its records are malformed (``bpf_note`` says so, once)."""
        try:
            return self._fetch()
        except BpfRecordsError as e:
            self.bpf_note = f"BPF scan failed: {e}; walked /proc instead"
            self.close()
            return self._fetch()
        finally:
            for memo in (self._holder_pids, self._tasks, self._checked, self._stat, self._counted):
                memo.turn()

    def _fetch(self) -> RawScan:
        raw = RawScan(taken_at=utc_now(), kind="local", host=self.host, kernel=self.kernel)
        boot_id = read_optional(f"{self.proc}/sys/kernel/random/boot_id")
        raw.boot_id = boot_id.strip() if boot_id else ""
        texts = self._read_bpf()
        holders_by_bpf = texts is not None and FILES in texts and VMAS in texts
        # a walk takes long: bufinfo from before it tells buffers made meanwhile, and
        # the file stays open for the read after it (HeldText: the kernel prints it once
        # more, not log2(size / page) + 1 times); an umount of debugfs meanwhile gets EBUSY
        held = None if holders_by_bpf else open_held(BUFINFO)
        try:
            return self._fetch_into(raw, texts, holders_by_bpf, held)
        finally:
            if held is not None:
                held.close()

    def _fetch_into(self, raw: RawScan, texts: dict[str, bytes] | None,
                    holders_by_bpf: bool, held: HeldText | None) -> RawScan:
        reused: dict[int, list[int]] | None = None
        if held is not None:
            raw.bufinfo_before = held.read()
        if texts is not None and holders_by_bpf:
            raw.bpf_files, raw.bpf_vmas = texts[FILES], texts[VMAS]
            raw.page_size = os.sysconf("SC_PAGE_SIZE")
            pids = self._holder_pids((raw.bpf_files, raw.bpf_vmas))
            if TASKS in texts:
                raw.bpf_tasks = texts[TASKS]
                raw.clock_ticks = os.sysconf("SC_CLK_TCK")
                tasks = self._tasks((raw.bpf_tasks, raw.clock_ticks))
                raw.procs, raw.ancestor_stats = read_bpf_task_leftovers(tasks, pids, self.proc)
            else:
                raw.procs = read_holders(pids, self.proc)
        else:
            # fdinfo is reused only where bufinfo gives the count (its one moving field)
            reused = self._walk(raw, reuse=raw.bufinfo_before is not None)
            raw.warnings.append(GEM_HANDLES_UNSEEN)
        if raw.bpf_tasks is None:
            raw.ancestor_stats = read_ancestor_stats(raw.procs, self.proc, self._stat)
        if raw.bufinfo_before is not None or texts is not None:
            # with BPF: devices and fences only
            raw.bufinfo = held.read() if held is not None else read_optional(BUFINFO)
        if reused is not None:  # walked: what the next walk may reuse (with bufinfo only)
            same = self._confirm(raw, reused) if reused else set()
            starts = {pt.pid: self._start(pt) for pt in raw.procs}
            self._known = {} if raw.bufinfo_before is None else known_fds(
                raw.procs, starts, raw.dmabuf_dev, self._known, same)
        if texts is None:  # the buffer iterator says all that sysfs would
            raw.sysfs = read_sysfs_stats()
            raw.bpf = read_optional(BPF_ITER)
        else:
            raw.bpf_buffers = texts[BUFFERS]
            self._checked(raw.bpf_buffers)
        for note in (self.bpf_note, self.walk_note):
            if note is not None:
                raw.warnings.append(note)
        raw.heaps = read_heaps()
        raw.total_pools_kb = read_optional(TOTAL_POOLS_KB)
        raw.heap_accounting = read_optional(HEAP_ACCOUNTING)
        raw.proc_meminfo = read_optional(f"{self.proc}/meminfo")
        self._read_app_axis(raw, pids if holders_by_bpf else {p.pid for p in raw.procs})
        raw.scan_uid = os.geteuid()
        if raw.scan_uid != 0 and raw.unreadable:
            raw.privilege = "limited"
        return raw

    def _read_app_axis(self, raw: RawScan, pids: set[int]) -> None:
        """The holders' ``/proc/PID/cgroup`` (but those the walk read), and their
        cgroups' dmem files."""
        raw.cgroups.update(read_cgroups({p for p in pids if p not in raw.cgroups}, self.proc))
        paths = {parse_proc_cgroup(t) for t in raw.cgroups.values()}
        raw.cgroup_files = read_cgroup_files({p for p in paths if p}, DMEM_FILES)

    def send_signal(self, seen: SeenProcess, signum: int) -> None:
        signal_seen(seen, signum, self.proc)

    def collect(self) -> Snapshot:
        t0 = time.perf_counter()
        snap = self.assembler(self.fetch())
        snap.scan_seconds = round(time.perf_counter() - t0, 4)
        return snap
