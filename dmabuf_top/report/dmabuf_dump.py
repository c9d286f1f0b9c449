"""Android's ``dmabuf_dump`` layouts, line for line: the per-process view (the default),
``-a`` (the buffer x process table) and ``-b`` (per-buffer, per-exporter and total
stats), with its units (kB, as whole-kB integer division of each size).

The format strings are those of AOSP's ``system/memory/libmeminfo`` dmabuf_dump
(``RawOutput`` in ``libdmabufinfo/tools/include/dmabuf_output_helper.h``), with the
Exporter column of current releases; the same quirks, too: the per-process view ends
with a newline and one space. Rss/Pss are dmabuf_dump's: a buffer's Pss is its size
divided (integer division) by its number of holder pids. Orders the C++ leaves to hash
maps are fixed here: processes by pid, buffers by inode, exporters by name. Untrusted
text (comm, names, exporters) is escaped (``textsafe.printable``)."""

# printf-style on purpose: dmabuf_dump's own C format strings, kept as they are there
# ruff: noqa: UP031

from __future__ import annotations

from dmabuf_top.analysis import accounting
from dmabuf_top.model import Buffer, Snapshot
from dmabuf_top.textsafe import printable

#: the views: per process (no flag), -a, -b, and -a -b together
VIEWS = ("p", "a", "b", "ab")
NOT_FOUND = "dmabuf info not found \u00af\\_(\u30c4)_/\u00af\n"
SEPARATOR = "-----------------------"


def _comm(snap: Snapshot, pid: int) -> str:
    proc = snap.processes.get(pid)
    return printable(proc.comm) if proc and proc.comm else "N/A"


def _text(value: str | None) -> str:
    return printable(value) if value else "<unknown>"


def _pss(buf: Buffer) -> int:
    return buf.size // len(buf.holders) if buf.holders else 0


def _held(snap: Snapshot) -> list[Buffer]:
    """The buffers some process holds (what dmabuf_dump finds walking /proc)."""
    return [b for b in snap.sorted_buffers() if b.holders]


def per_process(snap: Snapshot) -> str:
    """``dmabuf_dump``: each process's buffers, then the totals line (holders by fd
    or mapping only, as dmabuf_dump counts them: GEM handles left out)."""
    snap = accounting.without_handles(snap)
    bufs = _held(snap)
    if not bufs:
        return NOT_FOUND
    by_pid: dict[int, list[Buffer]] = {}
    for b in bufs:
        for pid in b.pids:
            by_pid.setdefault(pid, []).append(b)
    out = []
    total_rss = total_pss = 0
    for pid in sorted(by_pid):
        rss = pss = 0
        out.append("%16s:%-5d\n" % (_comm(snap, pid), pid))
        out.append(
            "%22s %16s %16s %16s %16s %22s\n"
            % ("Name", "Rss", "Pss", "nr_procs", "Inode", "Exporter")
        )
        for b in by_pid[pid]:
            out.append(
                "%22s %13d kB %13d kB %16d %16d  %22s\n"
                % (_text(b.name), b.size // 1024, _pss(b) // 1024, len(b.holders), b.inode,
                   _text(b.exporter))
            )
            rss += b.size
            pss += _pss(b)
        out.append("%22s %13d kB %13d kB %16s\n" % ("PROCESS TOTAL", rss // 1024, pss // 1024, ""))
        out.append("----------------------\n")
        total_rss += rss
        total_pss += pss
    userspace = sum(b.size for b in bufs)
    tot = accounting.totals(snap)
    kernel_rss = 0
    if tot.kernel_wide:
        exported = tot.bytes // 1024 * 1024  # dmabuf_dump reads the total in kB
        if exported >= userspace:
            kernel_rss = exported - userspace
        else:
            kernel_rss = exported
            out.append("Warning: Total dmabufs < userspace dmabufs\n")
    else:
        out.append("Warning: Could not get total exported dmabufs. Kernel size will be 0.\n")
    out.append(
        "dmabuf total: %d kB kernel_rss: %d kB userspace_rss: %d kB userspace_pss: %d kB\n "
        % ((userspace + kernel_rss) // 1024, kernel_rss // 1024, total_rss // 1024,
           total_pss // 1024)
    )
    return "".join(out)


def buffer_table(snap: Snapshot) -> str:
    """``dmabuf_dump -a``: one row per buffer, one column per process (fd refs and
    map refs), then the totals row (GEM handles left out, as in :func:`per_process`)."""
    snap = accounting.without_handles(snap)
    bufs = _held(snap)
    if not bufs:
        return NOT_FOUND
    pids = sorted({pid for b in bufs for pid in b.pids})
    out = [f"\n{SEPARATOR} DMA-BUF Table buffer x process {SEPARATOR}---\n"]
    out.append("    Dmabuf Inode |            Size |   Fd Ref Counts |  Map Ref Counts |")
    out += ["%16s:%-5d |" % (_comm(snap, pid), pid) for pid in pids]
    out.append("\n")
    per_pid = dict.fromkeys(pids, 0)
    total = 0
    for b in bufs:
        fd_pids = sum(1 for h in b.holders if h.fds)
        map_pids = sum(1 for h in b.holders if h.maps)
        out.append("%16d |%13d kB |%16d |%16d |" % (b.inode, b.size // 1024, fd_pids, map_pids))
        for pid in pids:
            h = b.holder(pid)
            if h is not None and (h.fds or h.maps):
                per_pid[pid] += b.size // 1024
                out.append("%9d(%6d) refs |" % (len(h.fds), len(h.maps)))
            else:
                out.append("%22s |" % "--")
        total += b.size // 1024
        out.append("\n")
    out.append("------------------------------------\n")
    out.append("%-16s  %13d kB |%16s |%16s |" % ("TOTALS", total, "n/a", "n/a"))
    out += ["%19d kB |" % per_pid[pid] for pid in pids]
    out.append("\n")
    return "".join(out)


def sysfs_stats(snap: Snapshot) -> str:
    """``dmabuf_dump -b``: every buffer (held or not), bytes per exporter, the total."""
    out = [f"\n\n{SEPARATOR} DMA-BUF per-buffer stats {SEPARATOR}\n"]
    out.append("    Dmabuf Inode |     Size(bytes) |    Exporter Name                    |\n")
    for b in snap.sorted_buffers():
        out.append("%16d |%16d | %16s \n" % (b.inode, b.size, printable(b.exporter or "")))
    out.append(f"\n\n{SEPARATOR} DMA-BUF exporter stats {SEPARATOR}\n")
    out.append("      Exporter Name              | Total Count |     Total Size(bytes)   |\n")
    for e in sorted(accounting.exporter_stats(snap), key=lambda e: e.name):
        out.append("%32s | %12d| %d\n" % (printable(e.name), e.buffers, e.bytes))
    out.append(f"\n\n{SEPARATOR} DMA-BUF total stats {SEPARATOR}\n")
    out.append(
        "Total DMA-BUF count: %d, Total DMA-BUF size(bytes): %d\n"
        % (len(snap.buffers), sum(b.size for b in snap.buffers.values()))
    )
    return "".join(out)


def render_dump(snap: Snapshot, view: str = "p") -> str:
    """The output of ``dmabuf_dump`` (``p``), ``-a``, ``-b`` or ``-a -b`` (``ab``)."""
    if view == "a":
        return buffer_table(snap)
    if view == "b":
        return sysfs_stats(snap)
    if view == "ab":
        return sysfs_stats(snap) + "\n\n" + buffer_table(snap)
    return per_process(snap)
