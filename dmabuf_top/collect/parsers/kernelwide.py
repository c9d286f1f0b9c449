"""Other kernel-wide sources: sysfs stats, the pinned BPF iterator, heaps,
``total_pools_kb``, /proc/meminfo's ``N kB`` lines and ``dumpsys meminfo`` DMA-BUF lines."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dmabuf_top.collect.parsers.numbers import parse_int


@dataclass
class KernelBuffer:
    """A buffer as a kernel-wide source lists it (no holders)."""

    inode: int
    size: int
    exporter: str | None
    name: str | None = None
    #: the file's reference count, where the source gives it (our BPF iterator)
    count: int | None = None


def parse_sysfs_stats(entries: Iterable[tuple[str, str, str]]) -> list[KernelBuffer]:
    """Entries are (directory name, exporter_name text, size text) of
    ``/sys/kernel/dmabuf/buffers/INO``. Malformed entries are skipped."""
    out = []
    for ino, exporter, size in entries:
        inode, nbytes = parse_int(ino), parse_int(size)
        if inode is not None and nbytes is not None:
            out.append(KernelBuffer(inode, nbytes, exporter.strip() or None))
    return out


def parse_sysfs_grep(text: str) -> list[tuple[str, str, str]]:
    """Turn ``grep -r . /sys/kernel/dmabuf/buffers`` style lines
    (``.../buffers/INO/FILE:VALUE``) into entries for :func:`parse_sysfs_stats`."""
    acc: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        path, sep, value = line.partition(":")
        if not sep:
            continue
        parts = path.rstrip("/").split("/")
        if len(parts) < 2:
            continue
        ino, leaf = parts[-2], parts[-1]
        if leaf in ("exporter_name", "size"):
            acc.setdefault(ino, {})[leaf] = value
    return [
        (ino, d.get("exporter_name", ""), d["size"]) for ino, d in acc.items() if "size" in d
    ]


def parse_bpf_iter(text: str) -> list[KernelBuffer]:
    """Android's pinned dma-buf iterator: four lines per buffer
    (inode, size, name — empty if none, exporter)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = []
    for i in range(0, len(lines) - 3, 4):
        ino, size, name, exporter = lines[i : i + 4]
        inode, nbytes = parse_int(ino), parse_int(size)
        if inode is not None and nbytes is not None:
            out.append(KernelBuffer(inode, nbytes, exporter or None, name or None))
    return out


def parse_heaps(text: str) -> list[str]:
    """Names in ``/dev/dma_heap`` (one per line, as ``ls -1`` prints them)."""
    return sorted({line.strip().rsplit("/", 1)[-1] for line in text.splitlines() if line.strip()})


def parse_total_pools_kb(text: str) -> int | None:
    return parse_int(text)


_PROC_MEMINFO_RE = re.compile(r"^([A-Za-z0-9_()]+):\s*([0-9]+) kB\s*$", re.M)


def parse_proc_meminfo(text: str) -> dict[str, int]:
    """``/proc/meminfo``'s ``KEY:  N kB`` lines, in bytes (``MemTotal``; since 7.0
    ``GPUActive`` and ``GPUReclaim``, the TTM pool's pages); the first of a key counts,
    a number out of range is left out."""
    out: dict[str, int] = {}
    for m in _PROC_MEMINFO_RE.finditer(text):
        kb = parse_int(m.group(2))
        if kb is not None and m.group(1) not in out:
            out[m.group(1)] = kb * 1024
    return out


_MEMINFO_RE = re.compile(r"^\s*(DMA-BUF(?: Heaps)?(?: pool)?):\s*([\d,]+)K")
_MAPPED_RE = re.compile(r"\(\s*([\d,]+)K mapped \+\s*([\d,]+)K unmapped\)")


def parse_meminfo_dmabuf(text: str) -> dict[str, int]:
    """``dumpsys meminfo`` DMA-BUF lines, in kB: keys ``dmabuf``,
    ``dmabuf_mapped``, ``dmabuf_unmapped``, ``heaps``, ``heaps_pool``."""
    keys = {"DMA-BUF": "dmabuf", "DMA-BUF Heaps": "heaps", "DMA-BUF Heaps pool": "heaps_pool"}
    out: dict[str, int] = {}
    for line in text.splitlines():
        m = _MEMINFO_RE.match(line)
        if not m:
            continue
        kb = parse_int(m.group(2).replace(",", ""))
        if kb is None:
            continue
        out[keys[m.group(1)]] = kb
        if m.group(1) == "DMA-BUF":
            mm = _MAPPED_RE.search(line)
            mapped = parse_int(mm.group(1).replace(",", "")) if mm else None
            unmapped = parse_int(mm.group(2).replace(",", "")) if mm else None
            if mapped is not None and unmapped is not None:
                out["dmabuf_mapped"], out["dmabuf_unmapped"] = mapped, unmapped
    return out
