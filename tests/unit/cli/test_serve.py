"""``dmabuf-top serve``: the real exporter on a loopback port, scraped over HTTP, every
metric checked against the snapshot the same scan saw (real recorded snapshots)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from dmabuf_top.analysis import accounting
from dmabuf_top.analysis.apps import app_stats
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.model import GemHandle, Holder, Snapshot
from dmabuf_top.textsafe import printable
from tests.support.paths import DATA, REPO
from tests.support.rawscans import scene
from tests.support.serve_harness import Exporter, value, values

ADB_ROOT = DATA / "adb" / "vm-6.1-root.yaml"
LEAK = DATA / "vm-6.1-leak.yaml"


@pytest.fixture
def exporters():
    started: list[Exporter] = []

    def start(*args: str) -> Exporter:
        e = Exporter(*args)
        started.append(e)
        return e

    yield start
    for e in started:
        assert e.stop() == 0, e.log


def check_against(m: dict, snap: Snapshot, top: int) -> None:
    """Every per-device metric of one scrape against the snapshot it was made from."""
    dev = {"device": snap.source.serial or snap.source.host}
    src = snap.source
    info = value(m["dmabuf_device_info"], **dev, source=src.kind, kernel=src.kernel)
    assert info == 1
    for fam, samples in m.items():  # no label is ever empty: unknown ones are left out
        assert all(v for s in samples for v in s.labels.values()), fam
    stats = accounting.process_stats(snap)
    tot = accounting.totals(snap, stats)
    assert value(m["dmabuf_up"], **dev) == 1
    for name, field in (
        ("dmabuf_bytes", "bytes"), ("dmabuf_buffers", "buffers"),
        ("dmabuf_userspace_bytes", "userspace_bytes"),
        ("dmabuf_kernel_only_bytes", "kernel_only_bytes"),
        ("dmabuf_userspace_rss_bytes", "userspace_rss"),
        ("dmabuf_userspace_pss_bytes", "userspace_pss"),
    ):
        assert value(m[name], **dev) == getattr(tot, field), name
    assert value(m["dmabuf_processes"], **dev) == len(stats)
    exporters = accounting.exporter_stats(snap)
    assert len(m["dmabuf_exporter_bytes"]) == len(exporters)
    for e in exporters:
        labels = dict(dev, exporter=e.name, heap="true" if e.heap else "false")
        assert value(m["dmabuf_exporter_bytes"], **labels) == e.bytes
        assert value(m["dmabuf_exporter_buffers"], **labels) == e.buffers
    ranked = sorted(stats, key=lambda p: (-p.rss, p.pid))
    shown, rest = ranked[:top], ranked[top:]
    for fam, field in (("dmabuf_process_rss_bytes", "rss"), ("dmabuf_process_pss_bytes", "pss"),
                       ("dmabuf_process_buffers", "buffers")):
        samples = m[fam]
        assert len(samples) == len(shown) + 1, fam  # the top N and "other"
        for p in shown:
            uid = {} if p.uid is None else {"uid": str(p.uid)}
            got = value(samples, pid=str(p.pid), comm=printable(p.comm), **uid)
            assert got == getattr(p, field), (fam, p.pid)
        other = value(samples, pid="other", comm="other")
        assert not {"uid", "user"} & set(next(s for s in samples if s.labels["pid"] == "other")
                                         .labels)
        assert other == sum(getattr(p, field) for p in rest), fam
    by_handle = [p for p in shown if p.handles]
    assert len(m.get("dmabuf_process_handle_bytes", [])) == len(by_handle) + any(
        p.handles for p in rest
    )
    for p in by_handle:
        got = value(m["dmabuf_process_handle_bytes"], pid=str(p.pid), comm=printable(p.comm))
        assert got == p.handle_bytes
    # per app: the top N by Rss and "(other)", each the sum of its processes
    apps = sorted(app_stats(snap, stats), key=lambda a: (-a.rss, a.app))
    for fam, field in (("dmabuf_app_rss_bytes", "rss"), ("dmabuf_app_pss_bytes", "pss"),
                       ("dmabuf_app_processes", "procs")):
        got = {s.labels["app"]: s.value for s in m[fam]}
        want = {printable(a.app): getattr(a, field) for a in apps[:top]}
        want["(other)"] = sum(getattr(a, field) for a in apps[top:])
        assert got == want, fam


def test_metrics_are_those_of_the_snapshot(exporters):
    snap = load_snapshots(ADB_ROOT)[0]
    m = exporters("--load", str(ADB_ROOT), "--min-interval", "600").scrape()
    check_against(m, snap, top=50)
    assert values(m["dmabuf_scans"], device=snap.source.host) == [1.0]  # the startup scan
    assert value(m["dmabuf_scan_errors"], device=snap.source.host) == 0
    # what the tool itself costs, and the machine's RAM (psutil)
    cpu = {s.labels["mode"]: s.value for s in m["dmabuf_top_cpu_seconds"]}
    assert set(cpu) == {"user", "system"} and cpu["user"] > 0
    assert 10 << 20 < value(m["dmabuf_top_resident_memory_bytes"]) < 4 << 30
    import psutil

    assert value(m["dmabuf_top_host_memory_bytes"]) == psutil.virtual_memory().total


def test_top_n_and_other(exporters):
    snap = load_snapshots(ADB_ROOT)[0]
    assert len(accounting.process_stats(snap)) > 2
    check_against(exporters("--load", str(ADB_ROOT), "--top", "2").scrape(), snap, top=2)


def test_apps_are_summed_bounded_and_escaped(tmp_path, exporters):
    snap = load_snapshots(ADB_ROOT)[0]
    pids = sorted(snap.processes)
    assert len(pids) >= 4
    for pid, app in zip(pids, ["app-a.scope", "app-a.scope", "docker-\x1b]0;x", "other"],
                        strict=False):
        snap.processes[pid].app = app
    path = tmp_path / "apps.yaml"
    path.write_text(dump_snapshot(snap))
    snap = load_snapshots(path)[0]
    assert {p.app for p in snap.processes.values()} >= {"app-a.scope", "other"}
    for top in (50, 1):
        m = exporters("--load", str(path), "--top", str(top)).scrape()
        check_against(m, snap, top=top)
    assert printable("docker-\x1b]0;x") in {s.labels["app"] for s in
                                             exporters("--load", str(path)).scrape()
                                             ["dmabuf_app_rss_bytes"]}


def test_a_recording_replays_a_sample_per_scan_and_scrapes_share_a_scan(exporters):
    samples = load_snapshots(LEAK)
    assert len(samples) > 3
    e = exporters("--load", str(LEAK), "--min-interval", "1")
    seen = []
    deadline = time.monotonic() + 30
    while len(seen) < 3 and time.monotonic() < deadline:
        m = e.scrape()
        seen.append((value(m["dmabuf_scans"]), m))
        m2 = e.scrape()  # right after: the cached result, no scan
        if value(m2["dmabuf_scans"]) == seen[-1][0]:
            assert m2["dmabuf_bytes"] == m["dmabuf_bytes"]
            assert m2["dmabuf_process_rss_bytes"] == m["dmabuf_process_rss_bytes"]
        time.sleep(1.05)
    counts = [int(n) for n, _ in seen]
    assert counts == sorted(counts) and len(set(counts)) == len(counts) == 3, counts
    for n, m in seen:  # scan k shows sample k
        check_against(m, samples[min(int(n), len(samples)) - 1], top=50)


def test_comm_is_escaped(tmp_path, exporters):
    raw = scene()
    raw.procs[0].comm = 'evil"\\\x1b]0;x\x07\n'
    path = tmp_path / "s.yaml"
    path.write_text(dump_snapshot(assemble(raw)))
    e = exporters("--load", str(path))
    text = e.text()
    assert "\x1b" not in text and "\x07" not in text
    comms = {s.labels["comm"] for s in e.scrape()["dmabuf_process_rss_bytes"]}
    assert printable('evil"\\\x1b]0;x\x07\n') in comms


def test_gem_handles_are_handle_bytes_and_not_kernel_only(tmp_path, exporters):
    """A buffer held by a GEM handle only: the holder's handle bytes, in userspace
    bytes and out of kernel-only; Rss/Pss as before."""
    snap = assemble(scene())
    before = accounting.totals(snap)
    (ino,) = [i for i, b in snap.buffers.items() if not b.holders]
    snap.buffers[ino].holders = [Holder(200, handles=[GemHandle(9, 3, "card0", "vgem")])]
    path = tmp_path / "s.yaml"
    path.write_text(dump_snapshot(snap))
    m = exporters("--load", str(path)).scrape()
    check_against(m, snap, top=50)
    dev = {"device": snap.source.host}
    size = snap.buffers[ino].size
    assert value(m["dmabuf_process_handle_bytes"], pid="200") == size > 0
    assert value(m["dmabuf_kernel_only_bytes"], **dev) == before.kernel_only_bytes - size
    assert value(m["dmabuf_userspace_rss_bytes"], **dev) == before.userspace_rss
    assert "dmabuf_process_handle_bytes" not in exporters("--load", str(ADB_ROOT)).scrape()


def one_line_error(*args: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "dmabuf_top", "serve", *args], cwd=str(REPO),
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode in (1, 2), (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    return r.stderr.strip()


def test_errors_are_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        msg = one_line_error("--load", str(ADB_ROOT), "--listen", f"127.0.0.1:{port}")
    assert msg == f"dmabuf-top: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert "expected HOST:PORT" in one_line_error("--demo", "--listen", "9464")
    assert "port out of range" in one_line_error("--demo", "--listen", "127.0.0.1:70000")
    assert "must be greater than 0" in one_line_error("--demo", "--min-interval", "0")
    assert "no such file" in one_line_error("--load", "/nonexistent.yaml")
    assert "name each device" in one_line_error("--adb", "--adb", "x")
    with socket.socket() as s:  # a port nothing listens on: an unreachable adb server
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    msg = one_line_error("--adb", "SERIAL", "--adb-port", str(free))
    assert msg.startswith(f"dmabuf-top: error: no adb server at 127.0.0.1:{free}")


def test_help_has_examples():
    r = subprocess.run([sys.executable, "-m", "dmabuf_top", "serve", "--help"],
                       cwd=str(REPO), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Examples:" in r.stdout and "--adb R5CT1 --adb" in r.stdout
