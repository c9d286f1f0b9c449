"""A real Prometheus server scrapes ``dmabuf-top serve`` on a snapshot file: PromQL over
its HTTP API gives the snapshot's own figures exactly (totals, per exporter, per process,
the top N and "other", the kernel through ``dmabuf_device_info``), the shipped rules
are evaluated on it, and ``up`` is 0 (an alert pending) once the exporter is gone.
(The VM's live scene: test_vm_prometheus.py; two adb devices, one lost and back:
test_adb_serve.py.)"""

from __future__ import annotations

import subprocess

from dmabuf_top.analysis import accounting
from dmabuf_top.io.loader import load_snapshots
from tests.support.paths import DATA
from tests.support.prometheus_harness import binary
from tests.support.serve_harness import Exporter, wait_for

ADB_ROOT = DATA / "adb" / "vm-6.1-root.yaml"
TOP = 3


def test_prometheus_scrapes_a_snapshot_file(prometheus):
    snap = load_snapshots(ADB_ROOT)[0]
    stats = accounting.process_stats(snap)
    tot = accounting.totals(snap, stats)
    assert len(stats) > TOP  # some processes go to "other"
    exporter = Exporter("--load", str(ADB_ROOT), "--min-interval", "600", "--top", str(TOP))
    inst = None
    try:
        # the exposition passes promtool's own lint (names, units, counters' _total)
        lint = subprocess.run([binary("promtool"), "check", "metrics"], input=exporter.text(),
                              capture_output=True, text=True, timeout=60)
        assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout + lint.stderr
        inst = prometheus.scrape(exporter.url, case="file")
        sel = f'instance="{inst}"'

        def one(metric: str) -> float:
            return prometheus.value(f"{metric}{{{sel}}}")

        assert one("dmabuf_up") == 1
        for name, field in (("dmabuf_bytes", "bytes"), ("dmabuf_buffers", "buffers"),
                            ("dmabuf_userspace_bytes", "userspace_bytes"),
                            ("dmabuf_kernel_only_bytes", "kernel_only_bytes"),
                            ("dmabuf_userspace_rss_bytes", "userspace_rss"),
                            ("dmabuf_userspace_pss_bytes", "userspace_pss")):
            assert one(name) == getattr(tot, field), name
        assert one("dmabuf_processes") == len(stats)
        per_exporter = prometheus.values(
            f"sum by (exporter) (dmabuf_exporter_bytes{{{sel}}})", "exporter")
        assert per_exporter == {e.name: e.bytes for e in accounting.exporter_stats(snap)}
        ranked = sorted(stats, key=lambda p: (-p.rss, p.pid))
        for fam, field in (("dmabuf_process_rss_bytes", "rss"),
                           ("dmabuf_process_pss_bytes", "pss")):
            got = prometheus.values(f"{fam}{{{sel}}}", "pid")
            want = {str(p.pid): getattr(p, field) for p in ranked[:TOP]}
            want["other"] = sum(getattr(p, field) for p in ranked[TOP:])
            assert got == want, fam
            assert prometheus.value(f"sum({fam}{{{sel}}})") == getattr(tot, f"userspace_{field}")
        # what is known of the device, on the info metric only, joined onto a total
        joined = prometheus.query(
            f"dmabuf_bytes{{{sel}}} * on(device) group_left(kernel, source) "
            f"dmabuf_device_info{{{sel}}}")
        assert [(s["metric"]["kernel"], s["metric"]["source"], float(s["value"][1]))
                for s in joined] == [(snap.source.kernel, snap.source.kind, tot.bytes)]
        # a recording rule of contrib/prometheus, evaluated by the server: nothing grows
        growth = wait_for(lambda: prometheus.query(
            f"device_exporter:dmabuf_exporter_bytes:deriv10m{{{sel}}}"), 60, "a deriv rule")
        assert {float(s["value"][1]) for s in growth} == {0.0}
        # the exporter gone: Prometheus' own up goes 0, the DmabufExporterDown alert pending
        assert exporter.stop() == 0, exporter.log
        wait_for(lambda: prometheus.query(f"up{{{sel}}} == 0"), 60, "up == 0")
        wait_for(lambda: prometheus.query(
            f'ALERTS{{alertname="DmabufExporterDown",alertstate="pending",{sel}}}'), 60,
            "the DmabufExporterDown alert pending")
    finally:
        if inst is not None:
            prometheus.forget(inst)
        if exporter.proc.poll() is None:
            assert exporter.stop() == 0, exporter.log
