"""`dmabuf-top record --adb SERIAL` through a real adb server to tests/support/adbpeer.py
(this machine holds no dma-bufs: this covers the adb path of the recorder)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dmabuf_top.io.loader import load_snapshots
from tests.support.adb_harness import AdbServer, HostPeer


@pytest.fixture
def adb() -> Iterator[tuple[AdbServer, HostPeer]]:
    srv = AdbServer().start()
    peer = HostPeer()
    try:
        srv.connect(peer.serial)
        yield srv, peer
    finally:
        peer.kill()
        srv.stop()


def test_record_over_adb(adb, tmp_path):
    server, peer = adb
    out = tmp_path / "adb.yaml.gz"
    r = server.dmabuf_top("record", "--adb", peer.serial, "-o", str(out), "-n", "3", "-i", "0.2")
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("recorded 3 samples to ")
    snaps = load_snapshots(out)
    assert len(snaps) == 3
    assert all(s.source.kind == "adb" and s.source.serial == peer.serial for s in snaps)
    assert len({s.boot_id for s in snaps}) == 1
    d = server.dmabuf_top("diff", str(out), "--format", "yaml")
    assert d.returncode in (0, 1), d.stderr


def test_a_failing_source_leaves_the_old_recording(tmp_path):
    """``record --force`` truncated the old FILE before its first scan, so a device
    whose collector fails at once left it empty. Here the device's ``mkdir`` fails
    (the collector then has no temporary directory): one error line, FILE as it was."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # (and no sha256sum: the native collector, which makes no directory, is not used)
    for tool in ("mkdir", "sha256sum"):
        (bindir / tool).write_text("#!/bin/sh\nexit 1\n")
        (bindir / tool).chmod(0o755)
    srv = AdbServer().start()
    peer = HostPeer("--path-prefix", str(bindir))
    try:
        srv.connect(peer.serial)
        old = tmp_path / "r.yaml"
        old.write_text("precious\n")
        r = srv.dmabuf_top("record", "--adb", peer.serial, "-o", str(old), "--force", "-n", "1")
    finally:
        peer.kill()
        srv.stop()
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "no writable temporary directory" in r.stderr
    assert old.read_text() == "precious\n" and sorted(tmp_path.iterdir()) == [bindir, old]
