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
