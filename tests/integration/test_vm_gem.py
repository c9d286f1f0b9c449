"""GEM handles on real kernels: the Wayland pattern of scenario.py (tests/support/vm/
wayland.py). A client exports two vgem buffers, sends the fds to a server and closes
its own (it keeps the handles); an importer imports the second and a system-heap
buffer (a vgem one where the kernel has no heaps) and closes the fds. With the BPF
scan the client and the importer are holders by handle (handle numbers, DRM fd,
device and driver), the server by fd; kernel-only is only the buffer nobody holds;
counts are bufinfo's; Rss/Pss and ``--dmabuf-dump`` stay dmabuf_dump's. The /proc
walk cannot see handles, and says so in one warning naming ``--source bpf``.

The first test runs on every kernel of the matrix: where the BPF scan loads
(iter/dmabuf, 6.16+) the handles are checked, elsewhere the walk's warning and
kernel-only figures. The CLI test runs where the scan loads only (no scenario built
on 5.10 and 6.1 to be skipped), the 10,000-handle walk on 7.3 only (the same BPF
object and walk as 6.18; about a minute of CI per kernel).
"""

from __future__ import annotations

import json

import pytest
import yaml

from dmabuf_top.collect.local import GEM_HANDLES_UNSEEN
from tests.integration.test_vm_bpf import snapshot
from tests.integration.test_vm_snapshot import BUFINFO, dmabuf_top, kernel_bufinfo
from tests.support.vm.guest import GEM_MANY, start_scenario
from tests.support.vm.kernels import BPF_SERIES

pytestmark = pytest.mark.kernels


def bpf_loads(vm) -> bool:
    """Whether the kernel has the dma-buf BPF iterator the scan needs (6.16+)."""
    r = vm.run(["grep", "-c", "bpf_iter_dmabuf", "/proc/kallsyms"], timeout=60)
    return r.returncode == 0 and int(r.stdout.strip() or 0) > 0


def roles(rec: dict) -> dict[str, int]:
    procs = rec["processes"].items()
    return {p["role"]: int(pid) for pid, p in procs if p["role"].startswith("wl-")}


def by_name(doc: dict) -> dict[str | None, dict]:
    return {b["name"]: b for b in doc["buffers"]}


def test_gem_handles_are_holders_and_kernel_only_is_held_by_nobody(vm, scenario):
    rec = scenario.record
    who = roles(rec)
    if not bpf_loads(vm):
        doc = snapshot(vm, "--source", "proc")
        assert doc["warnings"].count(GEM_HANDLES_UNSEEN) == 1
        assert "--source bpf" in GEM_HANDLES_UNSEEN
        # the walk: a buffer held by handles only looks kernel-only
        walk_only = sum(b["size"] for b in rec["buffers"].values() if b["kernel_only"])
        assert doc["totals"]["kernel_only_bytes"] == walk_only
        assert all(h["pid"] != who["wl-client"] for b in doc["buffers"] for h in b["holders"])
        return
    doc = snapshot(vm, "--source", "bpf")
    assert GEM_HANDLES_UNSEEN not in doc["warnings"]
    kernel_rows, _total = kernel_bufinfo(vm.read_file(BUFINFO).decode())
    bufs = {b["inode"]: b for b in doc["buffers"]}
    assert set(bufs) == {int(i) for i in rec["buffers"]} == set(kernel_rows)
    for ino, want in rec["buffers"].items():
        got = bufs[int(ino)]
        assert got["count"] == want["count"] == kernel_rows[int(ino)]["count"], (ino, want["name"])
        by_fd = {
            h["pid"]: (h["fds"], len(h["maps"])) for h in got["holders"] if h["fds"] or h["maps"]
        }
        assert by_fd == {
            int(p): (sorted(h["fds"]), len(h["maps"])) for p, h in want["holders"].items()
        }
        handles = {
            h["pid"]: sorted([g["fd"], g["handle"], g["device"]] for g in h.get("handles", []))
            for h in got["holders"] if h.get("handles")
        }
        assert handles == {int(p): hs for p, hs in want["handles"].items()}, (ino, want["name"])
        assert all(g["driver"] == "vgem" for h in got["holders"] for g in h.get("handles", []))

    named = by_name(doc)
    w0, w1 = named["window-0"], named["window-1"]
    # A holds window-0 by its handle only, C by the fd A sent
    assert [(h["pid"], h["fds"] != [], len(h.get("handles", []))) for h in w0["holders"]] == sorted(
        [(who["wl-client"], False, 1), (who["wl-server"], True, 0)]
    )
    # window-1: by handles in two processes (A exported it, B imported it), and C's fd
    by_handle = sorted(h["pid"] for h in w1["holders"] if h.get("handles") and not h["fds"])
    assert by_handle == sorted([who["wl-client"], who["wl-importer"]])
    imported = named["imported-heap"] if "imported-heap" in named else named["imported-vgem"]
    assert [(h["pid"], h["fds"], h["maps"]) for h in imported["holders"]] == [
        (who["wl-importer"], [], [])
    ]

    # kernel-only: only what nobody holds by any means (the DRM file in flight)
    nobody = [b for b in rec["buffers"].values() if b["kernel_only"] and not b["handles"]]
    assert [b["name"] for b in nobody] == ["kernel-only"]
    assert [b["inode"] for b in doc["buffers"] if not b["holders"]] == [nobody[0]["inode"]]
    t = doc["totals"]
    assert t["kernel_only_bytes"] == nobody[0]["size"]
    assert t["userspace_bytes"] + t["kernel_only_bytes"] == t["bytes"] == rec["totals"]["bytes"]
    procs = {p["pid"]: p for p in doc["processes"]}
    client = procs[who["wl-client"]]
    assert (client["rss"], client["pss"], client["handles"]) == (0, 0, 2)
    assert client["handle_bytes"] == w0["size"] + w1["size"]
    assert procs[who["wl-server"]]["rss"] == w0["size"] + w1["size"]
    assert "handles" not in procs[who["wl-server"]]


@pytest.mark.kernels(*BPF_SERIES)
def test_once_and_dmabuf_dump_with_handles(vm, scenario):
    """``--once`` marks holders by handle; ``--dmabuf-dump`` is dmabuf_dump's
    (fds and mappings): the BPF scan prints what the walk prints."""
    who = roles(scenario.record)
    r = vm.run([dmabuf_top(vm), "--once", "--source", "bpf", "--view", "buffers",
                "--format", "csv"], timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"wl-client({who['wl-client']} by handle)" in r.stdout
    assert f"wl-server({who['wl-server']})" in r.stdout
    dumps = []
    for source in ("bpf", "proc"):
        r = vm.run([dmabuf_top(vm), "--dmabuf-dump=ab", "--source", source], timeout=300)
        assert r.returncode == 0, r.stderr
        dumps.append(r.stdout)
    assert dumps[0] == dumps[1]
    assert f":{who['wl-client']}" not in dumps[0]  # a holder by handle only: not dmabuf_dump's
    j = vm.run([dmabuf_top(vm), "--once", "--source", "bpf", "--view", "processes",
                "--format", "json"], timeout=300)
    rows = {p["pid"]: p for p in yaml.safe_load(j.stdout)["rows"]}
    assert rows[who["wl-client"]]["handles"] == 2


@pytest.mark.kernels("7.3")
def test_a_process_with_10000_handles_has_every_dmabuf_handle_listed(vm):
    """10,000 GEM handles on one DRM file, 2,000 of them exported (fds closed): the
    walk lists each of the 2,000, with its handle number and its buffer, and nothing
    else of that process."""
    with start_scenario(vm, "--handles", "10000", "--exported", "2000", out="/tmp/gem.json",
                        script=GEM_MANY) as run:
        rec = run.record
        doc = snapshot(vm, "--source", "bpf")
    assert doc["warnings"] == []  # no fallback to the walk: 4 reads of the fd iterator
    want = {(rec["drm_fd"], int(h), rec["device"]): ino for h, ino in rec["exported"].items()}
    assert len(want) == 2000
    got = {
        (g["fd"], g["handle"], g["device"]): b["inode"]
        for b in doc["buffers"] for h in b["holders"] if h["pid"] == rec["pid"]
        for g in h.get("handles", [])
    }
    assert got == want
    held = [h for b in doc["buffers"] for h in b["holders"] if h["pid"] == rec["pid"]]
    assert all(h["fds"] == [] and h["maps"] == [] for h in held) and len(held) == 2000
    (proc,) = [p for p in doc["processes"] if p["pid"] == rec["pid"]]
    assert (proc["handles"], proc["handle_bytes"], proc["rss"]) == (2000, 2000 * 4096, 0)


#: in the guest: the fd and task iterators read alone, then by two processes sharing the
#: same loaded programs (the child inherits the links: one set of maps), each reading
#: both in a loop at once; what each read gave that differs from the lone read
TWO_READERS = r"""
import json, os, sys
from dmabuf_top.collect.bpf_loader import FILES, TASKS, BpfIterators
from dmabuf_top.collect.parsers.bpf_records import parse_files, parse_handles, parse_tasks
pid, loops = int(sys.argv[1]), int(sys.argv[2])
it = BpfIterators(want=(FILES, TASKS))

def records():
    files = it.read(FILES)
    return (sorted(parse_files(files)), sorted(h for h in parse_handles(files) if h.pid == pid),
            parse_tasks(it.read(TASKS)))

alone = records()

def differs(got):
    tasks = {p: t for p, t in got[2].items() if p in alone[2]}  # processes that came and went
    return [what for what, a, b in (("fds", got[0], alone[0]), ("handles", got[1], alone[1]),
            ("tasks", tasks, {p: alone[2][p] for p in tasks})) if a != b]

read, write = os.pipe()
child = os.fork()
diffs = []
for _ in range(loops):
    diffs += differs(records())
if child == 0:
    os.write(write, json.dumps(diffs).encode())
    os._exit(0)
os.close(write)
other = json.loads(os.read(read, 1 << 20) or b"null")
os.waitpid(child, 0)
print(json.dumps({"handles": len(alone[1]), "pid_seen": pid in alone[2],
                  "parent": diffs, "child": other}))
"""


@pytest.mark.kernels(*BPF_SERIES)
def test_two_processes_reading_the_iterators_at_once_get_what_one_alone_gets(vm):
    """Two readers of the same loaded programs at once (one vCPU, a preemptible
    kernel): each read lists what a lone read lists. A DRM file with 1,100 dma-buf
    handles takes three reads of the fd iterator, each naming its window: a window,
    or the walk's state, shared between readers would give one reader another's."""
    with start_scenario(vm, "--handles", "1100", "--exported", "1100", out="/tmp/gem.json",
                        script=GEM_MANY) as run:
        r = vm.run([vm.python, "-c", TWO_READERS, str(run.record["pid"]), "10"], timeout=900)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    got = json.loads(r.stdout)
    assert got["handles"] == 1100 and got["pid_seen"]
    assert (got["parent"], got["child"]) == ([], [])
