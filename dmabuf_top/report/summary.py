"""The summary lines of a snapshot: where it came from, its totals, the device-wide
``dumpsys meminfo`` totals, the kernel's GPU memory (/proc/meminfo), and what the scan
and dmabuf-top cost; shared by ``--once`` and the TUI header."""

from __future__ import annotations

from dmabuf_top.analysis import accounting
from dmabuf_top.collect.selfstats import ToolCost
from dmabuf_top.model import KernelInfo, Snapshot
from dmabuf_top.textsafe import printable
from dmabuf_top.units import size_text

#: ``meminfo_kb`` keys in the order shown, with their labels
MEMINFO_LABELS = (
    ("dmabuf", "DMA-BUF"),
    ("dmabuf_mapped", "mapped"),
    ("dmabuf_unmapped", "unmapped"),
    ("heaps", "heaps"),
    ("heaps_pool", "heaps pool"),
)


def source_line(snap: Snapshot) -> str:
    s = snap.source
    return f"dmabuf-top  {s.kind} {printable(s.label())}  {snap.taken_at}  {s.privilege}"


def file_lines(snap: Snapshot, path: str, index: int, count: int) -> list[str]:
    """The header of a sample read from a file, not scanned now: the file, which
    sample (``index`` 0-based, of ``count``) and its time; then where it was recorded."""
    s = snap.source
    return [
        f"dmabuf-top  file {printable(path)}  sample {index + 1} of {count}  {snap.taken_at}",
        f"recorded from: {s.kind} {printable(s.label())}  {s.privilege}",
    ]


def totals_line(snap: Snapshot, raw_bytes: bool = False) -> str:
    t = accounting.totals(snap)
    src = "+".join(snap.kernel.sources) if t.kernel_wide else "sum of buffers seen"

    def size(n: int) -> str:
        return size_text(n, raw_bytes)

    return (
        f"buffers: {t.buffers}  total: {size(t.bytes)} ({src})  "
        f"userspace: {size(t.userspace_bytes)}  "
        f"kernel-only: {size(t.kernel_only_bytes)}  "
        f"rss: {size(t.userspace_rss)}  pss: {size(t.userspace_pss)}"
    )


def meminfo_text(kb: dict[str, int], raw_bytes: bool = False) -> str:
    """Device-wide DMA-BUF totals from ``dumpsys meminfo`` (adb without root), or
    "" when there are none: ``DMA-BUF 798.5M  mapped 152.0K  ...``."""
    return "  ".join(
        f"{label} {size_text(kb[key] * 1024, raw_bytes)}" for key, label in MEMINFO_LABELS
        if key in kb
    )


def gpu_text(k: KernelInfo, raw_bytes: bool = False) -> str:
    """The GPU memory /proc/meminfo shows (7.0+: ``GPUActive``, ``GPUReclaim``), or ""
    when the kernel has none: ``active 12.0M  reclaim 4.0M`` (n/a for a missing one)."""
    if k.gpu_active is None and k.gpu_reclaim is None:
        return ""
    return "  ".join(
        f"{label} {'n/a' if n is None else size_text(n, raw_bytes)}"
        for label, n in (("active", k.gpu_active), ("reclaim", k.gpu_reclaim))
    )


def cost_text(snap: Snapshot | None, cost: ToolCost | None, raw_bytes: bool = False) -> str:
    """What the last scan and dmabuf-top cost: ``scan 0.31s  device cpu 0.22s
    cpu 0.1s 2.0%  rss 85.1M`` (the scan's wall time; over adb the collector's CPU time
    on the device; this process's CPU seconds over the interval, their share of it,
    and its resident memory)."""
    parts = []
    if snap is not None and snap.scan_seconds is not None:
        parts.append(f"scan {snap.scan_seconds:.2f}s")
    if snap is not None and snap.collector_cpu_seconds is not None:
        parts.append(f"device cpu {snap.collector_cpu_seconds:.2f}s")
    if cost is not None:
        parts.append(f"cpu {cost.cpu_seconds:.1f}s {cost.cpu_share * 100:.1f}%")
        parts.append(f"rss {size_text(cost.rss, raw_bytes)}")
    return "  ".join(parts)
