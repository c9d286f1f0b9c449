"""The collector's output (``collector.sh``) in, a :class:`RawScan` out.

Pure: no adb, no I/O. The stream is cut into sections at the markers (see the
collector's header comment) and each piece of kernel text goes, untouched,
into the same RawScan fields the local backend fills, so the same
:func:`dmabuf_top.collect.assemble.assemble` and the same parsers make the Snapshot.
Text is decoded exactly as the local backend decodes the files it reads.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass, field
from importlib import resources

from dmabuf_top.collect.parsers.kernelwide import parse_sysfs_grep
from dmabuf_top.collect.parsers.numbers import parse_int
from dmabuf_top.collect.parsers.procstat import cmdline_text
from dmabuf_top.collect.rawscan import ProcText, RawScan
from dmabuf_top.inflate import TooLarge, inflate_member
from dmabuf_top.textsafe import printable

MAGIC = b"DMABUF-TOP-COLLECTOR"
ERROR_MAGIC = b"DMABUF-TOP-COLLECTOR-ERROR"
VERSION = 2
#: stream versions this decoder reads: 1 is version 2 without the session's sections
#: (mode, state, cpu; text recorded before them)
READABLE_VERSIONS = (b"1", b"2")
#: clock ticks per second of /proc/PID/stat (USER_HZ: 100 on every Android ABI)
USER_HZ = 100

#: a pid, fd number, uid or inode: ASCII digits, at most 19 (under 2**64, the most a
#: snapshot holds), so int() never meets a number it refuses or a digit of another script
_N = "[0-9]{1,19}"
_NUMBER_RE = re.compile(_N)
_PROC_FILE_RE = re.compile(rf"^/proc/({_N})/(cmdline)$")
_FDINFO_PATH_RE = re.compile(rf"^/proc/({_N})/fdinfo/({_N})$")
_COMM_PATH_RE = re.compile(rf"^/proc/({_N})/comm$")
_STAT_PATH_RE = re.compile(rf"^/proc/({_N})/stat$")
_GREP_PREFIX_RE = re.compile(rf"^(/proc/{_N}/[a-z]+(?:/{_N})?):".encode())
_MAPS_RE = re.compile(rf"^/proc/({_N})/maps:".encode())
#: the device has Android's pinned dma-buf iterator, but the shell may not read it
PINNED_ITERATOR_UNREADABLE = (
    "the device offers Android's dma-buf BPF iterator "
    "(/sys/fs/bpf/dmabuf/prog_dmabufIter_iter_dmabuf) but only root may read it: "
    "--root (or su) lists the buffers no process holds"
)
#: the first path of ours in a line of the "denied" section (followed by "Permission
#: denied": checked apart, as a ".*" here searched from every path to the line's end,
#: quadratic in a device's line of paths)
_DENIED_RE = re.compile(rf"/proc/({_N})/(?:fd/{_N}|fdinfo/{_N}|maps)\b")
_STAT_LINE_RE = re.compile(rf"^({_N}) /proc/({_N})(?:/fd/({_N}))?$")
#: RawScan field -> kernel-wide file the collector dumps when readable
KERNEL_FILES = {
    "bpf": "/sys/fs/bpf/dmabuf/prog_dmabufIter_iter_dmabuf",
    "total_pools_kb": "/sys/kernel/dma_heap/total_pools_kb",
}


#: the most bytes one adb call may bring, on the wire and once inflated (MiB). A big
#: phone, 1,000 processes holding 4,000 buffers with ~10 holders each, is ~40,000
#: (process, buffer) pairs at ~400 bytes (fdinfo, maps, the fd's inode), ~16 MiB
#: with every process's comm, stat and cmdline: this is 16 times that. More is a
#: device (or whatever answers on the adb port) out to exhaust the host's memory.
MAX_OUTPUT_MIB = 256
MAX_OUTPUT = MAX_OUTPUT_MIB << 20


class StreamError(ValueError):
    """Collector output that cannot be used; str() is one line."""


def too_large(decompressed: bool = False) -> StreamError:
    """The one error for output past :data:`MAX_OUTPUT`."""
    what = " (decompressed)" if decompressed else ""
    return StreamError(f"device output exceeds {MAX_OUTPUT_MIB} MiB{what}: refusing")


def collector_script() -> str:
    """The collector's source, as shipped next to this module."""
    return resources.files(__package__).joinpath("collector.sh").read_text(encoding="utf-8")


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


def _shown(b: bytes, limit: int = 120) -> str:
    """Device text quoted in an error: cut short, every control escaped."""
    return printable(_text(b[:limit])).strip()


@dataclass
class Section:
    name: str
    arg: str
    body: bytes


@dataclass
class CollectorOutput:
    """The stream cut into sections (in order), with the files sections resolved."""

    nonce: str
    sections: list[Section] = field(default_factory=list)
    #: files KIND -> [(path, exact bytes)]
    files: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)

    def get(self, name: str) -> bytes | None:
        for s in self.sections:
            if s.name == name:
                return s.body
        return None


def gunzip(data: bytes, limit: int = MAX_OUTPUT) -> bytes:
    """Inflate a gzip stream, never to more than ``limit`` bytes (``too_large``:
    the inflating stops there, memory stays bounded); a stream cut short raises
    StreamError."""
    try:
        member = inflate_member(data, limit)
    except TooLarge:
        raise too_large(decompressed=True) from None
    except zlib.error as e:
        raise StreamError(f"corrupt compressed collector output: {e}") from None
    if not member.complete:
        raise StreamError(
            f"collector output cut short: compressed stream incomplete after {len(data)} bytes"
        )
    return member.data


def split_output(data: bytes) -> CollectorOutput:
    """Cut the raw stream into sections; check the header and the end marker."""
    first, nl, rest = data.partition(b"\n")
    if first.startswith(ERROR_MAGIC):
        msg = _shown(first[len(ERROR_MAGIC) :], 400)
        raise StreamError(f"collector failed on the device: {msg}")
    parts = first.split(b" ")
    if len(parts) != 3 or parts[0] != MAGIC:
        shown = _shown(first) or "(empty)"
        if not data:
            raise StreamError("the device sent no collector output")
        raise StreamError(f"not collector output: '{shown}'")
    if parts[1] not in READABLE_VERSIONS:
        raise StreamError(f"collector version {_shown(parts[1], 20)}, expected {VERSION}")
    nonce = parts[2]
    if len(nonce) < 16:
        raise StreamError("collector nonce too short")
    out = CollectorOutput(nonce=_text(nonce))
    pieces = (b"\n" + rest).split(b"\n@@" + nonce + b" ")
    if pieces[0].strip():
        raise StreamError("unexpected text before the first collector section")
    pending: list[str] = []
    kind = ""
    for piece in pieces[1:]:
        head, _, body = piece.partition(b"\n")
        name, _, arg = _text(head).partition(" ")
        got = out.files.get(kind)
        if name == "f":
            if got is None or len(got) >= len(pending):
                raise StreamError("collector output has more files than it listed")
            got.append((pending[len(got)], body))
            continue
        if got is not None and len(got) < len(pending):
            missing = len(pending) - len(got)
            raise StreamError(f"collector output lacks {missing} of {len(pending)} listed files")
        if name == "files":
            kind = arg
            pending = [p for p in _text(body).split("\n") if p]
            out.files[kind] = []
        out.sections.append(Section(name, arg, body))
    if pieces[-1] != b"end\n":
        raise StreamError(
            f"collector output cut short: no end marker after {len(data)} bytes "
            "(device disconnected or the command was killed?)"
        )
    return out


def grep_files(body: bytes | None, path_re: re.Pattern[str]) -> list[tuple[str, bytes]]:
    """Files back from ``grep -a -H '' FILE...`` output: every line is
    ``PATH:LINE``; a file is its lines, each ending in a newline (the files
    read this way always end in one). Lines of other paths are ignored."""
    files: dict[str, list[bytes]] = {}
    for line in (body or b"").split(b"\n"):
        m = _GREP_PREFIX_RE.match(line)
        if m is None:
            continue
        path = m.group(1).decode("ascii")
        if path_re.match(path):
            files.setdefault(path, []).append(line[m.end() :])
    return [(p, b"\n".join(lines) + b"\n") for p, lines in files.items()]


def _lines(body: bytes | None) -> list[str]:
    return [ln for ln in _text(body or b"").split("\n") if ln]


def to_rawscan(
    out: CollectorOutput,
    taken_at: str,
    host: str = "",
    source_extra: dict[str, str] | None = None,
) -> RawScan:
    """Turn the sections into the RawScan the local backend would have read."""
    raw = RawScan(taken_at=taken_at, kind="adb", host=host)
    raw.kernel = _text(out.get("kernel") or b"").strip()
    raw.boot_id = _text(out.get("bootid") or b"").strip()
    raw.source_extra = dict(source_extra or {})
    uid_text = _text(out.get("uid") or b"").strip()
    uid = int(uid_text) if _NUMBER_RE.fullmatch(uid_text) else None
    # like the local backend: a pid any of whose fd links, fdinfo or maps we
    # were denied is unreadable, and nothing of it is used
    unreadable = [int(p) for p in _lines(out.get("unreadable")) if _NUMBER_RE.fullmatch(p)]
    for line in _lines(out.get("denied")):
        m = _DENIED_RE.search(line)
        if m and "Permission denied" in line[m.end() :]:  # after the first: after any
            unreadable.append(int(m.group(1)))
    raw.unreadable = sorted(set(unreadable))

    procs: dict[int, ProcText] = {}

    def proc(pid: int) -> ProcText:
        pt = procs.get(pid)
        if pt is None:
            pt = procs[pid] = ProcText(pid=pid)
        return pt

    for path, text in grep_files(out.get("fdinfo"), _FDINFO_PATH_RE):
        m = _FDINFO_PATH_RE.match(path)
        assert m is not None
        pt, fd = proc(int(m.group(1))), int(m.group(2))
        pt.fdinfo[fd] = _text(text)
        pt.magic_fds.add(fd)  # the collector picked it by the dma-buf fs magic
    dev = parse_int(_text(out.get("dmabufdev") or b""))  # a decimal st_dev, < 2**64
    if dev is not None:
        raw.dmabuf_dev = (os.major(dev), os.minor(dev))
    kernel_files: dict[str, bytes] = {}
    cmdlines: dict[int, bytes] = {}
    for path, body in out.files.get("", []):
        m = _PROC_FILE_RE.match(path)
        if m is None:
            kernel_files[path] = body
        elif m.group(2) == "cmdline":
            cmdlines[int(m.group(1))] = body
    for line in _lines(out.get("fdino")):
        m = _STAT_LINE_RE.match(line)
        if m and m.group(3) is not None and int(m.group(2)) in procs:
            procs[int(m.group(2))].fd_inodes[int(m.group(3))] = int(m.group(1))
    for line in (out.get("maps") or b"").split(b"\n"):
        m = _MAPS_RE.match(line)
        if m:
            proc(int(m.group(1))).maps.append(_text(line[m.end() :]))
    uids: dict[int, int] = {}
    for line in _lines(out.get("uids")):
        m = _STAT_LINE_RE.match(line)
        if m and m.group(3) is None:
            uids[int(m.group(2))] = int(m.group(1))
    comms = {
        int(m.group(1)): text
        for path, text in grep_files(out.get("comm"), _COMM_PATH_RE)
        if (m := _COMM_PATH_RE.match(path))
    }
    for pid, pt in procs.items():
        comm = comms.get(pid)
        if comm is None:
            continue  # gone before we read it, like a failed read in the local backend
        pt.comm = _text(comm).rstrip("\n")
        pt.uid = uids.get(pid)
        cmdline = cmdlines.get(pid, b"")
        pt.cmdline = cmdline_text(cmdline)
    # stat of the holders and of their ancestors: the holders' in their ProcText
    for path, text in grep_files(out.get("stat"), _STAT_PATH_RE):
        m = _STAT_PATH_RE.match(path)
        assert m is not None
        pid = int(m.group(1))
        if pid in procs:
            procs[pid].stat = _text(text)
        else:
            raw.ancestor_stats[pid] = _text(text)
    denied = set(raw.unreadable)
    raw.procs = [procs[p] for p in sorted(procs) if p not in denied]

    # an empty body is a file we were not allowed to read after all (SELinux)
    for attr, path in KERNEL_FILES.items():
        body = kernel_files.get(path)
        if body:
            setattr(raw, attr, _text(body))
    # bufinfo is read before and after the /proc walk, as by the local backend;
    # "bufinfo_before_same": the two reads were equal, so it is sent once
    bufinfo = out.get("bufinfo")
    if bufinfo:
        raw.bufinfo = _text(bufinfo)
        before = out.get("bufinfo_before")
        if out.get("bufinfo_before_same") is not None:
            raw.bufinfo_before = raw.bufinfo
        elif before:
            raw.bufinfo_before = _text(before)
    sysfs = out.get("sysfs")
    if sysfs is not None:
        raw.sysfs = parse_sysfs_grep(_text(sysfs))
    if out.get("bpf_unreadable") is not None:
        raw.warnings.append(PINNED_ITERATOR_UNREADABLE)
    heaps = out.get("heaps")
    if heaps is not None:
        raw.heaps = _text(heaps)
    memtotal = out.get("memtotal")
    if memtotal is not None:
        raw.proc_meminfo = _text(memtotal)  # its MemTotal (and GPU) lines
    meminfo = out.get("meminfo")
    if meminfo is not None:
        raw.meminfo = _text(meminfo)
    raw.scan_uid = uid
    ticks = [parse_int(t) for t in _text(out.get("cpu") or b"").split()]
    if len(ticks) == 4 and None not in ticks:
        raw.collector_cpu_seconds = sum(t for t in ticks if t is not None) / USER_HZ
    if uid is not None and uid != 0 and raw.unreadable:
        raw.privilege = "limited"
    return raw


def parse_stream(
    data: bytes,
    taken_at: str,
    host: str = "",
    source_extra: dict[str, str] | None = None,
    compressed: bool | None = None,
) -> RawScan:
    """Raw bytes from the device (gzip'ed or not; None = detect) to a RawScan."""
    if compressed is None:
        compressed = data[:2] == b"\x1f\x8b"
    if compressed:
        data = gunzip(data)
    return to_rawscan(split_output(data), taken_at, host, source_extra)
