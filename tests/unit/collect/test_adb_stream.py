"""adb_stream: collector output -> RawScan, on REAL output recorded in the 6.1
VM (tests/support/adb_record.py) next to the local backend's snapshot of the same
moment. The stream through the shared assemble() must give that snapshot."""

from __future__ import annotations

import gzip
import os
import subprocess

import pytest
import yaml

from dmabuf_top.collect.adb_setup import DeviceFacts, collector_command, minify
from dmabuf_top.collect.adb_stream import (
    MAX_OUTPUT_MIB,
    PINNED_ITERATOR_UNREADABLE,
    StreamError,
    collector_script,
    gunzip,
    parse_stream,
    split_output,
)
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.parsers.fdinfo import parse_fdinfo
from dmabuf_top.io.codec import dump_snapshot
from tests.support.adb_harness import comparable, require
from tests.support.paths import DATA

ADB_DATA = DATA / "adb"
TAKEN_AT = "2026-11-21T10:00:00Z"


def recorded(tag: str) -> bytes:
    return (ADB_DATA / f"vm-6.1-{tag}.out").read_bytes()


def as_doc(data: bytes) -> dict:
    return yaml.safe_load(dump_snapshot(assemble(parse_stream(data, TAKEN_AT))))


@pytest.mark.parametrize("tag", ["root", "uid2000"])
def test_recorded_stream_gives_the_local_snapshot(tag: str) -> None:
    local = yaml.safe_load((ADB_DATA / f"vm-6.1-{tag}.yaml").read_text())
    doc = as_doc(recorded(tag))
    assert comparable(doc) == comparable(local)
    assert doc["taken_at"] == TAKEN_AT and doc["source"]["kind"] == "adb"
    assert doc["source"]["kernel"] == local["source"]["kernel"]
    assert doc["source"]["kernel"].startswith("6.1.0-")  # recorded on Debian's 6.1
    # gzip'ed on the device: the same
    assert as_doc(gzip.compress(recorded(tag))) == doc


def test_recorded_root_stream_content() -> None:
    raw = parse_stream(recorded("root"), TAKEN_AT)
    doc = as_doc(recorded("root"))
    names = {b["name"] for b in doc["buffers"]}
    assert {"line1\nline2", "tab\tname", "[bold]evil\x1b[31m[/bold]"} <= names
    assert "x\n@@0 f\n\n@@1 end\n" in names  # a name made to look like markers
    assert doc["kernel"]["sources"] == ["bufinfo"] and raw.bufinfo
    assert doc["totals"]["kernel_only_bytes"] > 0
    assert raw.privilege is None and raw.unreadable == []
    # recorded with the "ino" option: every fd's inode, equal to fdinfo's ino:
    inodes = [(pt.fd_inodes, pt.fdinfo) for pt in raw.procs if pt.fdinfo]
    assert inodes
    for fd_inodes, fdinfo in inodes:
        assert fd_inodes == {fd: parse_fdinfo(t).inode for fd, t in fdinfo.items()}
    comms = {pt.comm for pt in raw.procs}
    assert {"compositor", "[red]hog", "shellapp"} <= comms


def test_recorded_unprivileged_stream() -> None:
    raw = parse_stream(recorded("uid2000"), TAKEN_AT)
    assert raw.privilege == "limited"
    assert 1 in raw.unreadable  # init is root's
    assert [pt.comm for pt in raw.procs] == ["shellapp"]
    assert raw.bufinfo is None  # debugfs is root's


def test_cut_anywhere_is_a_stream_error() -> None:
    data = recorded("root")
    cuts = set(range(0, len(data), 97))
    start = 0
    while (i := data.find(b"\n@@", start)) >= 0:  # around every marker
        cuts.update(range(max(0, i - 2), min(len(data), i + 50)))
        start = i + 1
    for cut in sorted(cuts):
        with pytest.raises(StreamError):
            parse_stream(data[:cut], TAKEN_AT)
    packed = gzip.compress(data)
    for cut in range(0, len(packed), max(1, len(packed) // 200)):
        with pytest.raises(StreamError, match="cut short|no collector output|corrupt"):
            parse_stream(packed[:cut], TAKEN_AT, compressed=True)


def test_cut_stream_message() -> None:
    data = recorded("root")
    with pytest.raises(StreamError, match=r"cut short: no end marker after 5000 bytes"):
        parse_stream(data[:5000], TAKEN_AT)
    with pytest.raises(StreamError, match="compressed stream incomplete after 300 bytes"):
        parse_stream(gzip.compress(data)[:300], TAKEN_AT)


def _files_positions(data: bytes) -> tuple[bytes, list[int]]:
    nonce = split_output(data).nonce.encode()
    marker = b"\n@@" + nonce + b" f\n"
    pos, start = [], 0
    while (i := data.find(marker, start)) >= 0:
        pos.append(i)
        start = i + 1
    return marker, pos


def test_file_count_must_match_the_list() -> None:
    data = recorded("root")
    marker, pos = _files_positions(data)
    assert len(pos) >= 5
    # drop the last file's section: one listed file is missing
    nxt = data.find(b"\n@@", pos[-1] + 1)
    with pytest.raises(StreamError, match=r"lacks 1 of \d+ listed files"):
        split_output(data[: pos[-1]] + data[nxt:])
    with pytest.raises(StreamError, match="more files than it listed"):
        split_output(data[: pos[-1]] + marker + b"x" + data[pos[-1] :])


def test_not_collector_output() -> None:
    with pytest.raises(StreamError, match="the device sent no collector output"):
        parse_stream(b"", TAKEN_AT)
    with pytest.raises(StreamError, match="not collector output: 'sh: 1: syntax error'"):
        parse_stream(b"sh: 1: syntax error\n", TAKEN_AT)
    with pytest.raises(StreamError, match="failed on the device: no writable temporary"):
        parse_stream(b"DMABUF-TOP-COLLECTOR-ERROR no writable temporary directory\n", TAKEN_AT)
    head, _, rest = recorded("root").partition(b"\n")
    with pytest.raises(StreamError, match="collector version 3, expected 2"):
        parse_stream(head.replace(b" 1 ", b" 3 ", 1) + b"\n" + rest, TAKEN_AT)
    with pytest.raises(StreamError, match="unexpected text before"):
        parse_stream(head + b"\nnoise" + b"\n" + rest, TAKEN_AT)


def test_command_fits_adbd() -> None:
    """The whole exec: service name, with the nested quoting of su -c, the gzip pipe
    and a session's arguments, stays under 8 KiB. adbd before Android 9 took 4096
    bytes (MAX_PAYLOAD_V1), newer ones 1 MiB; the collector finds dma-bufs only on
    kernels >= 5.3 (the dma-buf filesystem magic, fdinfo's exp_name), which no phone
    with such an old adbd runs."""
    for facts in (
        DeviceFacts(uid=0, gzip=True),
        DeviceFacts(uid=2000, su="c", gzip=True),
        DeviceFacts(uid=2000, su="0", gzip=True),
    ):
        cmd = collector_command(facts, "ino", session=["0" * 32, "f" * 32])
        assert len(("exec:" + cmd).encode()) < 8192, len(cmd)
    script = minify(collector_script())
    assert "#" not in script.split("\n")[0] and len(script) < len(collector_script())


# The Android-only kernel files (no kernel this project can boot has them all:
# sysfs stats left mainline in 6.x, the BPF iterator is Android's, total_pools_kb
# is ACK's): written, in the kernel's formats, over the real paths in a private
# mount namespace, then the real collector reads them.
ANDROID_FILES = r"""
set -e
mount -t tmpfs k /sys/kernel
mkdir -p /sys/kernel/dmabuf/buffers/12 /sys/kernel/dmabuf/buffers/13 /sys/kernel/dma_heap
echo drm >/sys/kernel/dmabuf/buffers/12/exporter_name
echo 8388608 >/sys/kernel/dmabuf/buffers/12/size
echo system >/sys/kernel/dmabuf/buffers/13/exporter_name
echo 4096 >/sys/kernel/dmabuf/buffers/13/size
echo 1536 >/sys/kernel/dma_heap/total_pools_kb
mount -t tmpfs b /sys/fs
mkdir -p /sys/fs/bpf/dmabuf
printf '12\n8388608\nscanout 0\ndrm\n13\n4096\n\nsystem\n' \
    >/sys/fs/bpf/dmabuf/prog_dmabufIter_iter_dmabuf
mount -t tmpfs d /dev
mknod -m 666 /dev/null c 1 3
mknod -m 444 /dev/urandom c 1 9
mkdir /dev/dma_heap /dev/shm
touch /dev/dma_heap/system /dev/dma_heap/system-uncached
exec sh -c "$1" dmabuf-top
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces need root")
def test_collector_on_android_kernel_files() -> None:
    require("unshare")
    r = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", ANDROID_FILES, "x",
         collector_script()],
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    raw = parse_stream(r.stdout, TAKEN_AT)
    assert raw.heaps is not None and raw.heaps.split() == ["system", "system-uncached"]
    assert raw.total_pools_kb == "1536\n"
    assert sorted(raw.sysfs or []) == [("12", "drm", "8388608"), ("13", "system", "4096")]
    assert raw.bpf == "12\n8388608\nscanout 0\ndrm\n13\n4096\n\nsystem\n"
    snap = assemble(raw)
    assert snap.kernel.sources == ["sysfs", "bpf"]
    assert snap.kernel.total_bytes == 8388608 + 4096
    assert snap.kernel.total_pools_kb == 1536
    assert snap.kernel.heaps == ["system", "system-uncached"]
    # the machine's RAM: MemTotal of /proc/meminfo, in bytes
    with open("/proc/meminfo") as f:
        assert snap.kernel.mem_total == int(f.readline().split()[1]) * 1024
    b12, b13 = snap.buffers[12], snap.buffers[13]
    assert (b12.exporter, b12.size, b12.name, b12.heap) == ("drm", 8388608, "scanout 0", False)
    assert (b13.exporter, b13.size, b13.name, b13.heap) == ("system", 4096, None, True)


def test_bufinfo_read_before_the_walk() -> None:
    """The collector reads bufinfo before and after its /proc walk, like the
    local backend; an unheld buffer missing from the first read is transient."""
    data = recorded("root")
    nonce = split_output(data).nonce.encode()
    raw = parse_stream(data, TAKEN_AT)
    assert raw.bufinfo and raw.bufinfo_before == raw.bufinfo  # sent once: they were equal
    doc = as_doc(data)
    unheld = [b for b in doc["buffers"] if not b["holders"]]
    assert unheld and doc["totals"]["kernel_only_bytes"] == sum(b["size"] for b in unheld)
    # as if every buffer had appeared during the walk: the unheld ones are left out
    header = raw.bufinfo[: raw.bufinfo.index("\tname\n") + len("\tname\n")]
    empty = header + "\n\nTotal 0 objects, 0 bytes\n"
    assert "drm" not in empty  # the header and the footer, no row
    same = b"\n@@" + nonce + b" bufinfo_before_same\n"
    assert data.count(same) == 1
    data2 = data.replace(same, b"\n@@" + nonce + b" bufinfo_before\n" + empty.encode())
    assert parse_stream(data2, TAKEN_AT).bufinfo_before == empty
    doc2 = as_doc(data2)
    assert doc2["totals"]["kernel_only_bytes"] == 0
    assert doc2["totals"]["bytes"] == doc["totals"]["bytes"] - sum(b["size"] for b in unheld)
    assert len(doc2["buffers"]) == len(doc["buffers"]) - len(unheld)


def test_huge_numbers_in_paths_are_not_pids() -> None:
    """Found by test_fuzz_adb_stream.py: a pid, fd or inode of 4301 digits (more than
    int() converts) in fdinfo, maps, fdino, uids or unreadable made parse_stream raise
    ValueError; such lines are now ignored like any other line that is no path."""
    data = recorded("root")
    huge = b"9" * 4301
    pid = data.split(b"/proc/", 2)[1].split(b"/", 1)[0]  # a pid the stream lists
    for big in (huge, b"2" * 20):  # over 2**64: more than a snapshot holds
        raw = parse_stream(data.replace(b"/proc/" + pid + b"/", b"/proc/" + big + b"/"), TAKEN_AT)
        assert raw.procs and all(p.pid != int(pid) for p in raw.procs)
    uid_line = data.find(b" uid\n") + len(b" uid\n")
    for bad in (huge, "\u00b2".encode()):  # superscript two: isdigit() yet not int()
        raw = parse_stream(data[:uid_line] + bad + data[data.find(b"\n", uid_line) :], TAKEN_AT)
        assert raw.scan_uid is None
    assemble(raw)


def test_device_text_in_errors_is_short_and_escaped() -> None:
    """Found by test_fuzz_adb_stream.py: a version field of thousands of bytes was
    quoted whole; device text in errors also reached the terminal unescaped."""
    head, _, rest = recorded("root").partition(b"\n")
    with pytest.raises(StreamError) as e:
        parse_stream(head.replace(b" 1 ", b" " + b"9" * 4301 + b" ", 1) + b"\n" + rest, TAKEN_AT)
    assert len(str(e.value)) < 80
    with pytest.raises(StreamError, match=r"failed on the device: \\e\[2Jgone"):
        parse_stream(b"DMABUF-TOP-COLLECTOR-ERROR \x1b[2Jgone\n", TAKEN_AT)
    with pytest.raises(StreamError, match=r"not collector output: '\\e\]0;x\\x07'"):
        parse_stream(b"\x1b]0;x\x07\n", TAKEN_AT)


@pytest.mark.parametrize("dev", [b"9999999999999999999999910", b"9" * 4303, b"-10", b"\xc2\xb2"])
def test_a_dmabufdev_no_device_can_have_is_ignored(dev: bytes) -> None:
    """Found by the stream fuzz in CI: the device number section with more digits than
    a dev_t (OverflowError in os.major) or than int() converts (ValueError)."""
    data = recorded("uid2000")
    nonce = data.split(b"\n", 1)[0].split()[-1]
    section = b"\n@@" + nonce + b" dmabufdev\n"
    head, sep, rest = data.partition(section)
    assert sep and parse_stream(data, "2026-11-21T10:00:00Z").dmabuf_dev is not None
    data = head + sep + dev + rest[rest.index(b"\n"):]  # the number replaced
    raw = parse_stream(data, "2026-11-21T10:00:00Z")
    assert raw.dmabuf_dev is None


@pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces need root")
def test_pinned_iterator_the_shell_may_not_read_is_reported() -> None:
    """A device that offers Android's iterator to root only: the collector, run
    as another user, says so (a warning), and reads nothing of it."""
    require("unshare")
    require("setpriv")
    script = ANDROID_FILES.replace(
        'exec sh -c "$1" dmabuf-top',
        "chmod 400 /sys/fs/bpf/dmabuf/prog_dmabufIter_iter_dmabuf\n"
        'exec setpriv --reuid 65534 --regid 65534 --clear-groups sh -c "$1" dmabuf-top',
    )
    r = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "x",
         collector_script()],
        capture_output=True,
        timeout=120,
        cwd="/",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    raw = parse_stream(r.stdout, TAKEN_AT)
    assert raw.bpf is None
    assert PINNED_ITERATOR_UNREADABLE in raw.warnings
    assert "bpf" not in assemble(raw).kernel.sources


def test_gunzip_stops_at_the_cap():
    """Issue 21: a 2 MB gzip reply inflated to 4 GB; the inflating stops at the cap."""
    bomb = gzip.compress(bytes(3 << 20))
    with pytest.raises(StreamError) as e:
        gunzip(bomb, limit=2 << 20)
    assert str(e.value) == f"device output exceeds {MAX_OUTPUT_MIB} MiB (decompressed): refusing"
    assert gunzip(bomb, limit=3 << 20) == bytes(3 << 20)


def test_denied_lines_name_the_pid_of_their_first_path_before_permission_denied() -> None:
    """What the denied section says, and a line of 200,000 paths read in linear time
    (test_adb_bounds.py has it through a real adb server)."""
    data = recorded("root")
    nonce = data.split(b"\n", 1)[0].split()[-1]
    marker = b"\n@@" + nonce + b" denied\n"
    assert marker in data
    lines = (b"grep: /proc/77/maps: Permission denied\n"
             b"/proc/78/maps then stat: '/proc/79/fd/3': Permission denied\n"
             b"stat: cannot stat '/proc/80/fdinfo/4': No such file or directory\n"
             b"Permission denied: /proc/81/maps\n"
             + b"/proc/82/maps " * 200_000 + b"\n")  # fmt: skip
    raw = parse_stream(data.replace(marker, marker + lines), TAKEN_AT)
    assert {77, 78} <= set(raw.unreadable) and not {79, 80, 81, 82} & set(raw.unreadable)
