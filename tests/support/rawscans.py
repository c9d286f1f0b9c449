"""Raw scans written from the kernel's formats (fdinfo, maps, bufinfo) for tests of
assemble() and of what is built on it."""

from __future__ import annotations

import json
from pathlib import Path

from dmabuf_top.collect.rawscan import ProcText, RawScan
from tests.support.paths import DATA

MIB = 1 << 20


def fdinfo(ino: int, size: int, count: int, name: str | None = None, exp: str = "drm") -> str:
    text = f"pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t{ino}\n"
    text += f"size:\t{size}\ncount:\t{count}\nexp_name:\t{exp}\n"
    if name is not None:
        text += f"name:\t{name}\n"
    return text


def maps_line(start: int, length: int, ino: int, name: str = "") -> str:
    return f"{start:x}-{start + length:x} rw-s 00000000 00:0a {ino}     /dmabuf:{name}"


BUFINFO = (
    "\nDma-buf Objects:\n"
    "size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n"
    f"{8 * MIB:08d}\t00000002\t00080007\t00000003\tdrm\t00000010\tshared\n"
    "\tAttached Devices:\nTotal 0 devices attached\n\n"
    f"{4 * MIB:08d}\t00000002\t00080007\t00000001\tdrm\t00000011\t<none>\n"
    "\tAttached Devices:\nTotal 0 devices attached\n\n"
    f"{2 * MIB:08d}\t00000002\t00080007\t00000001\tsystem\t00000012\t<none>\n"
    "\tAttached Devices:\n\t0000:03:00.0\nTotal 1 devices attached\n\n"
    f"{1 * MIB:08d}\t00000002\t00080007\t00000001\tdrm\t00000013\tkernel only\n"
    "\tAttached Devices:\nTotal 0 devices attached\n\n"
    f"\nTotal 4 objects, {15 * MIB} bytes\n"
)


def scene(with_kernel: bool = True) -> RawScan:
    a = ProcText(
        pid=100,
        fdinfo={5: fdinfo(10, 8 * MIB, 3, "shared"), 6: fdinfo(10, 8 * MIB, 3, "shared")},
        links={5: "/dmabuf:shared", 6: "/dmabuf:shared"},
        comm="compositor",
        cmdline="/usr/bin/compositor --gpu",
        uid=1000,
    )
    b = ProcText(
        pid=200,
        fdinfo={3: fdinfo(10, 8 * MIB, 3, "shared"), 4: fdinfo(11, 4 * MIB, 1)},
        links={3: "/dmabuf:shared", 4: "/dmabuf:"},
        maps=[maps_line(0x7F0000000000, 2 * MIB, 12)],  # map-only buffer 12
        comm="camera",
    )
    raw = RawScan(taken_at="2026-11-21T10:00:00Z", host="h", kernel="6.1.0", procs=[a, b])
    raw.dmabuf_dev = (0, 10)  # what a backend learns from a stat of a verified fd (00:0a)
    if with_kernel:
        raw.bufinfo = BUFINFO
        raw.heaps = "system\n"
    return raw


def raw_from_capture(root: Path) -> RawScan:
    """Rebuild what a backend would have fetched from the captured files."""
    links = json.loads((root / "fd-links.json").read_text())
    procs: dict[int, ProcText] = {}
    for path, link in links.items():
        _, _, pid, _, fd = path.split("/")
        pt = procs.setdefault(int(pid), ProcText(pid=int(pid)))
        pt.links[int(fd)] = link
        pt.fdinfo[int(fd)] = (root / "fdinfo" / f"{pid}-{fd}.txt").read_text()
    for maps in (root / "maps").glob("*.txt"):
        pt = procs.setdefault(int(maps.stem), ProcText(pid=int(maps.stem)))
        pt.maps = [ln for ln in maps.read_text().split("\n") if "/dmabuf" in ln]
    for pid, pt in procs.items():
        pdir = root / "proc" / str(pid)
        if pdir.is_dir():
            pt.comm = (pdir / "comm").read_text().rstrip("\n")
            pt.cmdline = (pdir / "cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ").decode()
            pt.stat = (pdir / "stat").read_text()
    return RawScan(
        taken_at="2026-11-21T00:00:00Z",
        kernel=(root.parent / "vm-6.1" / "uname-r.txt").read_text().strip(),
        boot_id=json.loads((root / "scenario.json").read_text())["boot_id"],
        procs=list(procs.values()),
        bufinfo=(root / "bufinfo.txt").read_text(),
    )


#: bufinfo in the 5.3-5.18 layout (tests/data/formats: from the 5.10 source): inodes 42
#: (64 KiB, system, "camera preview") and 43 (4 MiB, system, unnamed)
BUFINFO_5_10 = (DATA / "formats" / "bufinfo-5.10.txt").read_text()


def fdinfo_5_10(size: int, count: int, exp: str, name: str | None = None) -> str:
    """fdinfo as 5.10 prints it: no ``ino:`` line (that came in 5.14)."""
    text = f"pos:\t0\nflags:\t02000002\nmnt_id:\t13\nsize:\t{size}\ncount:\t{count}\n"
    text += f"exp_name:\t{exp}\n"
    return text + (f"name:\t{name}\n" if name is not None else "")


def scan_5_10(reused: bool = False, taken_at: str = "2026-11-21T10:00:00Z") -> RawScan:
    """A scan of a 5.10 kernel: the inode of an fd comes from its stat (``fd_inodes``).
    pid 300 (camera) holds inode 42 by fd 5 and 43 by fd 6. With ``reused``, buffer 42
    was freed and its inode number given to a new buffer (``get_next_ino``: 5.3-5.17)
    of another size and exporter."""
    bufinfo = BUFINFO_5_10
    a = fdinfo_5_10(65536, 3, "system", "camera preview")
    if reused:
        old = "00065536\t00000002\t00080007\t00000003\tsystem\t00000042\tcamera preview"
        new = "00131072\t00000002\t00080007\t00000001\tdrm\t00000042\tframe 1"
        assert old in bufinfo
        bufinfo = bufinfo.replace(old, new).replace("4259840 bytes", "4325376 bytes")
        a = fdinfo_5_10(131072, 1, "drm", "frame 1")
    camera = ProcText(
        pid=300,
        links={5: "/dmabuf:" + ("frame 1" if reused else "camera preview"), 6: "/dmabuf:"},
        fdinfo={5: a, 6: fdinfo_5_10(4 << 20, 1, "system")},
        fd_inodes={5: 42, 6: 43},
        comm="camera",
    )
    return RawScan(
        taken_at=taken_at, host="h", kernel="5.10.0-32-amd64", boot_id="b510", procs=[camera],
        bufinfo=bufinfo, heaps="system\n",
    )


def scale_scene(n_procs: int = 200, bufs: int = 20) -> RawScan:
    """N_PROCS processes holding BUFS dma-bufs each by fd (a quarter also mapped), as the
    kernel shows them: the cost benchmark's scene (bench/cost_bench.py)."""
    procs, rows = [], []
    ino = 1000
    for p in range(n_procs):
        pid = 2000 + p
        pt = ProcText(pid=pid, comm=f"app{p}", cmdline=f"/system/bin/app{p} --x", uid=10000)
        for k in range(bufs):
            size = (1 << 20) * (1 + k % 8)
            pt.fdinfo[10 + k] = fdinfo(ino, size, 2 if k % 4 == 0 else 1, f"gralloc {k}")
            if k % 4 == 0:
                start = 0x7F0000000000 + ino * 0x1000000
                pt.maps.append(maps_line(start, size, ino, f"gralloc {k}"))
            rows.append(f"{size:08d}\t00000002\t00080007\t00000001\tdrm\t{ino:08d}\tgralloc {k}\n"
                        "\tAttached Devices:\nTotal 0 devices attached\n\n")  # fmt: skip
            ino += 1
        procs.append(pt)
    bufinfo = ("\nDma-buf Objects:\nsize    \tflags   \tmode    \tcount   \texp_name\tino     "
               "\tname\n" + "".join(rows) + f"\nTotal {len(rows)} objects, 0 bytes\n")  # fmt: skip
    raw = RawScan(taken_at="", kind="local", host="synthetic", kernel="6.6.50", procs=procs)
    raw.dmabuf_dev, raw.bufinfo = (0, 10), bufinfo
    return raw
