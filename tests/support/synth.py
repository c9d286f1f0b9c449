"""Small synthetic snapshots built with the model classes (for recording,
diff and suspects tests)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from dmabuf_top.model import Buffer, Holder, KernelInfo, MapRange, Process, Snapshot, Source

MIB = 1 << 20
T0 = datetime(2026, 11, 21, 10, 0, 0, tzinfo=timezone.utc)
BOOT = "5b1f0c2e-1111-4c39-9d52-6c1c1d0e9a11"


def stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def buf(
    inode: int,
    size: int = MIB,
    name: str | None = None,
    exporter: str = "drm",
    holders: dict[int, list[int]] | None = None,
    maps: dict[int, int] | None = None,
) -> Buffer:
    """A buffer; ``holders`` pid -> fd numbers, ``maps`` pid -> number of mappings."""
    hs: dict[int, Holder] = {}
    for pid, fds in (holders or {}).items():
        hs[pid] = Holder(pid=pid, fds=list(fds))
    for pid, n in (maps or {}).items():
        h = hs.setdefault(pid, Holder(pid=pid))
        for k in range(n):
            start = 0x7F0000000000 + inode * 0x1000000 + k * 0x100000
            h.maps.append(MapRange(start, start + size, "rw-s", 0x100000000 + k))
    holders_sorted = [hs[p] for p in sorted(hs)]
    return Buffer(
        inode=inode,
        size=size,
        exporter=exporter,
        name=name,
        count=sum(len(h.fds) + len(h.maps) for h in holders_sorted) or 1,
        holders=holders_sorted,
        sources=["fdinfo", "bufinfo"],
    )


def snap(
    buffers: list[Buffer],
    comms: dict[int, str],
    t: float = 0.0,
    kernel: str = "6.1.0-56-amd64",
    boot_id: str = BOOT,
    warnings: list[str] | None = None,
) -> Snapshot:
    """A snapshot holding ``buffers``; processes are the holder pids (comm from ``comms``)."""
    held = sorted({h.pid for b in buffers for h in b.holders})
    return Snapshot(
        taken_at=stamp(t),
        source=Source(kind="local", host="vm", kernel=kernel),
        boot_id=boot_id,
        buffers={b.inode: b for b in sorted(buffers, key=lambda b: b.inode)},
        processes={
            pid: Process(pid=pid, comm=comms.get(pid, ""), cmdline=f"/bin/{comms.get(pid, '')}")
            for pid in held
        },
        kernel=KernelInfo(
            sources=["bufinfo"],
            total_bytes=sum(b.size for b in buffers),
            bufinfo_objects=len(buffers),
            bufinfo_bytes=sum(b.size for b in buffers),
        ),
        warnings=list(warnings or []),
        scan_seconds=0.01,
    )


COMMS = {100: "compositor", 200: "leaker", 300: "steady", 400: "sharer-a", 401: "sharer-b"}


def leak_series(n: int = 8, interval: float = 2.0) -> list[Snapshot]:
    """A leaking scene, sampled ``n`` times:

    * compositor (100) holds one steady 8 MiB scanout buffer;
    * leaker (200) keeps one new 1 MiB buffer named ``leaky frame`` per sample;
    * steady (300) allocates and frees a 2 MiB ``churn`` buffer per sample
      (one at a time: a new inode each sample, same bytes);
    * sharer-a (400) and sharer-b (401) share a growing set of 4 MiB
      ``shared ring`` buffers: one more per sample, each held by both.
    """
    out = []
    for i in range(n):
        bufs = [buf(10, 8 * MIB, "scanout", holders={100: [5]}, maps={100: 1})]
        bufs += [buf(1000 + k, MIB, "leaky frame", holders={200: [10 + k]}) for k in range(i + 1)]
        bufs.append(buf(2000 + i, 2 * MIB, "churn", holders={300: [7]}))
        bufs += [
            buf(3000 + k, 4 * MIB, "shared ring", holders={400: [20 + k], 401: [30 + k]})
            for k in range(i + 1)
        ]
        out.append(snap(bufs, COMMS, t=i * interval))
    return out


_END = re.compile(rb"(?m)(?:^end: [0-9]+|\"end\":[0-9]+\})\n")


def complete_samples(data: bytes) -> int:
    """Samples of a recording whose last line is there: ``end: N`` (a full
    sample) or a delta line ending ``"end":N}``."""
    return len(_END.findall(data))


def last_sample_start(data: bytes) -> int:
    """Offset of the last document's ``---`` line."""
    return max(data.rfind(b"\n---\n"), data.rfind(b"\n--- ")) + 1
