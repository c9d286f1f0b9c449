"""The committed BPF objects are what their sources build to (collect/bpf/build.sh with
Debian's clang and bpftool), and the loader's failures are one line saying why."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from dmabuf_top.collect import bpf_loader
from dmabuf_top.collect.bpf_events import EVENTS_OBJECT_PATH
from dmabuf_top.collect.bpf_loader import OBJECT_PATH, BpfIterators, BpfUnavailable
from tests.conftest import in_ci

BUILD = OBJECT_PATH.with_name("build.sh")


OBJECTS = [OBJECT_PATH, EVENTS_OBJECT_PATH]


@pytest.mark.parametrize("committed", OBJECTS, ids=lambda p: p.name)
def test_committed_object_is_what_the_source_builds_to(tmp_path, committed):
    missing = [t for t in ("clang", "bpftool") if shutil.which(t) is None]
    if missing:
        msg = f"{', '.join(missing)} not installed (apt-get install clang llvm bpftool libbpf-dev)"
        if in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    subprocess.run(["sh", str(BUILD), str(tmp_path)], check=True, capture_output=True)
    assert (tmp_path / committed.name).read_bytes() == committed.read_bytes(), (
        f"{committed.name} differs from what its source builds to: "
        "run sh dmabuf_top/collect/bpf/build.sh and commit the object"
    )


def test_the_objects_lie_in_the_package_next_to_their_sources():
    for obj in OBJECTS:
        assert obj.is_file() and obj.with_suffix(".c").is_file()


def test_an_unreadable_object_is_one_line_saying_so(tmp_path):
    bad = tmp_path / "not-bpf.o"
    bad.write_bytes(b"\x7fELF but not really")
    try:
        BpfIterators(obj_path=bad)
    except BpfUnavailable as e:  # no libbpf, no BTF or no iter/dmabuf come first
        assert "\n" not in str(e) and str(e)
    else:
        pytest.fail("a broken object loaded")


def test_a_kernel_without_the_dmabuf_iterator_is_named(monkeypatch):
    monkeypatch.setattr(bpf_loader, "kernel_targets", lambda lib: {"task_file", "task_vma"})
    try:
        bpf_loader._libbpf()
    except BpfUnavailable:
        pytest.skip("no libbpf.so.1 here")
    reason = r"no dma-buf BPF iterator \(iter/dmabuf, Linux 6.16\+\)"
    with pytest.raises(BpfUnavailable, match=reason):
        BpfIterators()


# the end of a real 6.18 verifier log (a bound lost between a 32- and a 64-bit
# register), as libbpf printed it while this object's task program was written
REJECTED_LOG = """\
libbpf: prog 'dmabuf_tasks': BPF program load failed: Permission denied
libbpf: prog 'dmabuf_tasks': -- BEGIN PROG LOAD LOG --
179: (85) call bpf_copy_from_user_task#191
R2 min value is negative, either use unsigned or 'var &= const'
verification time 14895 usec
stack depth 168
processed 567 insns (limit 1000000) max_states_per_insn 3 total_states 21 peak_states 21
-- END PROG LOAD LOG --
libbpf: prog 'dmabuf_tasks': failed to load: -13""".splitlines()


def test_a_verifier_rejection_is_named_as_such_not_as_missing_privilege():
    assert bpf_loader.verifier_error(REJECTED_LOG) == (
        "R2 min value is negative, either use unsigned or 'var &= const'"
    )
    assert bpf_loader.verifier_error(["libbpf: failed to load object: -1"]) is None
