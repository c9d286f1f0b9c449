"""The Prometheus metrics of dmabuf-top (``dmabuf-top serve``): a
``prometheus_client`` collector that computes every family, with HELP and TYPE, from
the snapshot of each device's last scan.

Every series carries ``device`` (adb serial, else host name) and ``model``. Label
cardinality is bounded: per-process series only for the top N processes by Rss, plus
one ``pid="other"`` series holding the rest. comm is escaped
(``textsafe.printable``); the exposition format escapes quotes and backslashes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dmabuf_top.analysis import accounting
from dmabuf_top.collect.poller import DeviceScan
from dmabuf_top.collect.selfstats import ToolUsage
from dmabuf_top.collect.users import user_name
from dmabuf_top.textsafe import printable

DEVICE = ["device", "model"]
PROCESS = DEVICE + ["pid", "comm", "uid", "user"]
EXPORTER = DEVICE + ["exporter", "heap"]
DEFAULT_TOP = 50
OTHER = "other"

#: (name, help) of the per-device totals, with the Totals field each one is
TOTALS = (
    ("dmabuf_bytes", "bytes of all dma-bufs (kernel-wide when a kernel source is readable)",
     "bytes"),
    ("dmabuf_buffers", "number of dma-bufs", "buffers"),
    ("dmabuf_userspace_bytes", "bytes of dma-bufs some process holds (fd, mapping or GEM handle)",
     "userspace_bytes"),
    ("dmabuf_kernel_only_bytes", "bytes of dma-bufs no process holds (dmabuf_dump's kernel_rss)",
     "kernel_only_bytes"),
    ("dmabuf_userspace_rss_bytes", "sum of the processes' dma-buf Rss", "userspace_rss"),
    ("dmabuf_userspace_pss_bytes", "sum of the processes' dma-buf Pss", "userspace_pss"),
)


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def device_families(scans: list[DeviceScan], top: int = DEFAULT_TOP) -> list[Metric]:
    """Every per-device family: up, totals, exporters, processes, the scans' cost."""
    up = _gauge("dmabuf_up", "1 when the device's last scan succeeded, else 0", DEVICE)
    totals = {f: _gauge(n, d, DEVICE) for n, d, f in TOTALS}
    procs_n = _gauge("dmabuf_processes", "processes holding dma-bufs", DEVICE)
    exp_bytes = _gauge("dmabuf_exporter_bytes", "bytes of dma-bufs per exporter", EXPORTER)
    exp_bufs = _gauge("dmabuf_exporter_buffers", "dma-bufs per exporter", EXPORTER)
    rss = _gauge("dmabuf_process_rss_bytes",
                 f"a process's dma-buf Rss (top {top} by Rss; pid=\"other\": the rest)", PROCESS)
    pss = _gauge("dmabuf_process_pss_bytes",
                 f"a process's dma-buf Pss (top {top} by Rss; pid=\"other\": the rest)", PROCESS)
    bufs = _gauge("dmabuf_process_buffers",
                  f"distinct dma-bufs a process holds (top {top} by Rss; pid=\"other\": the rest)",
                  PROCESS)
    handles = _gauge("dmabuf_process_handle_bytes",
                     f"bytes of dma-bufs a process holds by GEM handle only, not in its Rss "
                     f"(top {top} by Rss, when some process holds one by handle)", PROCESS)
    seconds = _gauge("dmabuf_scan_duration_seconds", "seconds the last scan took", DEVICE)
    last = _gauge("dmabuf_last_scan_timestamp_seconds",
                  "when the last successful scan was (Unix time)", DEVICE)
    scans_c = CounterMetricFamily("dmabuf_scans", "scans of the device", labels=DEVICE)
    errors = CounterMetricFamily("dmabuf_scan_errors", "scans that failed", labels=DEVICE)
    for s in scans:
        dev = [s.device, s.model]
        up.add_metric(dev, 1 if s.up else 0)
        seconds.add_metric(dev, s.seconds)
        scans_c.add_metric(dev, s.scans)
        errors.add_metric(dev, s.errors)
        if s.last_success is not None:
            last.add_metric(dev, s.last_success)
        snap = s.snapshot
        if snap is None:
            continue
        stats = accounting.process_stats(snap)
        tot = accounting.totals(snap, stats)
        for field, fam in totals.items():
            fam.add_metric(dev, getattr(tot, field))
        procs_n.add_metric(dev, len(stats))
        for e in accounting.exporter_stats(snap):
            labels = dev + [printable(e.name), "true" if e.heap else "false"]
            exp_bytes.add_metric(labels, e.bytes)
            exp_bufs.add_metric(labels, e.buffers)
        ranked = sorted(stats, key=lambda p: (-p.rss, p.pid))
        for p in ranked[:top]:
            uid = "" if p.uid is None else str(p.uid)
            labels = dev + [str(p.pid), printable(p.comm), uid, user_name(p.uid, snap.source)]
            rss.add_metric(labels, p.rss)
            pss.add_metric(labels, p.pss)
            bufs.add_metric(labels, p.buffers)
            if p.handles:
                handles.add_metric(labels, p.handle_bytes)
        rest = ranked[top:]
        other = dev + [OTHER, OTHER, "", ""]
        rss.add_metric(other, sum(p.rss for p in rest))
        pss.add_metric(other, sum(p.pss for p in rest))
        bufs.add_metric(other, sum(p.buffers for p in rest))
        if any(p.handles for p in rest):
            handles.add_metric(other, sum(p.handle_bytes for p in rest))
    gem = [handles] if handles.samples else []  # no family where no handle is seen
    return [up, *totals.values(), procs_n, exp_bytes, exp_bufs, rss, pss, bufs, *gem, seconds,
            last, scans_c, errors]


def tool_families(usage: ToolUsage) -> list[Metric]:
    """What dmabuf-top itself costs, and the RAM of the machine it runs on."""
    cpu = CounterMetricFamily("dmabuf_top_cpu_seconds", "CPU time dmabuf-top used",
                              labels=["mode"])
    cpu.add_metric(["user"], usage.cpu_user)
    cpu.add_metric(["system"], usage.cpu_system)
    return [
        cpu,
        GaugeMetricFamily("dmabuf_top_resident_memory_bytes",
                          "resident memory of dmabuf-top", value=usage.rss),
        GaugeMetricFamily("dmabuf_top_host_memory_bytes",
                          "RAM of the machine dmabuf-top runs on", value=usage.host_memory),
    ]


class SnapshotCollector(Collector):
    """The metrics of each scrape from ``scans()`` (which scans, or gives the result
    of the last scan) and ``usage()``; the device families are computed once per
    scan, so scrapes between scans cost only their serialisation."""

    def __init__(
        self,
        scans: Callable[[], list[DeviceScan]],
        usage: Callable[[], ToolUsage],
        top: int = DEFAULT_TOP,
    ) -> None:
        self._scans = scans
        self._usage = usage
        self.top = top
        self._lock = threading.Lock()
        self._cached: tuple[tuple, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        scans = self._scans()
        key = tuple((s.device, s.scans) for s in scans)
        with self._lock:
            if self._cached is None or self._cached[0] != key:
                self._cached = (key, device_families(scans, self.top))
            families = self._cached[1]
        yield from families
        yield from tool_families(self._usage())
