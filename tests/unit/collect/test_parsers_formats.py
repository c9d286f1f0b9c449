"""Parsers on the older and rarer kernel formats.

The real 6.1 text captured in the VM is covered by test_parsers_vm.py; the
files under tests/data/formats/ were written from the kernel source of each
version (drivers/dma-buf/dma-buf.c ``dma_buf_debug_show`` and
``dma_buf_show_fdinfo``), as the file names say:

- bufinfo-4.19.txt: before 5.3 (no inode, no name column)
- bufinfo-5.10.txt: 5.3-5.18 (inode, name as an unlabelled 7th field, empty
  when unset; ``Exclusive fence:``/``Shared fence:`` lines)
- bufinfo-6.1-fences.txt: 5.19+ layout with ``write fence:``/``read fence:``
  lines (as ``dma_resv_describe`` prints them), an attached device, and a
  name holding a tab and a newline.
"""


from dmabuf_top.collect.parsers.bufinfo import parse_bufinfo
from dmabuf_top.collect.parsers.fdinfo import is_dmabuf_link, parse_fd_link, parse_fdinfo
from dmabuf_top.collect.parsers.kernelwide import (
    parse_bpf_iter,
    parse_heaps,
    parse_meminfo_dmabuf,
    parse_proc_meminfo,
    parse_sysfs_grep,
    parse_sysfs_stats,
    parse_total_pools_kb,
)
from dmabuf_top.collect.parsers.maps import parse_maps_line
from tests.support.paths import DATA

FORMATS = DATA / "formats"


def test_bufinfo_5_10_unnamed_is_empty_and_old_fences():
    info = parse_bufinfo((FORMATS / "bufinfo-5.10.txt").read_text())
    assert not info.has_name_column
    assert [e.inode for e in info.entries] == [42, 43]
    a, b = info.entries
    assert (a.size, a.count, a.exporter, a.name) == (65536, 3, "system", "camera preview")
    assert a.flags == 2 and a.mode == 0x80007
    assert a.fences == [
        "Exclusive fence: i915 signaled-timeline signalled",
        "Shared fence: i915 ring0 unsignalled",
    ]
    assert a.attachments == ["0000:00:02.0", "0000:03:00.0"]
    assert b.name is None and b.fences == [] and b.attachments == []
    assert (info.total_objects, info.total_bytes) == (2, 4259840)


def test_bufinfo_4_19_has_no_inode():
    info = parse_bufinfo((FORMATS / "bufinfo-4.19.txt").read_text())
    assert [(e.size, e.exporter, e.inode, e.name) for e in info.entries] == [
        (65536, "ion", None, None),
        (8192, "ion", None, None),
    ]
    assert info.entries[0].attachments == ["kgsl-3d0"]
    assert info.total_bytes == 73728


def test_bufinfo_6_1_new_fences_and_hostile_name():
    info = parse_bufinfo((FORMATS / "bufinfo-6.1-fences.txt").read_text())
    assert info.has_name_column
    a, b = info.entries
    assert a.name is None  # <none>
    assert a.fences == [
        "write fence:amdgpu gfx_0.0.0 seq 1234 unsignalled",
        "read fence:amdgpu sdma0 seq 88 signalled",
    ]
    assert a.attachments == ["0000:03:00.0"]
    assert b.inode == 13
    assert b.name == "name\twith tab\nand newline"
    assert info.total_bytes == 8392704


def test_bufinfo_name_literally_none_in_old_format_is_kept():
    text = (
        "size\tflags\tmode\tcount\texp_name\tino\n"
        "00004096\t00000002\t00080007\t00000001\tdrm\t00000007\t<none>\n"
        "\tAttached Devices:\nTotal 0 devices attached\n"
    )
    assert parse_bufinfo(text).entries[0].name == "<none>"


def test_bufinfo_garbage_is_ignored():
    assert parse_bufinfo("").entries == []
    assert parse_bufinfo("hello\nworld\n\tAttached Devices:\n").entries == []


FDINFO_6_1 = (
    "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1234\n"
    "size:\t8388608\ncount:\t4\nexp_name:\tdrm\nname:\tscanout 0\n"
)


def test_fdinfo_full():
    info = parse_fdinfo(FDINFO_6_1)
    assert (info.size, info.count, info.exporter, info.name, info.inode) == (
        8388608,
        4,
        "drm",
        "scanout 0",
        1234,
    )
    assert info.flags == 0o2000002


def test_fdinfo_without_ino_or_name_5_10():
    text = "pos:\t0\nflags:\t02\nmnt_id:\t11\nsize:\t4096\ncount:\t1\nexp_name:\tsystem\n"
    info = parse_fdinfo(text)
    assert info.inode is None and info.name is None
    assert (info.size, info.exporter) == (4096, "system")


def test_fdinfo_name_with_colon_tab_newline_and_markup():
    name = "a: b\tc\n[bold]x\x1b[31m"
    info = parse_fdinfo(f"pos:\t0\nino:\t9\nsize:\t1\ncount:\t1\nexp_name:\tdrm\nname:\t{name}\n")
    assert info.name == name


def test_fd_link():
    assert parse_fd_link("/dmabuf:") == (True, None)
    assert parse_fd_link("/dmabuf:tex atlas") == (True, "tex atlas")
    assert parse_fd_link("anon_inode:dmabuf") == (True, None)
    assert parse_fd_link("anon_inode:[eventfd]") == (False, None)
    assert parse_fd_link("/dev/null") == (False, None)
    assert is_dmabuf_link("/dmabuf:x") and not is_dmabuf_link("/dmabufx")


MAPS = (
    "55d0c0a00000-55d0c0a02000 r--p 00000000 fe:01 131 /usr/bin/cat\n"
    "7fc9d287f000-7fc9d2c7f000 rw-s 103ae6000 00:0a 11     /dmabuf:tex atlas\n"
    "7fc9d2c7f000-7fc9d2c80000 r--s 00000000 00:0a 12     /dmabuf:\n"
    "7fc9d2c80000-7fc9d2c81000 rw-s 00000000 00:0a 13     /dmabuf:two\\012lines \n"
    "7fc9d2c90000-7fc9d2c91000 rw-p 00000000 00:00 0      /dmabufish-but-not\n"
    "7ffd1e5d5000-7ffd1e5f6000 rw-p 00000000 00:00 0      [stack]\n"
)


def test_maps_only_dmabuf_lines():
    entries = [e for e in map(parse_maps_line, MAPS.splitlines()) if e is not None]
    assert [(e.inode, e.name) for e in entries] == [
        (11, "tex atlas"),
        (12, None),
        (13, "two\nlines "),
    ]
    e = entries[0]
    assert (e.start, e.end, e.perms) == (0x7FC9D287F000, 0x7FC9D2C7F000, "rw-s")
    assert e.offset == 0x103AE6000
    assert parse_maps_line("garbage") is None
    assert parse_maps_line("7f00-7f01 r--p 00000000 08:01 42  /usr/lib/libc.so.6") is None


def test_sysfs_stats():
    text = (
        "/sys/kernel/dmabuf/buffers/12/exporter_name:drm\n"
        "/sys/kernel/dmabuf/buffers/12/size:8388608\n"
        "/sys/kernel/dmabuf/buffers/13/exporter_name:system\n"
        "/sys/kernel/dmabuf/buffers/13/size:4096\n"
        "/sys/kernel/dmabuf/buffers/14/exporter_name:partial\n"
    )
    items = sorted(parse_sysfs_stats(parse_sysfs_grep(text)), key=lambda k: k.inode)
    assert [(k.inode, k.size, k.exporter) for k in items] == [
        (12, 8388608, "drm"),
        (13, 4096, "system"),
    ]
    assert parse_sysfs_stats([("x", "drm", "1"), ("5", "drm\n", "7\n")])[0].size == 7


def test_bpf_iter():
    text = "12\n8388608\nscanout 0\ndrm\n13\n4096\n\nsystem\n"
    items = parse_bpf_iter(text)
    assert [(k.inode, k.size, k.name, k.exporter) for k in items] == [
        (12, 8388608, "scanout 0", "drm"),
        (13, 4096, None, "system"),
    ]


def test_heaps_and_pools():
    assert parse_heaps("system\nlinux,cma\nsystem-uncached\n") == [
        "linux,cma",
        "system",
        "system-uncached",
    ]
    assert parse_total_pools_kb("1024\n") == 1024
    assert parse_total_pools_kb("") is None


def test_meminfo_dmabuf_lines():
    text = (
        "Total RAM: 7,813,412K (status normal)\n"
        " DMA-BUF:   817,715K (      152K mapped +   817,563K unmapped)\n"
        " DMA-BUF Heaps:    24,844K\n"
        " DMA-BUF Heaps pool:         0K\n"
    )
    assert parse_meminfo_dmabuf(text) == {
        "dmabuf": 817715,
        "dmabuf_mapped": 152,
        "dmabuf_unmapped": 817563,
        "heaps": 24844,
        "heaps_pool": 0,
    }
    assert parse_meminfo_dmabuf("nothing\n") == {}


def test_mem_total_from_proc_meminfo():
    text = "MemTotal:        8023412 kB\nMemFree:          912344 kB\n"
    assert parse_proc_meminfo(text)["MemTotal"] == 8023412 * 1024
    assert "MemTotal" not in parse_proc_meminfo("MemFree: 1 kB\n")
    assert parse_proc_meminfo("MemTotal: lots kB\n") == {}
    assert parse_proc_meminfo("MemTotal: " + "9" * 30 + " kB\n") == {}  # over 2**64


def test_gpu_memory_from_a_7x_proc_meminfo():
    """7.0 added GPUActive and GPUReclaim (the TTM pool) to /proc/meminfo; the lines
    of a 7.3 kernel (Debian's, in the test VM), around them."""
    text = ("MemTotal:        2010416 kB\nActive(anon):      11532 kB\n"
            "GPUActive:          2048 kB\nGPUReclaim:            0 kB\nHugePages_Total:       0\n"
            "Hugepagesize:       2048 kB\nGPUActive:  9 kB\n")
    got = parse_proc_meminfo(text)
    assert (got["GPUActive"], got["GPUReclaim"]) == (2 << 20, 0)  # the first line of a key
    assert got["Active(anon)"] == 11532 * 1024 and "HugePages_Total" not in got


def test_mem_total_travels_through_assemble_and_the_snapshot_file():
    from dmabuf_top.collect.assemble import assemble
    from dmabuf_top.io.codec import dump_snapshot
    from dmabuf_top.io.loader import loads_snapshots
    from tests.support.rawscans import scene

    raw = scene()
    assert assemble(raw).kernel.mem_total is None
    text = dump_snapshot(assemble(raw))
    assert "mem_total" not in text  # optional: files without it stay as they were
    raw.proc_meminfo = "MemTotal:  4096 kB\n"
    snap = assemble(raw)
    assert snap.kernel.mem_total == 4 << 20
    assert loads_snapshots(dump_snapshot(snap))[0].kernel.mem_total == 4 << 20


def test_gpu_memory_travels_through_assemble_and_the_snapshot_file():
    from dmabuf_top.collect.assemble import assemble
    from dmabuf_top.io.codec import dump_snapshot
    from dmabuf_top.io.loader import loads_snapshots
    from tests.support.rawscans import scene

    raw = scene()
    raw.proc_meminfo = "MemTotal:  4096 kB\n"  # a kernel before 7.0: none, not 0
    text = dump_snapshot(assemble(raw))
    assert "gpu_" not in text
    assert loads_snapshots(text)[0].kernel.gpu_active is None
    raw.proc_meminfo = "MemTotal:  4096 kB\nGPUActive:  12 kB\nGPUReclaim:  0 kB\n"
    k = loads_snapshots(dump_snapshot(assemble(raw)))[0].kernel
    assert (k.gpu_active, k.gpu_reclaim) == (12 << 10, 0)
