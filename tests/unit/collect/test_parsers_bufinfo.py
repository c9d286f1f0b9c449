"""Buffer names that forge debugfs bufinfo records (issue 21, item 7): the text the
6.18 kernel printed in the test VM (tests/integration/test_vm_bufinfo_forging.py made
it: the issue's 31-byte name on a held, attached buffer and a forged ``Attached
Devices:`` block on a kernel-only one), the footer and structure checks, and the
cross-check against fdinfo, sysfs and BPF in assemble()."""

from __future__ import annotations

from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.parsers.bufinfo import parse_bufinfo
from tests.support.paths import DATA
from tests.support.rawscans import BUFINFO, MIB, scene

FORGED = (DATA / "formats" / "bufinfo-6.18-forged-names.txt").read_text()
PHANTOM = "\n100000000000000000\t0\t0\t0\tpwn\t7"
DEVICES = "\n\tAttached Devices:\n\tevil-gpu"


def test_the_recorded_forgery_reads_as_two_buffers_with_their_names():
    info = parse_bufinfo(FORGED)
    assert [(e.inode, e.size, e.exporter) for e in info.entries] == [
        (2, 8192, "drm"), (1, 65536, "system"),
    ]
    ko, held = info.entries
    assert ko.name == DEVICES and ko.attachments == [] and ko.fences == []
    assert held.name == PHANTOM and held.attachments == ["vgem"]
    assert (info.total_objects, info.total_bytes) == (2, 73728)
    assert info.warnings == [
        "debugfs bufinfo: 2 buffer names with lines made to look like bufinfo records "
        "(forged rows?): read as names"
    ]


def test_a_snapshot_of_it_has_no_phantom_and_warns():
    raw = scene(with_kernel=False)
    raw.bufinfo = FORGED
    snap = assemble(raw)
    assert 7 not in snap.buffers
    assert not [b for b in snap.buffers.values() if b.exporter == "pwn" or b.size >= 10**15]
    assert snap.buffers[1].attachments == ["vgem"] and snap.buffers[1].name == PHANTOM
    assert snap.kernel.total_bytes == 73728
    assert any("made to look like bufinfo records" in w for w in snap.warnings)


def lines_without(text: str, line: str) -> str:
    return text.replace(line + "\n", "", 1)


def test_a_footer_the_records_do_not_add_up_to_warns():
    info = parse_bufinfo(BUFINFO.replace("Total 4 objects", "Total 5 objects"))
    assert len(info.entries) == 4
    assert info.warnings == [
        f"debugfs bufinfo: 4 records of {15 * MIB} bytes, but its footer says "
        f"5 objects, {15 * MIB} bytes"
    ]


def test_lines_outside_records_and_a_cut_record_warn():
    extra = BUFINFO.replace("\n\nTotal 4", "\nnot a record\n\nTotal 4")
    assert parse_bufinfo(extra).warnings == [
        "debugfs bufinfo: 1 line outside every buffer record left out"
    ]
    cut = BUFINFO[: BUFINFO.index("Total 1 devices attached")]
    info = parse_bufinfo(cut)
    assert len(info.entries) == 2
    assert info.warnings == [
        "debugfs bufinfo: the last buffer record is cut short: left out",
        "debugfs bufinfo: no 'Total N objects, M bytes' line: the file is cut short",
    ]


def test_a_record_disagreeing_with_fdinfo_is_left_out():
    """A record whose size or exporter is not fdinfo's for the same inode (a held
    buffer): left out, with one warning; the buffer keeps what fdinfo said."""
    raw = scene()
    row = f"{8 * MIB:08d}\t00000002\t00080007\t00000003\tdrm\t00000010\tshared"
    raw.bufinfo = BUFINFO.replace(row, row.replace(f"{8 * MIB:08d}", f"{10**17:08d}"))
    snap = assemble(raw)
    assert snap.buffers[10].size == 8 * MIB and "bufinfo" not in snap.buffers[10].sources
    assert (
        "debugfs bufinfo: 1 record whose size or exporter is not what fdinfo, sysfs or "
        "BPF say of the same inode: left out"
    ) in snap.warnings
    assert "bufinfo" in snap.buffers[11].sources  # the others are read


def test_a_kernel_only_record_disagreeing_with_sysfs_is_left_out():
    raw = scene()
    raw.sysfs = [("13", "system", str(1 * MIB))]  # buffer 13: bufinfo says drm
    snap = assemble(raw)
    assert snap.buffers[13].exporter == "system" and "bufinfo" not in snap.buffers[13].sources
    assert any("record whose size or exporter" in w for w in snap.warnings)


def test_real_captures_have_no_warning():
    for path in sorted(DATA.glob("vm-6.1/**/bufinfo*.txt")) + sorted(
        DATA.glob("formats/bufinfo-[0-9].*.txt")
    ):
        if "forged" not in path.name:
            assert parse_bufinfo(path.read_text()).warnings == [], path
