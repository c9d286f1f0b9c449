"""Property-based fuzzing of the kernel-text parsers (collect/parsers): on any text
they return records and never raise; real lines (tests/data), mutated, keep their
meaning where the property says so."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dmabuf_top.collect.parsers.bufinfo import parse_bufinfo
from dmabuf_top.collect.parsers.cgroup import cgroup_app, parse_dmem, parse_proc_cgroup
from dmabuf_top.collect.parsers.fdinfo import is_dmabuf_link, parse_fd_link, parse_fdinfo
from dmabuf_top.collect.parsers.kernelwide import (
    parse_bpf_iter,
    parse_heaps,
    parse_meminfo_dmabuf,
    parse_sysfs_grep,
    parse_sysfs_stats,
    parse_total_pools_kb,
)
from dmabuf_top.collect.parsers.maps import parse_maps_line
from dmabuf_top.collect.parsers.packages import android_app, parse_package_list
from dmabuf_top.collect.parsers.procstat import parse_stat
from tests.support.fuzz import examples, fuzzed_text, huge_number
from tests.support.paths import DATA

VM61 = DATA / "vm-6.1"


def _texts(pattern: str) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(DATA.glob(pattern))]


FDINFO = _texts("vm-6.1/fdinfo/*.txt") + _texts("vm-6.1/newline/fdinfo/*")
MAPS_LINES = sorted(
    {ln for t in _texts("vm-6.1/maps/*") + _texts("vm-6.1/newline/maps/*") for ln in t.split("\n")}
)
BUFINFO = _texts("formats/bufinfo-*.txt") + _texts("vm-6.1/bufinfo*.txt")
BUFINFO += _texts("vm-6.1/newline/bufinfo.txt")
LINKS = sorted(set(json.loads((VM61 / "fd-links.json").read_text()).values()))
SYSFS = [
    "/sys/kernel/dmabuf/buffers/17/exporter_name:system\n"
    "/sys/kernel/dmabuf/buffers/17/size:4096\n"
    "/sys/kernel/dmabuf/buffers/18/size:8192\n"
]
BPF = ["17\n4096\n\nsystem\n18\n8192\ncamera\ndrm\n"]
MEMINFO = [
    "Total RAM: 3,844,412K (status normal)\n"
    "          DMA-BUF:   118,036K (   63,188K mapped +   54,848K unmapped)\n"
    "    DMA-BUF Heaps:   118,036K\n"
    "DMA-BUF Heaps pool:    12,000K\n"
]


@settings(max_examples=examples(1500))
@given(fuzzed_text(FDINFO))
def test_fdinfo_never_raises(text: str) -> None:
    info = parse_fdinfo(text)
    assert info.size is None or isinstance(info.size, int)
    assert info.name is None or isinstance(info.name, str)


@settings(max_examples=examples(500))
@given(st.text(st.characters(exclude_characters="\0", exclude_categories=())))
def test_fdinfo_name_is_everything_after_the_name_key(name: str) -> None:
    # the kernel prints name: last; any byte but NUL may be in it
    text = f"size:\t4096\ncount:\t1\nexp_name:\tdrm\nino:\t7\nname:\t{name}\n"
    info = parse_fdinfo(text)
    assert (info.size, info.inode, info.name) == (4096, 7, name or None)


@settings(max_examples=examples(1000))
@given(fuzzed_text(LINKS, max_ops=4))
def test_fd_link_never_raises(link: str) -> None:
    is_dmabuf, name = parse_fd_link(link)
    assert is_dmabuf == is_dmabuf_link(link)
    assert name is None or (is_dmabuf and name)


@settings(max_examples=examples(1500))
@given(fuzzed_text(MAPS_LINES, max_ops=6))
def test_maps_line_never_raises(line: str) -> None:
    entry = parse_maps_line(line)
    if entry is not None:
        assert isinstance(entry.start, int) and isinstance(entry.inode, int)


@settings(max_examples=examples(2000))
@given(fuzzed_text(BUFINFO))
def test_bufinfo_never_raises(text: str) -> None:
    info = parse_bufinfo(text)
    for e in info.entries:
        assert isinstance(e.size, int) and isinstance(e.exporter, str)


@settings(max_examples=examples(500))
@given(st.sampled_from(BUFINFO), st.integers(0, 5000))
def test_bufinfo_cut_anywhere_never_raises(text: str, cut: int) -> None:
    full = parse_bufinfo(text)
    cut_info = parse_bufinfo(text[:cut])
    assert len(cut_info.entries) <= len(full.entries)


@settings(max_examples=examples(500))
@given(st.lists(st.tuples(huge_number(), fuzzed_text(["system"], 4), huge_number()), max_size=4))
def test_sysfs_stats_never_raise(entries: list[tuple[str, str, str]]) -> None:
    for kb in parse_sysfs_stats(entries):
        assert isinstance(kb.inode, int) and isinstance(kb.size, int)


@settings(max_examples=examples(1000))
@given(fuzzed_text(SYSFS))
def test_sysfs_grep_never_raises(text: str) -> None:
    parse_sysfs_stats(parse_sysfs_grep(text))


@settings(max_examples=examples(1000))
@given(fuzzed_text(BPF))
def test_bpf_iter_never_raises(text: str) -> None:
    for kb in parse_bpf_iter(text):
        assert isinstance(kb.inode, int) and isinstance(kb.size, int)


@settings(max_examples=examples(500))
@given(fuzzed_text(["system\nsystem-uncached\n/dev/dma_heap/cma\n"]))
def test_heaps_never_raise(text: str) -> None:
    assert all(isinstance(h, str) for h in parse_heaps(text))


@settings(max_examples=examples(500))
@given(st.one_of(fuzzed_text(["1024\n"], 4), huge_number()))
def test_total_pools_kb_never_raises(text: str) -> None:
    value = parse_total_pools_kb(text)
    assert value is None or isinstance(value, int)


@settings(max_examples=examples(1000))
@given(fuzzed_text(MEMINFO))
def test_meminfo_never_raises(text: str) -> None:
    assert all(isinstance(v, int) for v in parse_meminfo_dmabuf(text).values())


STATS = _texts("vm-6.1/proc/*/stat")


@settings(max_examples=examples(1000))
@given(fuzzed_text(STATS))
def test_stat_never_raises(text: str) -> None:
    st = parse_stat(text)
    if st is not None:
        assert 0 <= st.ppid < 2**64 and 0 <= st.start_time < 2**64
        assert ")" not in text.rpartition(")")[2]  # split at the last one


@settings(max_examples=examples(500))
@given(seed=st.sampled_from(STATS), comm=st.text(max_size=15))
def test_stat_any_comm_keeps_the_fields(seed: str, comm: str) -> None:
    """A comm is 15 bytes of anything (spaces, ')', newlines, fields of its own):
    the parent and the start time stay those of the real line."""
    real = parse_stat(seed)
    assert real is not None
    pid, rest = seed.split(" (", 1)
    st_ = parse_stat(f"{pid} ({comm}{rest[rest.rindex(')'):]}")
    assert st_ is not None and (st_.comm, st_.ppid, st_.start_time) == (
        comm, real.ppid, real.start_time,
    )  # fmt: skip


#: names as DMA_BUF_SET_NAME takes them (any character but NUL, 31 bytes of UTF-8),
#: made mostly of what bufinfo's own lines are made of
_NAME_PIECES = st.sampled_from(
    ["\n", "\t", "0", "00000008", "Total ", " objects, ", " devices attached",
     "Attached Devices:", "Dma-buf Objects:", "size", "drm", "<none>", " "]
)
_CHAR = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
_NAME = st.lists(_NAME_PIECES | _CHAR, max_size=12).map("".join).filter(
    lambda n: 0 < len(n.encode()) <= 31
)
_DEVICE = st.sampled_from(["0000:03:00.0", "vgem", "kgsl-3d0"])
_FENCE = st.sampled_from(["write fence:amdgpu gfx seq 1 unsignalled",
                          "read fence:amdgpu sdma0 seq 88 signalled"])


def _kernel_bufinfo(records: list[tuple[int, str, int, str | None, list, list]]) -> str:
    """bufinfo as a 5.19+ kernel prints it (dma_buf_debug_show)."""
    out = ["\nDma-buf Objects:\nsize    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n"]
    for size, exp, ino, name, fences, devices in records:
        out.append(f"{size:08d}\t00000002\t00080007\t00000001\t{exp}\t{ino:08d}\t"
                   f"{'<none>' if name is None else name}\n")
        out += [f"\t{f}\n" for f in fences]
        out.append("\tAttached Devices:\n")
        out += [f"\t{d}\n" for d in devices]
        out.append(f"Total {len(devices)} devices attached\n\n")
    out.append(f"\nTotal {len(records)} objects, {sum(r[0] for r in records)} bytes\n")
    return "".join(out)


@settings(max_examples=examples(1000))
@given(st.lists(st.tuples(
    st.integers(0, 10**12), st.sampled_from(["drm", "system", "udmabuf"]),
    st.integers(1, 10**9), st.none() | _NAME, st.lists(_FENCE, max_size=2),
    st.lists(_DEVICE, max_size=3),
), max_size=5))
def test_bufinfo_names_cannot_forge_records(records) -> None:
    """Whatever the names, the parser reads exactly the records the kernel printed:
    no phantom, no attachment moved, every name whole. (A name whose last line is
    itself a fence line reads as a fence: the text cannot tell; fdinfo names such a
    buffer when a process holds it.)"""
    text = _kernel_bufinfo(records)
    info = parse_bufinfo(text)
    got = [(e.size, e.exporter, e.inode, e.name, e.fences, e.attachments)
           for e in info.entries]
    want = []
    for size, exp, ino, name, fences, devices in records:
        if name is not None and name.split("\n")[-1].startswith("\t") and "fence:" in name:
            return  # the ambiguity the docstring names
        shown = None if name in ("<none>",) else name
        want.append((size, exp, ino, shown, fences, devices))
    assert got == want
    assert not [w for w in info.warnings if "made to look like" not in w], info.warnings


CGROUPS = [
    "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-org.gnome.Foo-1234.scope\n",
    "0::/system.slice/docker-" + "ab12" * 16 + ".scope\n",
    "12:pids:/kubepods/besteffort/pod1/" + "cd34" * 16 + "\n1:name=systemd:/x.scope\n0::/\n",
    "0::/machine.slice/libpod-" + "ef56" * 16 + ".scope/container\n",
]
PACKAGES = ["package:com.foo uid:10123\npackage:com.bar uid:10123\npackage:android uid:1000\n"]


@settings(max_examples=examples(1500))
@given(fuzzed_text(CGROUPS))
def test_cgroup_never_raises(text: str) -> None:
    path = parse_proc_cgroup(text)
    assert path is None or path.startswith("/")
    app = cgroup_app(path)
    assert isinstance(app, str) and (app or not path)
    assert all(isinstance(v, int) or v is None for v in parse_dmem(text).values())


@settings(max_examples=examples(800))
@given(fuzzed_text(PACKAGES), st.integers(min_value=0, max_value=2**31))
def test_packages_never_raise(text: str, uid: int) -> None:
    pk = parse_package_list(text)
    assert all(isinstance(k, int) and names == sorted(names) for k, names in pk.items())
    assert android_app(uid, pk)
