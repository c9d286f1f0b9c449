"""A real Prometheus server scrapes ``dmabuf-top serve`` running in the VM on the
scenario's real dma-bufs (its port forwarded): PromQL gives the scenario's own ground
truth (totals, bytes per exporter, Rss per process), and per app the sums of a snapshot
taken beside it."""

from __future__ import annotations

import signal

from dmabuf_top.analysis.apps import app_stats
from dmabuf_top.io.loader import load_snapshots
from tests.integration.test_vm_snapshot import dmabuf_top, expected_accounting
from tests.support.serve_harness import wait_for


def test_prometheus_scrapes_the_vm_scene(vm, scenario, prometheus, tmp_path):
    rec = scenario.record
    p = vm.spawn([dmabuf_top(vm), "serve", "--listen", "0.0.0.0:8000", "--min-interval", "600"])
    inst = None
    try:
        wait_for(lambda: "/metrics" in vm.output(p)[1] or p.poll() is not None, 300,
                 "serve's address line")
        assert p.poll() is None, vm.output(p)
        # a scrape answers from the first scan's cache, but TCG python is slow: 5 s
        inst = prometheus.scrape(f"http://127.0.0.1:{vm.ports[8000]}/metrics", every="5s",
                                 case="vm")
        sel = f'instance="{inst}"'
        assert prometheus.value(f"dmabuf_up{{{sel}}}") == 1
        assert prometheus.value(f"dmabuf_bytes{{{sel}}}") == rec["totals"]["bytes"]
        assert prometheus.value(f"dmabuf_buffers{{{sel}}}") == rec["totals"]["buffers"]
        per_exporter: dict[str, int] = {}
        for b in rec["buffers"].values():
            per_exporter[b["exporter"]] = per_exporter.get(b["exporter"], 0) + b["size"]
        assert prometheus.values(f"sum by (exporter) (dmabuf_exporter_bytes{{{sel}}})",
                                 "exporter") == per_exporter
        rss_pss, _ = expected_accounting(rec)
        got = prometheus.values(f'dmabuf_process_rss_bytes{{{sel},pid!="other"}}', "pid")
        assert got == {str(pid): rss for pid, (rss, _) in rss_pss.items()}
        comms = prometheus.values(f'dmabuf_process_rss_bytes{{{sel},pid!="other"}}', "comm")
        assert set(comms) == {rec["processes"][str(pid)]["comm"] for pid in rss_pss}
        assert prometheus.value(f'dmabuf_process_rss_bytes{{{sel},pid="other"}}') == 0
        kernel = prometheus.query(f"dmabuf_device_info{{{sel}}}")[0]["metric"]["kernel"]
        assert kernel == vm.kernel_release
        # per app: what a snapshot of the same (still) scene sums per app
        r = vm.run([dmabuf_top(vm), "snapshot", "--source", "proc", "-o", "/tmp/prom.yaml"],
                   timeout=300)
        assert r.returncode == 0, r.stderr
        (tmp_path / "snap.yaml").write_bytes(vm.read_file("/tmp/prom.yaml"))
        snap = load_snapshots(tmp_path / "snap.yaml")[0]
        apps = app_stats(snap)
        for fam, field in (("dmabuf_app_rss_bytes", "rss"), ("dmabuf_app_pss_bytes", "pss"),
                           ("dmabuf_app_processes", "procs")):
            got = prometheus.values(f'{fam}{{{sel},app!="(other)"}}', "app")
            assert got == {a.app: getattr(a, field) for a in apps}, fam
    finally:
        if inst is not None:
            prometheus.forget(inst)
        p.kill(signal.SIGTERM)
        p.wait(120)
    assert "Traceback" not in vm.output(p)[1]
