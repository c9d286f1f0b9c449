"""``dmabuf-top events`` on real kernels: the dma_buf tracepoints (7.0+) or fentry/fexit
(6.1, 6.18) see a scripted buffer life exactly (tests/support/vm/event_sequence.py: A
exports, sends to B, B imports into vgem, A closes, B releases); ctrl+c ends the stream
cleanly; a storm of export/release pairs is delivered or counted lost; without privilege
it is one line saying why.
"""

from __future__ import annotations

import json
import re
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.test_vm_snapshot import dmabuf_top, open_path_for_others
from tests.support.serve_harness import wait_for
from tests.support.vm.storm import install_storm

SEQUENCE = str(Path(__file__).resolve().parents[1] / "support" / "vm" / "event_sequence.py")
READY = "watching dma-buf events"
#: run a command with SIGINT back to its default (the agent's children inherit it
#: ignored, as every background job of a shell does), so ctrl+c can be sent
WITH_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
               "os.execv(sys.argv[1], sys.argv[1:])")
EVENT_KERNELS = ("6.1", "6.18", "7.3")


@contextmanager
def event_stream(vm, *args: str):
    """``dmabuf-top events --format json ARGS`` running in the guest, ready (its
    programs attached); ended with ctrl+c on leaving. Yields the Spawned process."""
    p = vm.spawn([vm.python, "-c", WITH_SIGINT, dmabuf_top(vm), "events", "--format", "json",
                  *args])
    try:
        wait_for(lambda: READY in vm.output(p)[1] or p.poll() is not None, 300, "ready line")
        assert p.poll() is None, vm.output(p)
        yield p
    finally:
        if p.poll() is None:
            p.kill(signal.SIGINT, group=False)
        p.wait(120)


def events_of(vm, p) -> list[dict]:
    return [json.loads(ln) for ln in vm.output(p)[0].splitlines()]


def expected(truth: dict, vgem_export_fd: bool) -> list[tuple]:
    """(event, pid, inode, fd, device) of the scripted life, in order."""
    a, b, ino = truth["a"], truth["b"], truth["inode"]
    out = [("export", a, ino, None, None)]
    if truth["kind"] != "vgem" or vgem_export_fd:
        out.append(("fd", a, ino, truth["a_fd"], None))
    out.append(("get", b, ino, truth["b_fd"], None))
    if truth["device"]:
        out += [("attach", b, ino, None, truth["device"]), ("detach", b, ino, None, "vgem")]
    out.append(("release", b, ino, None, None))
    return out


def series(vm) -> tuple[int, int]:
    major, minor = vm.kernel_release.split(".")[:2]
    return int(major), int(minor)


@pytest.mark.kernels(*EVENT_KERNELS)
def test_a_scripted_life_is_listed_exactly_in_order(vm):
    with event_stream(vm) as p:
        r = vm.run([vm.python, SEQUENCE], timeout=300)
        assert r.returncode == 0, r.stderr
        truth = json.loads(r.stdout)
        wait_for(lambda: any(e["event"] == "release" for e in events_of(vm, p)), 120,
                 "the release event")
    rc = p.wait(0)
    out, err = vm.output(p)
    assert rc == 0 and "Traceback" not in err, err
    assert err.splitlines()[-1].endswith(" events, 0 lost"), err
    got = [(e["event"], e["pid"], e["inode"], e["fd"], e["device"]) for e in events_of(vm, p)]
    # vgem's export goes through dma_buf_fd except on 6.18 (its PRIME code installs the fd)
    assert got == expected(truth, vgem_export_fd=series(vm) != (6, 18)), (truth, out)
    first = events_of(vm, p)[0]
    assert (first["exporter"], first["size"]) == (truth["exporter"], truth["size"])
    how = "tracepoints" if series(vm) >= (7, 0) else "fentry"
    assert f"({how}, " in err


@pytest.mark.kernels(*EVENT_KERNELS)
def test_without_privilege_one_line_says_why(vm):
    open_path_for_others(vm, vm.python, __file__)
    r = vm.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                dmabuf_top(vm), "events"], timeout=300, cwd="/tmp")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == (
        "dmabuf-top: error: dma-buf events not available: loading the BPF programs failed: not "
        "permitted (needs root, or CAP_BPF and CAP_PERFMON)\n"
    )


#: events per export/release pair of a vgem buffer: export, release (and fd, but
#: for 6.18's vgem export, which does not go through dma_buf_fd)
def per_pair(vm) -> int:
    return 2 if series(vm) == (6, 18) else 3


@pytest.mark.kernels(*EVENT_KERNELS)
def test_a_storm_is_delivered_or_counted_lost(vm):
    """10 s of vgem export/release pairs at up to 10,000 a second (what TCG reaches
    is printed): every event of the storm is in the stream or in the lost count."""
    with event_stream(vm) as p:
        r = vm.run([install_storm(vm), "10", "10000"], timeout=600)
        assert r.returncode == 0, r.stderr
        storm = json.loads(r.stdout)
    out, err = vm.output(p)
    last = err.splitlines()[-1]  # "dmabuf-top: N events, M lost"
    lost = int(last.split(", ")[1].split()[0])
    mine = sum(1 for ln in out.splitlines() if f'"pid":{storm["pid"]},' in ln)
    print(f"\n[{vm.kernel_release}] storm: {storm['pairs']} pairs in {storm['seconds']:.1f} s "
          f"({storm['pairs'] / storm['seconds']:.0f}/s), {mine} events delivered, {lost} lost")
    assert storm["pairs"] > 1000
    assert mine + lost == per_pair(vm) * storm["pairs"], (mine, lost, storm)


@pytest.mark.kernels("6.1")
def test_record_without_privilege_warns_once_and_records(vm):
    """Unprivileged, record says in one line that it records no events, and records
    (on one kernel: the refusal it shows is the kernel's answer to loading the programs,
    which test_without_privilege_one_line_says_why checks on every kernel; what record
    does with it does not depend on the kernel)."""
    open_path_for_others(vm, vm.python, __file__)
    out = "/tmp/nobody-events.yaml"
    r = vm.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                dmabuf_top(vm), "record", "--force", "-o", out, "-n", "2", "-i", "0.5"],
               timeout=300, cwd="/tmp")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0] == (
        "dmabuf-top: warning: dma-buf events not recorded: loading the BPF programs failed: "
        "not permitted (needs root, or CAP_BPF and CAP_PERFMON)"
    ), r.stderr
    assert len(lines) == 2 and lines[1].startswith("recorded 2 samples to "), r.stderr
    assert b"dmabuf-top-events" not in vm.read_file(out)


def scrape(port: int) -> dict[tuple, float]:
    """(sample name, exporter label) -> value of the event counters on /metrics."""
    from urllib.request import urlopen

    from prometheus_client.parser import text_string_to_metric_families

    with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as r:
        text = r.read().decode()
    return {(s.name, s.labels.get("exporter")): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples
            if s.name.startswith(("dmabuf_export", "dmabuf_release", "dmabuf_events_lost"))}


@pytest.mark.kernels("7.3")
def test_serve_without_privilege_warns_once_and_serves(vm):
    """Unprivileged, serve says in one line that it counts no events, and serves the
    rest (the buffers it can see) without event counters (on one kernel: the refusal is
    the same on all, test_without_privilege_one_line_says_why shows it)."""
    open_path_for_others(vm, vm.python, __file__)
    p = vm.spawn(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                  dmabuf_top(vm), "serve", "--listen", "0.0.0.0:8000"], cwd="/tmp")
    try:
        wait_for(lambda: "/metrics" in vm.output(p)[1] or p.poll() is not None, 300,
                 "serve's address line")
        from urllib.request import urlopen

        with urlopen(f"http://127.0.0.1:{vm.ports[8000]}/metrics", timeout=60) as r:
            text = r.read().decode()
        assert "dmabuf_buffers" in text and "dmabuf_exports_total" not in text, text
    finally:
        p.kill(signal.SIGTERM)
        p.wait(120)
    warned = [ln for ln in vm.output(p)[1].splitlines() if "event" in ln]
    assert warned == [
        "dmabuf-top serve: dma-buf event counters not served: loading the BPF programs "
        "failed: not permitted (needs root, or CAP_BPF and CAP_PERFMON)"
    ], vm.output(p)[1]
    assert "Traceback" not in vm.output(p)[1]


@pytest.mark.kernels(*EVENT_KERNELS)
def test_serve_counts_exports_and_releases_per_exporter(vm):
    p = vm.spawn([dmabuf_top(vm), "serve", "--listen", "0.0.0.0:8000", "--min-interval", "0.5"])
    try:
        wait_for(lambda: "/metrics" in vm.output(p)[1] or p.poll() is not None, 300,
                 "serve's address line")
        port = vm.ports[8000]
        before = scrape(port)
        assert before[("dmabuf_events_lost_total", None)] == 0, vm.output(p)
        r = vm.run([vm.python, SEQUENCE], timeout=300)
        assert r.returncode == 0, r.stderr
        truth = json.loads(r.stdout)
        exp = truth["exporter"]
        after = scrape(port)

        def grew(name: str) -> float:
            return after.get((name, exp), 0) - before.get((name, exp), 0)

        assert (grew("dmabuf_exports_total"), grew("dmabuf_releases_total")) == (1, 1), after
        assert grew("dmabuf_export_bytes_total") == grew("dmabuf_release_bytes_total") == (
            truth["size"])
    finally:
        p.kill(signal.SIGTERM)
        p.wait(120)
    assert "Traceback" not in vm.output(p)[1]


#: a row of the events view: TIME EVENT PID COMM INODE ...
EVENT_ROW = re.compile(r"^\s*\d\d:\d\d:\d\d\.\d{3}\s+([a-z]+)\s+(\d+)\s+\S+\s+(\d+)\s")


def event_rows(screen: str) -> list[tuple[str, int, int]]:
    """(event, pid, inode) of each row of the events view shown, top first."""
    return [(m[1], int(m[2]), int(m[3])) for ln in screen.splitlines()
            if (m := EVENT_ROW.match(ln))]


def header_time(screen: str) -> str:
    """The time of the snapshot shown (the header's first line ends with it)."""
    return screen.splitlines()[0].split()[-1]


@pytest.mark.kernels("6.1", "7.3")
def test_the_live_tui_tells_who_made_a_buffer_passed_on(vm):
    """dmabuf-top in tmux starts the event source: a buffer made after it started and
    passed on (its maker closed its fd) shows its maker in the buffer pane. On 7.3 the
    events view (6) then shows a scripted life as it happens, woken by the reading thread (no
    refresh comes between: the interval is 60 s), filtered to its inode in order,
    and Enter on its release tells the gone buffer's life.

    On the fentry kernel 6.1 and the tracepoint kernel 7.3: 6.18 loads the same fentry
    programs as 6.1, and what its kernel gives them (a vgem export without dma_buf_fd) is
    checked event by event on 6.18 by test_a_scripted_life_is_listed_exactly_in_order; the
    TUI shows what the source hands it whatever the kernel."""
    from tests.integration.test_vm_tui import Tmux, buffer_rows, dmabuf_top_command
    from tests.support.vm.capture_events import HERE, HOLDER

    tmux = Tmux(vm)
    holder = None
    try:
        tmux.wait("the shell prompt", lambda s: s.strip() in ("#", "$"))
        tmux.keys(f"{dmabuf_top_command(vm)} -d 1", "Enter")
        # the first frame: python and textual start under TCG on a shared machine
        tmux.wait("the table", lambda s: "dmabuf-top  local" in s and "SIZE" in s, timeout=300)
        holder = vm.spawn([vm.python, "-c", HOLDER, str(HERE)])
        wait_for(lambda: "READY" in vm.output(holder)[0], 120, "the holder")
        tmux.keys("/")
        tmux.wait("the filter input", lambda s: "re:REGEX" in s)
        tmux.keys("given", literal=True)
        tmux.keys("Enter")
        tmux.wait("the buffer made and passed on", lambda s: len(buffer_rows(s)) == 1)
        tmux.keys("Enter")
        screen = tmux.wait("its life", lambda s: "Life (dma-buf events)" in s)
        assert f"made by maker ({holder.pid})" in screen, screen
        assert "dma-buf events not watched" not in screen
        if series(vm) < (7, 0):  # the events view once, on the tracepoints (70-80 s)
            return
        tmux.keys("Escape")
        tmux.wait("the main screen's footer", lambda s: "6 Events" in s)
        tmux.keys(*"+" * 6)  # 1 s -> 60 s: no refresh while the sequence runs
        tmux.wait("a 60 s interval", lambda s: "every 60s" in s)
        tmux.keys("6")
        before = header_time(tmux.wait("the events view", lambda s: "T:TIME" in s
                                       and " live " in s))
        r = vm.run([vm.python, SEQUENCE], timeout=300)
        assert r.returncode == 0, r.stderr
        truth = json.loads(r.stdout)
        life = [(e, pid, ino) for e, pid, ino, _, _ in
                expected(truth, vgem_export_fd=series(vm) != (6, 18))]
        screen = tmux.wait("the sequence's release", lambda s: life[-1] in event_rows(s), 50)
        assert header_time(screen) == before, "shown by a refresh, not by the reading thread"
        tmux.keys("/")
        tmux.wait("the filter input", lambda s: "re:REGEX" in s)
        tmux.keys(f"re:^{truth['inode']}$", literal=True)
        tmux.keys("Enter")
        screen = tmux.wait("its events only", lambda s: event_rows(s) == life[::-1])
        tmux.keys("Enter")  # the newest: its release; the buffer is gone
        screen = tmux.wait("its life", lambda s: "GONE" in s and "released by" in s)
        assert re.search(rf"made by \S+ \({truth['a']}\)", screen), screen
        assert re.search(rf"released by \S+ \({truth['b']}\)", screen), screen
    finally:
        tmux.close()
        if holder is not None:
            holder.kill(signal.SIGKILL)
            holder.wait(60)
