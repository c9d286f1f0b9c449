"""The Prometheus metrics of dmabuf-top (``dmabuf-top serve``): a
``prometheus_client`` collector that computes every family, with HELP and TYPE, from
the snapshot of each device's last scan.

Every series carries ``device`` (adb serial, else host name); what else is known of
the device (model, serial, kernel, source kind) is on ``dmabuf_device_info`` (value 1),
to join with ``* on(device) group_left(model) dmabuf_device_info``. No label is ever
empty: an unknown value leaves its label out. Label cardinality is bounded:
per-process series only for the top N processes by Rss, plus one ``pid="other"`` series
holding the rest; per-app series alike (``app="(other)"``). comm and app are escaped
(``textsafe.printable``); the exposition format escapes quotes and backslashes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dmabuf_top.analysis import accounting
from dmabuf_top.analysis.apps import AppStats, app_stats
from dmabuf_top.collect.poller import DeviceScan
from dmabuf_top.collect.selfstats import ToolUsage
from dmabuf_top.collect.users import user_name
from dmabuf_top.model import Source
from dmabuf_top.textsafe import printable

DEVICE = "device"
DEFAULT_TOP = 50
OTHER = "other"
#: the app of the per-app series that sums the apps past the top N (parentheses: no
#: unit, container id, package or cgroup path is named so)
OTHER_APP = "(other)"

#: (name, help) of the per-device totals, with the Totals field each one is
TOTALS = (
    ("dmabuf_bytes", "bytes of all dma-bufs (kernel-wide when a kernel source is readable)",
     "bytes"),
    ("dmabuf_buffers", "number of dma-bufs", "buffers"),
    ("dmabuf_userspace_bytes",
     "bytes of dma-bufs some process holds (fd, mapping or GEM handle)", "userspace_bytes"),
    ("dmabuf_kernel_only_bytes", "bytes of dma-bufs no process holds (dmabuf_dump's kernel_rss)",
     "kernel_only_bytes"),
    ("dmabuf_userspace_rss_bytes", "sum of the processes' dma-buf Rss", "userspace_rss"),
    ("dmabuf_userspace_pss_bytes", "sum of the processes' dma-buf Pss", "userspace_pss"),
)


def _gauge(name: str, doc: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc)


def add(fam: Metric, labels: dict[str, str], value: float) -> None:
    """One sample of ``fam`` (a counter's name ends in ``_total``), its empty labels
    left out: Prometheus reads an empty label as an absent one."""
    suffix = "_total" if fam.type == "counter" else ""
    fam.add_sample(fam.name + suffix, {k: v for k, v in labels.items() if v}, value)


def info_labels(s: DeviceScan) -> dict[str, str]:
    """What ``dmabuf_device_info`` says of a device: its last snapshot's source (the
    model alone while it has none), escaped: a device names its own model."""
    src = s.snapshot.source if s.snapshot is not None else None
    if src is None:
        return {DEVICE: s.device, "model": printable(s.model)}
    said = {"source": src.kind, "model": src.model, "serial": src.serial, "host": src.host,
            "kernel": src.kernel, "android": src.android}
    return {DEVICE: s.device, **{k: printable(v) for k, v in said.items()}}


def device_families(scans: list[DeviceScan], top: int = DEFAULT_TOP) -> list[Metric]:
    """Every per-device family: info, up, totals, exporters, processes, apps, the scans'
    cost."""
    info = _gauge("dmabuf_device_info", "what is known of the device (model, serial, kernel, "
                  "source kind); always 1")
    up = _gauge("dmabuf_up", "1 when the device's last scan succeeded, else 0")
    totals = {f: _gauge(n, d) for n, d, f in TOTALS}
    procs_n = _gauge("dmabuf_processes", "processes holding dma-bufs")
    exp_bytes = _gauge("dmabuf_exporter_bytes", "bytes of dma-bufs per exporter")
    exp_bufs = _gauge("dmabuf_exporter_buffers", "dma-bufs per exporter")
    ranked_by = f"top {top} by Rss; pid=\"other\": the rest"
    per_proc = [
        _gauge("dmabuf_process_rss_bytes", f"a process's dma-buf Rss ({ranked_by})"),
        _gauge("dmabuf_process_pss_bytes", f"a process's dma-buf Pss ({ranked_by})"),
        _gauge("dmabuf_process_buffers", f"distinct dma-bufs a process holds ({ranked_by})"),
    ]
    handles = _gauge("dmabuf_process_handle_bytes", "bytes of dma-bufs a process holds by GEM "
                     f"handle only, not in its Rss ({ranked_by}; when some process holds one "
                     "by handle)")
    app_by = f"top {top} by Rss; app=\"{OTHER_APP}\": the rest"
    per_app = [
        _gauge("dmabuf_app_rss_bytes", f"the dma-buf Rss of an app's processes ({app_by})"),
        _gauge("dmabuf_app_pss_bytes", f"the dma-buf Pss of an app's processes ({app_by})"),
        _gauge("dmabuf_app_processes", f"an app's processes holding dma-bufs ({app_by})"),
    ]
    seconds = _gauge("dmabuf_scan_duration_seconds", "seconds the last scan took")
    last = _gauge("dmabuf_last_scan_timestamp_seconds",
                  "when the last successful scan was (Unix time)")
    scans_c = CounterMetricFamily("dmabuf_scans", "scans of the device")
    errors = CounterMetricFamily("dmabuf_scan_errors", "scans that failed")
    for s in scans:
        dev = {DEVICE: s.device}
        add(info, info_labels(s), 1)
        add(up, dev, 1 if s.up else 0)
        add(seconds, dev, s.seconds)
        add(scans_c, dev, s.scans)
        add(errors, dev, s.errors)
        if s.last_success is not None:
            add(last, dev, s.last_success)
        snap = s.snapshot
        if snap is None:
            continue
        stats = accounting.process_stats(snap)
        tot = accounting.totals(snap, stats)
        for field, fam in totals.items():
            add(fam, dev, getattr(tot, field))
        add(procs_n, dev, len(stats))
        for e in accounting.exporter_stats(snap):
            labels = dict(dev, exporter=printable(e.name), heap="true" if e.heap else "false")
            add(exp_bytes, labels, e.bytes)
            add(exp_bufs, labels, e.buffers)
        _process_samples(per_proc, handles, dev, stats, snap.source, top)
        _app_samples(per_app, dev, app_stats(snap, stats), top)
    gem = [handles] if handles.samples else []  # no family where no handle is seen
    return [info, up, *totals.values(), procs_n, exp_bytes, exp_bufs, *per_proc, *gem,
            *per_app, seconds, last, scans_c, errors]


def _process_samples(fams: list[Metric], handles: Metric, dev: dict[str, str],
                     stats: list[accounting.ProcessStats], source: Source, top: int) -> None:
    """Rss, Pss and buffers of the top processes by Rss, and of the rest as "other"."""
    ranked = sorted(stats, key=lambda p: (-p.rss, p.pid))
    for p in ranked[:top]:
        labels = dict(dev, pid=str(p.pid), comm=printable(p.comm),
                      uid="" if p.uid is None else str(p.uid),
                      user=printable(p.user) or user_name(p.uid, source), app=printable(p.app))
        for fam, v in zip(fams, (p.rss, p.pss, p.buffers), strict=True):
            add(fam, labels, v)
        if p.handles:
            add(handles, labels, p.handle_bytes)
    rest = ranked[top:]
    other = dict(dev, pid=OTHER, comm=OTHER)
    for fam, field in zip(fams, ("rss", "pss", "buffers"), strict=True):
        add(fam, other, sum(getattr(p, field) for p in rest))
    if any(p.handles for p in rest):
        add(handles, other, sum(p.handle_bytes for p in rest))


def _app_samples(fams: list[Metric], dev: dict[str, str], apps: list[AppStats],
                 top: int) -> None:
    """Rss, Pss and processes of the top apps by Rss, and of the rest as app="(other)"."""
    ranked = sorted(apps, key=lambda a: (-a.rss, a.app))
    for a in ranked[:top]:
        for fam, v in zip(fams, (a.rss, a.pss, a.procs), strict=True):
            add(fam, dict(dev, app=printable(a.app)), v)
    rest = ranked[top:]
    for fam, field in zip(fams, ("rss", "pss", "procs"), strict=True):
        add(fam, dict(dev, app=OTHER_APP), sum(getattr(a, field) for a in rest))


def tool_families(usage: ToolUsage) -> list[Metric]:
    """What dmabuf-top itself costs, and the RAM of the machine it runs on."""
    cpu = CounterMetricFamily("dmabuf_top_cpu_seconds", "CPU time dmabuf-top used")
    add(cpu, {"mode": "user"}, usage.cpu_user)
    add(cpu, {"mode": "system"}, usage.cpu_system)
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
