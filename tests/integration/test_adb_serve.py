"""``dmabuf-top serve`` over a REAL adb server (Debian's adb, private port and HOME)
with two devices (the ADB peer twice): one exporter labels each by serial (its model
on ``dmabuf_device_info``); a device that goes away is ``dmabuf_up 0`` and a log line
while the other goes on and the server stays up, and it is ``dmabuf_up 1`` again once
it is back. A real Prometheus server scrapes it all along: PromQL sees each device's
figures, its model, ``dmabuf_up`` go 0 (the DmabufDeviceDown alert pending) and 1 again."""

from __future__ import annotations

from dmabuf_top.collect.adb import open_adb_backend
from tests.support.adb_harness import AdbServer, HostPeer
from tests.support.serve_harness import Exporter, value, wait_for


def test_two_devices_one_lost_and_back(server: AdbServer, prometheus) -> None:
    a, b = HostPeer(), HostPeer()
    exporter = inst = None
    try:
        for p in (a, b):
            server.connect(p.serial)
        exporter = Exporter("--adb", a.serial, "--adb", b.serial, "--min-interval", "0.2",
                            env=server.env, timeout=120)
        # scraped every 10 s with Prometheus' default 10 s timeout: a scrape scans both
        # devices over adb, which a loaded machine can take over 1 s to do (the scrape
        # then fails and the series go stale: seen in a two-worker run)
        inst = prometheus.scrape(exporter.url, every="10s", case="adb")

        def prom_up(serial: str) -> float:
            return prometheus.value(f'dmabuf_up{{instance="{inst}",device="{serial}"}}')

        m = exporter.scrape()
        for p in (a, b):
            dev = {"device": p.serial}
            assert value(m["dmabuf_device_info"], **dev, model="dmabuf_top_peer",
                         source="adb", serial=p.serial) == 1
            assert value(m["dmabuf_up"], **dev) == 1
            assert value(m["dmabuf_scan_errors"], **dev) == 0
            # the same numbers as the adb backend's own scan (this machine has no dma-buf)
            snap = open_adb_backend(serial=p.serial, port=server.port).collect()
            assert value(m["dmabuf_buffers"], **dev) == len(snap.buffers)
            assert value(m["dmabuf_processes"], **dev) == 0
            # and through Prometheus, the model joined from the info metric
            sel = f'instance="{inst}",device="{p.serial}"'
            assert prom_up(p.serial) == 1
            joined = prometheus.query(f"dmabuf_bytes{{{sel}}} * on(device) group_left(model) "
                                      f"dmabuf_device_info{{{sel}}}")
            assert [(s["metric"]["model"], float(s["value"][1])) for s in joined] == [
                ("dmabuf_top_peer", sum(x.size for x in snap.buffers.values()))]

        b.kill()  # the device goes away

        def b_down():
            m = exporter.scrape()
            return m if value(m["dmabuf_up"], device=b.serial) == 0 else None

        m = wait_for(b_down, 60, f"dmabuf_up 0 for {b.serial}")
        assert value(m["dmabuf_up"], device=a.serial) == 1  # the other goes on
        assert value(m["dmabuf_scan_errors"], device=b.serial) >= 1
        assert not [s for s in m["dmabuf_bytes"] if s.labels["device"] == b.serial]
        assert f"{b.serial}: scan failed: device {b.serial}" in exporter.wait_log("scan failed")
        wait_for(lambda: prom_up(b.serial) == 0, 60, "Prometheus: dmabuf_up 0")
        wait_for(lambda: prometheus.query(
            f'ALERTS{{alertname="DmabufDeviceDown",alertstate="pending",device="{b.serial}"}}'),
            60, "the DmabufDeviceDown alert pending")
        assert prom_up(a.serial) == 1

        b = HostPeer(port=b.port)  # it comes back at the same address

        def b_up():
            m = exporter.scrape()
            return m if value(m["dmabuf_up"], device=b.serial) == 1 else None

        m = wait_for(b_up, 90, f"dmabuf_up 1 for {b.serial}", step=0.5)  # adb retries ~10 s
        assert value(m["dmabuf_up"], device=a.serial) == 1
        assert exporter.proc.poll() is None
        assert b.serial in exporter.wait_log("scanning again")
        wait_for(lambda: prom_up(b.serial) == 1, 60, "Prometheus: dmabuf_up 1 again")
    finally:
        if inst is not None:
            prometheus.forget(inst)
        rc = exporter.stop() if exporter is not None else 0
        for p in (a, b):
            p.kill()
            server.disconnect(p.serial)
    assert rc == 0, exporter.log if exporter else None
