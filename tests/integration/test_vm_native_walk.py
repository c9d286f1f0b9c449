"""The native walk on every kernel of the matrix: the shipped collector's ``local`` walk of
the guest's real /proc (the scenario's buffers and its neighbours) reads exactly what the
Python walk reads, record for record, and the two snapshots agree, as root and as a user
who may read only some processes; the live backend walks natively and says nothing of it.
(Every kernel's test_snapshot_matches_scenario_and_bufinfo runs ``--source proc``, the
native walk, against the scenario's record and bufinfo.)"""

from __future__ import annotations

import json

import pytest

from tests.integration.test_vm_snapshot import open_path_for_others
from tests.support.paths import REPO
from tests.support.scan_compare import scan_fields

pytestmark = pytest.mark.kernels

#: in the guest: one fetch by each walk, their records (stat by what a process tree
#: takes of it: its CPU times move) and snapshots
BOTH_WALKS = r"""
import json, os, sys
from dmabuf_top.collect.local import LocalBackend
from dmabuf_top.collect.parsers.procstat import parse_stat
from dmabuf_top.io.codec import snapshot_to_dict

def records(raw):
    procs = {}
    for p in raw.procs:
        st = parse_stat(p.stat) if p.stat else None
        procs[p.pid] = {"links": p.links, "fdinfo": p.fdinfo, "maps": p.maps,
                        "fd_inodes": p.fd_inodes, "magic": sorted(p.magic_fds),
                        "cmdline": p.cmdline, "uid": p.uid,
                        "stat": st and [st.pid, st.ppid, st.start_time, st.comm]}
    return {"procs": procs, "order": [p.pid for p in raw.procs], "unreadable": raw.unreadable,
            "cgroups": raw.cgroups, "dev": raw.dmabuf_dev}

if len(sys.argv) > 1:  # root that drops to another user: no longer dumpable
    os.setgroups([]), os.setgid(int(sys.argv[1])), os.setuid(int(sys.argv[1]))
native, python = LocalBackend(source="proc"), LocalBackend(source="proc", walker="python")
rn, rp = native.fetch(), python.fetch()
print(json.dumps({"me": os.getpid(), "walked_by": [native.walked_by, python.walked_by],
                  "warnings": rn.warnings,
                  "records": [records(rn), records(rp)],
                  "snapshots": [snapshot_to_dict(native.assembler(rn)),
                                snapshot_to_dict(python.assembler(rp))]}))
"""


@pytest.mark.parametrize("user, dropped", [(None, False), (65534, False), (65534, True)],
                         ids=["root", "nobody", "root-dropped-to-nobody"])
def test_the_native_walk_reads_what_the_python_walk_reads(vm, scenario, user, dropped):
    """As nobody, and as root that became nobody: then the walk, its child, may not read
    the dmabuf-top process (not dumpable), which reads itself."""
    cmd = [vm.python, "-c", BOTH_WALKS]
    if dropped:  # (the package and the standard library need not be readable to nobody)
        cmd.append(str(user))
    elif user is not None:
        open_path_for_others(vm, vm.python, __file__)
        cmd = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups", *cmd]
    r = vm.run(cmd, timeout=600, cwd=str(REPO))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    got = json.loads(r.stdout)
    assert got["walked_by"] == ["native", "python"]
    assert not [w for w in got["warnings"] if w.startswith("native walk")]
    native, python = got["records"]
    assert native == python
    if user is None:
        holders = {int(p) for b in scenario.record["buffers"].values() for p in b["holders"]}
        assert holders <= {int(p) for p in native["procs"]}
        assert native["unreadable"] == []
    else:  # nobody's: every other user's process is refused to both walks alike
        assert native["procs"] == {} and len(native["unreadable"]) > 10
        assert got["me"] not in native["unreadable"]  # a dropped root reads itself
    a, b = got["snapshots"]
    assert scan_fields(a) == scan_fields(b) and a["warnings"] == b["warnings"]
