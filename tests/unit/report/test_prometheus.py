"""The exporter's families (report/prometheus.py) of a real recorded snapshot: what a
device says of itself is escaped on ``dmabuf_device_info``, and no label is empty."""

from __future__ import annotations

from dmabuf_top.collect.poller import DeviceScan
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.report.prometheus import device_families
from dmabuf_top.textsafe import printable
from tests.support.paths import DATA

MODEL = 'Pixel\x1b]0;owned\x07 "9"\\\n'


def test_device_info_escapes_what_the_device_says():
    snap = load_snapshots(DATA / "adb" / "vm-6.1-root.yaml")[0]
    snap.source.kind, snap.source.serial, snap.source.model = "adb", "R5CT1", MODEL
    snap.source.android = "14\u202e"
    down = DeviceScan(device="emulator-5554", model=MODEL, up=False, snapshot=None,
                      seconds=0.1, scans=2, errors=2, last_success=None)
    up = DeviceScan(device="R5CT1", model=MODEL, up=True, snapshot=snap, seconds=0.1, scans=1,
                    errors=0, last_success=1.0)
    fams = {f.name: f for f in device_families([up, down])}
    info = {s.labels["device"]: s.labels for s in fams["dmabuf_device_info"].samples}
    assert info["R5CT1"] == {"device": "R5CT1", "source": "adb", "model": printable(MODEL),
                             "serial": "R5CT1", "host": snap.source.host,
                             "kernel": snap.source.kernel, "android": printable("14\u202e")}
    assert info["emulator-5554"] == {"device": "emulator-5554", "model": printable(MODEL)}
    assert "\x1b" not in printable(MODEL) and "\u202e" not in info["R5CT1"]["android"]
    assert all(s.value == 1 for s in fams["dmabuf_device_info"].samples)
    for fam in fams.values():
        assert all(v for s in fam.samples for v in s.labels.values()), fam.name
