"""Smoke test of the real-kernel VM harness: the scenario's ground truth matches what
the Debian 6.1 kernel shows (debugfs bufinfo, fdinfo, fd links, maps).  Parsing here is
deliberately independent of dmabuf_top."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from tests.support.paths import REPO
from tests.support.serve_harness import wait_for

pytestmark = pytest.mark.vm

# Runs in the guest: what the kernel says about every fd / mapping the record lists.
PROBE = r"""
import json, os, sys
rec = json.load(open(sys.argv[1]))
out = {"fdinfo": {}, "links": {}, "maps": {}}
for ino, buf in rec["buffers"].items():
    for pid, h in buf["holders"].items():
        for fd in h["fds"]:
            key = f"{pid}/{fd}"
            out["links"][key] = os.readlink(f"/proc/{pid}/fd/{fd}")
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                out["fdinfo"][key] = dict(
                    line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line
                )
        if h["maps"]:
            with open(f"/proc/{pid}/maps") as f:
                out["maps"][pid] = [line for line in f if "/dmabuf" in line]
print(json.dumps(out))
"""


def parse_bufinfo(text: str) -> tuple[dict[int, dict], str]:
    rows = {}
    for line in text.splitlines():
        fields = line.split("\t", 6)
        if len(fields) == 7 and fields[0].isdigit():
            size, _flags, _mode, count, exp, ino, name = fields
            rows[int(ino)] = {"size": int(size), "count": int(count), "exp": exp, "name": name}
    return rows, text.rstrip("\n").rsplit("\n", 1)[-1]


def test_guest_basics(vm):
    assert vm.kernel_release.startswith("6.1.")
    assert vm.boot_time < 120
    r = vm.run(["echo", "hello"])
    assert (r.returncode, r.stdout, r.stderr) == (0, "hello\n", "")
    r = vm.run("echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, "", "err\n")
    assert vm.run(["cat"], input="piped").stdout == "piped"
    assert vm.run("echo $FOO", env={"FOO": "bar"}, cwd="/tmp").stdout == "bar\n"
    assert vm.run("id -u").stdout == "0\n"
    path = f"/tmp/dtvm-smoke-{os.getpid()}/x.bin"
    vm.write_file(path, b"\x00\x01\xff")
    assert vm.read_file(path) == b"\x00\x01\xff"
    assert not os.path.exists(path)  # guest writes stay in the guest
    mounts = vm.read_file("/proc/mounts").decode()
    for m in (" / overlay ", " /sys/kernel/debug debugfs ", " /dev/pts devpts ", " /run tmpfs "):
        assert m in mounts
    assert vm.read_file("/proc/sys/kernel/random/boot_id").decode().strip() == vm.boot_id


def test_host_python_and_repo_visible(vm):
    code = "import sys, textual, dmabuf_top; print(sys.executable); print(dmabuf_top.__file__)"
    r = vm.run([vm.python, "-c", code], cwd=str(REPO), timeout=300)
    assert r.returncode == 0, r.stderr
    exe, pkg = r.stdout.split()
    assert exe == vm.python
    assert pkg.startswith(str(REPO))


def test_spawn_kill_wait(vm):
    p = vm.spawn(["sh", "-c", "echo started; sleep 1000"])
    deadline = time.monotonic() + 30
    while p.output()[0] != "started\n":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert p.poll() is None
    p.kill()
    assert p.wait(30) == -15


def test_run_timeout(vm):
    import subprocess

    with pytest.raises(subprocess.TimeoutExpired):
        vm.run(["sleep", "100"], timeout=1)


def test_tmux_in_guest(vm):
    r = vm.run(
        "tmux new-session -d -s smoke -x 80 -y 24 'echo tmux-ok; sleep 60' && sleep 1 && "
        "tmux capture-pane -p -t smoke; tmux kill-server",
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "tmux-ok" in r.stdout


def test_hostfwd(vm):
    host_port = vm.ports[8000]
    server = vm.spawn(
        [vm.python, "-c",
         "import socket; s=socket.create_server(('0.0.0.0', 8000)); c,_=s.accept(); "
         "c.sendall(b'hi from guest'); c.close()"]
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", host_port), timeout=10) as c:
                data = c.recv(100)
            if data:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.3)
    assert data == b"hi from guest"
    server.wait(30)


def test_scenario_matches_kernel(vm, scenario):
    rec = scenario.record
    bufs = {int(k): v for k, v in rec["buffers"].items()}
    rows, total = parse_bufinfo(vm.read_file("/sys/kernel/debug/dma_buf/bufinfo").decode())

    assert set(rows) == set(bufs)
    assert total == f"Total {len(bufs)} objects, {rec['totals']['bytes']} bytes"
    for ino, b in bufs.items():
        assert rows[ino]["size"] == b["size"], ino
        assert rows[ino]["count"] == b["count"], (ino, b)
        assert rows[ino]["exp"] == "drm"
        assert rows[ino]["name"] == (b["name"] if b["name"] is not None else "<none>")

    names = {b["name"] for b in bufs.values()}
    assert {"scanout 0", "camera-preview-ring-buffer-0031", "[bold]evil\x1b[31m[/bold]"} <= names
    assert "[red]hog" in {p["comm"] for p in rec["processes"].values()}
    kinds = {
        "shared by fork": any(len(b["holders"]) >= 2 for b in bufs.values()),
        "dup": any(len(h["fds"]) == 2 for b in bufs.values() for h in b["holders"].values()),
        "map only": any(
            h["maps"] and not h["fds"] for b in bufs.values() for h in b["holders"].values()
        ),
        "kernel only": any(b["kernel_only"] and not b["holders"] for b in bufs.values()),
    }
    assert all(kinds.values()), kinds

    vm.write_file("/tmp/probe.py", PROBE)
    r = vm.run([vm.python, "/tmp/probe.py", scenario.out], timeout=120)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    for ino, b in bufs.items():
        suffix = b["name"] or ""
        for pid, h in b["holders"].items():
            for fd in h["fds"]:
                info = seen["fdinfo"][f"{pid}/{fd}"]
                assert int(info["ino"]) == ino
                assert int(info["size"]) == b["size"]
                assert int(info["count"]) == b["count"]
                assert info["exp_name"] == "drm"
                assert info.get("name") == b["name"]
                assert seen["links"][f"{pid}/{fd}"] == "/dmabuf:" + suffix
            for start, end, perms in h["maps"]:
                want = f"{start:x}-{end:x} {perms} "
                line = next(ln for ln in seen["maps"][pid] if ln.startswith(want))
                assert line.split()[4] == str(ino)
                assert line.rstrip("\n").endswith("/dmabuf:" + suffix)


def test_leak_mode(vm):
    from tests.support.vm.guest import BUFINFO, start_scenario

    def named(prefix: str) -> int:
        rows, _ = parse_bufinfo(vm.read_file(BUFINFO).decode())
        return sum(r["name"].startswith(prefix) for r in rows.values())

    with start_scenario(vm, "--leak", "0.3", out="/tmp/leak.json") as sc:
        assert set(sc.record["leak"]["pids"]) == {"grow", "churn", "share", "peer"}
        first = named("leak-"), named("shared-")
        # the leakers' buffers grow (waited for, however slow the guest is)
        wait_for(lambda: named("leak-") > first[0] and named("shared-") > first[1], 120,
                 "more leak- and shared- buffers")
        assert named("churn-") <= 1
    tail = vm.read_file(BUFINFO).decode().rstrip().rsplit("\n", 1)[-1]
    assert tail == "Total 0 objects, 0 bytes"
